//! Checkout context: the checkout saga, which turns a locked cart into a paid order or, failing
//! that, undoes every step it took.
//!
//! Owns: checkouts (one attempt to buy a cart's lines: what is bought, at which total, shipped
//! where), the saga's progress through its steps, the
//! ids it derives for them (reservation, payment and order ids), why a checkout failed in
//! words a shopper can read, and the ports it needs from other contexts.
//! Does not own: the cart and its lock (carts), stock (inventory), the payment and its provider
//! (payments), the order and address rules (orders), prices, refunds, or running the steps:
//! the platform's saga runner reads the feed, asks [`saga::next_steps`], carries each step out
//! through the [`ports`], and records the outcome with a `Record*` command.
//!
//! One aggregate: [`Checkout`] (`"checkout"`, aggregate id = the checkout id), an
//! event-sourced process manager. Its events record which steps are done, so a runner that
//! crashes between two steps resumes from the feed where it stopped.
//!
//! Invariant: a checkout has 1..=100 lines, one per SKU, all priced in its currency, and a
//! positive total equal to the sum of `unit_price × quantity` less its promotion's discount,
//! whose per-line shares are recorded with it (ADR 0034).
//! Invariant: the saga runs in Richardson's order (redeem the cart's code, reserve stock,
//! authorize payment, place the order, then capture, commit, spend the code's use and check
//! the cart out). Placing the order is the pivot: before
//! it, any failure compensates every effect (release stock, void payment, unlock the cart);
//! after it, nothing is compensated and the remaining steps are retried until done.
//! Invariant: every step carries ids derived from the checkout, and every `Record*` command is
//! idempotent, so at-least-once delivery gives exactly-once effects.
//! Invariant: a completed or failed checkout never changes again.

pub mod aggregate;
pub mod commands;
pub mod errors;
pub mod events;
pub mod ports;
pub mod saga;
pub mod values;
pub mod views;

#[cfg(test)]
mod testing;

pub use aggregate::{Checkout, RedemptionProgress};
pub use commands::CheckoutCommand;
pub use errors::CheckoutError;
pub use events::{CheckoutEvent, CheckoutLineData};
pub use ports::{
    AuthorizationOutcome, CartLocks, OrderPlacement, OrderRequest, PaymentAuthorizations,
    PlacementOutcome, PromotionRedemptions, RedemptionOutcome, ReservationOutcome, Settled,
    StepError, StockReservations,
};
pub use saga::{next_steps, SagaStep, STEPS};
pub use values::{
    order_id, payment_id, reservation_id, AppliedPromotion, AppliedShipping, AppliedTax,
    CheckoutLine, CheckoutStatus, FailureReason, PaymentProgress, PublicStatus, TaxPart, MAX_LINES,
};
pub use views::{apply_checkout_event, CheckoutView, FailureView};
