//! What happened to payments. Event type strings are part of the stored format: never change
//! them. Payloads are plain data, never re-validated when read (ADR 0014).
//!
//! No secret enters these events: the payment method token that an unknown authorization
//! needs for reconciliation waits in [`PaymentMethodTokens`](crate::ports::PaymentMethodTokens)
//! (ADR 0016). The first release's `PaymentAuthorizationUnknown` did carry it; reading such
//! an event drops it.

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{Money, PaymentId, RefundId};

use crate::values::DeclineCode;

/// Events of the [`Payment`](crate::Payment) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentEvent {
    /// The provider holds `amount` under `authorization_id`.
    PaymentAuthorized {
        payment_id: PaymentId,
        amount: Money,
        authorization_id: String,
    },
    /// The provider refused to authorize `amount`; `message` is fit to show to the shopper.
    PaymentDeclined {
        payment_id: PaymentId,
        amount: Money,
        code: DeclineCode,
        message: String,
    },
    /// The authorization request got no answer: the provider may or may not hold `amount`.
    /// Carries the payment method token because reconciling re-sends the identical request.
    PaymentAuthorizationUnknown {
        payment_id: PaymentId,
        amount: Money,
        reason: String,
    },
    /// The provider took `amount`; `total_captured` is the sum of all captures so far.
    PaymentCaptured {
        amount: Money,
        capture_id: String,
        total_captured: Money,
    },
    /// The authorization was released; nothing was or will be captured.
    PaymentVoided {},
    /// The provider gave back `amount`; `total_refunded` is the sum of all refunds so far.
    PaymentRefunded {
        refund_id: RefundId,
        amount: Money,
        total_refunded: Money,
    },
}

impl DomainEvent for PaymentEvent {
    fn event_type(&self) -> String {
        match self {
            PaymentEvent::PaymentAuthorized { .. } => "PaymentAuthorized",
            PaymentEvent::PaymentDeclined { .. } => "PaymentDeclined",
            PaymentEvent::PaymentAuthorizationUnknown { .. } => "PaymentAuthorizationUnknown",
            PaymentEvent::PaymentCaptured { .. } => "PaymentCaptured",
            PaymentEvent::PaymentVoided {} => "PaymentVoided",
            PaymentEvent::PaymentRefunded { .. } => "PaymentRefunded",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
