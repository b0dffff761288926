//! The `ShippingZone` aggregate: a zone's name and countries, and its options with their
//! prices.
//!
//! Per zone (`-` = never created):
//!
//! | status  | CreateZone | RenameZone / ChangeZoneCountries | DeleteZone  | option commands |
//! |---------|------------|----------------------------------|-------------|-----------------|
//! | -       | Created    | ZoneNotFound                     | ZoneNotFound| ZoneNotFound    |
//! | Active  | ZoneExists | Renamed / CountriesChanged; same value: no-op | Deleted | see below |
//! | Deleted | ZoneExists | NotAllowed                       | no-op       | NotAllowed      |
//!
//! Per option of an active zone (`-` = never created in this zone):
//!
//! | option  | CreateOption                                   | ChangeOptionPrices / RenameOption                      | DeleteOption   |
//! |---------|------------------------------------------------|--------------------------------------------------------|----------------|
//! | -       | Created, or OptionNameTaken, TooManyOptions    | OptionNotFound                                         | OptionNotFound |
//! | live    | OptionExists                                   | PricesChanged / Renamed (OptionNameTaken); same value: no-op | Deleted  |
//! | deleted | OptionExists                                   | OptionNotFound                                         | no-op          |
//!
//! Repeats of a delete are no-ops so that a retried admin request succeeds; a repeated create
//! is refused, because the two requests may have meant different zones or options.

use std::collections::BTreeSet;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::commands::ShippingZoneCommand;
use crate::errors::ShippingError;
use crate::events::ShippingZoneEvent;
use crate::rates::ShippingPrices;
use crate::values::{CountrySet, Name, ShippingOptionId, ShippingZoneId, ZoneStatus};

/// Most live options one zone may have.
pub const MAX_OPTIONS_PER_ZONE: usize = 50;

/// One way to ship to a zone, as a shopper chooses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingOption {
    option_id: ShippingOptionId,
    name: Name,
    prices: ShippingPrices,
}

impl ShippingOption {
    pub fn new(option_id: ShippingOptionId, name: Name, prices: ShippingPrices) -> Self {
        ShippingOption {
            option_id,
            name,
            prices,
        }
    }

    pub fn option_id(&self) -> ShippingOptionId {
        self.option_id
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    pub fn prices(&self) -> &ShippingPrices {
        &self.prices
    }
}

/// One shipping zone with its options. Serializable for snapshots.
///
/// Invariant: live options have distinct ids and distinct names (ignoring case), at most
/// [`MAX_OPTIONS_PER_ZONE`] of them; a deleted option's id is never used again in the zone.
/// Invariant: a zone lists at least one country; once deleted it takes no command but a
/// repeated delete.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingZone {
    zone_id: Option<ShippingZoneId>,
    status: Option<ZoneStatus>,
    name: Option<Name>,
    countries: Option<CountrySet>,
    /// Live options, in the order they were created.
    options: Vec<ShippingOption>,
    deleted_options: BTreeSet<ShippingOptionId>,
}

impl ShippingZone {
    /// The aggregate id to load and command for `zone_id`: its hyphenated form.
    pub fn aggregate_id(zone_id: ShippingZoneId) -> String {
        zone_id.to_string()
    }

    /// `None` before the zone was created.
    pub fn zone_id(&self) -> Option<ShippingZoneId> {
        self.zone_id
    }

    /// `None` before the zone was created.
    pub fn status(&self) -> Option<ZoneStatus> {
        self.status
    }

    /// `None` before the zone was created.
    pub fn name(&self) -> Option<&Name> {
        self.name.as_ref()
    }

    /// `None` before the zone was created; a deleted zone keeps the countries it last had,
    /// for the record (it ships to none of them).
    pub fn countries(&self) -> Option<&CountrySet> {
        self.countries.as_ref()
    }

    /// Live options, in the order they were created; none once the zone is deleted.
    pub fn options(&self) -> &[ShippingOption] {
        &self.options
    }

    pub fn option(&self, option_id: ShippingOptionId) -> Option<&ShippingOption> {
        self.options
            .iter()
            .find(|option| option.option_id == option_id)
    }

