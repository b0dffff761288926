//! Creating a product with catalog-wide unique SKUs.
//!
//! Each SKU is a `SkuClaim` aggregate keyed by the SKU itself, so the event store's optimistic
//! concurrency makes the first claim win. Creating a product validates it without writing
//! anything, claims its SKUs in sorted order, then appends the product; if anything fails
//! after a claim, the claims made so far are released. A process that dies between the claims
//! and the product leaves claims held by a product that never existed: such a claim may be
//! taken over once it is older than [`ORPHAN_GRACE`] (ADR 0007).

use std::sync::Arc;

use catalog::{CatalogError, Product, ProductCommand, Sku, SkuClaim, SkuClaimCommand};
use chrono::Duration;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use runtime::{CommandError, CommandExecutor, CommandMetadata, Executed};
use shared_kernel::{Clock, ProductId};

/// How long a claim whose product never appeared is protected, covering a creation in flight.
pub const ORPHAN_GRACE: Duration = Duration::minutes(10);

#[derive(Debug, thiserror::Error)]
pub enum CreateProductError {
    #[error(transparent)]
    Rejected(CatalogError),
    #[error("concurrent modification; retry the request")]
    Conflict,
    #[error("infrastructure failure: {0}")]
    Infrastructure(String),
}

impl From<CommandError<CatalogError>> for CreateProductError {
    fn from(error: CommandError<CatalogError>) -> Self {
        match error {
            CommandError::Rejected(e) => Self::Rejected(e),
            CommandError::Conflict | CommandError::PreconditionFailed { .. } => Self::Conflict,
            CommandError::Infrastructure(e) => Self::Infrastructure(e),
        }
    }
}

pub struct CatalogService {
    products: Arc<dyn CommandExecutor<Product>>,
    skus: Arc<dyn CommandExecutor<SkuClaim>>,
    clock: Arc<dyn Clock>,
}

impl CatalogService {
    pub fn new(
        products: Arc<dyn CommandExecutor<Product>>,
        skus: Arc<dyn CommandExecutor<SkuClaim>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            products,
            skus,
            clock,
        }
    }

    pub fn products(&self) -> &Arc<dyn CommandExecutor<Product>> {
        &self.products
    }

    /// Creates a product whose SKUs no other product holds. `command` must be
    /// `ProductCommand::CreateProduct`.
    pub async fn create_product(
        &self,
        command: ProductCommand,
        metadata: &CommandMetadata,
    ) -> Result<Executed<Product>, CreateProductError> {
        let ProductCommand::CreateProduct {
            product_id,
            variants,
            ..
        } = &command
        else {
            return Err(CreateProductError::Infrastructure(
                "create_product needs a CreateProduct command".to_owned(),
            ));
        };
        let product_id = *product_id;
        let mut skus = variants
            .iter()
            .map(|variant| Sku::parse(&variant.sku))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CreateProductError::Rejected(e.into()))?;
        skus.sort();

        // Validate everything before claiming anything: a dry run of the aggregate's decision.
        Product::default()
            .handle(command.clone(), &(), &EventSink::default())
            .await
            .map_err(CreateProductError::Rejected)?;

        let mut claimed: Vec<Sku> = Vec::with_capacity(skus.len());
        for sku in &skus {
            if let Err(error) = self.claim(sku, product_id, metadata).await {
                self.release_all(&claimed, product_id, metadata).await;
                return Err(error);
            }
            claimed.push(sku.clone());
        }
        match self
            .products
            .execute(&product_id.to_string(), command, Some(0), metadata)
            .await
        {
            Ok(executed) => Ok(executed),
            Err(error) => {
                // A commit whose answer was lost may still have happened: never free the SKUs
                // of a product that exists.
                if let Ok(loaded) = self.products.load(&product_id.to_string()).await {
                    if loaded.version > 0 && matches!(error, CommandError::Infrastructure(_)) {
                        return Ok(Executed {
                            version: loaded.version,
                            events_appended: 0,
                            state: loaded.aggregate,
                        });
                    }
                }
                self.release_all(&claimed, product_id, metadata).await;
                Err(match error {
                    CommandError::PreconditionFailed { .. } => {
                        CreateProductError::Rejected(CatalogError::AlreadyExists)
                    }
                    other => other.into(),
                })
            }
        }
    }

    async fn claim(
        &self,
        sku: &Sku,
        product_id: ProductId,
        metadata: &CommandMetadata,
    ) -> Result<(), CreateProductError> {
        let at = self.clock.now();
        let claim = SkuClaimCommand::ClaimSku {
            sku: sku.clone(),
            product_id,
            at,
        };
        match self.skus.execute(sku.as_str(), claim, None, metadata).await {
            Ok(_) => Ok(()),
            Err(CommandError::Rejected(CatalogError::SkuTaken {
                product_id: holder, ..
            })) if self.is_orphaned(sku, holder).await? => {
                tracing::warn!(sku = sku.as_str(), %holder, "taking over an orphaned SKU claim");
                let reclaim = SkuClaimCommand::ReclaimOrphanedSku {
                    sku: sku.clone(),
                    previous: holder,
                    product_id,
                    at,
                };
                self.skus
                    .execute(sku.as_str(), reclaim, None, metadata)
                    .await
                    .map(|_| ())
                    .map_err(Into::into)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A claim is orphaned when its product was never created and the claim is old enough
    /// that no creation can still be in flight for it.
    async fn is_orphaned(&self, sku: &Sku, holder: ProductId) -> Result<bool, CreateProductError> {
        let product = self.products.load(&holder.to_string()).await?;
        if product.version > 0 {
            return Ok(false);
        }
        let claim = self.skus.load(sku.as_str()).await?;
        Ok(claim
            .aggregate
            .claimed_at()
            .is_some_and(|at| self.clock.now() - at > ORPHAN_GRACE))
    }

    async fn release_all(&self, skus: &[Sku], product_id: ProductId, metadata: &CommandMetadata) {
        for sku in skus {
            let release = SkuClaimCommand::ReleaseSku { product_id };
            if let Err(error) = self
                .skus
                .execute(sku.as_str(), release, None, metadata)
                .await
            {
                // The claim stays orphaned; a later creation can take it over after the grace.
                tracing::error!(sku = sku.as_str(), %error, "could not release a SKU claim");
            }
        }
    }
}
