//! Value types of the checkout context: its statuses, the lines and shipping details it carries,
//! why a checkout failed, and the ids it derives for the steps it drives.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::events::CheckoutLineData;
use shared_kernel::{
    deterministic_uuid, CheckoutId, Money, OrderId, PaymentId, ProductId, Quantity, ReservationId,
    Sku,
};

/// Most lines one checkout may carry: the same limit as a cart and an order.
pub const MAX_LINES: usize = 100;

/// Where a started checkout stands. A checkout that has not started has no status.
///
/// The forward path is `Reserving → Authorizing → PlacingOrder → Finalizing → Completed`; any
/// failure before the order is placed goes to `Compensating → Failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// Holding stock for every line.
    Reserving,
    /// Every line is held; the payment is being authorized.
    Authorizing,
    /// The payment is authorized; the order is being placed.
    PlacingOrder,
    /// The order is placed (the pivot): capturing, committing stock and checking the cart out.
    Finalizing,
    Completed,
    /// Something failed before the pivot: undoing what was done.
    Compensating,
    Failed,
    /// A participant refused a step after the pivot for good (a capture the provider
    /// rejects, a reservation that can no longer be committed): nothing more runs, and staff
    /// must resolve it. The shopper keeps seeing the checkout as pending.
    NeedsAttention,
}

impl CheckoutStatus {
    /// The three states a shopper polling the checkout can tell apart.
    pub fn public(self) -> PublicStatus {
        match self {
            CheckoutStatus::Completed => PublicStatus::Completed,
            CheckoutStatus::Failed => PublicStatus::Failed,
            _ => PublicStatus::Pending,
        }
    }
}

impl fmt::Display for CheckoutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckoutStatus::Reserving => "reserving",
            CheckoutStatus::Authorizing => "authorizing",
            CheckoutStatus::PlacingOrder => "placing_order",
            CheckoutStatus::Finalizing => "finalizing",
            CheckoutStatus::Completed => "completed",
            CheckoutStatus::Compensating => "compensating",
            CheckoutStatus::Failed => "failed",
            CheckoutStatus::NeedsAttention => "needs_attention",
        })
    }
}

/// What a shopper sees while polling: still working, done with an order, or failed with a
/// reason. Compensation is still `Pending`: the cart is unlocked only when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicStatus {
    Pending,
    Completed,
    Failed,
}

/// What the checkout knows about its payment authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProgress {
    /// Stock is still being reserved (or failed): no authorization was asked for.
    #[default]
    NotRequested,
    /// Asked for, no answer recorded yet.
    Pending,
    /// The provider's answer was lost (a timeout): a hold may exist. Waiting for a deadline.
    Unknown,
    Authorized,
    Declined,
    /// The deadline passed while the outcome was still unknown; a hold may still exist.
    TimedOut,
}

/// One line to buy, as the cart captured it. Every unit price is in the checkout currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CheckoutLineData", into = "CheckoutLineData")]
pub struct CheckoutLine {
    pub sku: Sku,
    pub product_id: ProductId,
    pub title: String,
    pub quantity: Quantity,
    pub unit_price: Money,
}

impl CheckoutLine {
    /// Unit price × quantity.
    pub fn line_total(&self) -> Money {
        self.unit_price.times(self.quantity)
    }

    /// A line as `CheckoutStarted` recorded it, taken as it is (never validated again).
    pub fn recorded(line: CheckoutLineData) -> CheckoutLine {
        CheckoutLine {
            sku: Sku::recorded(line.sku),
            product_id: line.product_id,
            title: line.title,
            quantity: line.quantity,
            unit_price: line.unit_price,
        }
    }

    /// The line as plain data, as an event records it.
    pub fn data(&self) -> CheckoutLineData {
        CheckoutLineData {
            sku: self.sku.as_str().to_owned(),
            product_id: self.product_id,
            title: self.title.clone(),
            quantity: self.quantity,
            unit_price: self.unit_price,
        }
    }
}

impl From<CheckoutLineData> for CheckoutLine {
    fn from(line: CheckoutLineData) -> Self {
        CheckoutLine::recorded(line)
    }
}

impl From<CheckoutLine> for CheckoutLineData {
    fn from(line: CheckoutLine) -> Self {
        line.data()
    }
}

