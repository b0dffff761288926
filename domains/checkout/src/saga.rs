//! The checkout saga's decision logic: given what a [`Checkout`] has recorded, which steps are
//! still to do. Pure, so the runner stays a loop and every branch is tested here.
//!
//! The steps follow Richardson's CreateOrderSaga (*Microservices Patterns*, ch. 4): first the
//! compensatable transactions, each with an undo; then the pivot, the one step whose success
//! commits the saga; then retriable transactions, which cannot fail for a business reason and
//! are retried until they succeed. The cart is locked before the saga starts (carts'
//! `BeginCheckout`, sent by the application with the checkout id), so the lines cannot change
//! under it.
//!
//! | # | step                         | [`SagaStep`]                                   | outcome recorded with                                   | compensation                |
//! |---|------------------------------|------------------------------------------------|---------------------------------------------------------|-----------------------------|
//! | 0 | lock the cart (application)  | -                                              | -                                                       | `ReleaseCart`               |
//! | 1a| redeem the cart's code, if any, before anything else | `RedeemPromotion` | `RecordPromotionRedeemed` / `RecordPromotionRefused` | `ReleaseRedemption` |
//! | 1 | reserve stock, per line      | `ReserveStock`                                 | `RecordStockReserved` / `RecordStockUnavailable`        | `ReleaseReservation`        |
//! | 2 | authorize the payment        | `AuthorizePayment`, then `ReconcilePayment` if the answer was lost | `RecordPaymentAuthorized` / `RecordPaymentDeclined` / `RecordPaymentOutcomeUnknown` / `RecordPaymentDeadlinePassed` | `VoidPayment` |
//! | 3 | **place the order (pivot)**  | `PlaceOrder`                                   | `RecordOrderPlaced` / `RecordOrderRejected`             | none: after it, only a refund goes back |
//! | 4 | capture, commit stock        | `CapturePayment`, `CommitReservation` per line | `RecordPaymentCaptured` / `RecordReservationCommitted`  | never; retried until done   |
//! | 5 | mark the order paid          | `MarkOrderPaid`, once captured                 | `RecordOrderPaid`                                       | never; retried until done   |
//! | 5a| spend the code's use         | `ConfirmRedemption`                            | `RecordRedemptionConfirmed`                             | never; retried until done   |
//! | 6 | check the cart out           | `MarkCartCheckedOut`                           | `RecordCartCheckedOut`                                  | never; retried until done   |
//!
//! After the pivot a participant may still refuse for good (a capture the provider rejects, a
//! reservation that expired, an order staff cancelled): that is recorded with
//! `RecordStepRefused`, and the checkout needs attention; nothing more runs. [`STEPS`] is the
//! same list as data: the runner's boundaries and the crash tests are named after its
//! outcomes.
//!
//! What [`next_steps`] returns per status (each step only while not yet recorded as done):
//!
//! | status        | steps                                                                          |
//! |---------------|--------------------------------------------------------------------------------|
//! | Reserving     | `RedeemPromotion` while the code's answer is awaited; then `ReserveStock` for each line not reserved |
//! | Authorizing   | `AuthorizePayment`; once the outcome is unknown, `ReconcilePayment` instead |
//! | PlacingOrder  | `PlaceOrder`                                                                   |
//! | Finalizing    | `CapturePayment` (then `MarkOrderPaid`), `CommitReservation` per line, `ConfirmRedemption`, `MarkCartCheckedOut` |
//! | Compensating  | `VoidPayment` if a hold may exist, `ReleaseReservation` per line, `ReleaseRedemption` if a use may be held, `ReleaseCart` |
//! | Completed, Failed, NeedsAttention | nothing                                                    |
//!
//! Why the pivot is the order: before it every effect can be undone without the shopper losing
//! anything (held stock is released, a held payment is voided, never captured). Once the order
//! exists the shopper has been told they bought something, so the saga only moves forward;
//! capture and commit cannot be refused for business reasons (the hold and the reservation
//! already guarantee them), which is what makes them safe to leave after the pivot.
//!
//! Steps returned together are independent and may run in any order or in parallel. Their
//! order in the list is the one to prefer when running them one by one: compensations undo in
//! reverse (payment, then stock) and release the cart last, so a shopper who retries finds the
//! stock already back. Every step carries ids derived from the checkout ([`reservation_id`],
//! [`payment_id`], [`order_id`]), so running a step twice is a repeat the receiving context
//! ignores; the runner may therefore call `next_steps` after every recorded event, run whatever
//! it returns, and record each outcome, without remembering what it already did.
//!
//! While the payment outcome is unknown the runner schedules the deadline (a durable timer)
//! and reconciles: it asks the provider again under the same payment id, with backoff, and
//! records what it learns, so a lost answer of an authorization that did happen goes on to
//! the order instead of being voided. Only if the provider still cannot say by the deadline
//! does it send `RecordPaymentDeadlinePassed`; `VoidPayment` then asks the provider once
//! more and voids whatever it did authorize.

