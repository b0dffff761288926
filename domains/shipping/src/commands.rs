//! What staff can ask of a shipping zone and its options (admin CRUD). Every command goes to
//! the zone's stream, options included (see the [crate docs](crate) for why).
//!
//! Country uniqueness across zones is checked before `CreateZone` and `ChangeZoneCountries`
//! are sent, by the application through [`ZoneDirectory`](crate::ports::ZoneDirectory).

use crate::rates::ShippingPrices;
use crate::values::{CountrySet, Name, ShippingOptionId, ShippingZoneId};

/// Commands for the [`ShippingZone`](crate::ShippingZone) aggregate, whose id is the zone id
/// ([`ShippingZone::aggregate_id`](crate::ShippingZone::aggregate_id)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShippingZoneCommand {
    /// Opens the zone `zone_id` (which must be the aggregate id) for `countries`.
    CreateZone {
        zone_id: ShippingZoneId,
        name: Name,
        countries: CountrySet,
    },
    /// The same name again: no-op.
    RenameZone { name: Name },
    /// Replaces the zone's countries (all of them, not only what changed). The same set
    /// again: no-op.
    ChangeZoneCountries { countries: CountrySet },
    /// Deletes the zone and with it its options, for good. Repeating it is a no-op.
    DeleteZone,
    /// Adds an option. Its id must be new to the zone (even a deleted option's id stays
    /// taken) and its name must differ, ignoring case, from every live option's.
    CreateOption {
        option_id: ShippingOptionId,
        name: Name,
        prices: ShippingPrices,
    },
    /// Replaces all of an option's prices. The same prices again: no-op.
    ChangeOptionPrices {
        option_id: ShippingOptionId,
        prices: ShippingPrices,
    },
    /// The same name again: no-op.
    RenameOption {
        option_id: ShippingOptionId,
        name: Name,
    },
    /// Takes the option off the zone for good.
    DeleteOption { option_id: ShippingOptionId },
}

impl ShippingZoneCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            ShippingZoneCommand::CreateZone { .. } => "CreateZone",
            ShippingZoneCommand::RenameZone { .. } => "RenameZone",
            ShippingZoneCommand::ChangeZoneCountries { .. } => "ChangeZoneCountries",
            ShippingZoneCommand::DeleteZone => "DeleteZone",
            ShippingZoneCommand::CreateOption { .. } => "CreateOption",
            ShippingZoneCommand::ChangeOptionPrices { .. } => "ChangeOptionPrices",
            ShippingZoneCommand::RenameOption { .. } => "RenameOption",
            ShippingZoneCommand::DeleteOption { .. } => "DeleteOption",
        }
    }
}
