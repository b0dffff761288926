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
