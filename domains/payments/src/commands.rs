//! What can be asked of a payment.

use shared_kernel::{Money, PaymentId, RefundId};

/// Commands for the [`Payment`](crate::Payment) aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentCommand {
    /// Asks the provider to hold `amount` (positive, whole minor units). The outcome is
    /// recorded whatever it is, a decline included; repeating the command with the same amount
    /// is a no-op that succeeds.
    AuthorizePayment {
        payment_id: PaymentId,
        amount: Money,
        payment_method_token: String,
    },
    /// Resolves an authorization whose outcome is unknown by asking the provider again under
    /// the original idempotency key. A no-op when the outcome is already known.
    ReconcileAuthorization,
    /// Takes `amount` of the authorization, or all that remains when `None`. `None` on a fully
    /// captured payment is a no-op, so a redelivered capture step succeeds.
    CapturePayment { amount: Option<Money> },
    /// Releases the authorization before any capture. Already voided: no-op.
    VoidPayment,
    /// Gives `amount` of the captured money back under the caller's `refund_id`. Repeating a
    /// refund with the same id and amount is a no-op.
    RefundPayment { refund_id: RefundId, amount: Money },
}

impl PaymentCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            PaymentCommand::AuthorizePayment { .. } => "AuthorizePayment",
            PaymentCommand::ReconcileAuthorization => "ReconcileAuthorization",
            PaymentCommand::CapturePayment { .. } => "CapturePayment",
            PaymentCommand::VoidPayment => "VoidPayment",
            PaymentCommand::RefundPayment { .. } => "RefundPayment",
        }
    }
}
