//! The composition root: the only crate that knows every adapter. It opens the configured
//! store, wires the domain services and ports, starts the feed-driven projectors and serves
//! the REST API until SIGINT/SIGTERM.

pub mod backup;
pub mod cli;
pub mod config;
pub mod demo;
mod fault;
pub mod ops;
mod progress;
pub mod rebuild;
pub mod tail;
pub mod telemetry;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use accounts::{ApiKeys, Customers, ServerSecrets};
use actix_web::{App, HttpServer};
use application::access_tokens::AccessTokens;
use application::checkout::{CheckoutSaga, CheckoutSagaRunner, Participants, SagaSettings};
use application::checkout_participants::{
    CartCheckoutLocks, GatewayPayments, InventoryReservations, OrdersPlacement,
};
use application::checkout_start::CheckoutStarter;
use application::checkout_timeline::CheckoutTimelines;
use application::customers::CustomerAccounts;
use application::expiry::ReservationExpiry;
use application::personal_data::PersonalData;
use application::refunds::{RefundSaga, RefundSagaRunner, ReturnSaga, ReturnSagaRunner};
use application::saga::SagaRunner;
use application::{
    CatalogPriceList, CatalogService, CheckoutsNeedingAttentionProjection, OrderService,
    OrdersProjection, PaymentsProjection, ProductCatalogProjection, StockLevelsProjection,
};
use carts::{Cart, CartServices};
use catalog::{Product, SkuClaim};
use checkout::Checkout;
use coupons::Promotion;
use cqrs_es::persist::PersistedEventRepository;
use inventory::StockItem;
use orders::Order;
use payment_sandbox::SandboxGateway;
use payments::{Payment, PaymentMethodTokens, PaymentServices};
use refunds::{Refund, Return};
use rest::ApiState;
use runtime::{
    AppendWatch, CommandExecutor, Deadlines, DocumentCache, EventContracts, EventFeed,
    EventSourcedExecutor, FeedSignal, HealthCheck, IdempotencyStore, Leases, OpeningFeed,
    PersonalDataKeys, Projection, ProjectionStore, ProjectorRunner, PublishedFeed, ReadModels,
    ReadProgress, SharedFeed, SparseDeadlines, StoredStreams, Vault, WebhookStore,
};
use shared_kernel::{CheckoutId, Clock, SystemClock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Settings, StoreUrl};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not open the store: {0}")]
    Store(String),
    #[error("could not create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not seed the demo catalog: {0}")]
    Demo(String),
    #[error("server error: {0}")]
    Server(std::io::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("could not start webhook delivery: {0}")]
    Webhooks(String),
}

/// The ports every store adapter provides, as trait objects.
#[derive(Clone)]
struct StorePorts {
    feed: Arc<dyn EventFeed>,
    projections: Arc<dyn ProjectionStore>,
    read_models: Arc<dyn ReadModels>,
    idempotency: Arc<dyn IdempotencyStore>,
    health: Arc<dyn HealthCheck>,
    deadlines: Arc<dyn Deadlines>,
    tokens: Arc<dyn PaymentMethodTokens>,
    webhooks: Arc<dyn WebhookStore>,
    leases: Arc<dyn Leases>,
    api_keys: Arc<dyn ApiKeys>,
    secrets: Arc<dyn ServerSecrets>,
    customers: Arc<dyn Customers>,
    profiles: Arc<dyn accounts::CustomerProfiles>,
    zone_directory: Arc<dyn shipping::ZoneDirectory>,
    order_numbers: Arc<dyn orders::OrderNumbers>,
    personal_keys: Arc<dyn PersonalDataKeys>,
    gauges: Arc<dyn runtime::StoreGauges>,
    /// The pool label of the metrics: `sqlite` or `postgres`.
    pool_name: &'static str,
    /// Set on PostgreSQL, whose commits other instances make too: it forwards their
    /// notifications to this instance's feed readers.
    postgres: Option<postgres_store::PostgresStore>,
    /// Set on PostgreSQL, which other instances share: the sandbox gateway keeps its ledger
    /// there (ADR 0041). Unset, it journals to a file beside the embedded store.
    provider_ledger: Option<Arc<dyn runtime::ProviderLedger>>,
}

impl StorePorts {
    fn of<S>(store: S) -> Self
    where
        S: EventFeed
            + ProjectionStore
            + ReadModels
            + IdempotencyStore
            + HealthCheck
            + Deadlines
            + PaymentMethodTokens
            + WebhookStore
            + Leases
            + ApiKeys
            + ServerSecrets
            + Customers
            + accounts::CustomerProfiles
            + shipping::ZoneDirectory
            + orders::OrderNumbers
            + PersonalDataKeys
            + runtime::StoreGauges
            + 'static,
    {
        let store = Arc::new(store);
        Self {
            feed: store.clone(),
            projections: store.clone(),
            read_models: store.clone(),
            idempotency: store.clone(),
            health: store.clone(),
            deadlines: store.clone(),
            tokens: store.clone(),
            webhooks: store.clone(),
            leases: store.clone(),
            api_keys: store.clone(),
            secrets: store.clone(),
            customers: store.clone(),
            profiles: store.clone(),
            zone_directory: store.clone(),
            order_numbers: store.clone(),
            personal_keys: store.clone(),
            gauges: store,
            pool_name: "sqlite",
            postgres: None,
            provider_ledger: None,
        }
    }
}

