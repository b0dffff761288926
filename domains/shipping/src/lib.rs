//! Shipping context: where the shop ships, how, and what it costs.
//!
//! Owns: shipping zones (a name and the destination countries, ISO 3166-1 alpha-2), the
//! options of each zone (a name a shopper reads and a price per currency: flat, by bands of
//! the merchandise subtotal, or by bands of the cart's weight in grams, with an optional
//! free-shipping threshold), and the quoting of a cart ([`quote_shipping`]): which options a
//! destination, subtotal and weight allow, at which price.
//! Does not own: carts, their address or the option they chose (carts), the weights of
//! products (catalog; a line without a weight counts zero here), discounts and free-shipping
//! codes (coupons), tax on shipping (tax), carriers, labels, tracking, delivery estimates,
//! and admin REST or storage (the application and adapters wire this crate).
//!
//! One aggregate: [`ShippingZone`] (`"shipping_zone"`, aggregate id = the zone id), holding
//! its options. Why not an aggregate per option:
//! - An option lives and dies with its zone: deleting a zone deletes its options in the same
//!   event, and no option can be added to a deleted zone. With two aggregates that takes a
//!   process manager and leaves orphans meanwhile.
//! - Options are quoted together with their zone: one stream gives one view per zone, one
//!   version and one consistent read.
//! - Option names are unique within a zone (a shopper must tell them apart), a rule over all
//!   of a zone's options that one stream keeps for free.
//! - Zones are edited by staff, rarely: contention on one stream per zone costs nothing, and
//!   a zone has at most [`MAX_OPTIONS_PER_ZONE`] options, so the stream stays small.
//!
//! Invariant: a zone lists at least one assigned country code, each once; its live options
//! have distinct ids and names (ignoring case); option ids are never reused in a zone.
//! Invariant: prices are valid by construction ([`ShippingPrices::new`]): one entry per
//! currency, every amount in that currency, not negative, in whole minor units; bands are
//! half-open `[from, to)`, contiguous from zero, only the last open-ended, so a subtotal or a
//! weight falls in at most one band.
//! Invariant: a country is in at most one zone. That rule spans every zone's stream, so it is
//! not an aggregate invariant: the application claims countries in the [`ZoneDirectory`] port
//! before it creates a zone or changes its countries (see [`ports`]). [`quote_shipping`]
//! refuses to guess if the directory ever failed.
//! Invariant: no floating point; amounts are `Money`, weights whole grams.
//!
//! Decisions:
//! - The currency of a quote is the subtotal's: a cart has one currency, and a separate
//!   currency argument could only disagree with it.
//! - The free-shipping threshold compares the merchandise subtotal before discounts, as the
//!   subtotal bands do (a free-shipping code is the coupons context's business).
//! - A cart beyond an option's last band is not offered that option, free or not.
//! - Time plays no part: no command needs a clock, so none carries one.
//! - Stored events read back as recorded (names, countries, prices are not re-validated);
//!   the codec stores them without Rust names under `event_version` "2".

pub mod aggregate;
pub mod commands;
pub mod errors;
pub mod events;
pub mod ports;
pub mod pricing;
pub mod rates;
pub mod values;
pub mod views;

pub use aggregate::{ShippingOption, ShippingZone, MAX_OPTIONS_PER_ZONE};
pub use commands::ShippingZoneCommand;
pub use errors::{QuoteError, ShippingError};
pub use events::ShippingZoneEvent;
pub use ports::{ZoneDirectory, ZoneDirectoryError};
pub use pricing::{price_options, quote_shipping, zone_for, ShippingQuote};
pub use rates::{Charge, CurrencyPrice, Rate, ShippingPrices, SubtotalBand, WeightBand, MAX_BANDS};
pub use values::{
    CountrySet, Grams, Name, ShippingOptionId, ShippingZoneId, ZoneStatus, MAX_NAME_CHARS,
};
pub use views::{apply_shipping_zone_event, ShippingZoneView};
