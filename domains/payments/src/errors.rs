//! Business outcomes the payments context refuses, plus the provider failures a caller must
//! tell apart (retry now, reconcile later, or fix the caller).

use shared_kernel::{Currency, Money, RefundId};

use crate::ports::{GatewayError, TokenStoreError};
use crate::values::PaymentStatus;

/// Why a payment command was refused. A refused command records nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("payment not found")]
    NotFound,
    #[error("{command} is not allowed while the payment is {status}")]
    NotAllowed {
        status: PaymentStatus,
        command: &'static str,
    },
    /// `AuthorizePayment` repeated for an existing payment with another amount.
    #[error("the payment is for {recorded}, not {requested}")]
    AmountMismatch { recorded: Money, requested: Money },
    #[error("{amount} is not a positive amount in whole minor units")]
    InvalidAmount { amount: Money },
    #[error("the payment is in {payment}, the amount is in {requested}")]
    CurrencyMismatch {
        payment: Currency,
        requested: Currency,
    },
    #[error("cannot capture {requested}: {captured} of {authorized} is already captured")]
    OverCapture {
        authorized: Money,
        captured: Money,
        requested: Money,
    },
    #[error("cannot refund {requested}: {refunded} of {captured} is already refunded")]
    OverRefund {
        captured: Money,
        refunded: Money,
        requested: Money,
    },
    /// A refund id reused with another amount.
    #[error("refund {refund_id} was for {recorded}, not {requested}")]
    RefundMismatch {
        refund_id: RefundId,
        recorded: Money,
        requested: Money,
    },
    /// Nothing happened at the provider; retrying the same command is safe.
    #[error("payment provider unavailable: {0}")]
    GatewayUnavailable(String),
    /// The provider may or may not have acted. Retry the same command (same amount) later: it
    /// reuses the idempotency key, so the provider answers with the original outcome.
    #[error("payment provider outcome unknown: {0}")]
    GatewayOutcomeUnknown(String),
    /// The provider refused the operation itself; retrying will not help.
    #[error("payment provider rejected the request: {0}")]
    GatewayRejected(String),
    /// The payment method token store failed; nothing happened. Retrying is safe.
    #[error(transparent)]
    TokensUnavailable(#[from] TokenStoreError),
}

impl PaymentError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            PaymentError::NotFound => "payment_not_found",
            PaymentError::NotAllowed { .. } => "not_allowed",
            PaymentError::AmountMismatch { .. } => "amount_mismatch",
            PaymentError::InvalidAmount { .. } => "invalid_amount",
            PaymentError::CurrencyMismatch { .. } => "currency_mismatch",
            PaymentError::OverCapture { .. } => "over_capture",
            PaymentError::OverRefund { .. } => "over_refund",
            PaymentError::RefundMismatch { .. } => "refund_mismatch",
            PaymentError::GatewayUnavailable(_) => "gateway_unavailable",
            PaymentError::GatewayOutcomeUnknown(_) => "gateway_outcome_unknown",
            PaymentError::GatewayRejected(_) => "gateway_rejected",
            PaymentError::TokensUnavailable(_) => "payment_tokens_unavailable",
        }
    }

    /// Whether sending the same command again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PaymentError::GatewayUnavailable(_)
                | PaymentError::GatewayOutcomeUnknown(_)
                | PaymentError::TokensUnavailable(_)
        )
    }
}

/// How a failed capture, void or refund is reported. A decline there is not a shopper's
/// outcome to record but a refusal of the operation.
impl From<GatewayError> for PaymentError {
    fn from(error: GatewayError) -> Self {
        match error {
            GatewayError::Transient(reason) => PaymentError::GatewayUnavailable(reason),
            GatewayError::Unknown(reason) => PaymentError::GatewayOutcomeUnknown(reason),
            GatewayError::Rejected(reason) => PaymentError::GatewayRejected(reason),
            GatewayError::Declined { code, message } => {
                PaymentError::GatewayRejected(format!("declined ({code}): {message}"))
            }
        }
    }
}