/// The application, wired and ready to serve.
#[derive(Clone)]
pub struct Wired {
    pub api: ApiState,
    pub signal: FeedSignal,
    pub feed: Arc<dyn EventFeed>,
    pub projections: Arc<dyn ProjectionStore>,
    pub saga: Arc<CheckoutSagaRunner>,
    pub refund_saga: Arc<RefundSagaRunner>,
    pub return_saga: Arc<ReturnSagaRunner>,
    /// Makes stock held by reservations nobody finished with available again.
    pub expiry: Arc<ReservationExpiry>,
    /// Frees shipping zone claims that a crash or a failed release left behind.
    pub zone_claim_repair: Arc<application::shipping::ZoneClaimRepair>,
    /// Every event's public form (ADR 0015), read by the feed routes and the deliveries.
    pub published: PublishedFeed,
    pub webhooks: Arc<dyn WebhookStore>,
    pub leases: Arc<dyn Leases>,
    /// Ends open event streams when the server stops.
    pub streams_closing: Arc<watch::Sender<bool>>,
    postgres: Option<postgres_store::PostgresStore>,
    /// The hot read-model documents this process serves from memory, when it runs their
    /// projectors (ADR 0044).
    read_cache: Option<Arc<DocumentCache>>,
}

/// The checkpoint of every reader of the feed that this configuration runs: the read models,
/// the saga runners, the webhook dispatcher and, when configured, the NATS relay.
pub fn feed_consumers(settings: &Settings) -> Vec<String> {
    let mut names: Vec<String> = all_projections()
        .iter()
        .map(|projection| projection.name().to_owned())
        .collect();
    names.push(CheckoutSagaRunner::checkpoint_name());
    names.push(RefundSagaRunner::checkpoint_name());
    names.push(ReturnSagaRunner::checkpoint_name());
    names.push(application::shipping::ZoneClaimRepair::CHECKPOINT.to_owned());
    names.push(runtime::webhooks::DISPATCHER_CHECKPOINT.to_owned());
    if settings.relay_config().is_some() {
        names.push(nats_relay::CHECKPOINT.to_owned());
    }
    names
}

/// Every read model the application maintains, each with its own checkpoint.
pub fn all_projections() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(ProductCatalogProjection),
        Arc::new(OrdersProjection),
        Arc::new(PaymentsProjection),
        Arc::new(StockLevelsProjection),
        Arc::new(CheckoutsNeedingAttentionProjection),
        Arc::new(application::customer_carts::CustomerCartsProjection),
        Arc::new(application::shipping::ShippingZonesProjection),
        Arc::new(application::PromotionsProjection),
    ]
}

impl Wired {
    /// The projector that maintains the product read models.
    pub fn product_projector(&self) -> ProjectorRunner {
        self.projector(Arc::new(ProductCatalogProjection))
    }

    /// A runner of `projection` that reports its progress to the requests waiting to read
    /// their own writes (ADR 0040).
    pub fn projector(&self, projection: Arc<dyn Projection>) -> ProjectorRunner {
        let mut runner =
            ProjectorRunner::new(self.feed.clone(), self.projections.clone(), projection);
        // Every runner in this process keeps the cache right, before it reports progress.
        if let Some(cache) = &self.read_cache {
            runner = runner.with_cache(cache.clone());
        }
        match &self.api.read_progress {
            Some(progress) => runner.with_progress(progress.clone()),
            None => runner,
        }
    }

    /// True when no event was ever appended (a brand-new store).
    pub async fn store_is_empty(&self) -> Result<bool, String> {
        let first = self
            .feed
            .read_after(runtime::Cursor::START, 1)
            .await
            .map_err(|e| e.to_string())?;
        Ok(first.is_empty())
    }
}

