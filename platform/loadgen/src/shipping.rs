//! Shipping for a run: before it, the zone serving the shoppers' country is found (or
//! created) with the options the run wants; during it, shoppers choose among the options
//! offered; after it, the audit knows what each option should have charged an order.
//!
//! A country belongs to one zone only, so a run reuses the zone that serves it (from an
//! earlier run, or staff's) and adds only the options it lacks, matched by name ignoring
//! case: an option of that name already there is kept as it is. What every option of the
//! zone charges is read back from the server, so the audit prices orders by the zone as it
//! is, not as the run would have made it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::client::{ApiError, Client, ShippingOption, ShippingPrice, ShippingZone, SubtotalBand};
use crate::money::{Decimal, Money};
use crate::shopper::CURRENCY;

/// Where every shopper ships.
pub const COUNTRY: &str = "DE";
/// The name of a zone the run creates.
const ZONE_NAME: &str = "Loadgen Germany";
/// How long a zone another run is creating may take to show in the list.
const FIND_FOR: Duration = Duration::from_secs(5);

fn eur(amount: &str) -> Money {
    Money {
        amount: amount.to_owned(),
        currency: CURRENCY.to_owned(),
    }
}

/// The options a run wants in its zone, in EUR: a flat standard rate that ships free from
/// 50.00, a flat express rate, and an economy rate banded by the merchandise subtotal.
pub fn options_to_create() -> Vec<ShippingOption> {
    let band = |from: &str, to: Option<&str>, amount: &str| SubtotalBand {
        from: eur(from),
        to: to.map(eur),
        amount: eur(amount),
    };
    vec![
        ShippingOption {
            id: String::new(),
            name: "Standard".to_owned(),
            prices: vec![ShippingPrice::Flat {
                amount: eur("4.90"),
                free_shipping_from: Some(eur("50.00")),
            }],
        },
        ShippingOption {
            id: String::new(),
            name: "Express".to_owned(),
            prices: vec![ShippingPrice::Flat {
                amount: eur("9.90"),
                free_shipping_from: None,
            }],
        },
        ShippingOption {
            id: String::new(),
            name: "Economy".to_owned(),
            prices: vec![ShippingPrice::SubtotalBands {
                bands: vec![
                    band("0.00", Some("20.00"), "3.90"),
                    band("20.00", Some("60.00"), "2.90"),
                    band("60.00", None, "1.90"),
                ],
                free_shipping_from: None,
            }],
        },
    ]
}

/// The zone among `zones` that serves `country`, if any.
pub fn zone_serving<'a>(zones: &'a [ShippingZone], country: &str) -> Option<&'a ShippingZone> {
    zones.iter().find(|zone| {
        zone.countries
            .iter()
            .any(|served| served.eq_ignore_ascii_case(country))
    })
}

/// The options of `planned` that `zone` lacks, matched by name ignoring case.
pub fn missing_options<'a>(
    zone: &ShippingZone,
    planned: &'a [ShippingOption],
) -> Vec<&'a ShippingOption> {
    planned
        .iter()
        .filter(|want| {
            !zone
                .options
                .iter()
                .any(|have| have.name.eq_ignore_ascii_case(&want.name))
        })
        .collect()
}

/// What one option of the zone charges in the run's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub name: String,
    /// `None`: the option has no price in the run's currency.
    pub price: Option<ShippingPrice>,
}

/// The zone the shoppers' country is served by, as read before the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rates {
    pub zone_id: String,
    pub zone_name: String,
    /// By option id.
    pub options: BTreeMap<String, Rate>,
}

impl Rates {
    /// The zone's options and their prices in `currency`.
    pub fn of(zone: &ShippingZone, currency: &str) -> Self {
        let options = zone
            .options
            .iter()
            .map(|option| {
                let price = option
                    .prices
                    .iter()
                    .find(|price| {
                        price_currency(price).is_some_and(|c| c.eq_ignore_ascii_case(currency))
                    })
                    .cloned();
                (
                    option.id.clone(),
                    Rate {
                        name: option.name.clone(),
                        price,
                    },
                )
            })
            .collect();
        Self {
            zone_id: zone.id.clone(),
            zone_name: zone.name.clone(),
            options,
        }
    }
}

/// The currency a price is in (that of its first amount).
fn price_currency(price: &ShippingPrice) -> Option<&str> {
    let money = match price {
        ShippingPrice::Flat { amount, .. } => Some(amount),
        ShippingPrice::SubtotalBands { bands, .. } => bands.first().map(|b| &b.amount),
        ShippingPrice::WeightBands { bands, .. } => bands.first().map(|b| &b.amount),
        ShippingPrice::Unknown => None,
    };
    money.map(|m| m.currency.as_str())
}

