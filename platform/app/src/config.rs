//! Configuration from the command line and environment variables (12-factor). Every setting
//! has a default that runs locally; `.env.example` lists them all.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "commerce",
    version,
    about = "Headless, event-sourced commerce backend"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API and the feed-driven projectors.
    Serve(Box<Settings>),
    /// Create, list and revoke the API keys of staff tools and internal services.
    #[command(subcommand)]
    ApiKeys(ApiKeysCommand),
    /// Apply every embedded migration the configured store lacks, then exit.
    Migrate(StoreArgs),
    /// The read-model projections and how far each has got.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Print the published events of the feed, one JSON object per line, as `/v1/events`
    /// serves them.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Seed data into an empty store.
    Seed(SeedArgs),
    /// The effective configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a consistent copy of everything the store keeps into a new directory, while the
    /// server keeps running.
    Backup(BackupArgs),
    /// Restore a backup made by `commerce backup` into an empty store.
    Restore(RestoreArgs),
    /// Ask a running server whether it is ready (exit status 0) or not (1), for container
    /// health checks where no HTTP client is installed.
    Health {
        /// The readiness URL to ask (plain HTTP).
        #[arg(
            long,
            env = "COMMERCE_HEALTH_URL",
            default_value = "http://127.0.0.1:8080/health/ready"
        )]
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Issue a key and print its secret on standard output: it is shown once, never again.
    Create {
        /// What the key is for, e.g. `warehouse-sync`.
        #[arg(long)]
        name: String,
        /// Scopes the key grants, repeated or comma separated: `<area>:read` or
        /// `<area>:write` (write implies read), or `*` for every scope. Areas: catalog,
        /// inventory, orders, payments, checkouts, refunds, returns, shipping, promotions, events,
        /// webhooks, customers, operations.
        #[arg(long = "scope", required = true, value_delimiter = ',')]
        scopes: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every key (revoked ones too), without secrets.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key at once: requests presenting it are refused from now on.
    Revoke {
        /// The key's id, as `create` and `list` show it.
        id: uuid::Uuid,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Every projection with its checkpoint and how far it is behind the feed.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rebuild from the whole feed into a shadow while a server keeps serving the live one,
    /// then switch over atomically (ADR 0049). A crash leaves the live one serving; run it again.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["name", "all"])))]
    Rebuild {
        /// The projection to rebuild, as `projections list` names it.
        name: Option<String>,
        /// Rebuild every projection, one after the other.
        #[arg(long)]
        all: bool,
        /// Feed events read and projected per shadow batch.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
        batch_size: u32,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print published events from a cursor on; with `--follow`, keep printing new ones.
    Tail {
        /// Start after this cursor (an event's `cursor`), `start` (the default: the whole
        /// feed) or `end` (only what comes next; useful with `--follow`).
        #[arg(long, default_value = "start")]
        from: String,
        /// Only these published types, repeated or comma separated; `<context>.*` takes a
        /// whole context, e.g. `orders.*`.
        #[arg(long = "types", value_delimiter = ',')]
        types: Vec<String>,
        /// Keep waiting for new events instead of stopping at the end of the feed.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The demo catalog: a few products, published and in stock, as `serve` seeds into an
    /// empty store unless `COMMERCE_DEMO_CATALOG=false`.
    #[arg(long, required = true)]
    pub demo: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration `serve` would run with, each setting with where it came
    /// from and secrets masked, then check that the database (and NATS, when set) answer.
    Check(Box<Settings>),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The directory to write the backup into: it must not exist yet.
    pub to: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The sandbox gateway's journal on the embedded store (as `serve` takes it).
    #[arg(long, env = "COMMERCE_SANDBOX_JOURNAL")]
    pub sandbox_journal: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A directory written by `commerce backup`.
    pub from: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Where the sandbox gateway's journal goes on the embedded store (as `serve` takes it).
    #[arg(long, env = "COMMERCE_SANDBOX_JOURNAL")]
    pub sandbox_journal: Option<PathBuf>,
}

impl BackupArgs {
    pub fn journal(&self) -> PathBuf {
        journal_path(&self.store, self.sandbox_journal.as_ref())
    }
}

impl RestoreArgs {
    pub fn journal(&self) -> PathBuf {
        journal_path(&self.store, self.sandbox_journal.as_ref())
    }
}

/// A signing secret given in `variable`, trimmed, if it is long enough to be one.
pub fn given_secret<'a>(given: Option<&'a str>, variable: &str) -> Result<Option<&'a str>, String> {
    match given.map(str::trim) {
        Some(secret) if secret.len() < 32 => Err(format!(
            "{variable} must be at least 32 characters of random text"
        )),
        given => Ok(given),
    }
}

fn journal_path(store: &StoreArgs, given: Option<&PathBuf>) -> PathBuf {
    given
        .cloned()
        .unwrap_or_else(|| store.data_dir.join("sandbox-gateway.jsonl"))
}

/// Which store to open.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// PostgreSQL URL. Unset: the embedded SQLite store under --data-dir.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Where the embedded SQLite store keeps its file.
    #[arg(long, env = "COMMERCE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

impl StoreArgs {
    /// The store to open: PostgreSQL when a URL is given, else SQLite under the data dir.
    pub fn store_url(&self) -> StoreUrl {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => StoreUrl::Postgres(url.clone()),
            _ => StoreUrl::Sqlite(self.data_dir.join("commerce.db")),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Address to listen on.
    #[arg(long, env = "COMMERCE_LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Seed a small demo catalog into an empty store on start.
    #[arg(long, env = "COMMERCE_DEMO_CATALOG", default_value_t = true, action = clap::ArgAction::Set)]
    pub demo_catalog: bool,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "COMMERCE_HTTP_WORKERS")]
    pub http_workers: Option<usize>,

    /// Browser origins allowed to call the API (storefronts on another origin), comma
    /// separated, e.g. `https://shop.example.com,http://localhost:3000`. Empty: no
    /// cross-origin browser access.
    #[arg(
        long,
        env = "COMMERCE_CORS_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_origins: Vec<String>,

    /// Checkout starts allowed per client address per minute (0: no limit). Beyond it the
    /// answer is `429` with `Retry-After`. Behind a proxy every shopper shares its address:
    /// raise it, or limit at the proxy. Benchmarks run with 0.
    #[arg(long, env = "COMMERCE_CHECKOUT_RATE_PER_MINUTE", default_value_t = 60)]
    pub checkout_rate_per_minute: u32,

    /// How many checkout starts one address may make at once before the rate applies.
    #[arg(long, env = "COMMERCE_CHECKOUT_RATE_BURST", default_value_t = 10)]
    pub checkout_rate_burst: u32,

    /// How long a payment authorization may stay unanswered before the checkout is
    /// compensated (the payment voided if it ever succeeded, the stock released).
    #[arg(long, env = "COMMERCE_PAYMENT_TIMEOUT_SECS", default_value_t = 30)]
    pub payment_timeout_secs: u32,

    /// Journal of the sandbox payment gateway on the embedded store, so that it survives
    /// restarts like a real provider (default: `sandbox-gateway.jsonl` in the data
    /// directory). On PostgreSQL the ledger lives in the database (ADR 0041).
    #[arg(long, env = "COMMERCE_SANDBOX_JOURNAL")]
    pub sandbox_journal: Option<PathBuf>,

    /// Waits between the attempts of a failing webhook delivery (the first is immediate); a
    /// delivery that fails after the last wait is given up and its endpoint disabled.
    #[arg(
        long,
        env = "COMMERCE_WEBHOOK_RETRY_SCHEDULE",
        default_value = "5s,5m,30m,2h,5h,10h,10h"
    )]
    pub webhook_retry_schedule: webhooks::RetrySchedule,

    /// How long one webhook attempt may take before it counts as failed.
    #[arg(long, env = "COMMERCE_WEBHOOK_TIMEOUT", default_value = "15s", value_parser = webhooks::parse_duration)]
    pub webhook_timeout: Duration,

    /// How often webhook workers look for work nothing woke them for (redeliveries, work
    /// queued by another instance).
    #[arg(long, env = "COMMERCE_WEBHOOK_POLL_INTERVAL", default_value = "1s", value_parser = webhooks::parse_duration)]
    pub webhook_poll_interval: Duration,

    /// NATS server(s) to relay every published event to, through JetStream, e.g.
    /// `nats://127.0.0.1:4222`. Unset: no relay.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,

    /// The JetStream stream the relay publishes into (created if missing).
    #[arg(long, env = "COMMERCE_NATS_STREAM", default_value = "COMMERCE")]
    pub nats_stream: String,

    /// Events go to `<prefix>.<type>`, e.g. `commerce.orders.order_placed`.
    #[arg(long, env = "COMMERCE_NATS_SUBJECT_PREFIX", default_value = "commerce")]
    pub nats_subject_prefix: String,

    /// The secret guest tokens (cart and order access tokens) are signed with: any long
    /// random text, the same on every instance. Unset: a secret generated once and kept in
    /// the store, which suits one machine; set it in production, where it can be rotated
    /// (which invalidates every guest token).
    #[arg(long, env = "COMMERCE_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,

    /// The secret customers' access tokens (JWT, HS256) are signed with: 32+ characters of
    /// random text, the same on every instance. Unset: one generated once and kept in the
    /// store. Rotating it logs every customer out within 15 minutes.
    #[arg(long, env = "COMMERCE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Registrations and logins allowed per client address per minute (0: no limit); beyond
    /// it `429` with `Retry-After`.
    #[arg(long, env = "COMMERCE_AUTH_RATE_PER_MINUTE", default_value_t = 10)]
    pub auth_rate_per_minute: u32,

    /// How many registrations and logins one address may make at once before the rate
    /// applies.
    #[arg(long, env = "COMMERCE_AUTH_RATE_BURST", default_value_t = 5)]
    pub auth_rate_burst: u32,

    /// Longest a long-poll of the event feed waits, in seconds, whatever `wait` it asks for
    /// (clients may ask for up to 30). The API fuzzing runs with 1, so no request idles long.
    #[arg(long, env = "COMMERCE_LONG_POLL_MAX_SECS", default_value_t = 30)]
    pub long_poll_max_secs: u64,
    /// Longest a request naming a feed position (`Commerce-Min-Position`) waits for the read
    /// models to pass it before `503 read_model_behind` (ADR 0040).
    #[arg(long, env = "COMMERCE_READ_WAIT_MAX_MS", default_value_t = 5000)]
    pub read_wait_max_ms: u64,
    /// Memory for the hot read-model documents (storefront products, stock levels, shipping
    /// zones), in MiB of their JSON text; the heap they take is a few times that (ADR 0044).
    /// Kept only where this instance runs the projectors (`COMMERCE_RUN_WORKERS`); 0 reads
    /// every document from the store.
    #[arg(long, env = "COMMERCE_READ_CACHE_MB", default_value_t = 8)]
    pub read_cache_mb: u64,

    /// An external OpenID Connect issuer whose access tokens also log customers in, exactly
    /// as its tokens' `iss` claim states it (ADR 0028). Needs the audience and the JWKS URL.
    #[arg(long, env = "COMMERCE_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,

    /// The audience the issuer's tokens must name (this API's client id there).
    #[arg(long, env = "COMMERCE_OIDC_AUDIENCE")]
    pub oidc_audience: Option<String>,

    /// Where the issuer publishes its signing keys (the `jwks_uri` of its discovery document).
    #[arg(long, env = "COMMERCE_OIDC_JWKS_URL")]
    pub oidc_jwks_url: Option<String>,

    /// Log format: `text` or `json`. Levels come from RUST_LOG (default `info`). JSON lines
    /// carry the trace and span ids of the request or step they were logged in.
    #[arg(long, env = "COMMERCE_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    /// Run the feed's consumers in this instance: projectors, saga runners, reservation
    /// expiry, webhook deliveries and the NATS relay. `false` serves the API only (on
    /// PostgreSQL, beside instances that run them): started checkouts, refunds and returns
    /// then wait for a worker instance to pick them up from the feed.
    #[arg(long, env = "COMMERCE_RUN_WORKERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_workers: bool,

    /// Tax rates in percent (ADR 0038): comma-separated `COUNTRY=RATE` standard rates and
    /// `COUNTRY/CLASS=RATE` rates for a product tax class, e.g. `GB=20,DE=19,DE/reduced=7`.
    /// Unset: no tax is charged, except that the demo catalog comes with demo rates
    /// ([`DEMO_TAX_RATES`]); set it empty to charge no tax there either.
    #[arg(long, env = "COMMERCE_TAX_RATES")]
    pub tax_rates: Option<String>,

    /// Whether prices include tax, per currency: comma-separated `CURRENCY=inclusive` or
    /// `CURRENCY=exclusive`. A cart in a currency not listed cannot be taxed (its checkout is
    /// refused) while tax rates are set.
    #[arg(
        long,
        env = "COMMERCE_TAX_PRICES",
        default_value = "EUR=inclusive,GBP=inclusive,USD=exclusive"
    )]
    pub tax_prices: String,
}