fn wire<R, F>(
    repository: F,
    mut ports: StorePorts,
    settings: &Settings,
    secrets: Secrets,
) -> Result<Wired, StartError>
where
    R: PersistedEventRepository + 'static,
    F: Fn() -> R,
{
    // The workers poll for due deadlines every 100 ms; the store is asked only when one may
    // be due (ADR 0046).
    ports.deadlines = Arc::new(SparseDeadlines::new(ports.deadlines));
    let signal = FeedSignal::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Orders and checkouts carry a shopper's email and address sealed with the shopper's key
    // (ADR 0026): their executors and every feed reader open them through one vault.
    let vault = Arc::new(Vault::new(
        ports.personal_keys.clone(),
        application::personal_data::personal_events(),
    ));
    let products: Arc<dyn CommandExecutor<Product>> =
        Arc::new(EventSourcedExecutor::new(repository(), ()).with_signal(signal.clone()));
    let skus: Arc<dyn CommandExecutor<SkuClaim>> =
        Arc::new(EventSourcedExecutor::new(repository(), ()).with_signal(signal.clone()));
    let prices = Arc::new(CatalogPriceList::new(products.clone(), skus.clone()));
    // A cart's shipping address is sealed too (ADR 0037). Only carts without an address are
    // held in memory (ADR 0045), so that an erased address cannot outlive its key in this
    // process: a cart with one replays its (short) stream through the vault on every load.
    // Those without are decided on their cached state, checked by the append (ADR 0042):
    // a cart's decisions only read prices, they call nothing a stale state could repeat.
    let carts: Arc<dyn CommandExecutor<Cart>> = Arc::new(
        EventSourcedExecutor::new(
            repository(),
            CartServices {
                prices: prices.clone(),
            },
        )
        .trusting_cache()
        .caching_only(|cart: &Cart| cart.shipping_address().is_none())
        .with_signal(signal.clone())
        .with_vault(vault.clone()),
    );
    // Refunds of one order may be requested in a burst (ADR 0018): each must be decided
    // against the others, not given up on as a conflict.
    let orders: Arc<dyn CommandExecutor<Order>> = Arc::new(
        EventSourcedExecutor::new(repository(), ())
            .trusting_cache()
            .with_max_attempts(64)
            .with_signal(signal.clone())
            .with_vault(vault.clone()),
    );
    let orders = Arc::new(OrderService::new(
        orders,
        prices,
        clock.clone(),
        ports.order_numbers.clone(),
    ));
    let gateway = match &ports.provider_ledger {
        Some(ledger) => SandboxGateway::shared(ledger.clone()),
        None => {
            let journal = settings.sandbox_journal_path();
            SandboxGateway::persistent(&journal).map_err(|source| StartError::DataDir {
                path: journal.display().to_string(),
                source,
            })?
        }
    };
    let payments: Arc<dyn CommandExecutor<Payment>> = Arc::new(
        EventSourcedExecutor::new(
            repository(),
            PaymentServices::new(
                Arc::new(application::gateway_telemetry::InstrumentedGateway::new(
                    Arc::new(gateway),
                )),
                ports.tokens.clone(),
            ),
        )
        .with_signal(signal.clone()),
    );
    // A burst of reservations for the last units of one SKU across instances must be decided
    // (reserved or out of stock), never given up on as a conflict.
    let inventory: Arc<dyn CommandExecutor<StockItem>> = Arc::new(
        EventSourcedExecutor::new(repository(), ())
            .trusting_cache()
            .with_max_attempts(64)
            .with_signal(signal.clone()),
    );
    // Every checkout that redeems a code appends to that code's one stream (ADR 0031): a
    // burst of them on a popular code must each be decided (redeemed or used up), never given
    // up on as a conflict.
    let promotions: Arc<dyn CommandExecutor<Promotion>> = Arc::new(
        EventSourcedExecutor::new(repository(), ())
            .trusting_cache()
            .with_max_attempts(64)
            .with_signal(signal.clone()),
    );
    // Shoppers long-poll their checkout (`GET /v1/checkouts/{id}?wait=`): each append to a
    // checkout wakes its waiters in this process.
    let checkout_appends = Arc::new(AppendWatch::new());
    // Checkouts, stock, codes and orders decide without calling out, so their commands are
    // decided on the cached state, checked by the append (ADR 0042).
    let checkouts: Arc<dyn CommandExecutor<Checkout>> = Arc::new(
        EventSourcedExecutor::new(repository(), ())
            .trusting_cache()
            .with_signal(signal.clone())
            .with_append_watch(checkout_appends.clone())
            .with_vault(vault.clone()),
    );
    let cart_promotions = Arc::new(application::cart_promotions::CartPromotions {
        promotions: promotions.clone(),
        carts: carts.clone(),
        clock: clock.clone(),
    });
    let participants = Participants {
        stock: Arc::new(InventoryReservations {
            inventory: inventory.clone(),
            clock: clock.clone(),
            lifetime: SagaSettings::default().reservation_ttl,
            deadlines: ports.deadlines.clone(),
        }),
        payments: Arc::new(GatewayPayments {
            payments: payments.clone(),
            tokens: ports.tokens.clone(),
        }),
        orders: Arc::new(OrdersPlacement {
            orders: orders.orders().clone(),
            clock: clock.clone(),
            numbers: ports.order_numbers.clone(),
        }),
        carts: Arc::new(CartCheckoutLocks {
            carts: carts.clone(),
        }),
        promotions: Arc::new(application::checkout_participants::CouponRedemptions {
            promotions: promotions.clone(),
        }),
    };
    let saga_settings = SagaSettings {
        payment_timeout: chrono::Duration::seconds(i64::from(settings.payment_timeout_secs)),
        ..SagaSettings::default()
    };
    let mut saga = SagaRunner::new(
        CheckoutSaga::new(
            participants,
            ports.deadlines.clone(),
            clock.clone(),
            saga_settings,
        ),
        checkouts.clone(),
        ports.deadlines.clone(),
        clock.clone(),
        saga_settings.retry,
    );
    if let Some(hook) = fault::step_boundary_hook() {
        saga = saga.with_boundary_hook(hook);
    }
    // Staff long-poll a refund (`GET /v1/admin/refunds/{id}?wait=`) through the same watch.
    let refunds: Arc<dyn CommandExecutor<Refund>> = Arc::new(
        EventSourcedExecutor::new(repository(), ())
            .with_signal(signal.clone())
            .with_append_watch(checkout_appends.clone()),
    );
    let returns: Arc<dyn CommandExecutor<Return>> =
        Arc::new(EventSourcedExecutor::new(repository(), ()).with_signal(signal.clone()));
    let mut return_saga = SagaRunner::new(
        ReturnSaga {
            returns: returns.clone(),
            orders: orders.orders().clone(),
            refunds: refunds.clone(),
        },
        returns.clone(),
        ports.deadlines.clone(),
        clock.clone(),
        saga_settings.retry,
    );
    if let Some(hook) = fault::step_boundary_hook() {
        return_saga = return_saga.with_boundary_hook(hook);
    }
    let return_saga = Arc::new(return_saga);
    let return_runner = Arc::clone(&return_saga);
    let workers = settings.run_workers;
    let return_received: Arc<dyn Fn(refunds::ReturnId) + Send + Sync> = Arc::new(move |id| {
        if !workers {
            return;
        }
        let runner = Arc::clone(&return_runner);
        tokio::spawn(async move {
            if let Err(error) = runner.advance(id).await {
                tracing::warn!(r#return = %id, %error, "return left to the feed runner");
            }
        });
    });
    let mut refund_saga = SagaRunner::new(
        RefundSaga {
            refunds: refunds.clone(),
            returns: returns.clone(),
            orders: orders.orders().clone(),
            payments: payments.clone(),
            inventory: inventory.clone(),
            clock: clock.clone(),
        },
        refunds.clone(),
        ports.deadlines.clone(),
        clock.clone(),
        saga_settings.retry,
    );
    if let Some(hook) = fault::step_boundary_hook() {
        refund_saga = refund_saga.with_boundary_hook(hook);
    }
    let refund_saga = Arc::new(refund_saga);
    let refund_runner = Arc::clone(&refund_saga);
    let refund_requested: rest::RefundRequested = Arc::new(move |order_id, refund_id| {
        let runner = Arc::clone(&refund_runner);
        Box::pin(async move {
            match runner.definition().start(order_id, refund_id).await {
                Ok(Some(id)) if workers => {
                    tokio::spawn(async move {
                        if let Err(error) = runner.advance(id).await {
                            tracing::warn!(refund = %id, %error, "refund left to the feed runner");
                        }
                    });
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(refund = %refund_id, %error, "refund left to the feed runner");
                }
            }
        })
    });
    let expiry = Arc::new(ReservationExpiry {
        inventory: inventory.clone(),
        deadlines: ports.deadlines.clone(),
        clock: clock.clone(),
    });
    let catalog = Arc::new(CatalogService::new(products, skus, clock.clone()));
    let saga = Arc::new(saga);
    let runner = Arc::clone(&saga);
    // An API-only instance leaves every saga to the workers, which find it in the feed.
    let workers = settings.run_workers;
    let checkout_started: Arc<dyn Fn(CheckoutId) + Send + Sync> = Arc::new(move |id| {
        if !workers {
            return;
        }
        let runner = Arc::clone(&runner);
        tokio::spawn(async move {
            if let Err(error) = runner.advance(id).await {
                tracing::warn!(checkout = %id, %error, "checkout left to the feed runner");
            }
        });
    });
    let contracts: Arc<dyn EventContracts> = Arc::new(contracts::PublishedLanguage);
    let read_cache = read_cache(settings, &ports.read_models);
    let read_models: Arc<dyn ReadModels> = match &read_cache {
        Some(cache) => cache.clone(),
        None => ports.read_models.clone(),
    };
    let read_progress = ReadProgress::new(
        all_projections()
            .iter()
            .map(|projection| projection.name())
            .collect(),
        ports.projections.clone(),
    );
    // A cached view has passed a position only once this process's runner forgot what the
    // position changed, not as soon as the store's checkpoint says so.
    let read_progress = Arc::new(match &read_cache {
        Some(cache) => read_progress.reported_only(cache.projections()),
        None => read_progress,
    });
    // Every reader in this process (projectors, the saga, the published feed and what
    // delivers it) follows the feed through one shared tail of it.
    let shared: Arc<dyn EventFeed> = Arc::new(SharedFeed::new(ports.feed, signal.subscribe()));
    // Sealed events are opened per read, not in the shared tail: an erasure must show in the
    // next read of an event the tail already holds.
    let feed: Arc<dyn EventFeed> = Arc::new(OpeningFeed::new(shared, vault.clone()));
    let published = PublishedFeed::new(feed.clone(), contracts);
    let (streams_closing, streams_closing_rx) = watch::channel(false);
    // Operators' checkout timelines read the streams as the executors do, sealed fields
    // opened through the same vault (and never shown).
    let streams = Arc::new(StoredStreams::new(repository()).with_vault(vault.clone()));
    let checkout_timelines = Arc::new(CheckoutTimelines::new(
        streams.of::<Checkout>(),
        streams.of::<Order>(),
        streams.of::<Payment>(),
    ));
    let personal_data = Arc::new(PersonalData::new(
        vault,
        orders.orders().clone(),
        checkouts.clone(),
        ports.customers.clone(),
        read_models.clone(),
    ));
    let shipping_zones: Arc<dyn CommandExecutor<shipping::ShippingZone>> =
        Arc::new(EventSourcedExecutor::new(repository(), ()).with_signal(signal.clone()));
    let zone_claim_repair = Arc::new(application::shipping::ZoneClaimRepair::new(
        shipping_zones.clone(),
        ports.zone_directory.clone(),
        clock.clone(),
    ));
    let shipping = Arc::new(application::shipping::ShippingZones::new(
        shipping_zones,
        ports.zone_directory.clone(),
        read_models.clone(),
    ));
    let cart_shipping = Arc::new(application::cart_shipping::CartShipping {
        carts: carts.clone(),
        zones: shipping.clone(),
    });
    let shop_tax = settings
        .tax_table()
        .map_err(|error| StartError::Config(format!("tax: {error}")))?
        .map(|table| Arc::new(application::cart_totals::ShopTax::from_table(table)));
    let cart_totals = Arc::new(application::cart_totals::CartTotals {
        promotions: cart_promotions.clone(),
        shipping: cart_shipping.clone(),
        tax: shop_tax,
    });
    let checkout_starter = Arc::new(CheckoutStarter {
        carts: carts.clone(),
        checkouts: checkouts.clone(),
        tokens: ports.tokens.clone(),
        clock: clock.clone(),
        totals: cart_totals.clone(),
    });
    let customer_carts = Arc::new(application::customer_carts::CustomerCarts::new(
        carts.clone(),
        read_models.clone(),
    ));
    Ok(Wired {
        api: ApiState {
            catalog,
            carts,
            orders,
            payments,
            inventory,
            promotions,
            promotion_directory: application::PromotionDirectory::new(read_models.clone()),
            checkout_starter,
            cart_promotions,
            cart_shipping,
            cart_totals,
            request_boundary: fault::step_boundary_hook(),
            checkout_limiter: rest::rate_limiter(
                settings.checkout_rate_per_minute,
                settings.checkout_rate_burst,
            ),
            checkouts,
            checkout_started,
            refunds,
            refund_requested,
            returns,
            return_received,
            personal_data,
            checkout_timelines,
            read_models,
            published: published.clone(),
            feed_signal: signal.clone(),
            checkout_appends,
            long_poll_max: Duration::from_secs(settings.long_poll_max_secs),
            read_progress: Some(read_progress),
            read_wait_max: Duration::from_millis(settings.read_wait_max_ms),
            streams_closing: streams_closing_rx,
            idempotency: ports.idempotency,
            payment_tokens: ports.tokens,
            health: ports.health,
            clock: clock.clone(),
            webhooks: ports.webhooks.clone(),
            api_keys: ports.api_keys,
            access_tokens: secrets.guest_tokens,
            customers: Arc::new(customer_accounts(
                ports.customers.clone(),
                clock.clone(),
                &secrets.jwt,
                settings,
            )?),
            customer_carts,
            shipping,
            profiles: Arc::new(application::profiles::CustomerProfileBook::new(
                ports.profiles.clone(),
                clock.clone(),
            )),
            auth_limiter: rest::rate_limiter(
                settings.auth_rate_per_minute,
                settings.auth_rate_burst,
            ),
            webhook_secrets: Arc::new(|| {
                webhooks::generate_secret_text().map_err(|error| error.to_string())
            }),
            gauges: rest::Gauges {
                store: ports.gauges,
                consumers: Arc::new(feed_consumers(settings)),
                pool_name: ports.pool_name,
            },
        },
        signal,
        feed,
        projections: ports.projections,
        saga,
        refund_saga,
        return_saga,
        expiry,
        zone_claim_repair,
        published,
        webhooks: ports.webhooks,
        leases: ports.leases,
        streams_closing: Arc::new(streams_closing),
        postgres: ports.postgres,
        read_cache,
    })
}

/// The storefront's hot read models (a product, its stock levels, the shipping zones every
/// cart total reads), served from memory where this process runs the projectors that keep
/// them right (ADR 0044); `None` on an API-only instance or with no memory given to it.
fn read_cache(settings: &Settings, store: &Arc<dyn ReadModels>) -> Option<Arc<DocumentCache>> {
    if !settings.run_workers || settings.read_cache_mb == 0 {
        return None;
    }
    let bytes =
        usize::try_from(settings.read_cache_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    Some(Arc::new(
        DocumentCache::new(store.clone(), bytes)
            .caching(
                application::STOREFRONT_VIEW,
                ProductCatalogProjection.name(),
            )
            .caching(application::STOCK_LEVELS_VIEW, StockLevelsProjection.name())
            .caching(
                application::shipping::SHIPPING_ZONES_VIEW,
                application::shipping::ShippingZonesProjection.name(),
            ),
    ))
}

/// Opens the configured store (running its migrations) and wires the application on it.
pub async fn open(settings: &Settings) -> Result<Wired, StartError> {
    match settings.store_url() {
        StoreUrl::Postgres(url) => {
            let store = connect_postgres(&url).await?;
            tracing::info!("using the PostgreSQL store");
            let factory = store.clone();
            let ports = StorePorts {
                postgres: Some(store.clone()),
                provider_ledger: Some(Arc::new(store.clone())),
                pool_name: "postgres",
                ..StorePorts::of(store)
            };
            let secrets = secrets(settings, ports.secrets.as_ref()).await?;
            wire(move || factory.event_repository(), ports, settings, secrets)
        }
        StoreUrl::Sqlite(path) => {
            let store = connect_sqlite(&path).await?;
            tracing::info!(path = %path.display(), "using the embedded SQLite store");
            let factory = store.clone();
            let ports = StorePorts::of(store);
            let secrets = secrets(settings, ports.secrets.as_ref()).await?;
            wire(move || factory.event_repository(), ports, settings, secrets)
        }
    }
}

/// The server's signing secrets, from the environment or else kept in the store.
struct Secrets {
    guest_tokens: AccessTokens,
    jwt: String,
}

async fn secrets(settings: &Settings, kept: &dyn ServerSecrets) -> Result<Secrets, StartError> {
    let guest = secret(
        settings.token_secret.as_deref(),
        "COMMERCE_TOKEN_SECRET",
        "guest_token_secret",
        kept,
    )
    .await?;
    let jwt = secret(
        settings.jwt_secret.as_deref(),
        "COMMERCE_JWT_SECRET",
        "customer_jwt_secret",
        kept,
    )
    .await?;
    Ok(Secrets {
        guest_tokens: AccessTokens::new(&guest),
        jwt,
    })
}

/// The secret `variable` gives, or else the one kept in the store under `name`.
async fn secret(
    given: Option<&str>,
    variable: &str,
    name: &str,
    kept: &dyn ServerSecrets,
) -> Result<String, StartError> {
    if let Some(secret) = config::given_secret(given, variable).map_err(StartError::Config)? {
        return Ok(secret.to_owned());
    }
    let candidate = application::access_tokens::random_secret().map_err(StartError::Config)?;
    let secret = kept
        .kept_secret(name, &candidate)
        .await
        .map_err(|e| StartError::Store(e.to_string()))?;
    tracing::warn!("{variable} is unset: using a secret kept in the store; set it in production");
    Ok(secret)
}

async fn connect_postgres(url: &str) -> Result<postgres_store::PostgresStore, StartError> {
    postgres_store::PostgresStore::connect(url)
        .await
        .map_err(|e| StartError::Store(e.to_string()))
}

async fn connect_sqlite(path: &std::path::Path) -> Result<sqlite_store::SqliteStore, StartError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StartError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let url = format!("sqlite://{}", path.display());
    sqlite_store::SqliteStore::connect(&url)
        .await
        .map_err(|e| StartError::Store(e.to_string()))
}

/// For a command that reads a store and must not set one up: an error when there is none (no
/// SQLite file at the path, or a PostgreSQL database that neither `serve` nor `migrate` set
/// up), since opening would create an empty store and answer as if it were the shop's.
pub(crate) async fn existing_store(store: &config::StoreArgs, to_do: &str) -> Result<(), String> {
    match store.store_url() {
        StoreUrl::Sqlite(path) if !path.exists() => Err(format!(
            "no store at {}: nothing to {to_do}",
            path.display()
        )),
        StoreUrl::Sqlite(_) => Ok(()),
        StoreUrl::Postgres(url) => {
            let (_, applied, _) = postgres_store::PostgresStore::probe(&url)
                .await
                .map_err(|e| e.to_string())?;
            match applied {
                Some((count, _)) if count > 0 => Ok(()),
                _ => Err(format!(
                    "no store in the database at {}: nothing to {to_do} (`commerce migrate` sets one up)",
                    ops::mask_url_password(&url)
                )),
            }
        }
    }
}

/// `commerce migrate`: opens the configured store, which applies every embedded migration it
/// lacks, and answers how many it holds and the latest one's version.
pub async fn migrate(store: &config::StoreArgs) -> Result<(i64, i64), StartError> {
    let applied = match store.store_url() {
        StoreUrl::Postgres(url) => connect_postgres(&url).await?.applied_migrations().await,
        StoreUrl::Sqlite(path) => connect_sqlite(&path).await?.applied_migrations().await,
    };
    applied.map_err(|e| StartError::Store(e.to_string()))
}

/// One projection as `commerce projections list` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionState {
    pub name: &'static str,
    /// The feed cursor after the last event it committed (`Cursor::START`: none yet).
    pub checkpoint: runtime::Cursor,
    pub events_behind: u64,
    pub seconds_behind: f64,
}

