//! What the payments context needs from the outside: a payment provider.

use async_trait::async_trait;
use shared_kernel::{Money, PaymentId};

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

/// The token store failed; nothing was kept or forgotten. Retrying later may succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment method token store unavailable: {0}")]
pub struct TokenStoreError(pub String);

/// Where a shopper's payment method token waits while a payment may still need it, so that
/// it never has to enter an event (ADR 0016).
///
/// The checkout keeps the token here when it starts and forgets it when it ends; a payment
/// whose authorization outcome is unknown keeps it so that reconciliation can repeat the
/// identical request. The store is short-lived by design: the application purges what was
/// kept long ago, and a token that is gone is treated as expired, never guessed.
#[async_trait]
pub trait PaymentMethodTokens: Send + Sync {
    /// Keeps `token` for `payment_id`, replacing one kept before.
    async fn keep(&self, payment_id: PaymentId, token: &str) -> Result<(), TokenStoreError>;

    /// The token kept for `payment_id`, if any.
    async fn token(&self, payment_id: PaymentId) -> Result<Option<String>, TokenStoreError>;

    /// Forgets the token of `payment_id`; `Ok` also when none is kept.
    async fn forget(&self, payment_id: PaymentId) -> Result<(), TokenStoreError>;

    /// Forgets every token kept before `cutoff`; returns how many.
    async fn forget_kept_before(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, TokenStoreError>;
}

/// Tokens in memory, for tests and examples: nothing survives the process.
#[derive(Debug, Default)]
pub struct InMemoryPaymentMethodTokens {
    tokens: std::sync::Mutex<
        std::collections::HashMap<PaymentId, (String, chrono::DateTime<chrono::Utc>)>,
    >,
}

impl InMemoryPaymentMethodTokens {
    /// The store with `token` already kept for `payment_id`.
    pub fn with(self, payment_id: PaymentId, token: &str) -> Self {
        self.tokens()
            .insert(payment_id, (token.to_owned(), chrono::Utc::now()));
        self
    }

    /// The token kept for `payment_id`, read without a runtime (for tests).
    pub fn kept(&self, payment_id: PaymentId) -> Option<String> {
        self.tokens()
            .get(&payment_id)
            .map(|(token, _)| token.clone())
    }

    fn tokens(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<PaymentId, (String, chrono::DateTime<chrono::Utc>)>,
    > {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl PaymentMethodTokens for InMemoryPaymentMethodTokens {
    async fn keep(&self, payment_id: PaymentId, token: &str) -> Result<(), TokenStoreError> {
        self.tokens()
            .insert(payment_id, (token.to_owned(), chrono::Utc::now()));
        Ok(())
    }

    async fn token(&self, payment_id: PaymentId) -> Result<Option<String>, TokenStoreError> {
        Ok(self
            .tokens()
            .get(&payment_id)
            .map(|(token, _)| token.clone()))
    }

    async fn forget(&self, payment_id: PaymentId) -> Result<(), TokenStoreError> {
        self.tokens().remove(&payment_id);
        Ok(())
    }

    async fn forget_kept_before(
        &self,
        cutoff: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, TokenStoreError> {
        let mut tokens = self.tokens();
        let before = tokens.len();
        tokens.retain(|_, (_, kept_at)| *kept_at >= cutoff);
        Ok((before - tokens.len()) as u64)
    }
}
