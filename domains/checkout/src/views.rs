//! Read model of a checkout: what a shopper polling `GET /v1/checkouts/{id}` sees.
//!
//! Only three statuses are public: the saga's inner steps are not the shopper's business, and
//! a checkout that is compensating is still `pending` because its cart is unlocked only when
//! compensation ends. The update function is pure so any projection can reuse it.

use serde::{Deserialize, Serialize};
use shared_kernel::{CartId, CheckoutId, Money, OrderId};

use crate::events::CheckoutEvent;
use crate::values::{FailureReason, PublicStatus};

/// A checkout as shown to the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    pub id: CheckoutId,
    pub cart_id: CartId,
    pub status: PublicStatus,
    /// Set once the order is placed (it exists even while the checkout is still finishing).
    pub order_id: Option<OrderId>,
    /// Set once the checkout failed.
    pub failure: Option<FailureView>,
    pub total: Money,
    /// Number of events applied; equals the aggregate's sequence number.
    pub version: u64,
}

/// Why a checkout failed: a stable code for clients and a sentence for the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureView {
    pub code: String,
    pub message: String,
}

impl From<&FailureReason> for FailureView {
    fn from(reason: &FailureReason) -> Self {
        FailureView {
            code: reason.code().to_owned(),
            message: reason.shopper_message(),
        }
    }
}

/// The view after `event`, one version later. A view that does not exist yet is only started by
/// `CheckoutStarted`; other events without a view leave it absent.
pub fn apply_checkout_event(
    view: Option<CheckoutView>,
    checkout_id: CheckoutId,
    event: &CheckoutEvent,
) -> Option<CheckoutView> {
    match (view, event) {
        (previous, CheckoutEvent::CheckoutStarted { cart_id, total, .. }) => Some(CheckoutView {
            id: checkout_id,
            cart_id: *cart_id,
            status: PublicStatus::Pending,
            order_id: None,
            failure: None,
            total: *total,
            version: previous.map_or(0, |p| p.version) + 1,
        }),
        (None, _) => None,
        (Some(mut view), event) => {
            match event {
                CheckoutEvent::OrderPlaced { order_id } => view.order_id = Some(*order_id),
                CheckoutEvent::CheckoutCompleted { order_id } => {
                    view.status = PublicStatus::Completed;
                    view.order_id = Some(*order_id);
                }
                CheckoutEvent::CheckoutFailed { reason } => {
                    view.status = PublicStatus::Failed;
                    view.failure = Some(FailureView::from(reason));
                }
                _ => {}
            }
            view.version += 1;
            Some(view)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use shared_kernel::{Currency, Quantity, Sku};
    use uuid::Uuid;

    use super::*;
    use crate::events::CheckoutLineData;

    fn checkout_id() -> CheckoutId {
        CheckoutId::from_uuid(Uuid::from_u128(3))
    }

    fn cart_id() -> CartId {
        CartId::from_uuid(Uuid::from_u128(4))
    }

    fn order_id() -> OrderId {
        OrderId::from_uuid(Uuid::from_u128(7))
    }

    fn eur(amount: &str) -> Money {
        Money::parse(amount, "EUR").unwrap()
    }

    fn sku() -> Sku {
        Sku::parse("TEE-S").unwrap()
    }

    fn started() -> CheckoutEvent {
        CheckoutEvent::CheckoutStarted {
            checkout_id: checkout_id(),
            cart_id: cart_id(),
            customer_id: None,
            email: "ada@example.com".into(),
            shipping: shared_kernel::AddressData::default(),
            currency: Currency::EUR,
            lines: vec![CheckoutLineData {
                sku: sku().into(),
                product_id: shared_kernel::ProductId::from_uuid(Uuid::from_u128(1)),
                title: "Tee".into(),
                quantity: Quantity::new(2).unwrap(),
                unit_price: eur("19.90"),
            }],
            total: eur("39.80"),
            started_at: Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
            promotion: None,
            shipping_method: None,
            tax: None,
        }
    }

    fn project(events: &[CheckoutEvent]) -> Option<CheckoutView> {
        events.iter().fold(None, |view, event| {
            apply_checkout_event(view, checkout_id(), event)
        })
    }

    #[test]
    fn a_started_checkout_is_pending_with_its_total() {
        let view = project(&[started()]).unwrap();
        assert_eq!(
            view,
            CheckoutView {
                id: checkout_id(),
                cart_id: cart_id(),
                status: PublicStatus::Pending,
                order_id: None,
                failure: None,
                total: eur("39.80"),
                version: 1,
            }
        );
    }

    #[test]
    fn inner_steps_keep_the_checkout_pending_and_count_versions() {
        let view = project(&[
            started(),
            CheckoutEvent::StockReserved { sku: sku().into() },
            CheckoutEvent::ReservationsCompleted {},
            CheckoutEvent::PaymentDeclined {
                message: "Declined.".into(),
            },
            CheckoutEvent::CartReleased {},
        ])
        .unwrap();
        assert_eq!(view.status, PublicStatus::Pending);
        assert_eq!(view.failure, None);
        assert_eq!(view.version, 5);
    }

    #[test]
    fn the_order_id_shows_once_the_order_is_placed() {
        let view = project(&[
            started(),
            CheckoutEvent::OrderPlaced {
                order_id: order_id(),
            },
        ])
        .unwrap();
        assert_eq!(view.status, PublicStatus::Pending);
        assert_eq!(view.order_id, Some(order_id()));
    }

    #[test]
    fn a_completed_checkout_shows_its_order() {
        let view = project(&[
            started(),
            CheckoutEvent::CheckoutCompleted {
                order_id: order_id(),
            },
        ])
        .unwrap();
        assert_eq!(view.status, PublicStatus::Completed);
        assert_eq!(view.order_id, Some(order_id()));
        assert_eq!(view.version, 2);
    }

    #[test]
    fn a_failed_checkout_shows_a_code_and_a_shopper_message() {
        let view = project(&[
            started(),
            CheckoutEvent::CheckoutFailed {
                reason: FailureReason::OutOfStock {
                    sku: sku().into(),
                    title: "Tee".into(),
                },
            },
        ])
        .unwrap();
        assert_eq!(view.status, PublicStatus::Failed);
        assert_eq!(
            view.failure,
            Some(FailureView {
                code: "out_of_stock".into(),
                message: "Sorry, Tee is no longer available in the quantity you asked for.".into(),
            })
        );
    }

    #[test]
    fn events_before_the_start_create_no_view() {
        assert_eq!(project(&[CheckoutEvent::PaymentCaptured {}]), None);
    }

    #[test]
    fn the_public_status_serializes_in_lowercase() {
        let json = serde_json::to_value(project(&[started()]).unwrap()).unwrap();
        assert_eq!(json["status"], "pending");
    }
}