/// Every projection of the configured store, in the order the server runs them.
pub async fn projections(store: &config::StoreArgs) -> Result<Vec<ProjectionState>, StartError> {
    async fn of<S: ProjectionStore + runtime::StoreGauges>(
        store: &S,
    ) -> Result<Vec<ProjectionState>, runtime::StoreError> {
        let names: Vec<&'static str> = all_projections()
            .iter()
            .map(|projection| projection.name())
            .collect();
        let owned: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let lags = store.consumer_lags(&owned, chrono::Utc::now()).await?;
        let mut states = Vec::with_capacity(names.len());
        for name in names {
            let lag = lags.iter().find(|lag| lag.consumer == name);
            states.push(ProjectionState {
                name,
                checkpoint: store.checkpoint(name).await?,
                events_behind: lag.map_or(0, |lag| lag.events_behind),
                seconds_behind: lag.map_or(0.0, |lag| lag.seconds_behind),
            });
        }
        Ok(states)
    }
    let states = match store.store_url() {
        StoreUrl::Postgres(url) => of(&connect_postgres(&url).await?).await,
        StoreUrl::Sqlite(path) => of(&connect_sqlite(&path).await?).await,
    };
    states.map_err(|e| StartError::Store(e.to_string()))
}

/// The API keys of the configured store, for the `commerce api-keys` commands.
pub async fn api_keys(store: &config::StoreArgs) -> Result<Arc<dyn ApiKeys>, StartError> {
    Ok(match store.store_url() {
        StoreUrl::Postgres(url) => Arc::new(connect_postgres(&url).await?),
        StoreUrl::Sqlite(path) => Arc::new(connect_sqlite(&path).await?),
    })
}

