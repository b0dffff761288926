//! Shipping on carts (ADR 0037): a cart takes an address, is quoted the options of the zone
//! serving its country, ships with one of them at its price in the cart's total; bad input
//! changes nothing; the address is sealed like the checkout's and erased with the guest's
//! order.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, eur, TestApp};
use crate::events::stored_events;
use crate::on_both_stores;

const ZONES: &str = "/v1/admin/shipping-zones";

fn address(country: &str) -> Value {
    json!({"name": "Grace Hopper", "line1": "7 Compiler Lane", "city": "Berlin",
           "postal_code": "10115", "country": country})
}

async fn put(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.request(Method::PUT, path)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A zone for Germany and Austria with Standard (4.90, free from 50.00) and Express (9.90),
/// once the read model carts are quoted from shows both options. Answers the zone's path and
/// the option ids.
async fn german_zone(app: &TestApp) -> (String, String, String) {
    let created = app
        .post_json(ZONES, &json!({"name": "DACH", "countries": ["DE", "AT"]}))
        .await;
    assert_eq!(created.status(), 201);
    let zone: Value = created.json().await.unwrap();
    let zone = format!("{ZONES}/{}", zone["id"].as_str().unwrap());
    let options = format!("{zone}/options");
    for body in [
        json!({"name": "Standard", "prices": [{"type": "flat", "amount": eur("4.90"),
               "free_shipping_from": eur("50.00")}]}),
        json!({"name": "Express", "prices": [{"type": "flat", "amount": eur("9.90")}]}),
    ] {
        assert_eq!(app.post_json(&options, &body).await.status(), 201);
    }
    let listed = app
        .until(ZONES, |list| list["data"][0]["version"] == 3)
        .await;
    let ids = &listed["data"][0]["options"];
    (
        zone,
        ids[0]["id"].as_str().unwrap().to_owned(),
        ids[1]["id"].as_str().unwrap().to_owned(),
    )
}

async fn cart_with_tees(app: &TestApp, sku: &str, quantity: u32) -> String {
    app.published_product(sku, "10.00").await;
    app.cart_holding(sku, quantity).await
}

async fn a_cart_ships_to_its_address_with_a_method_priced_in_its_total(app: &TestApp) {
    // Given a zone for Germany and a cart of two tees at 10.00,
    let (_, standard, express) = german_zone(app).await;
    let cart = cart_with_tees(app, "SHIP-TEE", 2).await;
    let fresh = app.cart(&cart).await;
    assert_eq!(fresh["shipping_address"], Value::Null);
    assert_eq!(fresh["shipping_method"], Value::Null);
    assert_eq!(fresh["shipping_total"], eur("0.00"));

    // a cart without an address has no options yet;
    assert_problem(
        app.get(&format!("/v1/carts/{cart}/shipping-options")).await,
        422,
        "shipping_address_required",
    )
    .await;

    // when the shopper gives a German address,
    let set = put(
        app,
        &format!("/v1/carts/{cart}/shipping-address"),
        &address(" de "),
    )
    .await;
    assert_eq!(set.status(), 200);
    let body: Value = set.json().await.unwrap();
    assert_eq!(body["shipping_address"]["country"], "DE");
    assert_eq!(body["shipping_address"]["line1"], "7 Compiler Lane");
    assert_eq!(body["shipping_method"], Value::Null);
    assert_eq!(body["total"], eur("20.00"));

    // then the cart is offered the zone's options, cheapest first,
    let offered: Value = app
        .get(&format!("/v1/carts/{cart}/shipping-options"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(offered["country"], "DE");
    let names: Vec<(&str, &Value)> = offered["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|quote| (quote["name"].as_str().unwrap(), &quote["price"]))
        .collect();
    assert_eq!(
        names,
        vec![("Standard", &eur("4.90")), ("Express", &eur("9.90"))]
    );
    assert_eq!(offered["data"][0]["option_id"], standard.as_str());

    // and choosing Express adds its price to the total, on every later read.
    let chosen = put(
        app,
        &format!("/v1/carts/{cart}/shipping-method"),
        &json!({"option_id": express}),
    )
    .await;
    assert_eq!(chosen.status(), 200);
    let body: Value = chosen.json().await.unwrap();
    assert_eq!(body["shipping_method"]["option_id"], express.as_str());
    assert_eq!(body["shipping_method"]["name"], "Express");
    assert_eq!(body["shipping_method"]["price"], eur("9.90"));
    assert_eq!(body["subtotal"], eur("20.00"));
    assert_eq!(body["discount_total"], eur("0.00"));
    assert_eq!(body["shipping_total"], eur("9.90"));
    assert_eq!(body["total"], eur("29.90"));
    assert_eq!(app.cart(&cart).await["total"], eur("29.90"));

    // Moving within the zone keeps the method; moving where it is not offered drops it.
    let austria = put(
        app,
        &format!("/v1/carts/{cart}/shipping-address"),
        &address("AT"),
    )
    .await;
    let body: Value = austria.json().await.unwrap();
    assert_eq!(body["shipping_method"]["name"], "Express", "{body}");
    let abroad = put(
        app,
        &format!("/v1/carts/{cart}/shipping-address"),
        &address("US"),
    )
    .await;
    assert_eq!(abroad.status(), 200);
    let body: Value = abroad.json().await.unwrap();
    assert_eq!(body["shipping_address"]["country"], "US");
    assert_eq!(body["shipping_method"], Value::Null);
    assert_eq!(body["shipping_total"], eur("0.00"));
    assert_eq!(body["total"], eur("20.00"));
    let offered: Value = app
        .get(&format!("/v1/carts/{cart}/shipping-options"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(offered["data"], json!([]));

    // The address is personal data: no stored row holds it in clear.
    let stored = stored_events(app).await;
    assert!(stored
        .iter()
        .any(|row| row.0 == "cart" && row.2 == "ShippingAddressSet"));
    for (aggregate_type, _, event_type, payload, _) in &stored {
        for needle in ["Grace Hopper", "7 Compiler Lane"] {
            assert!(
                !payload.contains(needle),
                "{aggregate_type}.{event_type} holds {needle} in clear"
            );
        }
    }
}
on_both_stores!(
    cart_shipping_priced_in_total,
    a_cart_ships_to_its_address_with_a_method_priced_in_its_total
);

async fn bad_shipping_input_gets_problems_and_changes_nothing(app: &TestApp) {
    let (_, _, express) = german_zone(app).await;
    let cart = cart_with_tees(app, "SHIP-BAD", 1).await;
    let path = format!("/v1/carts/{cart}/shipping-address");
    let method = format!("/v1/carts/{cart}/shipping-method");

    // A method before any address.
    assert_problem(
        put(app, &method, &json!({"option_id": express})).await,
        422,
        "shipping_address_required",
    )
    .await;
    let before = app.cart(&cart).await;

    // Addresses no carrier can deliver to, and bodies that are not addresses.
    let unknown_country = assert_problem(
        put(app, &path, &address("XX")).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(unknown_country["errors"][0]["field"], "country");
    let mut blank_city = address("DE");
    blank_city["city"] = json!("  ");
    let blank = assert_problem(put(app, &path, &blank_city).await, 400, "validation_failed").await;
    assert_eq!(blank["errors"][0]["field"], "city");
    let mut extra = address("DE");
    extra["floor"] = json!(3);
    assert_problem(put(app, &path, &extra).await, 400, "unknown_field").await;
    let empty = assert_problem(put(app, &path, &json!({})).await, 400, "validation_failed").await;
    assert_eq!(empty["errors"][0]["field"], "name");
    assert_eq!(app.cart(&cart).await["version"], before["version"]);

    // An address the zone does not serve is taken, but its options are none, and a method
    // of another country's zone, or no option at all, is refused naming the option.
    assert_eq!(put(app, &path, &address("US")).await.status(), 200);
    let before = app.cart(&cart).await;
    let not_offered = assert_problem(
        put(app, &method, &json!({"option_id": express})).await,
        422,
        "shipping_method_not_offered",
    )
    .await;
    assert_eq!(not_offered["errors"][0]["field"], "option_id");
    assert!(not_offered["detail"].as_str().unwrap().contains("US"));
    assert_problem(
        put(
            app,
            &method,
            &json!({"option_id": uuid::Uuid::new_v4().to_string()}),
        )
        .await,
        422,
        "shipping_method_not_offered",
    )
    .await;
    let invalid = assert_problem(
        put(app, &method, &json!({"option_id": "express"})).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(invalid["errors"][0]["field"], "option_id");
    let after = app.cart(&cart).await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["shipping_method"], Value::Null);

    // A stale If-Match is refused too.
    let stale = app
        .request(Method::PUT, &path)
        .header("if-match", "\"1\"")
        .json(&address("DE"))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "version_mismatch").await;
    assert_eq!(app.cart(&cart).await["version"], before["version"]);
}
on_both_stores!(
    cart_shipping_bad_input,
    bad_shipping_input_gets_problems_and_changes_nothing
);

fn without_address() -> Value {
    json!({"email": "grace@example.com", "payment_method_token": "tok_visa"})
}

async fn a_checkout_ships_to_the_carts_address_and_charges_its_shipping(app: &TestApp) {
    // Given a cart of two tees at 10.00 going to Germany by Express (9.90),
    let (_, _, express) = german_zone(app).await;
    let cart = cart_with_tees(app, "SHIP-PAY", 2).await;
    app.receive("SHIP-PAY", 10).await;
    let path = format!("/v1/carts/{cart}/shipping-address");
    assert_eq!(put(app, &path, &address("DE")).await.status(), 200);
    let chosen = put(
        app,
        &format!("/v1/carts/{cart}/shipping-method"),
        &json!({"option_id": express}),
    )
    .await;
    assert_eq!(chosen.status(), 200);
    assert_eq!(app.cart(&cart).await["total"], eur("29.90"));

    // when the shopper checks out without repeating the address,
    let started = app.check_out(&cart, "ship-pay", &without_address()).await;
    assert_eq!(started.status(), 202, "{:?}", started.text().await);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;

    // then the checkout, the order and the captured payment all charge the shipping.
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["total"], eur("29.90"));
    let order: Value = app
        .get(&format!(
            "/v1/orders/{}",
            done["order_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["subtotal"], eur("20.00"), "{order}");
    assert_eq!(order["discount_total"], eur("0.00"), "{order}");
    assert_eq!(order["shipping_total"], eur("9.90"), "{order}");
    assert_eq!(order["total"], eur("29.90"), "{order}");
    assert_eq!(order["shipping_address"]["country"], "DE");
    assert_eq!(order["shipping_address"]["line1"], "7 Compiler Lane");
    let payment: Value = app
        .get(&format!(
            "/v1/admin/payments/{}",
            done["payment_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(payment["amount"], eur("29.90"), "{payment}");
    assert_eq!(payment["status"], "captured", "{payment}");
}
on_both_stores!(
    cart_shipping_checkout_charges_shipping,
    a_checkout_ships_to_the_carts_address_and_charges_its_shipping
);

async fn a_checkout_is_refused_another_address_or_a_method_no_longer_offered(app: &TestApp) {
    let (zone, _, express) = german_zone(app).await;
    let cart = cart_with_tees(app, "SHIP-NO", 1).await;
    app.receive("SHIP-NO", 10).await;

    // Without an address on the cart or in the request, there is nowhere to ship.
    assert_problem(
        app.check_out(&cart, "ship-no-1", &without_address()).await,
        422,
        "shipping_address_required",
    )
    .await;

    let path = format!("/v1/carts/{cart}/shipping-address");
    assert_eq!(put(app, &path, &address("DE")).await.status(), 200);
    let method = format!("/v1/carts/{cart}/shipping-method");
    assert_eq!(
        put(app, &method, &json!({"option_id": express}))
            .await
            .status(),
        200
    );
    let before = app.cart(&cart).await;

    // A request naming another address than the cart's is refused; nothing is locked.
    let mut elsewhere = without_address();
    elsewhere["shipping_address"] = address("AT");
    let mismatch = assert_problem(
        app.check_out(&cart, "ship-no-2", &elsewhere).await,
        422,
        "shipping_address_mismatch",
    )
    .await;
    assert_eq!(mismatch["errors"][0]["field"], "shipping_address");
    let after = app.cart(&cart).await;
    assert_eq!(after["status"], "open");
    assert_eq!(after["version"], before["version"]);

    // Once staff delete the option, the checkout refuses to start and the cart stays open.
    let deleted = app
        .request(Method::DELETE, &format!("{zone}/options/{express}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    app.until(ZONES, |list| list["data"][0]["version"] == 4)
        .await;
    let gone = assert_problem(
        app.check_out(&cart, "ship-no-3", &without_address()).await,
        422,
        "shipping_method_not_offered",
    )
    .await;
    assert!(
        gone["detail"].as_str().unwrap().contains(&express),
        "{gone}"
    );
    let after = app.cart(&cart).await;
    assert_eq!(after["status"], "open", "{after}");
    assert_eq!(after["shipping_method"], Value::Null);
    assert_eq!(after["total"], eur("10.00"));
}
on_both_stores!(
    cart_shipping_checkout_refusals,
    a_checkout_is_refused_another_address_or_a_method_no_longer_offered
);

async fn a_guests_cart_address_is_erased_with_their_order(app: &TestApp) {
    // Given a guest's cart with an address, checked out,
    let cart = cart_with_tees(app, "SHIP-ERASE", 1).await;
    let received = app
        .post_json(
            "/v1/admin/inventory/SHIP-ERASE/receipts",
            &json!({"quantity": 5}),
        )
        .await;
    assert_eq!(received.status(), 200);
    let set = put(
        app,
        &format!("/v1/carts/{cart}/shipping-address"),
        &address("DE"),
    )
    .await;
    assert_eq!(set.status(), 200);
    let started = app
        .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
        .header("idempotency-key", "ship-erase")
        .json(
            &json!({"email": "grace@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": address("DE")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        app.cart(&cart).await["shipping_address"]["name"],
        "Grace Hopper"
    );

    // when the guest's order is erased,
    let order_id = done["order_id"].as_str().unwrap();
    let erased = app
        .post_json(&format!("/v1/admin/orders/{order_id}/erasure"), &json!({}))
        .await;
    assert_eq!(erased.status(), 200);
    let erased: Value = erased.json().await.unwrap();
    // the checkout's key and the cart's
    assert_eq!(erased["keys_deleted"], 2, "{erased}");

    // then the cart no longer shows where it shipped.
    let after = app.cart(&cart).await;
    assert_eq!(after["shipping_address"], Value::Null, "{after}");
    assert_eq!(after["status"], "checked_out");
}
on_both_stores!(
    cart_shipping_guest_erasure,
    a_guests_cart_address_is_erased_with_their_order
);

async fn a_free_shipping_code_takes_the_shipping_price_off_everywhere(app: &TestApp) {
    // Given a cart of two tees going to Germany by Express (9.90) with a free-shipping code,
    let (_, _, express) = german_zone(app).await;
    let cart = cart_with_tees(app, "SHIP-FREE", 2).await;
    app.receive("SHIP-FREE", 10).await;
    let path = format!("/v1/carts/{cart}/shipping-address");
    assert_eq!(put(app, &path, &address("DE")).await.status(), 200);
    let chosen = put(
        app,
        &format!("/v1/carts/{cart}/shipping-method"),
        &json!({"option_id": express}),
    )
    .await;
    assert_eq!(chosen.status(), 200);
    let created = app
        .post_json(
            "/v1/admin/promotions",
            &json!({"code": "SHIPFREE", "offer": {"type": "free_shipping"}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let applied = app
        .post_json(
            &format!("/v1/carts/{cart}/promotions"),
            &json!({"code": "shipfree"}),
        )
        .await;
    assert_eq!(applied.status(), 200);

    // the cart shows the method at its price, all of it taken off, and the lines' total,
    let shown: Value = applied.json().await.unwrap();
    assert_eq!(shown["shipping_method"]["price"], eur("9.90"), "{shown}");
    assert_eq!(shown["shipping_discount"], eur("9.90"), "{shown}");
    assert_eq!(shown["shipping_total"], eur("0.00"), "{shown}");
    assert_eq!(shown["discount_total"], eur("0.00"), "{shown}");
    assert_eq!(shown["total"], eur("20.00"), "{shown}");

    // and the checkout, the order and the payment charge no shipping.
    let started = app.check_out(&cart, "ship-free", &without_address()).await;
    assert_eq!(started.status(), 202, "{:?}", started.text().await);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["total"], eur("20.00"));
    let order: Value = app
        .get(&format!(
            "/v1/orders/{}",
            done["order_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["promotion_code"], "SHIPFREE", "{order}");
    assert_eq!(order["shipping_total"], eur("0.00"), "{order}");
    assert_eq!(order["total"], eur("20.00"), "{order}");
    let payment: Value = app
        .get(&format!(
            "/v1/admin/payments/{}",
            done["payment_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(payment["amount"], eur("20.00"), "{payment}");
}
on_both_stores!(
    cart_shipping_free_shipping_code,
    a_free_shipping_code_takes_the_shipping_price_off_everywhere
);

/// A paid order of `quantity` tees at 10.00 shipped to Germany by Express (9.90): its id and
/// its payment's. For flows that start from an order that charged shipping (refunds).
pub(crate) async fn shipped_order(app: &TestApp, sku: &str, quantity: u32) -> (String, String) {
    let (_, _, express) = german_zone(app).await;
    let cart = cart_with_tees(app, sku, quantity).await;
    app.receive(sku, 10).await;
    let path = format!("/v1/carts/{cart}/shipping-address");
    assert_eq!(put(app, &path, &address("DE")).await.status(), 200);
    let method = format!("/v1/carts/{cart}/shipping-method");
    let chosen = put(app, &method, &json!({"option_id": express})).await;
    assert_eq!(chosen.status(), 200);
    let started = app
        .check_out(&cart, &format!("shipped-{sku}"), &without_address())
        .await;
    assert_eq!(started.status(), 202, "{:?}", started.text().await);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    (
        done["order_id"].as_str().unwrap().to_owned(),
        done["payment_id"].as_str().unwrap().to_owned(),
    )
}
