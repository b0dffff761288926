//! Shipping zones: the staff commands, with the claim protocol that keeps a country in at most
//! one zone, and the read side carts are quoted from.
//!
//! The protocol is the one `shipping::ports` describes, run for every command that names
//! countries ([`ShippingZones::execute`]):
//! 1. decide the command against the zone's current state without recording anything, so a
//!    command the zone refuses claims nothing;
//! 2. claim the new countries in the [`ZoneDirectory`], all or none (a country another zone
//!    holds refuses the command: [`ShippingZoneError::CountryTaken`]);
//! 3. send the command; if the zone refused it (or a concurrent write won), release what was
//!    claimed beyond the countries the zone lists;
//! 4. once recorded, release what the zone no longer lists (everything after `DeleteZone`).
//!
//! A release that fails, or an infrastructure error whose outcome is unknown, leaves a claim
//! on a country the zone may not list: it blocks that country for other zones (an error staff
//! can read), and never lets two zones list it. [`ZoneClaimRepair`], a feed consumer, frees
//! such a claim after the zone's next event once it is older than [`CLAIM_GRACE`].
//!
//! The read side is the `shipping_zones` read model ([`ShippingZonesProjection`], one
//! [`ShippingZoneView`] per live zone, maintained from the feed): staff list it, and carts ask
//! [`ShippingZones::zone_serving`] and [`ShippingZones::quote`].

use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use runtime::projection::ProjectionError;
use runtime::{
    CommandError, CommandExecutor, CommandMetadata, EventFeed, Executed, FeedEvent, ListQuery,
    Loaded, Projection, ProjectionStore, ReadModels, StoreError, WorkingSet,
};
use rust_decimal::Decimal;
use shared_kernel::{Clock, CountryCode, Currency, Money};
use shipping::{
    apply_shipping_zone_event, quote_shipping, zone_for, CountrySet, Grams, QuoteError,
    ShippingError, ShippingQuote, ShippingZone, ShippingZoneCommand, ShippingZoneEvent,
    ShippingZoneId, ShippingZoneView, ZoneDirectory, ZoneDirectoryError,
};
use tokio::sync::watch;

/// The read model of live shipping zones, keyed by zone id.
pub const SHIPPING_ZONES_VIEW: &str = "shipping_zones";

/// How many zones one page of the read model holds when the whole view is read.
const PAGE: usize = 100;

/// Why a shipping zone command was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ShippingZoneError {
    /// The zone refused the command.
    #[error(transparent)]
    Rejected(ShippingError),
    /// Another zone holds `country`; nothing was recorded.
    #[error("{country} already belongs to shipping zone {zone_id}")]
    CountryTaken {
        country: String,
        zone_id: ShippingZoneId,
    },
    /// The caller pinned a version (If-Match) and the zone is at another one.
    #[error("expected version {expected}, found {actual}")]
    PreconditionFailed { expected: u64, actual: u64 },
    #[error("concurrent modification; retry the request")]
    Conflict,
    #[error("infrastructure failure: {0}")]
    Unavailable(String),
}

impl From<CommandError<ShippingError>> for ShippingZoneError {
    fn from(error: CommandError<ShippingError>) -> Self {
        match error {
            CommandError::Rejected(e) => Self::Rejected(e),
            CommandError::PreconditionFailed { expected, actual } => {
                Self::PreconditionFailed { expected, actual }
            }
            CommandError::Conflict => Self::Conflict,
            CommandError::Infrastructure(e) => Self::Unavailable(e),
        }
    }
}

impl From<ZoneDirectoryError> for ShippingZoneError {
    fn from(error: ZoneDirectoryError) -> Self {
        match error {
            ZoneDirectoryError::CountryTaken { country, zone_id } => {
                Self::CountryTaken { country, zone_id }
            }
            ZoneDirectoryError::Unavailable(source) => Self::Unavailable(source.to_string()),
        }
    }
}