/// A started server: its address, and a handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub wired: Wired,
    server: actix_web::dev::ServerHandle,
    shutdown: watch::Sender<bool>,
    server_task: JoinHandle<std::io::Result<()>>,
    projector_tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Ends event streams, stops accepting requests, lets in-flight ones finish, then stops
    /// the projectors.
    pub async fn stop(self) {
        let _ = self.wired.streams_closing.send(true);
        self.server.stop(true).await;
        let _ = self.shutdown.send(true);
        let _ = self.server_task.await;
        for task in self.projector_tasks {
            let _ = task.await;
        }
    }

    /// Waits until the server stops by itself (on SIGINT or SIGTERM), then stops the rest.
    pub async fn wait(self) -> Result<(), StartError> {
        let result = self.server_task.await;
        let _ = self.wired.streams_closing.send(true);
        let _ = self.shutdown.send(true);
        for task in self.projector_tasks {
            let _ = task.await;
        }
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(StartError::Server(error)),
            Err(join) => Err(StartError::Server(std::io::Error::other(join.to_string()))),
        }
    }
}

/// Opens the store, seeds the demo catalog if asked and the store is empty, starts the
/// projector and the HTTP server. Returns once the server is listening.
pub async fn start(settings: Settings) -> Result<Running, StartError> {
    let wired = open(&settings).await?;
    if settings.demo_catalog && wired.store_is_empty().await.map_err(StartError::Store)? {
        demo::seed(&wired.api).await.map_err(StartError::Demo)?;
        tracing::info!("seeded the demo catalog");
    }

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut projector_tasks = Vec::new();
    if let Some(postgres) = wired.postgres.clone() {
        let (signal, shutdown) = (wired.signal.clone(), shutdown_rx.clone());
        let checkouts = wired.api.checkout_appends.clone();
        tokio::spawn(async move {
            postgres
                .forward_notifications(signal, Some(checkouts), shutdown)
                .await;
        });
    }
    if settings.run_workers {
        projector_tasks = start_workers(&wired, &settings, &shutdown_rx)?;
    } else {
        tracing::info!("serving the API only: projectors, sagas and deliveries run elsewhere");
    }
    tokio::spawn(purge_idempotency_keys(wired.api.clone(), shutdown_rx));

    let listener = TcpListener::bind(settings.listen).map_err(|source| StartError::Listen {
        addr: settings.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: settings.listen,
        source,
    })?;
    let api = wired.api.clone();
    let cors_origins: Vec<String> = settings
        .cors_origins
        .iter()
        .map(|origin| origin.trim().trim_end_matches('/').to_owned())
        .filter(|origin| !origin.is_empty())
        .collect();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(
                rest::consistency::read_your_writes,
            ))
            .wrap(actix_web::middleware::from_fn(rest::auth::authorize))
            .wrap(rest::problem_errors())
            .wrap(rest::security_headers())
            .wrap(rest::cors(&cors_origins))
            .wrap(actix_web::middleware::from_fn(rest::trace_requests))
            .configure(rest::configure(api.clone()))
    })
    .shutdown_timeout(10)
    // `serve` handles SIGINT/SIGTERM itself, so that event streams end before the server
    // waits for in-flight requests (an endless stream would hold it for the whole timeout).
    .disable_signals();
    if let Some(workers) = settings.http_workers {
        server = server.workers(workers.max(1));
    }
    let server = server
        .listen(listener)
        .map_err(|source| StartError::Listen {
            addr: settings.listen,
            source,
        })?
        .run();
    let handle = server.handle();
    let server_task = tokio::spawn(server);
    tracing::info!(%addr, "listening");
    Ok(Running {
        addr,
        wired,
        server: handle,
        shutdown,
        server_task,
        projector_tasks,
    })
}

