//! What happened to promotions. Event type strings are part of the stored format: never change
//! them. Payloads are plain data, never re-validated when read (ADR 0014).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{CheckoutId, CustomerId, Money};

use crate::terms::Terms;

/// Events of the [`Promotion`](crate::Promotion) aggregate. Only `PromotionCreated` opens a
/// stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PromotionEvent {
    /// `code` (normalized, upper case) was offered on `terms`.
    PromotionCreated {
        code: String,
        terms: Terms,
        created_at: DateTime<Utc>,
    },
    /// The terms are now `terms` (all of them, not only what changed).
    PromotionUpdated { terms: Terms },
    /// The code is off offer for good.
    PromotionDeactivated { deactivated_at: DateTime<Utc> },
    /// One use is held for the checkout; it counts against the limits from now on.
    PromotionRedeemed {
        checkout_id: CheckoutId,
        customer_id: Option<CustomerId>,
        subtotal: Money,
        redeemed_at: DateTime<Utc>,
    },
    /// The checkout gave its use back; it no longer counts.
    RedemptionReleased { checkout_id: CheckoutId },
    /// The checkout placed its order; its use is spent for good.
    RedemptionConfirmed { checkout_id: CheckoutId },
}

impl DomainEvent for PromotionEvent {
    fn event_type(&self) -> String {
        match self {
            PromotionEvent::PromotionCreated { .. } => "PromotionCreated",
            PromotionEvent::PromotionUpdated { .. } => "PromotionUpdated",
            PromotionEvent::PromotionDeactivated { .. } => "PromotionDeactivated",
            PromotionEvent::PromotionRedeemed { .. } => "PromotionRedeemed",
            PromotionEvent::RedemptionReleased { .. } => "RedemptionReleased",
            PromotionEvent::RedemptionConfirmed { .. } => "RedemptionConfirmed",
        }
        .to_owned()
    }

    /// "2" from the first release: version 1 is the legacy serde-tagged format, which the
    /// stored-event codec refuses to write (`platform/runtime/src/codec.rs`).
    fn event_version(&self) -> String {
        "2".to_owned()
    }
}

#[cfg(test)]
mod tests;