use chrono::{DateTime, Utc};
use shared_kernel::{
    CartId, CheckoutId, Currency, CustomerId, EmailAddress, Money, OrderId, PaymentId,
    PostalAddress, Quantity, ReservationId, Sku,
};

use crate::aggregate::{Checkout, RedemptionProgress};
use crate::values::{
    order_id, payment_id, reservation_id, AppliedPromotion, AppliedShipping, AppliedTax,
    CheckoutLine, CheckoutStatus, PaymentProgress,
};

pub use shared_kernel::saga::{StepKind, StepSpec};

/// The checkout saga, in order (ADR 0013, ADR 0019). `lock_cart` happens before the saga, when
/// the checkout is started. `refused_after_pivot` is not a step of its own: it is how any step
/// after the pivot records a participant's refusal for good, which leaves the checkout needing
/// attention.
pub const STEPS: [StepSpec; 15] = [
    StepSpec {
        name: "lock_cart",
        kind: StepKind::Compensatable,
        outcomes: &[],
        compensation: Some("release_cart"),
    },
    StepSpec {
        name: "redeem_promotion",
        kind: StepKind::Compensatable,
        outcomes: &["RecordPromotionRedeemed", "RecordPromotionRefused"],
        compensation: Some("release_promotion"),
    },
    StepSpec {
        name: "reserve_stock",
        kind: StepKind::Compensatable,
        outcomes: &["RecordStockReserved", "RecordStockUnavailable"],
        compensation: Some("release_stock"),
    },
    StepSpec {
        name: "authorize_payment",
        kind: StepKind::Compensatable,
        outcomes: &[
            "RecordPaymentAuthorized",
            "RecordPaymentDeclined",
            "RecordPaymentOutcomeUnknown",
            "RecordPaymentDeadlinePassed",
        ],
        compensation: Some("void_payment"),
    },
    StepSpec {
        name: "place_order",
        kind: StepKind::Pivot,
        outcomes: &["RecordOrderPlaced", "RecordOrderRejected"],
        compensation: None,
    },
    StepSpec {
        name: "capture_payment",
        kind: StepKind::Retriable,
        outcomes: &["RecordPaymentCaptured"],
        compensation: None,
    },
    StepSpec {
        name: "mark_order_paid",
        kind: StepKind::Retriable,
        outcomes: &["RecordOrderPaid"],
        compensation: None,
    },
    StepSpec {
        name: "commit_stock",
        kind: StepKind::Retriable,
        outcomes: &["RecordReservationCommitted"],
        compensation: None,
    },
    StepSpec {
        name: "check_out_cart",
        kind: StepKind::Retriable,
        outcomes: &["RecordCartCheckedOut"],
        compensation: None,
    },
    StepSpec {
        name: "confirm_promotion",
        kind: StepKind::Retriable,
        outcomes: &["RecordRedemptionConfirmed"],
        compensation: None,
    },
    StepSpec {
        name: "refused_after_pivot",
        kind: StepKind::Retriable,
        outcomes: &["RecordStepRefused"],
        compensation: None,
    },
    StepSpec {
        name: "release_stock",
        kind: StepKind::Compensation,
        outcomes: &["RecordStockReleased"],
        compensation: None,
    },
    StepSpec {
        name: "void_payment",
        kind: StepKind::Compensation,
        outcomes: &["RecordPaymentVoided"],
        compensation: None,
    },
    StepSpec {
        name: "release_promotion",
        kind: StepKind::Compensation,
        outcomes: &["RecordRedemptionReleased"],
        compensation: None,
    },
    StepSpec {
        name: "release_cart",
        kind: StepKind::Compensation,
        outcomes: &["RecordCartReleased"],
        compensation: None,
    },
];

