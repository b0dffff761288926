//! Read model of shipping zones, for staff listing and editing zones, and for carts quoting
//! shipping with [`quote_shipping`](crate::quote_shipping).
//!
//! The update function is pure so any projection (in memory, SQL, ...) can reuse it, and so it
//! can be tested without a store.

use serde::{Deserialize, Serialize};

use crate::aggregate::ShippingOption;
use crate::events::ShippingZoneEvent;
use crate::values::{CountrySet, Name, ShippingZoneId};

/// One live shipping zone with its live options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingZoneView {
    pub zone_id: ShippingZoneId,
    pub name: Name,
    pub countries: CountrySet,
    /// Live options, in the order they were created.
    pub options: Vec<ShippingOption>,
    /// Number of events applied; equals the aggregate's sequence number.
    pub version: u64,
}

/// The view after `event`, one version later. `ShippingZoneCreated` starts it and
/// `ShippingZoneDeleted` ends it (`None`: the projection removes the row, and a deleted zone
/// ships nowhere); any other event without a view leaves none (the aggregate never records
/// one outside a zone's life).
pub fn apply_shipping_zone_event(
    view: Option<ShippingZoneView>,
    event: &ShippingZoneEvent,
) -> Option<ShippingZoneView> {
    use ShippingZoneEvent as E;
    if let E::ZoneCreated {
        zone_id,
        name,
        countries,
    } = event
    {
        return Some(ShippingZoneView {
            zone_id: *zone_id,
            name: name.clone(),
            countries: countries.clone(),
            options: Vec::new(),
            version: 1,
        });
    }
    let mut view = view?;
    match event {
        E::ZoneCreated { .. } => {}
        E::ZoneDeleted {} => return None,
        E::ZoneRenamed { name } => view.name = name.clone(),
        E::ZoneCountriesChanged { countries } => view.countries = countries.clone(),
        E::OptionCreated {
            option_id,
            name,
            prices,
        } => view.options.push(ShippingOption::new(
            *option_id,
            name.clone(),
            prices.clone(),
        )),
        E::OptionPricesChanged { option_id, prices } => {
            if let Some(option) = view
                .options
                .iter_mut()
                .find(|o| o.option_id() == *option_id)
            {
                *option = ShippingOption::new(*option_id, option.name().clone(), prices.clone());
            }
        }
        E::OptionRenamed { option_id, name } => {
            if let Some(option) = view
                .options
                .iter_mut()
                .find(|o| o.option_id() == *option_id)
            {
                *option = ShippingOption::new(*option_id, name.clone(), option.prices().clone());
            }
        }
        E::OptionDeleted { option_id } => view.options.retain(|o| o.option_id() != *option_id),
    }
    view.version += 1;
    Some(view)
}

#[cfg(test)]
mod tests {
    use shared_kernel::Money;
    use uuid::Uuid;

    use super::*;
    use crate::rates::{CurrencyPrice, Rate, ShippingPrices};
    use crate::values::ShippingOptionId;

    fn zone_id() -> ShippingZoneId {
        ShippingZoneId::from_uuid(Uuid::from_u128(1))
    }

    fn option_id(n: u128) -> ShippingOptionId {
        ShippingOptionId::from_uuid(Uuid::from_u128(0x0B_0000 + n))
    }

    fn name(raw: &str) -> Name {
        Name::parse(raw).unwrap()
    }

    fn flat(price: &str) -> ShippingPrices {
        ShippingPrices::new(vec![CurrencyPrice {
            rate: Rate::Flat {
                price: Money::parse(price, "EUR").unwrap(),
            },
            free_shipping_from: None,
        }])
        .unwrap()
    }

    fn created() -> ShippingZoneEvent {
        ShippingZoneEvent::ZoneCreated {
            zone_id: zone_id(),
            name: name("Europe"),
            countries: CountrySet::parse(["DE"]).unwrap(),
        }
    }

    fn option_created(n: u128, option_name: &str) -> ShippingZoneEvent {
        ShippingZoneEvent::OptionCreated {
            option_id: option_id(n),
            name: name(option_name),
            prices: flat("4.90"),
        }
    }

    fn replay(events: &[ShippingZoneEvent]) -> Option<ShippingZoneView> {
        events.iter().fold(None, apply_shipping_zone_event)
    }

    #[test]
    fn the_creation_starts_the_view_at_version_one() {
        let view = replay(&[created()]).unwrap();
        assert_eq!(view.zone_id, zone_id());
        assert_eq!(view.name, name("Europe"));
        assert!(view.options.is_empty());
        assert_eq!(view.version, 1);
    }

    #[test]
    fn no_event_but_the_creation_starts_a_view() {
        assert_eq!(replay(&[option_created(1, "Standard")]), None);
    }

    #[test]
    fn zone_and_option_changes_are_applied_in_order() {
        let view = replay(&[
            created(),
            ShippingZoneEvent::ZoneRenamed { name: name("EU") },
            ShippingZoneEvent::ZoneCountriesChanged {
                countries: CountrySet::parse(["AT", "DE"]).unwrap(),
            },
            option_created(1, "Standard"),
            option_created(2, "Express"),
            option_created(3, "Pickup"),
            ShippingZoneEvent::OptionPricesChanged {
                option_id: option_id(1),
                prices: flat("5.90"),
            },
            ShippingZoneEvent::OptionRenamed {
                option_id: option_id(2),
                name: name("Express 24h"),
            },
            ShippingZoneEvent::OptionDeleted {
                option_id: option_id(3),
            },
        ])
        .unwrap();
        assert_eq!(view.name, name("EU"));
        assert_eq!(view.countries.iter().collect::<Vec<_>>(), ["AT", "DE"]);
        let options: Vec<(&str, &ShippingPrices)> = view
            .options
            .iter()
            .map(|o| (o.name().as_str(), o.prices()))
            .collect();
        assert_eq!(
            options,
            [("Standard", &flat("5.90")), ("Express 24h", &flat("4.90"))]
        );
        assert_eq!(view.version, 9);
    }

    #[test]
    fn a_deleted_zone_leaves_no_view() {
        assert_eq!(
            replay(&[
                created(),
                option_created(1, "Standard"),
                ShippingZoneEvent::ZoneDeleted {}
            ]),
            None
        );
    }

    #[test]
    fn the_view_serializes_and_reads_back() {
        let view = replay(&[created(), option_created(1, "Standard")]).unwrap();
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["countries"], serde_json::json!(["DE"]));
        assert_eq!(json["options"][0]["prices"][0]["rate"]["type"], "flat");
        assert_eq!(
            serde_json::from_value::<ShippingZoneView>(json).unwrap(),
            view
        );
    }
}
