//! What the checkout saga needs from other contexts, each port named for the role it plays in
//! the saga. The platform implements them by sending commands to inventory, payments, orders
//! and carts; this crate depends on none of those crates.
//!
//! Contract shared by every port:
//! - Calls are idempotent under the ids they are given (derived from the checkout, see
//!   [`crate::values`]): repeating a call that already took effect answers as the first one
//!   did. The runner repeats calls freely after a crash or a lost answer.
//! - Business answers are values ([`ReservationOutcome`], [`AuthorizationOutcome`],
//!   [`PlacementOutcome`]), each mapping to one `Record*` command (`into_command`).
//! - [`StepError`] means only "not done now, try again later": nothing is recorded and the
//!   runner retries the step with backoff. An implementation must never report a business
//!   refusal as a `StepError`, or the saga would retry it forever.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::{
    CartId, CheckoutId, Currency, CustomerId, EmailAddress, Money, OrderId, PaymentId,
    PostalAddress, Quantity, ReservationId, Sku,
};

use crate::commands::CheckoutCommand;
use crate::values::{AppliedPromotion, AppliedShipping, AppliedTax, CheckoutLine};

/// Why a step could not be carried out now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The other context, its store or its provider failed or did not answer; retrying later
    /// may succeed.
    #[error("step unavailable: {0}")]
    Unavailable(String),
}

/// What a participant answered to a step after the pivot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Done now or earlier.
    Done,
    /// Refused for good, for `reason`: retrying cannot help, staff must (the checkout then
    /// needs attention).
    Refused { reason: String },
}

impl Settled {
    /// The command recording this answer to `step`, or `done` when it was done.
    pub fn into_command(self, step: &str, done: CheckoutCommand) -> CheckoutCommand {
        match self {
            Settled::Done => done,
            Settled::Refused { reason } => CheckoutCommand::RecordStepRefused {
                step: step.to_owned(),
                reason,
            },
        }
    }
}

/// What inventory answered to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationOutcome {
    Reserved,
    Unavailable,
}

impl ReservationOutcome {
    /// The command recording this answer for the line of `sku`.
    pub fn into_command(self, sku: Sku) -> CheckoutCommand {
        match self {
            ReservationOutcome::Reserved => CheckoutCommand::RecordStockReserved { sku },
            ReservationOutcome::Unavailable => CheckoutCommand::RecordStockUnavailable { sku },
        }
    }
}

/// Stock held for a checkout, line by line.
#[async_trait]
pub trait StockReservations: Send + Sync {
    /// Holds `quantity` of `sku` under `reservation_id`, for as long as the implementation's
    /// reservation lifetime.
    ///
    /// `Reserved`: held now, or held earlier under this id, whatever became of it since.
    /// `Unavailable`: fewer units available than asked (a SKU never stocked included).
    async fn reserve(
        &self,
        sku: &Sku,
        reservation_id: ReservationId,
        quantity: Quantity,
    ) -> Result<ReservationOutcome, StepError>;

    /// Gives the units back. `Ok` when released now or earlier, or already expired.
    async fn release(&self, sku: &Sku, reservation_id: ReservationId) -> Result<(), StepError>;

    /// Turns the held units into a sale. `Done` when committed now or earlier; `Refused` when
    /// the reservation can no longer be committed (it expired or was released).
    async fn commit(&self, sku: &Sku, reservation_id: ReservationId) -> Result<Settled, StepError>;
}

/// What the payment provider answered to an authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationOutcome {
    Authorized,
    /// `message` is the provider's explanation, fit to show the shopper.
    Declined {
        message: String,
    },
    /// The answer was lost (a timeout): a hold may or may not exist.
    Unknown,
}

