//! What can be asked of a promotion. Staff send `CreatePromotion`, `UpdatePromotion` and
//! `DeactivatePromotion`; the checkout saga sends the other three, with the checkout id as
//! the redemption's id, so that a redelivered step is recognised.
//!
//! Time enters through commands, stamped by the application from its `shared_kernel::Clock`,
//! so a decision replays the same.

use chrono::{DateTime, Utc};
use shared_kernel::{CheckoutId, CustomerId, Money};

use crate::terms::Terms;
use crate::values::PromotionCode;

/// Commands for the [`Promotion`](crate::Promotion) aggregate, whose id is the normalized code
/// ([`Promotion::aggregate_id`](crate::Promotion::aggregate_id)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromotionCommand {
    /// Offers `code` on `terms` from `at` on. A code is taken forever, even once deactivated.
    CreatePromotion {
        code: PromotionCode,
        terms: Terms,
        at: DateTime<Utc>,
    },
    /// Replaces the terms. The offer and what it applies to are fixed once the code was
    /// redeemed, and a limit may not fall below the uses already held or spent. The same
    /// terms again: no-op.
    UpdatePromotion { terms: Terms },
    /// Takes the code off offer for good. Redemptions in flight may still be confirmed or
    /// released. Repeating it is a no-op.
    DeactivatePromotion { at: DateTime<Utc> },
    /// Holds one use of the code for `checkout_id` (the saga's step before the pivot).
    /// `subtotal` is the merchandise subtotal before discounts, in the checkout's currency;
    /// `at` is when the shopper checked out (the checkout's start, not when the step runs), so
    /// a late or repeated step judges the same moment. A checkout id redeems at most once:
    /// repeating it is a no-op whatever became of the redemption since.
    RedeemPromotion {
        checkout_id: CheckoutId,
        /// The signed-in customer; `None` for a guest.
        customer_id: Option<CustomerId>,
        subtotal: Money,
        at: DateTime<Utc>,
    },
    /// Gives a reserved use back (the compensation of a failed checkout). A checkout that
    /// never redeemed the code, or already gave it back: no-op.
    ReleaseRedemption { checkout_id: CheckoutId },
    /// Spends a reserved use for good once the order is placed (after the pivot; retried until
    /// done). Repeating it is a no-op.
    ConfirmRedemption { checkout_id: CheckoutId },
}

impl PromotionCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            PromotionCommand::CreatePromotion { .. } => "CreatePromotion",
            PromotionCommand::UpdatePromotion { .. } => "UpdatePromotion",
            PromotionCommand::DeactivatePromotion { .. } => "DeactivatePromotion",
            PromotionCommand::RedeemPromotion { .. } => "RedeemPromotion",
            PromotionCommand::ReleaseRedemption { .. } => "ReleaseRedemption",
            PromotionCommand::ConfirmRedemption { .. } => "ConfirmRedemption",
        }
    }
}