/// What `price` charges a cart whose merchandise subtotal (before discounts) is `subtotal`,
/// as the API documents its quotes: free at or above `free_shipping_from`, else the flat
/// amount or that of the band `[from, to)` holding the subtotal; variants carry no weight
/// yet, so weight bands are quoted at 0 g. `None` when it cannot be told (a shape this
/// generator does not know, an amount that is no decimal, no band holding the subtotal).
pub fn quote(price: &ShippingPrice, subtotal: Decimal) -> Option<Decimal> {
    let at_least = |threshold: &Money| {
        threshold
            .decimal()
            .and_then(|t| subtotal.compare(t))
            .map(std::cmp::Ordering::is_ge)
    };
    let free_from = match price {
        ShippingPrice::Flat {
            free_shipping_from, ..
        }
        | ShippingPrice::SubtotalBands {
            free_shipping_from, ..
        }
        | ShippingPrice::WeightBands {
            free_shipping_from, ..
        } => free_shipping_from.as_ref(),
        ShippingPrice::Unknown => return None,
    };
    if let Some(threshold) = free_from {
        if at_least(threshold)? {
            return Some(Decimal::ZERO);
        }
    }
    match price {
        ShippingPrice::Flat { amount, .. } => amount.decimal(),
        ShippingPrice::SubtotalBands { bands, .. } => {
            for band in bands {
                let above_to = match &band.to {
                    Some(to) => at_least(to)?,
                    None => false,
                };
                if at_least(&band.from)? && !above_to {
                    return band.amount.decimal();
                }
            }
            None
        }
        ShippingPrice::WeightBands { bands, .. } => bands
            .iter()
            .find(|band| band.from_grams == 0 && band.to_grams != Some(0))
            .and_then(|band| band.amount.decimal()),
        ShippingPrice::Unknown => None,
    }
}

/// Finds the zone serving [`COUNTRY`], or creates it, adds the options of
/// [`options_to_create`] it lacks, and reads back what each of its options charges.
pub async fn set_up(client: &Client) -> Result<Rates, String> {
    let mut zone = find_or_create_zone(client).await?;
    let planned = options_to_create();
    for option in missing_options(&zone, &planned) {
        zone = client
            .create_shipping_option(&zone.id, option)
            .await
            .map_err(|e| {
                format!(
                    "cannot add shipping option {:?} to zone {}: {e} (--no-shipping runs \
                     without shipping)",
                    option.name, zone.id
                )
            })?;
    }
    let zone = client
        .get_shipping_zone(&zone.id)
        .await
        .map_err(|e| format!("cannot read shipping zone {}: {e}", zone.id))?;
    Ok(Rates::of(&zone, CURRENCY))
}

