//! Outbound ports of shipping: the [`ZoneDirectory`], which keeps a country in at most one
//! zone.
//!
//! A [`ShippingZone`](crate::ShippingZone) decides from its own events alone
//! (`Services = ()`), so it can only keep rules about itself. "No country is in two zones"
//! spans every zone's stream, and no single stream can serialize it: two staff members could
//! add `DE` to two zones at once, each zone deciding on its own history. So the rule is a
//! reservation (a set-validation claim), held outside the aggregates and taken before the
//! command that needs it:
//!
//! 1. `CreateZone` / `ChangeZoneCountries`: the application first [`claims`](ZoneDirectory::claim)
//!    the zone's new countries, all or none; a country another zone holds refuses the command
//!    with [`ZoneDirectoryError::CountryTaken`] before anything is recorded.
//! 2. It then sends the command. If the command is refused, it releases what it just claimed
//!    ([`release_except`](ZoneDirectory::release_except) with the zone's previous countries,
//!    or none for a zone that was never created).
//! 3. Once the command is recorded, it releases the countries the zone no longer lists
//!    (`release_except` with the new set; with none after `DeleteZone`).
//!
//! An adapter implements the claims as a table keyed by country (a primary key, so the
//! database serializes competing claims), in the same database as the events. A crash between
//! the steps can only leave a zone holding a claim on a country it does not list: that blocks
//! the country for other zones (an error staff can read), never lets two zones list it. A
//! feed consumer repairs it: after each zone event it releases the zone's claims that the
//! zone's latest countries do not list and that are older than a grace period (so a claim of
//! a command still in flight is left alone).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::CountryCode;

use crate::values::{CountrySet, ShippingZoneId};

/// Why the directory did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ZoneDirectoryError {
    /// Another zone holds the country; nothing was claimed. Staff can read this.
    #[error("{country} already belongs to shipping zone {zone_id}")]
    CountryTaken {
        country: String,
        zone_id: ShippingZoneId,
    },
    /// The directory could not be reached or failed; nothing is known to have changed.
    /// Retrying is safe: every operation is idempotent.
    #[error("the shipping zone directory is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Which zone each country belongs to: at most one.
///
/// Invariant (the adapter's promise): a country is claimed by at most one zone at any time,
/// and every operation is idempotent.
#[async_trait]
pub trait ZoneDirectory: Send + Sync {
    /// Claims every country of `countries` for `zone_id`, all or none. Countries the zone
    /// already holds stay held; claims of the zone on other countries are left as they are.
    /// Errors: [`ZoneDirectoryError::CountryTaken`] naming the first country (in code order)
    /// that another zone holds, with nothing claimed; `Unavailable`.
    async fn claim(
        &self,
        zone_id: ShippingZoneId,
        countries: &CountrySet,
    ) -> Result<(), ZoneDirectoryError>;

    /// Releases every country `zone_id` holds that `keep` does not list (`None`: all of
    /// them). Releasing what the zone does not hold is a no-op. Errors: `Unavailable`.
    async fn release_except(
        &self,
        zone_id: ShippingZoneId,
        keep: Option<&CountrySet>,
    ) -> Result<(), ZoneDirectoryError>;

    /// Like [`release_except`](ZoneDirectory::release_except), but only the claims made (or
    /// last renewed by [`claim`](ZoneDirectory::claim)) before `claimed_before`: the repair
    /// consumer's release, which leaves a claim of a command still in flight alone.
    /// Errors: `Unavailable`.
    async fn release_stale_except(
        &self,
        zone_id: ShippingZoneId,
        keep: Option<&CountrySet>,
        claimed_before: DateTime<Utc>,
    ) -> Result<(), ZoneDirectoryError>;

    /// The zone holding `country`, if any. Errors: `Unavailable`.
    async fn zone_of(
        &self,
        country: CountryCode,
    ) -> Result<Option<ShippingZoneId>, ZoneDirectoryError>;
}
