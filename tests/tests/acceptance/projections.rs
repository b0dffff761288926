//! The projector is exactly-once over a crash: a batch whose checkpoint was never committed
//! is read again, and nothing in it reaches the read model twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use application::{ProductCatalogProjection, CATALOG_VIEW, STOREFRONT_VIEW};
use async_trait::async_trait;
use catalog::views::ProductView;
use catalog::{NewVariant, ProductCommand};
use runtime::projection::ProjectionError;
use runtime::{
    CommandMetadata, CommitOutcome, Cursor, DocumentChange, ProjectionStore, ProjectorRunner,
    StoreError,
};
use rust_decimal::Decimal;
use serde_json::Value;
use shared_kernel::{Currency, Money, ProductId};

use crate::app::{settings_for, Store};

/// A projection store whose process "dies" at the commit: the transaction never happens.
struct DiesBeforeCommit {
    inner: Arc<dyn ProjectionStore>,
    commits_attempted: AtomicUsize,
}

#[async_trait]
impl ProjectionStore for DiesBeforeCommit {
    async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError> {
        self.inner.checkpoint(projector).await
    }

    async fn load_document(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
        self.inner.load_document(view, id).await
    }

    async fn commit(
        &self,
        _projector: &str,
        _from: Cursor,
        _to: Cursor,
        _changes: Vec<DocumentChange>,
    ) -> Result<CommitOutcome, StoreError> {
        self.commits_attempted.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::new("killed before the checkpoint"))
    }
}

async fn projector_catches_up_after_a_crash_before_its_checkpoint(store: Store) {
    let settings = settings_for(store).await;
    let wired = commerce::open(&settings).await.expect("store opens");
    let metadata = CommandMetadata::new("test");
    let product_id = ProductId::new();
    let eur = Currency::parse("EUR").unwrap();
    let price = |cents: i64| Money::price(Decimal::new(cents, 2), eur).unwrap();
    wired
        .api
        .catalog
        .create_product(
            ProductCommand::CreateProduct {
                product_id,
                title: "Kettle".to_owned(),
                description: String::new(),
                variants: vec![NewVariant {
                    sku: "KETTLE-1".to_owned(),
                    name: None,
                    prices: vec![price(4_000)],
                    weight_grams: None,
                }],
                tax_class: None,
            },
            &metadata,
        )
        .await
        .unwrap();
    let products = wired.api.catalog.products();
    let id = product_id.to_string();
    products
        .execute(&id, ProductCommand::PublishProduct, None, &metadata)
        .await
        .unwrap();
    let last = products
        .execute(
            &id,
            ProductCommand::ChangeVariantPrice {
                sku: "KETTLE-1".to_owned(),
                price: price(3_500),
            },
            None,
            &metadata,
        )
        .await
        .unwrap();
    assert_eq!(last.version, 3);

    // On PostgreSQL the feed shows a commit once no older transaction anywhere in the cluster
    // is still open; wait for that rather than assume it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while wired
        .feed
        .read_after(Cursor::START, 100)
        .await
        .unwrap()
        .len()
        < 4
    {
        assert!(
            std::time::Instant::now() < deadline,
            "events never became visible"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let dying = Arc::new(DiesBeforeCommit {
        inner: wired.projections.clone(),
        commits_attempted: AtomicUsize::new(0),
    });
    let crashed = ProjectorRunner::new(
        wired.feed.clone(),
        dying.clone(),
        Arc::new(ProductCatalogProjection),
    );
    assert!(matches!(
        crashed.run_once().await,
        Err(ProjectionError::Store(_))
    ));
    assert_eq!(dying.commits_attempted.load(Ordering::SeqCst), 1);
    let read_models = wired.api.read_models.clone();
    assert!(
        read_models.get(CATALOG_VIEW, &id).await.unwrap().is_none(),
        "nothing leaked"
    );

    // The restarted projector resumes from the last committed checkpoint.
    let restarted = wired.product_projector().with_batch_size(2);
    restarted.catch_up().await.unwrap();
    restarted.catch_up().await.unwrap();
    let view: ProductView = serde_json::from_value(
        read_models
            .get(STOREFRONT_VIEW, &id)
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(view.version, 3, "every event applied exactly once");
    assert_eq!(view.variants[0].prices[0], price(3_500));
    let checkpoint = wired
        .projections
        .checkpoint("product_catalog")
        .await
        .unwrap();
    assert!(checkpoint > Cursor::START);
}

#[tokio::test]
async fn projector_catches_up_after_a_crash_before_its_checkpoint_on_sqlite() {
    projector_catches_up_after_a_crash_before_its_checkpoint(Store::Sqlite).await;
}

#[tokio::test]
async fn projector_catches_up_after_a_crash_before_its_checkpoint_on_postgres() {
    projector_catches_up_after_a_crash_before_its_checkpoint(Store::Postgres).await;
}
