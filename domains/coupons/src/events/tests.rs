//! The stored shape of every promotion event, pinned. The stored-event codec
//! (`platform/runtime/src/codec.rs`) takes serde's enum tag off, checks it equals
//! `event_type()`, and stores the rest as the payload; reading puts the stored type back on.
//! These tests do the same with serde alone, so a change to a stored shape fails here before
//! it reaches the workspace's golden files.

use chrono::{TimeZone, Utc};
use cqrs_es::{Aggregate, DomainEvent};
use serde_json::{json, Value};
use shared_kernel::{CheckoutId, CustomerId, Money, Sku};
use uuid::Uuid;

use super::PromotionEvent;
use crate::aggregate::Promotion;
use crate::terms::{AppliesTo, Offer, Terms};
use crate::values::{CurrencyAmounts, Limit, Percentage, Schedule, SkuSet};

/// The stored form: (event_type, event_version, payload), as the codec writes it.
fn stored(event: &PromotionEvent) -> (String, String, Value) {
    let tagged = serde_json::to_value(event).unwrap();
    let Value::Object(map) = tagged else {
        panic!("every promotion event has fields: {tagged}");
    };
    let (tag, payload) = map.into_iter().next().unwrap();
    assert_eq!(
        tag,
        event.event_type(),
        "serde's name and event_type() differ"
    );
    (tag, event.event_version(), payload)
}

/// The event read back from a stored payload, as the codec reads it.
fn read(event_type: &str, payload: Value) -> PromotionEvent {
    serde_json::from_value(json!({ event_type: payload })).unwrap()
}