/// The promotion code a checkout redeems and what it takes off each line, fixed when the
/// checkout starts (the cart's code, priced by the application with the coupons context's
/// rules). Plain data: `CheckoutStarted` records it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    /// The normalized code (upper case), the id of its promotion stream.
    pub code: String,
    /// The whole discount: the sum of `line_discounts`.
    pub discount: Money,
    /// Each line's share, in the checkout's line order; zero for lines the code does not
    /// cover. Never more than the line's total.
    pub line_discounts: Vec<Money>,
    /// What a free-shipping code takes off the shipping method's price (all of it). Absent
    /// (never `null`) when the code takes nothing off shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_discount: Option<Money>,
}

/// The shipping a checkout charges, fixed when it starts: the cart's chosen option quoted
/// once more by the application for the cart's address (ADR 0037). Plain data:
/// `CheckoutStarted` records it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedShipping {
    /// The shipping context's option id.
    pub option_id: uuid::Uuid,
    /// What the shopper read ("Express").
    pub name: String,
    /// In the checkout's currency, whole minor units; zero when it ships free.
    pub price: Money,
}

/// The tax a checkout charges, fixed when it starts: the application asks the tax context for
/// the cart's lines (after their discount shares) and its shipping charge (after a
/// free-shipping code), going to the checkout's address (ADR 0038). Plain data:
/// `CheckoutStarted` records it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedTax {
    /// Whether the prices include the tax (it is inside the total) or not (it comes on top).
    pub prices_include_tax: bool,
    /// Each line's tax, in the checkout's line order.
    pub lines: Vec<TaxPart>,
    /// The tax on the shipping charge; zero without one.
    pub shipping: TaxPart,
    /// The lines' tax plus the shipping's, exactly.
    pub total: Money,
}

/// The tax on one amount: the rate it was charged at, and the tax in whole minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxPart {
    /// In percent: `19` is 19 %.
    pub rate: rust_decimal::Decimal,
    pub amount: Money,
}

/// Why a checkout failed, in terms a shopper can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FailureReason {
    /// Stock could not be reserved for `sku` (whose line reads `title`).
    OutOfStock { sku: String, title: String },
    /// The provider declined; `message` is its shopper-readable explanation.
    PaymentDeclined { message: String },
    /// The provider never answered before the deadline; any hold it made is voided.
    #[serde(rename = "payment_timeout")]
    PaymentTimedOut,
    /// The orders context refused the order; `reason` is for staff, not for the shopper.
    OrderRejected { reason: String },
    /// The promotion `promotion_code` could not be redeemed when the checkout ran (used up,
    /// expired, ...): `refusal` is the coupons context's stable code for why, `message` its
    /// sentence for the shopper. The cart keeps the code; the shopper removes it to retry.
    PromotionRefused {
        promotion_code: String,
        refusal: String,
        message: String,
    },
}

impl FailureReason {
    /// Stable, snake_case identifier for clients. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            FailureReason::OutOfStock { .. } => "out_of_stock",
            FailureReason::PaymentDeclined { .. } => "payment_declined",
            FailureReason::PaymentTimedOut => "payment_timeout",
            FailureReason::OrderRejected { .. } => "order_rejected",
            FailureReason::PromotionRefused { .. } => "promotion_refused",
        }
    }

    /// A sentence to show the shopper. Internal details (an order's rejection reason) stay out.
    pub fn shopper_message(&self) -> String {
        match self {
            FailureReason::OutOfStock { title, .. } => {
                format!("Sorry, {title} is no longer available in the quantity you asked for.")
            }
            FailureReason::PaymentDeclined { message } if message.trim().is_empty() => {
                "Your payment was declined.".to_owned()
            }
            FailureReason::PaymentDeclined { message } => message.clone(),
            FailureReason::PaymentTimedOut => {
                "We could not confirm your payment in time. You have not been charged.".to_owned()
            }
            FailureReason::OrderRejected { .. } => {
                "We could not place your order. You have not been charged.".to_owned()
            }
            FailureReason::PromotionRefused {
                promotion_code,
                message,
                ..
            } => format!(
                "The code {promotion_code} could not be used: {message}. You have not been \
                 charged; remove the code from your cart to check out without it."
            ),
        }
    }
}

/// The reservation holding `sku` for checkout `checkout_id`. Deterministic, so a redelivered
/// step names the same reservation and inventory treats it as a repeat.
pub fn reservation_id(checkout_id: CheckoutId, sku: &Sku) -> ReservationId {
    ReservationId::from_uuid(deterministic_uuid(
        "checkout-reservation",
        &[&checkout_id.to_string(), sku.as_str()],
    ))
}

/// The payment of checkout `checkout_id`: one per checkout, so a retry cannot charge twice.
pub fn payment_id(checkout_id: CheckoutId) -> PaymentId {
    PaymentId::from_uuid(deterministic_uuid(
        "checkout-payment",
        &[&checkout_id.to_string()],
    ))
}