/// Why the read side could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ShippingReadError {
    #[error(transparent)]
    Quote(QuoteError),
    #[error("the shipping zones read model is unavailable: {0}")]
    Unavailable(String),
}

/// Staff commands on shipping zones and the queries carts make.
pub struct ShippingZones {
    zones: Arc<dyn CommandExecutor<ShippingZone>>,
    directory: Arc<dyn ZoneDirectory>,
    read_models: Arc<dyn ReadModels>,
}

impl ShippingZones {
    pub fn new(
        zones: Arc<dyn CommandExecutor<ShippingZone>>,
        directory: Arc<dyn ZoneDirectory>,
        read_models: Arc<dyn ReadModels>,
    ) -> Self {
        Self {
            zones,
            directory,
            read_models,
        }
    }

    /// The zone as its stream has it (version 0: never created).
    pub async fn load(
        &self,
        zone_id: ShippingZoneId,
    ) -> Result<Loaded<ShippingZone>, ShippingZoneError> {
        Ok(self
            .zones
            .load(&ShippingZone::aggregate_id(zone_id))
            .await?)
    }

    /// Runs `command` on zone `zone_id` (for `CreateZone`, the command's own zone id), taking
    /// and giving back country claims as the [module docs](self) describe. With
    /// `expected_version`, the zone must be at exactly that version.
    pub async fn execute(
        &self,
        zone_id: ShippingZoneId,
        command: ShippingZoneCommand,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<ShippingZone>, ShippingZoneError> {
        let aggregate_id = ShippingZone::aggregate_id(zone_id);
        let claiming = match &command {
            ShippingZoneCommand::CreateZone { countries, .. }
            | ShippingZoneCommand::ChangeZoneCountries { countries } => Some(countries.clone()),
            _ => None,
        };
        let Some(countries) = claiming else {
            let executed = self
                .zones
                .execute(&aggregate_id, command.clone(), expected_version, metadata)
                .await?;
            if matches!(command, ShippingZoneCommand::DeleteZone) {
                self.release(zone_id, None).await;
            }
            return Ok(executed);
        };

        // A command the zone refuses must not claim anything, not even for a moment.
        let current = self.zones.load(&aggregate_id).await?;
        if let Some(expected) = expected_version {
            if expected != current.version {
                return Err(ShippingZoneError::PreconditionFailed {
                    expected,
                    actual: current.version,
                });
            }
        }
        current
            .aggregate
            .clone()
            .handle(command.clone(), &(), &EventSink::default())
            .await
            .map_err(ShippingZoneError::Rejected)?;

        self.directory.claim(zone_id, &countries).await?;
        match self
            .zones
            .execute(&aggregate_id, command, expected_version, metadata)
            .await
        {
            Ok(executed) => {
                let listed = executed.state.countries().cloned();
                self.release(zone_id, listed.as_ref()).await;
                Ok(executed)
            }
            // The command may have been recorded: keep the claims (see the module docs).
            Err(error @ CommandError::Infrastructure(_)) => Err(error.into()),
            Err(error) => {
                // Not recorded: what the zone lists now is all it may keep.
                match self.zones.load(&aggregate_id).await {
                    Ok(latest) => {
                        let listed = latest.aggregate.countries().cloned();
                        self.release(zone_id, listed.as_ref()).await;
                    }
                    Err(load) => {
                        tracing::warn!(zone = %zone_id, error = %load, "shipping zone claims left held");
                    }
                }
                Err(error.into())
            }
        }
    }

    async fn release(&self, zone_id: ShippingZoneId, keep: Option<&CountrySet>) {
        if let Err(error) = self.directory.release_except(zone_id, keep).await {
            // The country stays blocked for other zones until the claim is released.
            tracing::warn!(zone = %zone_id, %error, "could not release shipping zone claims");
        }
    }

    /// One page of live zones from the read model, in id order.
    pub async fn list(
        &self,
        limit: usize,
        starting_after: Option<&str>,
    ) -> Result<Vec<ShippingZoneView>, ShippingReadError> {
        let rows = self
            .read_models
            .list(ListQuery::new(SHIPPING_ZONES_VIEW, limit).starting_after(starting_after))
            .await
            .map_err(|e| ShippingReadError::Unavailable(e.to_string()))?;
        rows.into_iter()
            .map(|(_, body)| {
                serde_json::from_value::<ShippingZoneView>(body)
                    .map_err(|e| ShippingReadError::Unavailable(e.to_string()))
            })
            .collect()
    }

    /// Every live zone from the read model.
    async fn all(&self) -> Result<Vec<ShippingZoneView>, ShippingReadError> {
        let mut zones: Vec<ShippingZoneView> = Vec::new();
        loop {
            let after = zones.last().map(|zone| zone.zone_id.to_string());
            let page = self.list(PAGE, after.as_deref()).await?;
            let full = page.len() == PAGE;
            zones.extend(page);
            if !full {
                return Ok(zones);
            }
        }
    }

    /// The live zone, with its options, that ships to `country`, if any.
    pub async fn zone_serving(
        &self,
        country: CountryCode,
    ) -> Result<Option<ShippingZoneView>, ShippingReadError> {
        let zones = self.all().await?;
        Ok(zone_for(&zones, country)
            .map_err(ShippingReadError::Quote)?
            .cloned())
    }

    /// The options offered to a cart going to `country` whose merchandise subtotal is
    /// `subtotal` in `currency` and which weighs `weight`, cheapest first (see
    /// [`quote_shipping`]); empty when no zone ships there or no option fits.
    pub async fn quote(
        &self,
        country: CountryCode,
        currency: Currency,
        subtotal: Decimal,
        weight: Grams,
    ) -> Result<Vec<ShippingQuote>, ShippingReadError> {
        let zones = self.all().await?;
        quote_shipping(&zones, country, Money::new(subtotal, currency), weight)
            .map_err(ShippingReadError::Quote)
    }
}

/// `shipping_zones`: one [`ShippingZoneView`] per live zone; a deleted zone's row is removed.
#[derive(Debug, Default)]
pub struct ShippingZonesProjection;

fn malformed(event: &FeedEvent, reason: impl ToString) -> ProjectionError {
    ProjectionError::Malformed {
        event_id: event.event_id,
        reason: reason.to_string(),
    }
}

impl Projection for ShippingZonesProjection {
    fn name(&self) -> &'static str {
        "shipping_zones"
    }