/// One thing the runner should do for a checkout, with everything needed to do it.
// `PlaceOrder` carries the lines and shipping details and dwarfs the others. Steps are built,
// run once and dropped, a handful at a time, so boxing it would only burden every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaStep {
    /// Hold one use of promotion `code` for the checkout, judged at `at` (when the shopper
    /// checked out) on the merchandise `subtotal`. Outcome: `RecordPromotionRedeemed` or
    /// `RecordPromotionRefused`.
    RedeemPromotion {
        code: String,
        checkout_id: CheckoutId,
        customer_id: Option<CustomerId>,
        subtotal: Money,
        at: DateTime<Utc>,
    },
    /// Spend the held use (after the pivot). Outcome: `RecordRedemptionConfirmed`.
    ConfirmRedemption {
        code: String,
        checkout_id: CheckoutId,
    },
    /// Give back the use the checkout may hold. Outcome: `RecordRedemptionReleased`.
    ReleaseRedemption {
        code: String,
        checkout_id: CheckoutId,
    },
    /// Hold `quantity` of `sku`. Outcome: `RecordStockReserved` or `RecordStockUnavailable`.
    ReserveStock {
        sku: Sku,
        reservation_id: ReservationId,
        quantity: Quantity,
    },
    /// Hold `amount` on the shopper's payment method. Outcome: `RecordPaymentAuthorized`,
    /// `RecordPaymentDeclined` or, when the answer is lost, `RecordPaymentOutcomeUnknown`.
    AuthorizePayment {
        payment_id: PaymentId,
        amount: Money,
    },
    /// Ask the provider again, under the same key, what became of an authorization whose
    /// answer was lost, until `deadline`. Outcome: `RecordPaymentAuthorized` or
    /// `RecordPaymentDeclined` once it says; nothing while it still cannot (asked again later);
    /// `RecordPaymentDeadlinePassed` once the deadline has passed.
    ReconcilePayment {
        payment_id: PaymentId,
        deadline: DateTime<Utc>,
    },
    /// The pivot. Outcome: `RecordOrderPlaced` or `RecordOrderRejected`.
    PlaceOrder {
        order_id: OrderId,
        checkout_id: CheckoutId,
        cart_id: CartId,
        customer_id: Option<CustomerId>,
        email: EmailAddress,
        shipping: PostalAddress,
        currency: Currency,
        lines: Vec<CheckoutLine>,
        /// The code and each line's share of its discount.
        promotion: Option<AppliedPromotion>,
        /// The shipping method and what it charges.
        shipping_method: Option<AppliedShipping>,
        /// The tax on the lines and the shipping, if the shop charges tax.
        tax: Option<AppliedTax>,
    },
    /// Take the authorized amount. Outcome: `RecordPaymentCaptured`, or `RecordStepRefused`
    /// when the provider refuses for good.
    CapturePayment { payment_id: PaymentId },
    /// Tell the order the captured payment settled it. Outcome: `RecordOrderPaid`, or
    /// `RecordStepRefused`.
    MarkOrderPaid {
        order_id: OrderId,
        payment_id: PaymentId,
        amount: Money,
    },
    /// Turn the line's reservation into a sale. Outcome: `RecordReservationCommitted`, or
    /// `RecordStepRefused` when inventory can no longer commit it.
    CommitReservation {
        sku: Sku,
        reservation_id: ReservationId,
    },
    /// Outcome: `RecordCartCheckedOut`.
    MarkCartCheckedOut {
        cart_id: CartId,
        checkout_id: CheckoutId,
    },
    /// Give the line's units back. Outcome: `RecordStockReleased`.
    ReleaseReservation {
        sku: Sku,
        reservation_id: ReservationId,
    },
    /// Release any hold the provider has for the payment, asking it first if the outcome was
    /// never known. Outcome: `RecordPaymentVoided`.
    VoidPayment { payment_id: PaymentId },
    /// Unlock the cart so the shopper can change it and try again. Outcome: `RecordCartReleased`.
    ReleaseCart {
        cart_id: CartId,
        checkout_id: CheckoutId,
    },
}

