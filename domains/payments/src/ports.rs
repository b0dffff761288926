//! What the payments context needs from the outside: a payment provider.

use async_trait::async_trait;
use shared_kernel::Money;

use crate::values::DeclineCode;

/// Ask the provider to hold `amount` on the payment method behind `payment_method_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub idempotency_key: String,
    pub amount: Money,
    /// The provider's reference to a payment method, created by the shopper's client. Never
    /// card data.
    pub payment_method_token: String,
}

/// A hold the provider placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub authorization_id: String,
}

/// Take `amount` of an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRequest {
    pub idempotency_key: String,
    pub authorization_id: String,
    pub amount: Money,
}

/// A capture the provider performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureReceipt {
    pub capture_id: String,
}

/// Release an authorization of which nothing was captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoidRequest {
    pub idempotency_key: String,
    pub authorization_id: String,
}

/// Give back `amount` of what was captured on an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub idempotency_key: String,
    pub authorization_id: String,
    pub amount: Money,
}

/// A refund the provider performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReceipt {
    pub refund_id: String,
}

/// Why the provider did not do what was asked, sorted by what the caller may do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The provider refused the payment method. Final for this idempotency key: asking again
    /// gives the same answer. `message` is fit to show to the shopper.
    #[error("declined ({code}): {message}")]
    Declined { code: DeclineCode, message: String },
    /// Nothing happened at the provider (it was unreachable, or answered "try again").
    /// Safe to retry with the same idempotency key.
    #[error("payment provider unavailable: {0}")]
    Transient(String),
    /// The outcome is not known (typically a timeout after the request was sent): the provider
    /// may or may not have acted. Must be reconciled by repeating the request with the same
    /// idempotency key; never assume it failed or succeeded.
    #[error("payment provider outcome unknown: {0}")]
    Unknown(String),
    /// The provider refused the operation itself (capturing more than was authorized, a second
    /// capture of a fully captured authorization, voiding after capture, an idempotency key
    /// reused for a different request...). A programming or state error, not a shopper's one.
    #[error("payment provider rejected the request: {0}")]
    Rejected(String),
}

/// A payment provider (PSP).
///
/// Contract:
/// - Every request carries an idempotency key. The same key must yield the same outcome at the
///   provider: a request repeated with a key the provider has already acted on does not act
///   again but returns the original outcome (the same authorization, capture or refund, or the
///   same decline). This is what makes retries and reconciliation safe.
/// - A key is only ever reused for the same request (same operation and parameters). Adapters
///   may answer a reuse with different parameters with [`GatewayError::Rejected`].
/// - [`GatewayError::Transient`] promises that nothing happened; [`GatewayError::Unknown`]
///   promises nothing, and the caller asks again with the same key to learn the outcome.
/// - [`GatewayError::Declined`] is only expected from `authorize`; the payment records it.
///   From the other operations any refusal is [`GatewayError::Rejected`].
/// - Amounts are positive and in the currency of the authorization; the payment checks this
///   before calling, and an adapter refuses violations with [`GatewayError::Rejected`].
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Places a hold of `amount` and returns its authorization id.
    async fn authorize(&self, request: AuthorizeRequest) -> Result<Authorization, GatewayError>;

    /// Takes `amount` of an authorization; several partial captures may add up to its amount.
    async fn capture(&self, request: CaptureRequest) -> Result<CaptureReceipt, GatewayError>;

    /// Releases an authorization of which nothing was captured.
    async fn void(&self, request: VoidRequest) -> Result<(), GatewayError>;

    /// Returns `amount` of what was captured; several partial refunds may add up to it.
    async fn refund(&self, request: RefundRequest) -> Result<RefundReceipt, GatewayError>;
}
