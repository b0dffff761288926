//! Read model of a payment, for status pages, support and the checkout's polling.
//!
//! The update function is pure so any projection (in memory, SQL, ...) can reuse it, and so it
//! can be tested without a store.

use serde::{Deserialize, Serialize};
use shared_kernel::{Money, PaymentId};

use crate::events::PaymentEvent;
use crate::values::{Decline, PaymentStatus, Refund};

/// A payment as shown to readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub id: PaymentId,
    /// Serialized in snake_case: `"authorized"`, `"authorization_unknown"`, ...
    pub status: PaymentStatus,
    /// The amount asked for (held once authorized).
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    pub authorization_id: Option<String>,
    pub decline: Option<Decline>,
    pub refunds: Vec<Refund>,
    /// Number of events applied; equals the aggregate's sequence number.
    pub version: u64,
}

/// The view after `event`, one version later. An authorization outcome starts the view (or,
/// after reconciliation, restarts it from that outcome); other events without a view leave it
/// absent, since they do not say what was authorized.
pub fn apply_payment_event(
    view: Option<PaymentView>,
    payment_id: PaymentId,
    event: &PaymentEvent,
) -> Option<PaymentView> {
    let version = view.as_ref().map_or(0, |v| v.version) + 1;
    let started = |status: PaymentStatus, amount: &Money| PaymentView {
        id: payment_id,
        status,
        amount: *amount,
        captured: Money::zero(amount.currency()),
        refunded: Money::zero(amount.currency()),
        authorization_id: None,
        decline: None,
        refunds: Vec::new(),
        version,
    };
    match (view, event) {
        (
            _,
            PaymentEvent::PaymentAuthorized {
                amount,
                authorization_id,
                ..
            },
        ) => Some(PaymentView {
            authorization_id: Some(authorization_id.clone()),
            ..started(PaymentStatus::Authorized, amount)
        }),
        (
            _,
            PaymentEvent::PaymentDeclined {
                amount,
                code,
                message,
                ..
            },
        ) => Some(PaymentView {
            decline: Some(Decline {
                code: *code,
                message: message.clone(),
            }),
            ..started(PaymentStatus::Declined, amount)
        }),
        (_, PaymentEvent::PaymentAuthorizationUnknown { amount, .. }) => {
            Some(started(PaymentStatus::AuthorizationUnknown, amount))
        }
        (None, _) => None,
        (Some(mut view), event) => {
            match event {
                PaymentEvent::PaymentCaptured { total_captured, .. } => {
                    view.status = PaymentStatus::Captured;
                    view.captured = *total_captured;
                }
                PaymentEvent::PaymentVoided {} => view.status = PaymentStatus::Voided,
                PaymentEvent::PaymentRefunded {
                    refund_id,
                    amount,
                    total_refunded,
                } => {
                    view.refunds.push(Refund {
                        refund_id: *refund_id,
                        amount: *amount,
                    });
                    view.refunded = *total_refunded;
                }
                PaymentEvent::PaymentAuthorized { .. }
                | PaymentEvent::PaymentDeclined { .. }
                | PaymentEvent::PaymentAuthorizationUnknown { .. } => {}
            }
            view.version = version;
            Some(view)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::DeclineCode;
    use shared_kernel::RefundId;
    use uuid::Uuid;

    fn payment_id() -> PaymentId {
        PaymentId::from_uuid(Uuid::from_u128(7))
    }

    fn eur(amount: &str) -> Money {
        Money::parse(amount, "EUR").unwrap()
    }

    fn authorized() -> PaymentEvent {
        PaymentEvent::PaymentAuthorized {
            payment_id: payment_id(),
            amount: eur("50.00"),
            authorization_id: "auth_1".into(),
        }
    }

    fn unknown() -> PaymentEvent {
        PaymentEvent::PaymentAuthorizationUnknown {
            payment_id: payment_id(),
            amount: eur("50.00"),
            reason: "timeout".into(),
        }
    }

    fn captured(amount: &str, total: &str) -> PaymentEvent {
        PaymentEvent::PaymentCaptured {
            amount: eur(amount),
            capture_id: "cap_1".into(),
            total_captured: eur(total),
        }
    }

    fn refunded(id: u128, amount: &str, total: &str) -> PaymentEvent {
        PaymentEvent::PaymentRefunded {
            refund_id: RefundId::from_uuid(Uuid::from_u128(id)),
            amount: eur(amount),
            total_refunded: eur(total),
        }
    }

    fn replay(events: &[PaymentEvent]) -> Option<PaymentView> {
        events.iter().fold(None, |view, event| {
            apply_payment_event(view, payment_id(), event)
        })
    }

    #[test]
    fn an_authorization_starts_the_view_at_version_one() {
        let view = replay(&[authorized()]).unwrap();
        assert_eq!(view.id, payment_id());
        assert_eq!(view.status, PaymentStatus::Authorized);
        assert_eq!(view.amount, eur("50.00"));
        assert_eq!(view.captured, eur("0"));
        assert_eq!(view.refunded, eur("0"));
        assert_eq!(view.authorization_id.as_deref(), Some("auth_1"));
        assert_eq!(view.decline, None);
        assert_eq!(view.version, 1);
    }

    #[test]
    fn a_decline_is_shown_with_its_code_and_message() {
        let view = replay(&[PaymentEvent::PaymentDeclined {
            payment_id: payment_id(),
            amount: eur("50.00"),
            code: DeclineCode::InsufficientFunds,
            message: "Your card has insufficient funds.".into(),
        }])
        .unwrap();
        assert_eq!(view.status, PaymentStatus::Declined);
        assert_eq!(
            view.decline,
            Some(Decline {
                code: DeclineCode::InsufficientFunds,
                message: "Your card has insufficient funds.".into(),
            })
        );
        assert_eq!(view.authorization_id, None);
    }

    #[test]
    fn a_reconciled_authorization_replaces_the_unknown_state_and_counts_versions() {
        let pending = replay(&[unknown()]).unwrap();
        assert_eq!(pending.status, PaymentStatus::AuthorizationUnknown);
        assert_eq!(pending.authorization_id, None);
        let view = replay(&[unknown(), authorized()]).unwrap();
        assert_eq!(view.status, PaymentStatus::Authorized);
        assert_eq!(view.authorization_id.as_deref(), Some("auth_1"));
        assert_eq!(view.version, 2);
    }

    #[test]
    fn captures_and_refunds_update_the_totals() {
        let view = replay(&[
            authorized(),
            captured("30.00", "30.00"),
            captured("20.00", "50.00"),
            refunded(1, "10.00", "10.00"),
            refunded(2, "5.00", "15.00"),
        ])
        .unwrap();
        assert_eq!(view.status, PaymentStatus::Captured);
        assert_eq!(view.captured, eur("50.00"));
        assert_eq!(view.refunded, eur("15.00"));
        assert_eq!(view.refunds.len(), 2);
        assert_eq!(
            view.refunds[1].refund_id,
            RefundId::from_uuid(Uuid::from_u128(2))
        );
        assert_eq!(view.version, 5);
    }

    #[test]
    fn a_void_is_shown_as_voided() {
        let view = replay(&[authorized(), PaymentEvent::PaymentVoided {}]).unwrap();
        assert_eq!(view.status, PaymentStatus::Voided);
        assert_eq!(view.version, 2);
    }

    #[test]
    fn events_before_any_authorization_outcome_start_no_view() {
        assert_eq!(replay(&[captured("1.00", "1.00")]), None);
        assert_eq!(replay(&[PaymentEvent::PaymentVoided {}]), None);
    }

    #[test]
    fn the_view_serializes_status_and_money_as_strings() {
        let view = replay(&[authorized()]).unwrap();
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["status"], "authorized");
        assert_eq!(json["amount"]["amount"], "50.00");
        assert_eq!(json["amount"]["currency"], "EUR");
        let back: PaymentView = serde_json::from_value(json).unwrap();
        assert_eq!(back, view);
    }
}