/// Starts every consumer of the feed: projectors, saga runners, reservation expiry, the
/// webhook deliveries and, when configured, the NATS relay.
fn start_workers(
    wired: &Wired,
    settings: &Settings,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, StartError> {
    let mut projector_tasks = all_projections()
        .into_iter()
        .map(|projection| {
            let runner = wired
                .projector(projection)
                .with_idle_poll(Duration::from_millis(200));
            tokio::spawn(runner.run(wired.signal.subscribe(), shutdown.clone()))
        })
        .collect::<Vec<_>>();
    // The saga runners' feed and deadline loops, reservation expiry and zone claim repair run
    // on one instance at a time (ADR 0041): several instances on one database would otherwise
    // each advance every saga the feed starts and each act on every due deadline. A saga
    // started through this instance's API is still advanced here at once (the REST kick);
    // the lease holder only catches what the kicks left, wherever they ran.
    let scheduled = ScheduledWorkers {
        wired: wired.clone(),
    };
    projector_tasks.push(tokio::spawn(runtime::lease::run_exclusively(
        wired.leases.clone(),
        SCHEDULED_WORKERS_LEASE,
        shutdown.clone(),
        move |stop| scheduled.clone().run(stop),
    )));
    let deliveries = webhooks::Webhooks::new(
        wired.published.clone(),
        wired.webhooks.clone(),
        settings.webhook_settings(),
    )
    .map_err(|e| StartError::Webhooks(e.to_string()))?;
    if let Some(config) = settings.relay_config() {
        tracing::info!(url = %config.url, stream = %config.stream, "relaying events to NATS JetStream");
        let relay =
            nats_relay::NatsRelay::new(config, wired.published.clone(), wired.projections.clone());
        projector_tasks.push(tokio::spawn(relay.run(
            wired.leases.clone(),
            wired.signal.subscribe(),
            shutdown.clone(),
        )));
    }
    projector_tasks.push(tokio::spawn(deliveries.run(
        wired.leases.clone(),
        wired.signal.subscribe(),
        shutdown.clone(),
    )));
    Ok(projector_tasks)
}

/// The lease under which one instance runs the [`ScheduledWorkers`].
pub const SCHEDULED_WORKERS_LEASE: &str = "scheduled-workers";

/// The workers that follow the feed and the deadlines for every instance: the saga runners,
/// reservation expiry and zone claim repair.
#[derive(Clone)]
struct ScheduledWorkers {
    wired: Wired,
}

impl ScheduledWorkers {
    /// Runs them all until `stop` turns true (shutdown, or the lease lost).
    async fn run(self, stop: watch::Receiver<bool>) {
        let wired = self.wired;
        tokio::join!(
            wired.saga.clone().run(
                wired.feed.clone(),
                wired.projections.clone(),
                wired.signal.subscribe(),
                stop.clone(),
            ),
            wired
                .expiry
                .clone()
                .run(Duration::from_secs(1), stop.clone()),
            wired.return_saga.clone().run(
                wired.feed.clone(),
                wired.projections.clone(),
                wired.signal.subscribe(),
                stop.clone(),
            ),
            wired.refund_saga.clone().run(
                wired.feed.clone(),
                wired.projections.clone(),
                wired.signal.subscribe(),
                stop.clone(),
            ),
            wired.zone_claim_repair.clone().run(
                wired.feed.clone(),
                wired.projections.clone(),
                wired.signal.subscribe(),
                stop,
            ),
        );
    }
}

/// Idempotency keys are promised to work for at least 24 hours; they are kept for 72.
const IDEMPOTENCY_RETENTION: chrono::Duration = chrono::Duration::hours(72);

/// Payment method tokens wait only while a checkout runs (seconds); one left behind by a crash
/// is forgotten after this long (ADR 0016).
const PAYMENT_TOKEN_RETENTION: chrono::Duration = chrono::Duration::hours(24);

async fn purge_idempotency_keys(api: ApiState, mut shutdown: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.changed() => return,
        }
        let before = api.clock.now() - IDEMPOTENCY_RETENTION;
        match api.idempotency.purge_older_than(before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged expired idempotency keys"),
            Err(error) => tracing::warn!(%error, "could not purge idempotency keys"),
        }
        if let Some(limiter) = &api.checkout_limiter {
            // Forget addresses whose buckets are full again.
            limiter.retain_recent();
        }
        let before = api.clock.now() - PAYMENT_TOKEN_RETENTION;
        match api.payment_tokens.forget_kept_before(before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "forgot payment method tokens left behind"),
            Err(error) => tracing::warn!(%error, "could not purge payment method tokens"),
        }
    }
}