    fn views(&self) -> &'static [&'static str] {
        &[SHIPPING_ZONES_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        if event.aggregate_type != ShippingZone::TYPE {
            return Vec::new();
        }
        vec![(SHIPPING_ZONES_VIEW, event.aggregate_id.clone())]
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<ShippingZone>() else {
            return Ok(());
        };
        let zone_event: ShippingZoneEvent = decoded.map_err(|e| malformed(event, e))?;
        let current = documents
            .get(SHIPPING_ZONES_VIEW, &event.aggregate_id)
            .map(|body| serde_json::from_value::<ShippingZoneView>(body.clone()))
            .transpose()
            .map_err(|e| malformed(event, e))?;
        match apply_shipping_zone_event(current, &zone_event) {
            Some(view) => {
                let body = serde_json::to_value(&view).map_err(|e| malformed(event, e))?;
                documents.put(SHIPPING_ZONES_VIEW, &event.aggregate_id, body);
            }
            None => documents.delete(SHIPPING_ZONES_VIEW, &event.aggregate_id),
        }
        Ok(())
    }
}

/// How long a claim is left alone by the repair: longer than any command in flight takes
/// between claiming and recording.
pub const CLAIM_GRACE: chrono::Duration = chrono::Duration::minutes(10);

/// The feed consumer that frees claims a crash or a failed release left behind (see
/// `shipping::ports`): after each event of a zone, it releases the zone's claims that the
/// zone's latest countries do not list and that are older than [`CLAIM_GRACE`]. Every step is
/// idempotent, so instances may run it side by side and a batch may be repeated.
pub struct ZoneClaimRepair {
    zones: Arc<dyn CommandExecutor<ShippingZone>>,
    directory: Arc<dyn ZoneDirectory>,
    clock: Arc<dyn Clock>,
    grace: chrono::Duration,
    checkpoint: runtime::TrackedCheckpoint,
}

