//! Promotion codes (ADR 0031): the read model staff list codes from, and how a feature that
//! prices a code (a cart) reads one.
//!
//! `promotions` holds one [`PromotionView`] per code, keyed by the normalized code, with the
//! counts of reserved, confirmed and released redemptions. It is maintained from the feed and
//! may lag the streams: it says what a code offers and how it is used, never whether one more
//! checkout may redeem it. Only the `Promotion` aggregate decides that (`RedeemPromotion`),
//! so a rush can never exceed a limit through a stale count.

use std::sync::Arc;

use coupons::{apply_promotion_event, Promotion, PromotionCode, PromotionView};
use runtime::projection::ProjectionError;
use runtime::{FeedEvent, ListQuery, Projection, ReadModels, StoreError, WorkingSet};

pub const PROMOTIONS_VIEW: &str = "promotions";

/// Maintains [`PROMOTIONS_VIEW`] from promotion events.
#[derive(Debug, Default)]
pub struct PromotionsProjection;

fn malformed(event: &FeedEvent, reason: impl ToString) -> ProjectionError {
    ProjectionError::Malformed {
        event_id: event.event_id,
        reason: reason.to_string(),
    }
}

impl Projection for PromotionsProjection {
    fn name(&self) -> &'static str {
        "promotions"
    }

    fn views(&self) -> &'static [&'static str] {
        &[PROMOTIONS_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        if event.aggregate_type != <Promotion as cqrs_es::Aggregate>::TYPE {
            return Vec::new();
        }
        vec![(PROMOTIONS_VIEW, event.aggregate_id.clone())]
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<Promotion>() else {
            return Ok(());
        };
        let promotion_event = decoded.map_err(|e| malformed(event, e))?;
        let current = documents
            .get(PROMOTIONS_VIEW, &event.aggregate_id)
            .map(|body| serde_json::from_value::<PromotionView>(body.clone()))
            .transpose()
            .map_err(|e| malformed(event, e))?;
        if let Some(view) = apply_promotion_event(current, &promotion_event) {
            let body = serde_json::to_value(&view).map_err(|e| malformed(event, e))?;
            documents.put(PROMOTIONS_VIEW, &event.aggregate_id, body);
        }
        Ok(())
    }
}

/// Why promotions could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PromotionLookupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("unreadable promotion view {code}: {source}")]
    Unreadable {
        code: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads promotions as the read model holds them.
#[derive(Clone)]
pub struct PromotionDirectory {
    read_models: Arc<dyn ReadModels>,
}

fn view_of(code: String, body: serde_json::Value) -> Result<PromotionView, PromotionLookupError> {
    serde_json::from_value(body).map_err(|source| PromotionLookupError::Unreadable { code, source })
}

impl PromotionDirectory {
    pub fn new(read_models: Arc<dyn ReadModels>) -> Self {
        Self { read_models }
    }

    /// The promotion of `code` (any case: codes are normalized when parsed), deactivated ones
    /// included; `None` when no such code was created, or not yet projected.
    pub async fn find(
        &self,
        code: &PromotionCode,
    ) -> Result<Option<PromotionView>, PromotionLookupError> {
        let id = Promotion::aggregate_id(code);
        self.read_models
            .get(PROMOTIONS_VIEW, &id)
            .await?
            .map(|body| view_of(id, body))
            .transpose()
    }

    /// At most `limit` promotions in code order, after `starting_after` when given.
    pub async fn list(
        &self,
        limit: usize,
        starting_after: Option<&PromotionCode>,
    ) -> Result<Vec<PromotionView>, PromotionLookupError> {
        let after = starting_after.map(Promotion::aggregate_id);
        self.read_models
            .list(ListQuery::new(PROMOTIONS_VIEW, limit).starting_after(after.as_deref()))
            .await?
            .into_iter()
            .map(|(code, body)| view_of(code, body))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use coupons::{AppliesTo, Offer, PromotionEvent, PromotionStatus, Terms};
    use shared_kernel::{CheckoutId, Money};
    use uuid::Uuid;

    use super::*;

    fn feed_event(sequence: u64, event: &PromotionEvent) -> FeedEvent {
        let stored = runtime::codec::encode(event).unwrap();
        FeedEvent {
            cursor: runtime::Cursor {
                tx: 1,
                position: i64::try_from(sequence).unwrap(),
            },
            event_id: runtime::event_id("promotion", "WINTER10", sequence),
            aggregate_type: "promotion".to_owned(),
            aggregate_id: "WINTER10".to_owned(),
            sequence,
            event_type: stored.event_type,
            event_version: stored.event_version,
            payload: Arc::new(stored.payload),
            metadata: Arc::new(serde_json::json!({})),
        }
    }

    fn redeemed(n: u128) -> PromotionEvent {
        PromotionEvent::PromotionRedeemed {
            checkout_id: CheckoutId::from_uuid(Uuid::from_u128(n)),
            customer_id: None,
            subtotal: Money::parse("40.00", "EUR").unwrap(),
            redeemed_at: Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn the_view_counts_reserved_and_confirmed_redemptions_of_its_code() {
        let history = [
            PromotionEvent::PromotionCreated {
                code: "WINTER10".to_owned(),
                terms: Terms::new(Offer::FreeShipping, AppliesTo::Order),
                created_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            },
            redeemed(1),
            redeemed(2),
            PromotionEvent::RedemptionConfirmed {
                checkout_id: CheckoutId::from_uuid(Uuid::from_u128(1)),
            },
        ];
        let projection = PromotionsProjection;
        let mut documents = WorkingSet::default();
        for (index, event) in history.iter().enumerate() {
            let event = feed_event(index as u64 + 1, event);
            assert_eq!(
                projection.documents_for(&event),
                [(PROMOTIONS_VIEW, "WINTER10".to_owned())]
            );
            projection.apply(&event, &mut documents).unwrap();
        }
        let body = documents.get(PROMOTIONS_VIEW, "WINTER10").unwrap().clone();
        let view: PromotionView = serde_json::from_value(body).unwrap();
        assert_eq!((view.reserved, view.confirmed), (1, 1));
        assert_eq!(view.status, PromotionStatus::Active);
        assert_eq!(view.version, 4);
    }

    #[test]
    fn events_of_other_aggregates_are_not_its_business() {
        let mut event = feed_event(1, &redeemed(1));
        event.aggregate_type = "stock_item".to_owned();
        assert!(PromotionsProjection.documents_for(&event).is_empty());
    }
}
