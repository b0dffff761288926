//! Coupons context: promotion codes a shopper types at checkout, what they take off, and how
//! many times they may be used.
//!
//! Owns: promotions (a code, its offer: a percentage or a fixed amount off the order or off
//! chosen SKUs, or free shipping; a minimum subtotal; a schedule; a total and a per-customer
//! usage limit), every checkout's redemption of a code (reserved, confirmed, released), the
//! arithmetic of a discount and its split across lines ([`discount`]), and why a shopper
//! cannot use a code, in words they can read ([`Refusal`]).
//! Does not own: carts or which code a cart holds (carts), the checkout saga or when it
//! redeems (checkout), prices and SKUs (catalog), order totals and refunds (orders, refunds),
//! taxes, shipping rates, gift cards, automatic discounts without a code, or stacking several
//! codes on one order.
//!
//! One aggregate: [`Promotion`] (`"promotion"`, aggregate id = the normalized code). Every
//! redemption of a code lives in its stream, so the event store's optimistic concurrency
//! serializes competing checkouts: whatever the rush, each redemption is decided on the
//! count every earlier one left.
//!
//! Invariant: a code is 3 to 32 characters of `A-Z 0-9 - _`, case-insensitive and stored upper
//! case; one code names one promotion forever, even once deactivated.
//! Invariant: reserved + confirmed redemptions <= the usage limit, and per signed-in customer
//! <= the per-customer limit, at every version of the stream; a limit can be raised, or
//! lowered no further than the uses already counted.
//! Invariant: a checkout id redeems a code at most once. Repeating the redemption succeeds
//! without effect, even after its release; a release gives back a reserved use at most once,
//! and is a no-op for a checkout with nothing to give back.
//! Invariant: a redemption goes Reserved -> Confirmed (the order was placed) or Reserved ->
//! Released (the checkout failed); both are final, and only Reserved and Confirmed count.
//! Invariant: once a code was redeemed, its offer and what it applies to never change; the
//! minimum, the schedule and the limits still may.
//! Invariant: a discount never exceeds what it applies to, and its split across lines sums to
//! it exactly in whole minor units, no line getting less than zero or more than its total.
//!
//! Decisions, with the saga in mind:
//! - Two-phase redemption. `RedeemPromotion` reserves a use before the pivot (a compensatable
//!   step; compensation `ReleaseRedemption`); `ConfirmRedemption` spends it once the order is
//!   placed (retried until done, never refused for a reserved use, even if the code was
//!   deactivated meanwhile). Confirming lets a release that arrives after the pivot be refused
//!   as the bug it is, and lets staff tell uses in flight from uses spent. A confirmed use is
//!   not given back when the order is later cancelled or refunded (as Shopify and Stripe do).
//! - No expiry of reserved uses: the checkout saga's deadlines always end a checkout in a
//!   release or a confirmation.
//! - Guests and per-customer limits: a code with a per-customer limit needs a signed-in
//!   customer, counted by customer id; a guest is refused with `promotion_sign_in_required`.
//!   Counting guests by their email would put a person's email (or a hash of it, just as
//!   personal) unsealed into a stream kept forever (ADR 0026), and would limit nothing: a new
//!   address is free. Codes without a per-customer limit take guests.
//! - The minimum subtotal is compared with the merchandise subtotal (every line, before
//!   discounts, without shipping), as Stripe does; when set, it names the currencies the code
//!   can be used in. A fixed amount off likewise needs an amount in the order's currency.
//! - Percent and amount offers apply to the eligible lines only, never to shipping; a fixed
//!   amount comes off once per order. The percentage is rounded half up to the minor unit,
//!   as `Money::round_to_minor_units` rounds.
//! - Deactivating is final (admin DELETE): the code stays taken so orders that name it keep
//!   one meaning. To pause a code, staff move its schedule.

pub mod aggregate;
pub mod commands;
pub mod discount;
pub mod errors;
pub mod events;
pub mod ports;
pub mod terms;
pub mod values;
pub mod views;

pub use aggregate::{Promotion, Redemption};
pub use commands::PromotionCommand;
pub use discount::{discount, Basket, Discount};
pub use errors::{BasketError, PromotionError, Refusal};
pub use events::PromotionEvent;
pub use terms::{AppliesTo, Offer, Terms};
pub use values::{
    CurrencyAmounts, Limit, Percentage, PromotionCode, PromotionStatus, RedemptionState, Schedule,
    SkuSet, MAX_CODE_CHARS, MAX_SKUS, MIN_CODE_CHARS,
};
pub use views::{apply_promotion_event, Availability, PromotionView};