impl AuthorizationOutcome {
    /// The command recording this answer. `deadline` is used only for `Unknown`: how long the
    /// runner is prepared to wait for the real answer.
    pub fn into_command(self, deadline: DateTime<Utc>) -> CheckoutCommand {
        match self {
            AuthorizationOutcome::Authorized => CheckoutCommand::RecordPaymentAuthorized,
            AuthorizationOutcome::Declined { message } => {
                CheckoutCommand::RecordPaymentDeclined { message }
            }
            AuthorizationOutcome::Unknown => {
                CheckoutCommand::RecordPaymentOutcomeUnknown { deadline }
            }
        }
    }
}

/// Money held on the shopper's payment method, then taken or released.
#[async_trait]
pub trait PaymentAuthorizations: Send + Sync {
    /// Asks the provider to hold `amount` on the payment method the shopper gave for
    /// `payment_id` (its token was put aside when the checkout started, never in an event).
    /// A repeat under `payment_id` answers as the first call did, without a second hold. A
    /// token that is gone (kept too long) is `Declined`, with a message asking to try again.
    async fn authorize(
        &self,
        payment_id: PaymentId,
        amount: Money,
    ) -> Result<AuthorizationOutcome, StepError>;

    /// Forgets the payment method token of `payment_id` once the checkout no longer needs it.
    async fn forget_payment_method(&self, payment_id: PaymentId) -> Result<(), StepError>;

    /// Asks the provider again about an authorization whose answer was lost. `Unknown` if it
    /// still cannot tell.
    async fn reconcile(&self, payment_id: PaymentId) -> Result<AuthorizationOutcome, StepError>;

    /// Takes the whole authorized amount. `Done` when captured now or earlier; `Refused` when
    /// the provider refuses for good (an authorization holds the money, so that is rare and
    /// needs staff).
    async fn capture(&self, payment_id: PaymentId) -> Result<Settled, StepError>;

    /// Releases any hold for `payment_id`, first asking the provider if the outcome was never
    /// known. `Ok` when voided now or earlier, and when it turns out nothing was held.
    async fn void(&self, payment_id: PaymentId) -> Result<(), StepError>;
}

/// The order the saga asks for: the checkout's lines at the prices the cart captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub order_id: OrderId,
    pub checkout_id: CheckoutId,
    pub cart_id: CartId,
    pub customer_id: Option<CustomerId>,
    pub email: EmailAddress,
    pub shipping: PostalAddress,
    pub currency: Currency,
    pub lines: Vec<CheckoutLine>,
    /// The code and each line's share of its discount, in line order.
    pub promotion: Option<AppliedPromotion>,
    /// The shipping method and what it charges.
    pub shipping_method: Option<AppliedShipping>,
    /// The tax on each line and on the shipping, if the shop charges tax.
    pub tax: Option<AppliedTax>,
}

/// What the orders context answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacementOutcome {
    Placed {
        order_id: OrderId,
    },
    /// The order cannot exist as asked (an invalid email or address, ...); `reason` is for
    /// staff.
    Rejected {
        reason: String,
    },
}

impl PlacementOutcome {
    /// The command recording this answer.
    pub fn into_command(self) -> CheckoutCommand {
        match self {
            PlacementOutcome::Placed { order_id } => {
                CheckoutCommand::RecordOrderPlaced { order_id }
            }
            PlacementOutcome::Rejected { reason } => {
                CheckoutCommand::RecordOrderRejected { reason }
            }
        }
    }
}

/// The order: placing it is the saga's pivot; marking it paid follows the capture.
#[async_trait]
pub trait OrderPlacement: Send + Sync {
    /// Places the order under `order.order_id`. A repeat for the same checkout answers
    /// `Placed` again. The implementation stamps the placement time from its clock.
    async fn place(&self, order: OrderRequest) -> Result<PlacementOutcome, StepError>;

    /// Records that `amount` was captured for the order under `payment_id`. `Done` when
    /// recorded now or earlier; `Refused` when the order will not take it (staff cancelled
    /// it meanwhile, say).
    async fn mark_paid(
        &self,
        order_id: OrderId,
        payment_id: PaymentId,
        amount: Money,
    ) -> Result<Settled, StepError>;
}