/// The steps still to do for `checkout`, in the order to prefer (see the module doc). Empty
/// before the start and once completed or failed.
pub fn next_steps(checkout: &Checkout) -> Vec<SagaStep> {
    let (
        Some(status),
        Some(checkout_id),
        Some(cart_id),
        Some(currency),
        Some(total),
        Some(email),
        Some(shipping),
    ) = (
        checkout.status(),
        checkout.id(),
        checkout.cart_id(),
        checkout.currency(),
        checkout.total(),
        checkout.email(),
        checkout.shipping(),
    )
    else {
        return vec![];
    };
    match status {
        // The code first: a code used up fails the checkout before any stock is held, and a
        // compensation never races a redemption still in flight.
        CheckoutStatus::Reserving if checkout.awaits_redemption() => checkout
            .promotion()
            .map(|promotion| SagaStep::RedeemPromotion {
                code: promotion.code.clone(),
                checkout_id,
                customer_id: checkout.customer_id(),
                subtotal: checkout.subtotal().unwrap_or(total),
                at: checkout.started_at().unwrap_or_default(),
            })
            .into_iter()
            .collect(),
        CheckoutStatus::Reserving => checkout
            .lines()
            .iter()
            .filter(|line| !checkout.is_reserved(&line.sku))
            .map(|line| SagaStep::ReserveStock {
                sku: line.sku.clone(),
                reservation_id: reservation_id(checkout_id, &line.sku),
                quantity: line.quantity,
            })
            .collect(),
        CheckoutStatus::Authorizing => authorization(checkout, checkout_id, total),
        CheckoutStatus::PlacingOrder => vec![SagaStep::PlaceOrder {
            order_id: order_id(checkout_id),
            checkout_id,
            cart_id,
            customer_id: checkout.customer_id(),
            email: email.clone(),
            shipping: shipping.clone(),
            currency,
            lines: checkout.lines().to_vec(),
            promotion: checkout.promotion().cloned(),
            shipping_method: checkout.shipping_method().cloned(),
            tax: checkout.tax().cloned(),
        }],
        CheckoutStatus::Finalizing => finalization(checkout, checkout_id, cart_id),
        CheckoutStatus::Compensating => compensation(checkout, checkout_id, cart_id),
        CheckoutStatus::Completed | CheckoutStatus::Failed | CheckoutStatus::NeedsAttention => {
            vec![]
        }
    }
}

fn authorization(checkout: &Checkout, checkout_id: CheckoutId, total: Money) -> Vec<SagaStep> {
    match (checkout.payment(), checkout.payment_deadline()) {
        (PaymentProgress::Unknown, Some(deadline)) => vec![SagaStep::ReconcilePayment {
            payment_id: payment_id(checkout_id),
            deadline,
        }],
        (PaymentProgress::Pending, _) => vec![SagaStep::AuthorizePayment {
            payment_id: payment_id(checkout_id),
            amount: total,
        }],
        // Any other answer has already moved the checkout out of Authorizing.
        _ => vec![],
    }
}

fn finalization(checkout: &Checkout, checkout_id: CheckoutId, cart_id: CartId) -> Vec<SagaStep> {
    let capture = (!checkout.payment_captured()).then(|| SagaStep::CapturePayment {
        payment_id: payment_id(checkout_id),
    });
    // The order is marked paid once the money is taken, never before.
    let mark_paid = (checkout.payment_captured() && !checkout.order_paid())
        .then(|| {
            Some(SagaStep::MarkOrderPaid {
                order_id: checkout.order_id()?,
                payment_id: payment_id(checkout_id),
                amount: checkout.total()?,
            })
        })
        .flatten();
    let commits = checkout
        .lines()
        .iter()
        .filter(|line| !checkout.is_committed(&line.sku))
        .map(|line| SagaStep::CommitReservation {
            sku: line.sku.clone(),
            reservation_id: reservation_id(checkout_id, &line.sku),
        });
    let cart = (!checkout.cart_checked_out()).then_some(SagaStep::MarkCartCheckedOut {
        cart_id,
        checkout_id,
    });
    let confirm = checkout
        .promotion()
        .filter(|_| checkout.redemption() != RedemptionProgress::Confirmed)
        .map(|promotion| SagaStep::ConfirmRedemption {
            code: promotion.code.clone(),
            checkout_id,
        });
    capture
        .into_iter()
        .chain(mark_paid)
        .chain(commits)
        .chain(confirm)
        .chain(cart)
        .collect()
}

fn compensation(checkout: &Checkout, checkout_id: CheckoutId, cart_id: CartId) -> Vec<SagaStep> {
    let void = (checkout.payment_may_be_held() && !checkout.payment_voided()).then(|| {
        SagaStep::VoidPayment {
            payment_id: payment_id(checkout_id),
        }
    });
    let releases = checkout
        .lines()
        .iter()
        .filter(|_| checkout.stock_requested())
        // Every line, recorded as reserved or not: a reservation can exist unrecorded (made
        // just before a crash, or its answer lost), and releasing an unknown one is a no-op.
        .filter(|line| !checkout.is_released(&line.sku))
        .map(|line| SagaStep::ReleaseReservation {
            sku: line.sku.clone(),
            reservation_id: reservation_id(checkout_id, &line.sku),
        });
    let redemption = checkout
        .promotion()
        .filter(|_| checkout.holds_redemption())
        .map(|promotion| SagaStep::ReleaseRedemption {
            code: promotion.code.clone(),
            checkout_id,
        });
    let cart = (!checkout.cart_released()).then_some(SagaStep::ReleaseCart {
        cart_id,
        checkout_id,
    });
    void.into_iter()
        .chain(releases)
        .chain(redemption)
        .chain(cart)
        .collect()
}

#[cfg(test)]
mod tests;