async fn find_or_create_zone(client: &Client) -> Result<ShippingZone, String> {
    let cannot = |e: ApiError| {
        format!("cannot set up shipping to {COUNTRY}: {e} (--no-shipping runs without shipping)")
    };
    let zones = client.list_shipping_zones().await.map_err(cannot)?;
    if let Some(zone) = zone_serving(&zones, COUNTRY) {
        return Ok(zone.clone());
    }
    match client.create_shipping_zone(ZONE_NAME, &[COUNTRY]).await {
        Ok(zone) => return Ok(zone),
        // Another run made one meanwhile; the list shows it once its read model caught up.
        Err(ApiError::Status { status: 409, .. }) => {}
        Err(error) => return Err(cannot(error)),
    }
    let until = Instant::now() + FIND_FOR;
    loop {
        let zones = client.list_shipping_zones().await.map_err(cannot)?;
        if let Some(zone) = zone_serving(&zones, COUNTRY) {
            return Ok(zone.clone());
        }
        if Instant::now() >= until {
            return Err(format!(
                "cannot set up shipping to {COUNTRY}: a zone holds it, but the zone list does \
                 not show it"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::WeightBand;

    fn at(subtotal: &str, price: &ShippingPrice) -> Option<String> {
        quote(price, Decimal::parse(subtotal).unwrap()).map(|d| d.to_string())
    }

    fn planned(name: &str) -> ShippingPrice {
        options_to_create()
            .into_iter()
            .find(|o| o.name == name)
            .unwrap()
            .prices
            .remove(0)
    }

    #[test]
    fn a_flat_rate_ships_free_from_its_threshold_on() {
        let standard = planned("Standard");
        assert_eq!(at("49.99", &standard).as_deref(), Some("4.90"));
        assert_eq!(at("50.00", &standard).as_deref(), Some("0.00"));
        assert_eq!(at("50.01", &standard).as_deref(), Some("0.00"));
        let express = planned("Express");
        assert_eq!(at("1000", &express).as_deref(), Some("9.90"));
    }

    #[test]
    fn a_banded_rate_charges_the_band_holding_the_subtotal() {
        let economy = planned("Economy");
        assert_eq!(at("0", &economy).as_deref(), Some("3.90"));
        assert_eq!(at("19.99", &economy).as_deref(), Some("3.90"));
        assert_eq!(at("20.00", &economy).as_deref(), Some("2.90"));
        assert_eq!(at("59.99", &economy).as_deref(), Some("2.90"));
        assert_eq!(at("60", &economy).as_deref(), Some("1.90"));
        assert_eq!(at("100000", &economy).as_deref(), Some("1.90"));
    }

    #[test]
    fn weight_bands_are_quoted_at_zero_grams_and_unknown_shapes_not_at_all() {
        let freight = ShippingPrice::WeightBands {
            bands: vec![
                WeightBand {
                    from_grams: 0,
                    to_grams: Some(5000),
                    amount: eur("9.00"),
                },
                WeightBand {
                    from_grams: 5000,
                    to_grams: None,
                    amount: eur("19.00"),
                },
            ],
            free_shipping_from: Some(eur("100")),
        };
        assert_eq!(at("10", &freight).as_deref(), Some("9.00"));
        assert_eq!(at("100", &freight).as_deref(), Some("0.00"));
        assert_eq!(at("10", &ShippingPrice::Unknown), None);
    }

    #[test]
    fn the_zone_serving_the_country_is_reused_and_only_missing_options_are_added() {
        let zone = |id: &str, countries: &[&str], options: &[&str]| ShippingZone {
            id: id.to_owned(),
            name: id.to_owned(),
            countries: countries.iter().map(|c| (*c).to_owned()).collect(),
            options: options
                .iter()
                .map(|name| ShippingOption {
                    id: format!("{id}-{name}"),
                    name: (*name).to_owned(),
                    prices: Vec::new(),
                })
                .collect(),
        };
        let zones = [
            zone("fr", &["FR"], &[]),
            zone("dach", &["AT", "DE", "CH"], &["standard", "Overnight"]),
        ];
        let serving = zone_serving(&zones, "de").unwrap();
        assert_eq!(serving.id, "dach");
        assert!(zone_serving(&zones, "IT").is_none());
        let planned = options_to_create();
        let names: Vec<&str> = missing_options(serving, &planned)
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(names, ["Express", "Economy"]);
        let complete = zone("de", &["DE"], &["Standard", "Express", "Economy"]);
        assert!(missing_options(&complete, &planned).is_empty());
    }

    #[test]
    fn rates_keep_each_option_s_price_in_the_run_s_currency() {
        let mut zone = ShippingZone {
            id: "z".to_owned(),
            name: "Z".to_owned(),
            countries: vec!["DE".to_owned()],
            options: options_to_create(),
        };
        for (n, option) in zone.options.iter_mut().enumerate() {
            option.id = format!("o{n}");
        }
        zone.options[1].prices = vec![ShippingPrice::Flat {
            amount: Money {
                amount: "12.00".to_owned(),
                currency: "USD".to_owned(),
            },
            free_shipping_from: None,
        }];
        let rates = Rates::of(&zone, "EUR");
        assert_eq!(rates.options["o0"].price, Some(planned("Standard")));
        assert_eq!(rates.options["o1"].name, "Express");
        assert_eq!(rates.options["o1"].price, None);
        assert_eq!(rates.options["o2"].price, Some(planned("Economy")));
    }

    #[test]
    fn new_options_are_sent_as_the_admin_api_takes_them() {
        let body = serde_json::to_value(&options_to_create()[2]).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"name": "Economy", "prices": [{"type": "subtotal_bands", "bands": [
                {"from": {"amount": "0.00", "currency": "EUR"}, "to": {"amount": "20.00", "currency": "EUR"}, "amount": {"amount": "3.90", "currency": "EUR"}},
                {"from": {"amount": "20.00", "currency": "EUR"}, "to": {"amount": "60.00", "currency": "EUR"}, "amount": {"amount": "2.90", "currency": "EUR"}},
                {"from": {"amount": "60.00", "currency": "EUR"}, "to": null, "amount": {"amount": "1.90", "currency": "EUR"}}
            ], "free_shipping_from": null}]})
        );
        let read: ShippingPrice = serde_json::from_value(
            serde_json::json!({"type": "per_item", "amount": {"amount": "1", "currency": "EUR"}}),
        )
        .unwrap();
        assert_eq!(read, ShippingPrice::Unknown);
    }
}
