//! The product read models, maintained from the global feed.
//!
//! `catalog_products` holds every product (drafts too) so that publishing can copy a complete
//! document; `storefront_products` holds exactly the published ones, which is what shoppers
//! may see and list.

use catalog::views::{apply_product_event, ProductView};
use catalog::Product;
use runtime::projection::ProjectionError;
use runtime::{FeedEvent, Projection, WorkingSet};
use shared_kernel::ProductId;

pub const CATALOG_VIEW: &str = "catalog_products";
pub const STOREFRONT_VIEW: &str = "storefront_products";

#[derive(Debug, Default)]
pub struct ProductCatalogProjection;

fn malformed(event: &FeedEvent, reason: impl ToString) -> ProjectionError {
    ProjectionError::Malformed {
        event_id: event.event_id,
        reason: reason.to_string(),
    }
}

impl Projection for ProductCatalogProjection {
    fn name(&self) -> &'static str {
        "product_catalog"
    }

    fn views(&self) -> &'static [&'static str] {
        &[CATALOG_VIEW, STOREFRONT_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        if event.aggregate_type != <Product as cqrs_es::Aggregate>::TYPE {
            return Vec::new();
        }
        vec![
            (CATALOG_VIEW, event.aggregate_id.clone()),
            (STOREFRONT_VIEW, event.aggregate_id.clone()),
        ]
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<Product>() else {
            return Ok(());
        };
        let product_event = decoded.map_err(|e| malformed(event, e))?;
        let product_id = ProductId::parse(&event.aggregate_id).map_err(|e| malformed(event, e))?;
        let current = documents
            .get(CATALOG_VIEW, &event.aggregate_id)
            .map(|body| serde_json::from_value::<ProductView>(body.clone()))
            .transpose()
            .map_err(|e| malformed(event, e))?;
        let Some(view) = apply_product_event(current, product_id, &product_event) else {
            return Ok(());
        };
        let body = serde_json::to_value(&view).map_err(|e| malformed(event, e))?;
        if view.published {
            documents.put(STOREFRONT_VIEW, &event.aggregate_id, body.clone());
        } else {
            documents.delete(STOREFRONT_VIEW, &event.aggregate_id);
        }
        documents.put(CATALOG_VIEW, &event.aggregate_id, body);
        Ok(())
    }
}

/// `payments`: one document per payment, for the admin API and reconciliation reports.
#[derive(Debug, Default)]
pub struct PaymentsProjection;

pub const PAYMENTS_VIEW: &str = "payments";

impl Projection for PaymentsProjection {
    fn name(&self) -> &'static str {
        "payments"
    }

    fn views(&self) -> &'static [&'static str] {
        &[PAYMENTS_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        if event.aggregate_type != <payments::Payment as cqrs_es::Aggregate>::TYPE {
            return Vec::new();
        }
        vec![(PAYMENTS_VIEW, event.aggregate_id.clone())]
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<payments::Payment>() else {
            return Ok(());
        };
        let payment_event = decoded.map_err(|e| malformed(event, e))?;
        let payment_id = shared_kernel::PaymentId::parse(&event.aggregate_id)
            .map_err(|e| malformed(event, e))?;
        let current = documents
            .get(PAYMENTS_VIEW, &event.aggregate_id)
            .map(|body| serde_json::from_value::<payments::PaymentView>(body.clone()))
            .transpose()
            .map_err(|e| malformed(event, e))?;
        if let Some(view) = payments::apply_payment_event(current, payment_id, &payment_event) {
            let body = serde_json::to_value(&view).map_err(|e| malformed(event, e))?;
            documents.put(PAYMENTS_VIEW, &event.aggregate_id, body);
        }
        Ok(())
    }
}

/// `stock_levels`: on hand, reserved and available per SKU, for the storefront's availability
/// and the inventory admin.
#[derive(Debug, Default)]
pub struct StockLevelsProjection;

pub const STOCK_LEVELS_VIEW: &str = "stock_levels";

impl Projection for StockLevelsProjection {
    fn name(&self) -> &'static str {
        "stock_levels"
    }

    fn views(&self) -> &'static [&'static str] {
        &[STOCK_LEVELS_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        if event.aggregate_type != <inventory::StockItem as cqrs_es::Aggregate>::TYPE {
            return Vec::new();
        }
        vec![(STOCK_LEVELS_VIEW, event.aggregate_id.clone())]
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<inventory::StockItem>() else {
            return Ok(());
        };
        let stock_event = decoded.map_err(|e| malformed(event, e))?;
        let current = documents
            .get(STOCK_LEVELS_VIEW, &event.aggregate_id)
            .map(|body| serde_json::from_value::<inventory::StockLevelView>(body.clone()))
            .transpose()
            .map_err(|e| malformed(event, e))?;
        let view = inventory::apply_stock_event(current, &event.aggregate_id, &stock_event);
        let body = serde_json::to_value(&view).map_err(|e| malformed(event, e))?;
        documents.put(STOCK_LEVELS_VIEW, &event.aggregate_id, body);
        Ok(())
    }
}

/// `checkouts_needing_attention`: every checkout a participant refused a step of after its
/// order was placed, for the admins' list. Staff resolve them; nothing removes them yet.
#[derive(Debug, Default)]
pub struct CheckoutsNeedingAttentionProjection;

pub const CHECKOUTS_NEEDING_ATTENTION_VIEW: &str = "checkouts_needing_attention";

impl Projection for CheckoutsNeedingAttentionProjection {
    fn name(&self) -> &'static str {
        "checkouts_needing_attention"
    }

    fn views(&self) -> &'static [&'static str] {
        &[CHECKOUTS_NEEDING_ATTENTION_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        if event.aggregate_type == <checkout::Checkout as cqrs_es::Aggregate>::TYPE
            && event.event_type == "CheckoutNeedsAttention"
        {
            vec![(CHECKOUTS_NEEDING_ATTENTION_VIEW, event.aggregate_id.clone())]
        } else {
            Vec::new()
        }
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<checkout::Checkout>() else {
            return Ok(());
        };
        let checkout::CheckoutEvent::CheckoutNeedsAttention { step, reason } =
            decoded.map_err(|e| malformed(event, e))?
        else {
            return Ok(());
        };
        let checkout_id = shared_kernel::CheckoutId::parse(&event.aggregate_id)
            .map_err(|e| malformed(event, e))?;
        let body = serde_json::json!({
            "checkout_id": event.aggregate_id,
            "order_id": checkout::order_id(checkout_id).to_string(),
            "payment_id": checkout::payment_id(checkout_id).to_string(),
            "step": step,
            "reason": reason,
            "since": event.metadata().occurred_at.map(|at| at.to_rfc3339()),
        });
        documents.put(CHECKOUTS_NEEDING_ATTENTION_VIEW, &event.aggregate_id, body);
        Ok(())
    }
}