fn assert_stored_as(event: PromotionEvent, event_type: &str, payload: Value) {
    let (stored_type, version, stored_payload) = stored(&event);
    assert_eq!(stored_type, event_type);
    assert_eq!(version, "2");
    assert_eq!(stored_payload, payload);
    assert_eq!(read(event_type, payload), event);
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn checkout() -> CheckoutId {
    CheckoutId::from_uuid(Uuid::from_u128(0x0190_f1d2_7a3b_7c4d_8e5f_0123_4567_89ab))
}

fn terms() -> Terms {
    Terms {
        offer: Offer::PercentOff {
            percent: Percentage::from_basis_points(1250).unwrap(),
        },
        applies_to: AppliesTo::Skus {
            skus: SkuSet::new([Sku::parse("TEE-S").unwrap(), Sku::parse("MUG").unwrap()]).unwrap(),
        },
        minimum_subtotal: Some(
            CurrencyAmounts::new(vec![eur("40.00"), Money::parse("6000", "JPY").unwrap()]).unwrap(),
        ),
        schedule: Schedule::new(
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()),
            Some(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
        )
        .unwrap(),
        usage_limit: Some(Limit::new(100).unwrap()),
        per_customer_limit: Some(Limit::new(1).unwrap()),
    }
}

fn terms_json() -> Value {
    json!({
        "offer": { "type": "percent_off", "basis_points": 1250 },
        "applies_to": { "type": "skus", "skus": ["MUG", "TEE-S"] },
        "minimum_subtotal": [
            { "amount": "40.00", "currency": "EUR" },
            { "amount": "6000", "currency": "JPY" }
        ],
        "schedule": {
            "starts_at": "2026-12-01T00:00:00Z",
            "ends_at": "2027-01-01T00:00:00Z"
        },
        "usage_limit": 100,
        "per_customer_limit": 1
    })
}

#[test]
fn promotion_created_is_stored_as_plain_terms() {
    assert_stored_as(
        PromotionEvent::PromotionCreated {
            code: "WINTER10".into(),
            terms: terms(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap(),
        },
        "PromotionCreated",
        json!({
            "code": "WINTER10",
            "terms": terms_json(),
            "created_at": "2026-11-30T09:00:00Z"
        }),
    );
}

#[test]
fn every_offer_and_open_condition_has_a_stored_shape() {
    let amount_off = Terms::new(
        Offer::AmountOff {
            amounts: CurrencyAmounts::new(vec![eur("5")]).unwrap(),
        },
        AppliesTo::Order,
    );
    assert_stored_as(
        PromotionEvent::PromotionUpdated { terms: amount_off },
        "PromotionUpdated",
        json!({ "terms": {
            "offer": { "type": "amount_off", "amounts": [{ "amount": "5.00", "currency": "EUR" }] },
            "applies_to": { "type": "order" },
            "minimum_subtotal": null,
            "schedule": { "starts_at": null, "ends_at": null },
            "usage_limit": null,
            "per_customer_limit": null
        }}),
    );
    let free_shipping = Terms::new(Offer::FreeShipping, AppliesTo::Order);
    let (_, _, payload) = stored(&PromotionEvent::PromotionUpdated {
        terms: free_shipping,
    });
    assert_eq!(
        payload["terms"]["offer"],
        json!({ "type": "free_shipping" })
    );
}

#[test]
fn promotion_deactivated_is_stored_with_its_time() {
    assert_stored_as(
        PromotionEvent::PromotionDeactivated {
            deactivated_at: Utc.with_ymd_and_hms(2026, 12, 24, 18, 0, 0).unwrap(),
        },
        "PromotionDeactivated",
        json!({ "deactivated_at": "2026-12-24T18:00:00Z" }),
    );
}

#[test]
fn promotion_redeemed_is_stored_with_the_checkout_the_customer_and_the_subtotal() {
    let customer = CustomerId::from_uuid(Uuid::from_u128(0xCA));
    assert_stored_as(
        PromotionEvent::PromotionRedeemed {
            checkout_id: checkout(),
            customer_id: Some(customer),
            subtotal: eur("50.00"),
            redeemed_at: Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap(),
        },
        "PromotionRedeemed",
        json!({
            "checkout_id": "0190f1d2-7a3b-7c4d-8e5f-0123456789ab",
            "customer_id": "00000000-0000-0000-0000-0000000000ca",
            "subtotal": { "amount": "50.00", "currency": "EUR" },
            "redeemed_at": "2026-12-02T12:00:00Z"
        }),
    );
    let (_, _, guest) = stored(&PromotionEvent::PromotionRedeemed {
        checkout_id: checkout(),
        customer_id: None,
        subtotal: eur("50.00"),
        redeemed_at: Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap(),
    });
    assert_eq!(guest["customer_id"], Value::Null);
}

#[test]
fn redemption_released_and_confirmed_are_stored_with_the_checkout() {
    assert_stored_as(
        PromotionEvent::RedemptionReleased {
            checkout_id: checkout(),
        },
        "RedemptionReleased",
        json!({ "checkout_id": "0190f1d2-7a3b-7c4d-8e5f-0123456789ab" }),
    );
    assert_stored_as(
        PromotionEvent::RedemptionConfirmed {
            checkout_id: checkout(),
        },
        "RedemptionConfirmed",
        json!({ "checkout_id": "0190f1d2-7a3b-7c4d-8e5f-0123456789ab" }),
    );
}

#[test]
fn history_that_todays_rules_would_refuse_still_loads() {
    // A code, a SKU, a percentage and a limit no command would accept today: history was
    // accepted under the rules of its day and must load as it was written.
    let created = read(
        "PromotionCreated",
        json!({
            "code": "X1",
            "terms": {
                "offer": { "type": "percent_off", "basis_points": 0 },
                "applies_to": { "type": "skus", "skus": ["old sku"] },
                "minimum_subtotal": [{ "amount": "0.001", "currency": "EUR" }],
                "schedule": { "starts_at": "2027-01-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z" },
                "usage_limit": 0,
                "per_customer_limit": null
            },
            "created_at": "2026-11-30T09:00:00Z"
        }),
    );
    let mut promotion = Promotion::default();
    promotion.apply(created);
    assert_eq!(promotion.code().unwrap().as_str(), "X1");
    assert!(promotion
        .terms()
        .unwrap()
        .applies_to
        .covers(&Sku::recorded("old sku".into())));
    assert_eq!(promotion.remaining(), Some(0));
}