/// The order checkout `checkout_id` places: one per checkout, so a retry places it once.
pub fn order_id(checkout_id: CheckoutId) -> OrderId {
    OrderId::from_uuid(deterministic_uuid(
        "checkout-order",
        &[&checkout_id.to_string()],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn checkout(n: u128) -> CheckoutId {
        CheckoutId::from_uuid(Uuid::from_u128(n))
    }

    fn sku(raw: &str) -> Sku {
        Sku::parse(raw).unwrap()
    }

    #[test]
    fn derived_ids_are_stable_and_distinct_per_checkout() {
        assert_eq!(payment_id(checkout(1)), payment_id(checkout(1)));
        assert_ne!(payment_id(checkout(1)), payment_id(checkout(2)));
        assert_eq!(order_id(checkout(1)), order_id(checkout(1)));
        assert_ne!(order_id(checkout(1)), order_id(checkout(2)));
        assert_ne!(
            payment_id(checkout(1)).as_uuid(),
            order_id(checkout(1)).as_uuid()
        );
    }

    #[test]
    fn reservation_ids_are_stable_per_checkout_and_sku() {
        let tee = sku("TEE-S");
        assert_eq!(
            reservation_id(checkout(1), &tee),
            reservation_id(checkout(1), &sku("tee-s"))
        );
        assert_ne!(
            reservation_id(checkout(1), &tee),
            reservation_id(checkout(1), &sku("TEE-M"))
        );
        assert_ne!(
            reservation_id(checkout(1), &tee),
            reservation_id(checkout(2), &tee)
        );
    }

    #[test]
    fn reservation_ids_follow_the_documented_derivation() {
        let id = checkout(7);
        let tee = sku("TEE-S");
        assert_eq!(
            reservation_id(id, &tee).as_uuid(),
            deterministic_uuid("checkout-reservation", &[&id.to_string(), "TEE-S"])
        );
    }

    #[test]
    fn failure_reasons_have_stable_codes_and_shopper_messages() {
        let cases = [
            (
                FailureReason::OutOfStock {
                    sku: "TEE-S".into(),
                    title: "Tee (S)".into(),
                },
                "out_of_stock",
                "Sorry, Tee (S) is no longer available in the quantity you asked for.",
            ),
            (
                FailureReason::PaymentDeclined {
                    message: "Your card has insufficient funds.".into(),
                },
                "payment_declined",
                "Your card has insufficient funds.",
            ),
            (
                FailureReason::PaymentTimedOut,
                "payment_timeout",
                "We could not confirm your payment in time. You have not been charged.",
            ),
            (
                FailureReason::OrderRejected {
                    reason: "invalid postal_code".into(),
                },
                "order_rejected",
                "We could not place your order. You have not been charged.",
            ),
        ];
        for (reason, code, message) in cases {
            assert_eq!(reason.code(), code);
            assert_eq!(reason.shopper_message(), message);
        }
    }

    #[test]
    fn a_decline_without_a_message_still_tells_the_shopper_something() {
        let reason = FailureReason::PaymentDeclined {
            message: "  ".into(),
        };
        assert_eq!(reason.shopper_message(), "Your payment was declined.");
    }

    #[test]
    fn failure_reasons_serialize_with_their_code_as_tag() {
        let json = serde_json::to_value(FailureReason::PaymentTimedOut).unwrap();
        assert_eq!(json, serde_json::json!({ "code": "payment_timeout" }));
        let reason = FailureReason::OutOfStock {
            sku: "TEE-S".into(),
            title: "Tee".into(),
        };
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "code": "out_of_stock", "sku": "TEE-S", "title": "Tee" })
        );
        assert_eq!(
            serde_json::from_value::<FailureReason>(json).unwrap(),
            reason
        );
    }

    #[test]
    fn statuses_display_as_they_serialize() {
        use CheckoutStatus::*;
        for status in [
            Reserving,
            Authorizing,
            PlacingOrder,
            Finalizing,
            Completed,
            Compensating,
            Failed,
        ] {
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
    }

    #[test]
    fn only_completed_and_failed_are_final_for_the_shopper() {
        use CheckoutStatus::*;
        for status in [
            Reserving,
            Authorizing,
            PlacingOrder,
            Finalizing,
            Compensating,
        ] {
            assert_eq!(status.public(), PublicStatus::Pending);
        }
        assert_eq!(Completed.public(), PublicStatus::Completed);
        assert_eq!(Failed.public(), PublicStatus::Failed);
    }
}
