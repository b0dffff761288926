//! The carts context's `PriceList` port, answered from the catalog's aggregates.
//!
//! It reads the event-sourced state rather than the storefront read model, so a price that
//! was just changed or a product that was just unpublished is seen by the very next cart
//! command: a cart never captures a price the catalog no longer offers.

use std::sync::Arc;

use async_trait::async_trait;
use carts::ports::{PriceList, PriceLookupError, PricedSku};
use catalog::{CatalogError, Product, Sku, SkuClaim};
use runtime::{CommandError, CommandExecutor};
use shared_kernel::Currency;

pub struct CatalogPriceList {
    products: Arc<dyn CommandExecutor<Product>>,
    skus: Arc<dyn CommandExecutor<SkuClaim>>,
}

impl CatalogPriceList {
    pub fn new(
        products: Arc<dyn CommandExecutor<Product>>,
        skus: Arc<dyn CommandExecutor<SkuClaim>>,
    ) -> Self {
        Self { products, skus }
    }
}

fn unavailable(error: CommandError<CatalogError>) -> PriceLookupError {
    PriceLookupError::Unavailable(error.to_string())
}

#[async_trait]
impl PriceList for CatalogPriceList {
    async fn price(&self, sku: &str, currency: Currency) -> Result<PricedSku, PriceLookupError> {
        let unknown = || PriceLookupError::UnknownSku {
            sku: sku.to_owned(),
        };
        let sku = Sku::parse(sku).map_err(|_| unknown())?;
        let claim = self.skus.load(sku.as_str()).await.map_err(unavailable)?;
        let product_id = claim.aggregate.holder().ok_or_else(unknown)?;
        let product = self
            .products
            .load(&product_id.to_string())
            .await
            .map_err(unavailable)?;
        let product = product.aggregate;
        let weight = product.variant(&sku).ok_or_else(unknown)?.weight();
        if !product.is_published() {
            return Err(PriceLookupError::NotPurchasable {
                sku: sku.as_str().to_owned(),
            });
        }
        let unit_price = product.price_of(&sku, currency).ok_or_else(|| {
            PriceLookupError::NoPriceInCurrency {
                sku: sku.as_str().to_owned(),
                currency,
            }
        })?;
        Ok(PricedSku {
            product_id,
            sku: sku.as_str().to_owned(),
            title: product
                .title()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            unit_price,
            weight,
            tax_class: product.tax_class().map(str::to_owned),
        })
    }
}