/// Why a repair batch stopped; the next one starts from the same checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Zone(#[from] ShippingZoneError),
}

impl ZoneClaimRepair {
    /// The checkpoint the repair keeps in the projection store.
    pub const CHECKPOINT: &'static str = "shipping_zone_claim_repair";

    pub fn new(
        zones: Arc<dyn CommandExecutor<ShippingZone>>,
        directory: Arc<dyn ZoneDirectory>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            zones,
            directory,
            clock,
            grace: CLAIM_GRACE,
            checkpoint: runtime::TrackedCheckpoint::new(Self::CHECKPOINT),
        }
    }

    /// Leaves claims younger than `grace` alone (tests shorten it).
    pub fn with_grace(mut self, grace: chrono::Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Releases the stale claims of zone `zone_id` that it does not list now.
    pub async fn repair(&self, zone_id: ShippingZoneId) -> Result<(), ShippingZoneError> {
        let zone = self
            .zones
            .load(&ShippingZone::aggregate_id(zone_id))
            .await?;
        let keep = match zone.aggregate.status() {
            Some(shipping::ZoneStatus::Active) => zone.aggregate.countries().cloned(),
            _ => None,
        };
        let claimed_before = self.clock.now() - self.grace;
        self.directory
            .release_stale_except(zone_id, keep.as_ref(), claimed_before)
            .await?;
        Ok(())
    }

    /// Repairs the zones of one batch of the feed; returns how many events it consumed.
    pub async fn run_once(
        &self,
        feed: &dyn EventFeed,
        checkpoints: &dyn ProjectionStore,
    ) -> Result<usize, RepairError> {
        let from = self.checkpoint.scanned(checkpoints).await?;
        let batch = feed.read_after(from, 500).await?;
        let Some(last) = batch.last() else {
            self.checkpoint.skipped(checkpoints, from).await?;
            return Ok(0);
        };
        let mut zones: Vec<ShippingZoneId> = batch
            .iter()
            .filter(|event| event.aggregate_type == ShippingZone::TYPE)
            .filter_map(|event| uuid::Uuid::parse_str(&event.aggregate_id).ok())
            .map(ShippingZoneId::from_uuid)
            .collect();
        zones.sort_by_key(ShippingZoneId::as_uuid);
        zones.dedup();
        let held = if zones.is_empty() {
            self.checkpoint.skipped(checkpoints, last.cursor).await?
        } else {
            for zone_id in zones {
                self.repair(zone_id).await?;
            }
            self.checkpoint
                .commit(checkpoints, last.cursor, Vec::new())
                .await?
        };
        Ok(if held { batch.len() } else { 0 })
    }

    /// Runs until `shutdown` turns true, waking on `wake` or every second.
    pub async fn run(
        self: Arc<Self>,
        feed: Arc<dyn EventFeed>,
        checkpoints: Arc<dyn ProjectionStore>,
        mut wake: watch::Receiver<u64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let idle = std::time::Duration::from_secs(1);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let consumed = match self.run_once(feed.as_ref(), checkpoints.as_ref()).await {
                Ok(consumed) => consumed,
                Err(error) => {
                    tracing::warn!(%error, "shipping zone claim repair failed; retrying");
                    0
                }
            };
            if consumed == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    woken = wake.changed() => {
                        if woken.is_err() {
                            tokio::time::sleep(idle).await;
                        }
                    }
                    stopped = shutdown.changed() => {
                        if stopped.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        if let Err(error) = self.checkpoint.flush(checkpoints.as_ref()).await {
            tracing::warn!(%error, "could not store the repair's checkpoint at stop");
        }
        tracing::info!("shipping zone claim repair stopped");
    }
}
