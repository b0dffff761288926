//! Events of the [`ShippingZone`](crate::ShippingZone) aggregate.
//!
//! Every variant carries a literal `serde(rename)` equal to its [`DomainEvent::event_type`],
//! so renaming a Rust variant changes nothing stored. The stored-event codec
//! (`platform/runtime/src/codec.rs`) takes serde's tag off, checks that it equals
//! `event_type()`, and stores the rest as the payload; the tests in this module pin every
//! payload. Field types read back as recorded: nothing is re-validated on replay.

use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::rates::ShippingPrices;
use crate::values::{CountrySet, Name, ShippingOptionId, ShippingZoneId};

/// What happened to a shipping zone. Only `ShippingZoneCreated` opens a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShippingZoneEvent {
    #[serde(rename = "ShippingZoneCreated")]
    ZoneCreated {
        zone_id: ShippingZoneId,
        name: Name,
        countries: CountrySet,
    },
    #[serde(rename = "ShippingZoneRenamed")]
    ZoneRenamed { name: Name },
    /// The zone now ships to `countries` (all of them).
    #[serde(rename = "ShippingZoneCountriesChanged")]
    ZoneCountriesChanged { countries: CountrySet },
    /// The zone and every option it had are gone for good.
    #[serde(rename = "ShippingZoneDeleted")]
    ZoneDeleted {},
    #[serde(rename = "ShippingOptionCreated")]
    OptionCreated {
        option_id: ShippingOptionId,
        name: Name,
        prices: ShippingPrices,
    },
    /// The option's prices are now `prices` (all of them).
    #[serde(rename = "ShippingOptionPricesChanged")]
    OptionPricesChanged {
        option_id: ShippingOptionId,
        prices: ShippingPrices,
    },
    #[serde(rename = "ShippingOptionRenamed")]
    OptionRenamed {
        option_id: ShippingOptionId,
        name: Name,
    },
    #[serde(rename = "ShippingOptionDeleted")]
    OptionDeleted { option_id: ShippingOptionId },
}

impl DomainEvent for ShippingZoneEvent {
    fn event_type(&self) -> String {
        match self {
            ShippingZoneEvent::ZoneCreated { .. } => "ShippingZoneCreated",
            ShippingZoneEvent::ZoneRenamed { .. } => "ShippingZoneRenamed",
            ShippingZoneEvent::ZoneCountriesChanged { .. } => "ShippingZoneCountriesChanged",
            ShippingZoneEvent::ZoneDeleted {} => "ShippingZoneDeleted",
            ShippingZoneEvent::OptionCreated { .. } => "ShippingOptionCreated",
            ShippingZoneEvent::OptionPricesChanged { .. } => "ShippingOptionPricesChanged",
            ShippingZoneEvent::OptionRenamed { .. } => "ShippingOptionRenamed",
            ShippingZoneEvent::OptionDeleted { .. } => "ShippingOptionDeleted",
        }
        .to_owned()
    }

    /// "2" from the first release: version 1 is the legacy serde-tagged format, which the
    /// stored-event codec refuses to write (`platform/runtime/src/codec.rs`).
    fn event_version(&self) -> String {
        "2".to_owned()
    }
}

#[cfg(test)]
mod tests;
