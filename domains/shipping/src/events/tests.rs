//! The stored shape of every shipping zone event, pinned. The stored-event codec
//! (`platform/runtime/src/codec.rs`) takes serde's enum tag off, checks it equals
//! `event_type()`, and stores the rest as the payload; reading puts the stored type back on.
//! These tests do the same with serde alone, so a change to a stored shape fails here.

use cqrs_es::DomainEvent;
use serde_json::{json, Value};
use shared_kernel::Money;
use uuid::Uuid;

use super::ShippingZoneEvent as E;
use crate::rates::{CurrencyPrice, Rate, ShippingPrices, SubtotalBand, WeightBand};
use crate::values::{CountrySet, Grams, Name, ShippingOptionId, ShippingZoneId};

/// The stored form: (event_type, event_version, payload), as the codec writes it.
fn stored(event: &E) -> (String, String, Value) {
    let tagged = serde_json::to_value(event).unwrap();
    let Value::Object(map) = tagged else {
        panic!("every shipping zone event is an object: {tagged}");
    };
    let (tag, payload) = map.into_iter().next().unwrap();
    assert_eq!(
        tag,
        event.event_type(),
        "serde's name and event_type() differ"
    );
    (tag, event.event_version(), payload)
}

fn assert_stored_as(event: E, event_type: &str, payload: Value) {
    let (stored_type, version, stored_payload) = stored(&event);
    assert_eq!(stored_type, event_type);
    assert_eq!(version, "2");
    assert_eq!(stored_payload, payload);
    let read: E = serde_json::from_value(json!({ event_type: payload })).unwrap();
    assert_eq!(read, event);
}

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, currency).unwrap()
}

fn zone_id() -> ShippingZoneId {
    ShippingZoneId::from_uuid(Uuid::from_u128(0x0190_f1d2_7a3b_7c4d_8e5f_0123_4567_89ab))
}

fn option_id() -> ShippingOptionId {
    ShippingOptionId::from_uuid(Uuid::from_u128(0x0190_f1d2_7a3b_7c4d_8e5f_0000_0000_0001))
}

fn prices() -> ShippingPrices {
    ShippingPrices::new(vec![
        CurrencyPrice {
            rate: Rate::SubtotalBands {
                bands: vec![
                    SubtotalBand {
                        from: money("0", "EUR"),
                        to: Some(money("50", "EUR")),
                        price: money("4.9", "EUR"),
                    },
                    SubtotalBand {
                        from: money("50", "EUR"),
                        to: None,
                        price: money("2.90", "EUR"),
                    },
                ],
            },
            free_shipping_from: Some(money("100", "EUR")),
        },
        CurrencyPrice {
            rate: Rate::WeightBands {
                bands: vec![WeightBand {
                    from: Grams::ZERO,
                    to: Some(Grams::new(2_000)),
                    price: money("700", "JPY"),
                }],
            },
            free_shipping_from: None,
        },
    ])
    .unwrap()
}

fn prices_json() -> Value {
    json!([
        {
            "rate": {
                "type": "subtotal_bands",
                "bands": [
                    {
                        "from": { "amount": "0.00", "currency": "EUR" },
                        "to": { "amount": "50.00", "currency": "EUR" },
                        "price": { "amount": "4.90", "currency": "EUR" }
                    },
                    {
                        "from": { "amount": "50.00", "currency": "EUR" },
                        "to": null,
                        "price": { "amount": "2.90", "currency": "EUR" }
                    }
                ]
            },
            "free_shipping_from": { "amount": "100.00", "currency": "EUR" }
        },
        {
            "rate": {
                "type": "weight_bands",
                "bands": [
                    { "from": 0, "to": 2000, "price": { "amount": "700", "currency": "JPY" } }
                ]
            },
            "free_shipping_from": null
        }
    ])
}

#[test]
fn zone_events_are_stored_as_plain_payloads() {
    assert_stored_as(
        E::ZoneCreated {
            zone_id: zone_id(),
            name: Name::parse("Europe").unwrap(),
            countries: CountrySet::parse(["FR", "DE"]).unwrap(),
        },
        "ShippingZoneCreated",
        json!({
            "zone_id": "0190f1d2-7a3b-7c4d-8e5f-0123456789ab",
            "name": "Europe",
            "countries": ["DE", "FR"]
        }),
    );
    assert_stored_as(
        E::ZoneRenamed {
            name: Name::parse("EU").unwrap(),
        },
        "ShippingZoneRenamed",
        json!({ "name": "EU" }),
    );
    assert_stored_as(
        E::ZoneCountriesChanged {
            countries: CountrySet::parse(["AT"]).unwrap(),
        },
        "ShippingZoneCountriesChanged",
        json!({ "countries": ["AT"] }),
    );
    assert_stored_as(E::ZoneDeleted {}, "ShippingZoneDeleted", json!({}));
}

#[test]
fn option_events_are_stored_as_plain_payloads() {
    let option = "0190f1d2-7a3b-7c4d-8e5f-000000000001";
    assert_stored_as(
        E::OptionCreated {
            option_id: option_id(),
            name: Name::parse("Standard").unwrap(),
            prices: prices(),
        },
        "ShippingOptionCreated",
        json!({ "option_id": option, "name": "Standard", "prices": prices_json() }),
    );
    assert_stored_as(
        E::OptionPricesChanged {
            option_id: option_id(),
            prices: prices(),
        },
        "ShippingOptionPricesChanged",
        json!({ "option_id": option, "prices": prices_json() }),
    );
    assert_stored_as(
        E::OptionRenamed {
            option_id: option_id(),
            name: Name::parse("Express").unwrap(),
        },
        "ShippingOptionRenamed",
        json!({ "option_id": option, "name": "Express" }),
    );
    assert_stored_as(
        E::OptionDeleted {
            option_id: option_id(),
        },
        "ShippingOptionDeleted",
        json!({ "option_id": option }),
    );
}

#[test]
fn history_is_read_back_without_checking_todays_rules() {
    // A blank name, a withdrawn country and a gap between bands: all refused today, all
    // readable as recorded.
    let read: E = serde_json::from_value(json!({ "ShippingZoneCreated": {
        "zone_id": "0190f1d2-7a3b-7c4d-8e5f-0123456789ab",
        "name": " ",
        "countries": ["YU"]
    }}))
    .unwrap();
    let E::ZoneCreated {
        name, countries, ..
    } = read
    else {
        panic!("a zone creation");
    };
    assert_eq!(name.as_str(), " ");
    assert_eq!(countries.iter().collect::<Vec<_>>(), ["YU"]);
    let read: E = serde_json::from_value(json!({ "ShippingOptionPricesChanged": {
        "option_id": "0190f1d2-7a3b-7c4d-8e5f-000000000001",
        "prices": [{
            "rate": { "type": "weight_bands", "bands": [
                { "from": 5, "to": 10, "price": { "amount": "1.00", "currency": "EUR" } }
            ]},
            "free_shipping_from": null
        }]
    }}))
    .unwrap();
    assert!(matches!(read, E::OptionPricesChanged { .. }));
}