/// The rates the demo catalog is served with when `COMMERCE_TAX_RATES` is unset: standard
/// (and reduced) VAT of a few European countries, and no sales tax in the US. For trying the
/// API, never for a real shop.
pub const DEMO_TAX_RATES: &str =
    "GB=20,DE=19,DE/reduced=7,FR=20,FR/reduced=5.5,NL=21,NL/reduced=9,IE=23,ES=21,IT=22,AT=20,BE=21,US=0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Settings {
    /// Settings for an embedded store in `data_dir`, listening on a free port: for tests.
    pub fn for_tests(database_url: Option<String>, data_dir: PathBuf) -> Self {
        Self {
            store: StoreArgs {
                database_url,
                data_dir,
            },
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            demo_catalog: false,
            http_workers: Some(2),
            cors_origins: vec!["https://shop.example".to_owned()],
            // Tests start many checkouts from one address; the limit's own test sets one.
            checkout_rate_per_minute: 0,
            checkout_rate_burst: 10,
            payment_timeout_secs: 2,
            sandbox_journal: None,
            log_format: LogFormat::Text,
            run_workers: true,
            webhook_retry_schedule: webhooks::RetrySchedule(vec![
                Duration::from_millis(100),
                Duration::from_millis(200),
                Duration::from_millis(400),
            ]),
            webhook_timeout: Duration::from_secs(5),
            webhook_poll_interval: Duration::from_millis(100),
            nats_url: None,
            token_secret: None,
            jwt_secret: None,
            // Tests log in many times from one address; the limit's own test sets one.
            auth_rate_per_minute: 0,
            auth_rate_burst: 5,
            long_poll_max_secs: 30,
            read_wait_max_ms: 5000,
            read_cache_mb: 8,
            oidc_issuer: None,
            oidc_audience: None,
            oidc_jwks_url: None,
            nats_stream: "COMMERCE".to_owned(),
            nats_subject_prefix: "commerce".to_owned(),
            tax_rates: None,
            tax_prices: "EUR=inclusive,GBP=inclusive,USD=exclusive".to_owned(),
        }
    }

    /// The shop's tax table: `None` when no tax is charged (no rates set, or set empty).
    pub fn tax_table(&self) -> Result<Option<tax::TaxTable>, tax::TaxConfigError> {
        let rates = match (&self.tax_rates, self.demo_catalog) {
            (Some(rates), _) => rates.as_str(),
            (None, true) => DEMO_TAX_RATES,
            (None, false) => return Ok(None),
        };
        if rates.trim().is_empty() {
            return Ok(None);
        }
        tax::TaxTable::from_settings(rates, &self.tax_prices).map(Some)
    }

    /// The external OpenID Connect issuer as (issuer, audience, JWKS URL), when one is set;
    /// the three go together.
    pub fn oidc(&self) -> Result<Option<(&str, &str, &str)>, String> {
        match (&self.oidc_issuer, &self.oidc_audience, &self.oidc_jwks_url) {
            (None, None, None) => Ok(None),
            (Some(issuer), Some(audience), Some(jwks_url)) => {
                Ok(Some((issuer, audience, jwks_url)))
            }
            _ => Err(
                "COMMERCE_OIDC_ISSUER, COMMERCE_OIDC_AUDIENCE and COMMERCE_OIDC_JWKS_URL go \
                      together: set all three, or none"
                    .to_owned(),
            ),
        }
    }

    /// The relay's settings, when a NATS URL is configured.
    pub fn relay_config(&self) -> Option<nats_relay::RelayConfig> {
        let url = self
            .nats_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())?;
        Some(
            nats_relay::RelayConfig::new(url)
                .with_stream(&self.nats_stream)
                .with_subject_prefix(&self.nats_subject_prefix),
        )
    }

    pub fn webhook_settings(&self) -> webhooks::WebhookSettings {
        webhooks::WebhookSettings {
            retry_schedule: self.webhook_retry_schedule.clone(),
            request_timeout: self.webhook_timeout,
            poll_interval: self.webhook_poll_interval,
            ..webhooks::WebhookSettings::default()
        }
    }

    pub fn sandbox_journal_path(&self) -> PathBuf {
        journal_path(&self.store, self.sandbox_journal.as_ref())
    }

    /// The settings `serve` would take from the environment, on `store`: for the commands
    /// that wire the application without serving it.
    pub fn from_environment(store: StoreArgs) -> Result<Settings, String> {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        let mut settings = Only::try_parse_from(["commerce"])
            .map_err(|error| error.to_string().trim().replace('\n', " "))?
            .settings;
        settings.store = store;
        Ok(settings)
    }

    /// The store to open: PostgreSQL when a URL is given, else SQLite under the data dir.
    pub fn store_url(&self) -> StoreUrl {
        self.store.store_url()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Postgres(String),
    Sqlite(PathBuf),
}