/// `commerce serve`: runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(settings: Settings) -> Result<(), StartError> {
    let running = start(settings).await?;
    let closing = Arc::clone(&running.wired.streams_closing);
    let server = running.server.clone();
    tokio::spawn(async move {
        shutdown_requested().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = closing.send(true);
        server.stop(true).await;
    });
    running.wait().await
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_requested() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(terminate) => terminate,
                Err(error) => {
                    tracing::warn!(%error, "cannot watch SIGTERM; only Ctrl-C stops the server");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Customer accounts, accepting an external issuer's tokens too when one is configured.
fn customer_accounts(
    store: Arc<dyn Customers>,
    clock: Arc<dyn Clock>,
    jwt_secret: &str,
    settings: &Settings,
) -> Result<CustomerAccounts, StartError> {
    let accounts = CustomerAccounts::new(store, clock, jwt_secret)
        .map_err(|e| StartError::Config(e.to_string()))?;
    let Some((issuer, audience, jwks_url)) = settings.oidc().map_err(StartError::Config)? else {
        return Ok(accounts);
    };
    let url = reqwest::Url::parse(jwks_url)
        .map_err(|e| StartError::Config(format!("COMMERCE_OIDC_JWKS_URL: {e}")))?;
    let settings = application::oidc::OidcSettings {
        issuer: issuer.to_owned(),
        audience: audience.to_owned(),
    };
    Ok(accounts.with_oidc(application::oidc::OidcVerifier::new(
        settings,
        Box::new(HttpJwks::new(url)),
    )))
}

/// An issuer's keys, fetched over HTTP(S).
struct HttpJwks {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl HttpJwks {
    fn new(url: reqwest::Url) -> Self {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self { url, client }
    }
}

#[async_trait::async_trait]
impl application::oidc::KeySource for HttpJwks {
    async fn fetch(&self) -> Result<jsonwebtoken::jwk::JwkSet, String> {
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?;
        response.json().await.map_err(|e| e.to_string())
    }
}