    fn decide(
        &self,
        command: ShippingZoneCommand,
    ) -> Result<Vec<ShippingZoneEvent>, ShippingError> {
        use ShippingZoneCommand as C;
        use ShippingZoneEvent as E;
        let name = command.name();
        match (self.status, command) {
            (
                None,
                C::CreateZone {
                    zone_id,
                    name,
                    countries,
                },
            ) => Ok(vec![E::ZoneCreated {
                zone_id,
                name,
                countries,
            }]),
            (Some(_), C::CreateZone { .. }) => Err(ShippingError::ZoneExists {
                zone_id: self.zone_id.expect("a created zone has an id"),
            }),
            (None, _) => Err(ShippingError::ZoneNotFound),
            (Some(ZoneStatus::Deleted), C::DeleteZone) => Ok(vec![]),
            (Some(ZoneStatus::Deleted), _) => Err(ShippingError::NotAllowed {
                status: ZoneStatus::Deleted,
                command: name,
            }),
            (Some(ZoneStatus::Active), C::RenameZone { name }) => {
                if self.name.as_ref() == Some(&name) {
                    return Ok(vec![]);
                }
                Ok(vec![E::ZoneRenamed { name }])
            }
            (Some(ZoneStatus::Active), C::ChangeZoneCountries { countries }) => {
                if self.countries.as_ref() == Some(&countries) {
                    return Ok(vec![]);
                }
                Ok(vec![E::ZoneCountriesChanged { countries }])
            }
            (Some(ZoneStatus::Active), C::DeleteZone) => Ok(vec![E::ZoneDeleted {}]),
            (
                Some(ZoneStatus::Active),
                C::CreateOption {
                    option_id,
                    name,
                    prices,
                },
            ) => {
                if self.option(option_id).is_some() || self.deleted_options.contains(&option_id) {
                    return Err(ShippingError::OptionExists { option_id });
                }
                self.check_name_free(&name, None)?;
                if self.options.len() >= MAX_OPTIONS_PER_ZONE {
                    return Err(ShippingError::TooManyOptions {
                        max: MAX_OPTIONS_PER_ZONE,
                    });
                }
                Ok(vec![E::OptionCreated {
                    option_id,
                    name,
                    prices,
                }])
            }
            (Some(ZoneStatus::Active), C::ChangeOptionPrices { option_id, prices }) => {
                if self.live_option(option_id)?.prices == prices {
                    return Ok(vec![]);
                }
                Ok(vec![E::OptionPricesChanged { option_id, prices }])
            }
            (Some(ZoneStatus::Active), C::RenameOption { option_id, name }) => {
                if self.live_option(option_id)?.name == name {
                    return Ok(vec![]);
                }
                self.check_name_free(&name, Some(option_id))?;
                Ok(vec![E::OptionRenamed { option_id, name }])
            }
            (Some(ZoneStatus::Active), C::DeleteOption { option_id }) => {
                if self.deleted_options.contains(&option_id) {
                    return Ok(vec![]);
                }
                self.live_option(option_id)?;
                Ok(vec![E::OptionDeleted { option_id }])
            }
        }
    }

    fn live_option(&self, option_id: ShippingOptionId) -> Result<&ShippingOption, ShippingError> {
        self.option(option_id)
            .ok_or(ShippingError::OptionNotFound { option_id })
    }

    /// Refuses `name` if a live option other than `except` reads the same.
    fn check_name_free(
        &self,
        name: &Name,
        except: Option<ShippingOptionId>,
    ) -> Result<(), ShippingError> {
        let taken = self
            .options
            .iter()
            .any(|option| Some(option.option_id) != except && option.name.same_as(name));
        if taken {
            return Err(ShippingError::OptionNameTaken {
                name: name.as_str().to_owned(),
            });
        }
        Ok(())
    }

    fn option_mut(&mut self, option_id: ShippingOptionId) -> Option<&mut ShippingOption> {
        self.options
            .iter_mut()
            .find(|option| option.option_id == option_id)
    }
}

impl Aggregate for ShippingZone {
    const TYPE: &'static str = "shipping_zone";
    type Command = ShippingZoneCommand;
    type Event = ShippingZoneEvent;
    type Error = ShippingError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ShippingZoneEvent::ZoneCreated {
                zone_id,
                name,
                countries,
            } => {
                self.zone_id = Some(zone_id);
                self.status = Some(ZoneStatus::Active);
                self.name = Some(name);
                self.countries = Some(countries);
            }
            ShippingZoneEvent::ZoneRenamed { name } => self.name = Some(name),
            ShippingZoneEvent::ZoneCountriesChanged { countries } => {
                self.countries = Some(countries);
            }
            ShippingZoneEvent::ZoneDeleted {} => {
                self.status = Some(ZoneStatus::Deleted);
                let options = std::mem::take(&mut self.options);
                self.deleted_options
                    .extend(options.iter().map(ShippingOption::option_id));
            }
            ShippingZoneEvent::OptionCreated {
                option_id,
                name,
                prices,
            } => self
                .options
                .push(ShippingOption::new(option_id, name, prices)),
            ShippingZoneEvent::OptionPricesChanged { option_id, prices } => {
                if let Some(option) = self.option_mut(option_id) {
                    option.prices = prices;
                }
            }
            ShippingZoneEvent::OptionRenamed { option_id, name } => {
                if let Some(option) = self.option_mut(option_id) {
                    option.name = name;
                }
            }
            ShippingZoneEvent::OptionDeleted { option_id } => {
                self.options.retain(|option| option.option_id != option_id);
                self.deleted_options.insert(option_id);
            }
        }
    }
}

#[cfg(test)]
mod tests;