/// The lock a checkout holds on its cart (taken by carts' `BeginCheckout` before the start).
#[async_trait]
pub trait CartLocks: Send + Sync {
    /// Freezes the cart as bought by `checkout_id`. `Done` when done now or earlier.
    async fn check_out(
        &self,
        cart_id: CartId,
        checkout_id: CheckoutId,
    ) -> Result<Settled, StepError>;

    /// Unlocks the cart. `Ok` also when `checkout_id` does not hold it (any more).
    async fn release(&self, cart_id: CartId, checkout_id: CheckoutId) -> Result<(), StepError>;
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn reservation_answers_map_to_their_record_commands() {
        let sku = Sku::parse("TEE-S").unwrap();
        assert_eq!(
            ReservationOutcome::Reserved.into_command(sku.clone()),
            CheckoutCommand::RecordStockReserved { sku: sku.clone() }
        );
        assert_eq!(
            ReservationOutcome::Unavailable.into_command(sku.clone()),
            CheckoutCommand::RecordStockUnavailable { sku }
        );
    }

    #[test]
    fn authorization_answers_map_to_their_record_commands() {
        let deadline = Utc.with_ymd_and_hms(2025, 3, 1, 12, 5, 0).unwrap();
        assert_eq!(
            AuthorizationOutcome::Authorized.into_command(deadline),
            CheckoutCommand::RecordPaymentAuthorized
        );
        assert_eq!(
            AuthorizationOutcome::Declined {
                message: "Insufficient funds.".into()
            }
            .into_command(deadline),
            CheckoutCommand::RecordPaymentDeclined {
                message: "Insufficient funds.".into()
            }
        );
        assert_eq!(
            AuthorizationOutcome::Unknown.into_command(deadline),
            CheckoutCommand::RecordPaymentOutcomeUnknown { deadline }
        );
    }

    #[test]
    fn order_answers_map_to_their_record_commands() {
        let order_id = OrderId::from_uuid(Uuid::from_u128(7));
        assert_eq!(
            PlacementOutcome::Placed { order_id }.into_command(),
            CheckoutCommand::RecordOrderPlaced { order_id }
        );
        assert_eq!(
            PlacementOutcome::Rejected {
                reason: "invalid email".into()
            }
            .into_command(),
            CheckoutCommand::RecordOrderRejected {
                reason: "invalid email".into()
            }
        );
    }
}

/// What the promotion answered to a redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedemptionOutcome {
    /// A use is held for the checkout (now or by an earlier call).
    Redeemed,
    /// The code cannot be used: `refusal` is the coupons context's stable code for why,
    /// `message` its sentence for the shopper.
    Refused { refusal: String, message: String },
}

impl RedemptionOutcome {
    pub fn into_command(self) -> CheckoutCommand {
        match self {
            RedemptionOutcome::Redeemed => CheckoutCommand::RecordPromotionRedeemed,
            RedemptionOutcome::Refused { refusal, message } => {
                CheckoutCommand::RecordPromotionRefused { refusal, message }
            }
        }
    }
}

/// The promotion codes' uses, held before the pivot and spent or given back after it.
#[async_trait]
pub trait PromotionRedemptions: Send + Sync {
    /// Holds one use of `code` for `checkout_id`, judged at `at` on the merchandise
    /// `subtotal`. Repeating it answers as the first call did.
    async fn redeem(
        &self,
        code: &str,
        checkout_id: CheckoutId,
        customer_id: Option<CustomerId>,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<RedemptionOutcome, StepError>;

    /// Spends the use held for `checkout_id` (after the pivot; never refused for a held use).
    async fn confirm(&self, code: &str, checkout_id: CheckoutId) -> Result<Settled, StepError>;

    /// Gives back the use `checkout_id` may hold; nothing held is a success.
    async fn release(&self, code: &str, checkout_id: CheckoutId) -> Result<(), StepError>;
}
