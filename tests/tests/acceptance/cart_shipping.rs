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

/// A zone for Germany with one option priced by weight: 4.00 up to 1000 g, 6.50 from 1000 g
/// to 2000 g, 12.00 above; answers its option id once carts can be quoted from it.
async fn german_parcel_zone(app: &TestApp) -> String {
    let created = app
        .post_json(ZONES, &json!({"name": "Germany", "countries": ["DE"]}))
        .await;
    assert_eq!(created.status(), 201);
    let zone: Value = created.json().await.unwrap();
    let options = format!("{ZONES}/{}/options", zone["id"].as_str().unwrap());
    let bands = json!([
        {"from_grams": 0, "to_grams": 1000, "amount": eur("4.00")},
        {"from_grams": 1000, "to_grams": 2000, "amount": eur("6.50")},
        {"from_grams": 2000, "amount": eur("12.00")},
    ]);
    let parcel = json!({"name": "Parcel", "prices": [{"type": "weight_bands", "bands": bands}]});
    assert_eq!(app.post_json(&options, &parcel).await.status(), 201);
    let listed = app
        .until(ZONES, |list| list["data"][0]["version"] == 2)
        .await;
    listed["data"][0]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_weight_band_prices_the_cart_by_its_weight_and_the_checkout_charges_it(app: &TestApp) {
    // Given a parcel option priced by weight, and a 600 g tee at 10.00 in the "reduced" class,
    let parcel = german_parcel_zone(app).await;
    let created = app
        .post_json(
            "/v1/admin/products",
            &json!({"title": "Heavy tee", "publish": true, "tax_class": " Reduced ",
                    "variants": [{"sku": "SHIP-HEAVY", "weight_grams": 600,
                                  "prices": [eur("10.00")]}]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let product: Value = created.json().await.unwrap();
    assert_eq!(product["tax_class"], "reduced", "{product}");
    assert_eq!(product["variants"][0]["weight_grams"], 600, "{product}");
    let id = product["id"].as_str().unwrap();
    app.wait_for_storefront(id).await;
    let shown: Value = app
        .get(&format!("/v1/products/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["variants"][0]["weight_grams"], 600, "{shown}");
    assert_eq!(shown["tax_class"], "reduced", "{shown}");
    app.receive("SHIP-HEAVY", 10).await;

    // when two of them go into a cart shipping to Germany,
    let cart = app.create_cart("EUR").await;
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": "SHIP-HEAVY", "quantity": 2}),
        )
        .await;
    assert_eq!(added.status(), 200);
    let body: Value = added.json().await.unwrap();
    assert_eq!(body["lines"][0]["weight_grams"], 600, "{body}");
    assert_eq!(body["total_weight_grams"], 1200, "{body}");
    let path = format!("/v1/carts/{cart}/shipping-address");
    assert_eq!(put(app, &path, &address("DE")).await.status(), 200);

    // then the cart weighs 1200 g and is offered the 1000-2000 g band's price,
    let offered: Value = app
        .get(&format!("/v1/carts/{cart}/shipping-options"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        offered["data"][0]["option_id"],
        parcel.as_str(),
        "{offered}"
    );
    assert_eq!(offered["data"][0]["price"], eur("6.50"), "{offered}");
    let chosen = put(
        app,
        &format!("/v1/carts/{cart}/shipping-method"),
        &json!({"option_id": parcel}),
    )
    .await;
    assert_eq!(chosen.status(), 200);
    let body: Value = chosen.json().await.unwrap();
    assert_eq!(body["shipping_total"], eur("6.50"), "{body}");
    assert_eq!(body["total"], eur("26.50"), "{body}");

    // the line recorded the weight and tax class with its price,
    let stored = stored_events(app).await;
    let added = stored
        .iter()
        .find(|row| row.0 == "cart" && row.1 == cart && row.2 == "ItemAdded")
        .expect("the cart's ItemAdded event");
    let payload: Value = serde_json::from_str(&added.3).unwrap();
    assert_eq!(payload["weight_grams"], 600, "{payload}");
    assert_eq!(payload["tax_class"], "reduced", "{payload}");

    // and the checkout charges that price.
    let started = app.check_out(&cart, "ship-heavy", &without_address()).await;
    assert_eq!(started.status(), 202, "{:?}", started.text().await);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["total"], eur("26.50"), "{done}");
    let order: Value = app
        .get(&format!(
            "/v1/orders/{}",
            done["order_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["shipping_total"], eur("6.50"), "{order}");
    assert_eq!(order["total"], eur("26.50"), "{order}");
}
on_both_stores!(
    cart_shipping_weight_band_prices_by_weight,
    a_weight_band_prices_the_cart_by_its_weight_and_the_checkout_charges_it
);

async fn a_bad_tax_class_or_weight_is_refused_and_changes_nothing(app: &TestApp) {
    let before = stored_events(app).await.len();
    let product = |tax_class: Value, weight: Value| {
        json!({"title": "Odd tee", "tax_class": tax_class,
               "variants": [{"sku": "ODD-TEE", "weight_grams": weight, "prices": [eur("1.00")]}]})
    };
    for (body, code) in [
        (
            product(json!("food & drink"), json!(100)),
            "invalid_tax_class",
        ),
        (product(json!(""), json!(100)), "invalid_tax_class"),
        (
            product(json!("a".repeat(33)), json!(100)),
            "invalid_tax_class",
        ),
        (product(Value::Null, json!(-1)), "weight_out_of_range"),
        (
            product(Value::Null, json!(1_000_000_001)),
            "weight_out_of_range",
        ),
    ] {
        let refused =
            assert_problem(app.post_json("/v1/admin/products", &body).await, 422, code).await;
        assert!(refused["detail"].as_str().is_some(), "{refused}");
    }
    assert_eq!(stored_events(app).await.len(), before);
    // The bounds themselves are weights.
    let heaviest = app
        .post_json(
            "/v1/admin/products",
            &product(json!("zero_rated-2"), json!(1_000_000_000)),
        )
        .await;
    assert_eq!(heaviest.status(), 201);
}
on_both_stores!(
    catalog_refuses_bad_tax_class_or_weight,
    a_bad_tax_class_or_weight_is_refused_and_changes_nothing
);

async fn an_admin_changes_weights_and_tax_classes_that_later_cart_lines_capture(app: &TestApp) {
    // Given a published tee without weight or tax class, already in a cart,
    let id = app.published_product("SHIP-LIGHT", "10.00").await;
    let before = app.create_cart("EUR").await;
    let items = |cart: &str| format!("/v1/carts/{cart}/items");
    let one = json!({"sku": "SHIP-LIGHT", "quantity": 1});
    assert_eq!(app.post_json(&items(&before), &one).await.status(), 200);
    let product = format!("/v1/admin/products/{id}");
    let weight = format!("{product}/variants/ship-light/weight");
    let tax_class = format!("{product}/tax-class");

    // bad values are refused and change nothing,
    let version = app.get(&product).await.json::<Value>().await.unwrap()["version"].clone();
    for (path, body, code) in [
        (&weight, json!({"weight_grams": -1}), "weight_out_of_range"),
        (
            &weight,
            json!({"weight_grams": 1_000_000_001}),
            "weight_out_of_range",
        ),
        (
            &tax_class,
            json!({"tax_class": "food & drink"}),
            "invalid_tax_class",
        ),
    ] {
        assert_problem(put(app, path, &body).await, 422, code).await;
    }
    let unchanged: Value = app.get(&product).await.json().await.unwrap();
    assert_eq!(unchanged["version"], version);

    // when the admin weighs the variant and classes the product,
    let weighed = put(app, &weight, &json!({"weight_grams": 250})).await;
    assert_eq!(weighed.status(), 200);
    let classed = put(app, &tax_class, &json!({"tax_class": "Books"})).await;
    assert_eq!(classed.status(), 200);
    let body: Value = classed.json().await.unwrap();
    assert_eq!(body["variants"][0]["weight_grams"], 250, "{body}");
    assert_eq!(body["tax_class"], "books", "{body}");
    app.until(&format!("/v1/products/{id}"), |shown| {
        shown["tax_class"] == "books" && shown["variants"][0]["weight_grams"] == 250
    })
    .await;

    // then a line added now captures them, while the earlier line keeps what it captured.
    let after = app.create_cart("EUR").await;
    let three = json!({"sku": "SHIP-LIGHT", "quantity": 3});
    let added: Value = app
        .post_json(&items(&after), &three)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(added["lines"][0]["weight_grams"], 250, "{added}");
    assert_eq!(added["total_weight_grams"], 750, "{added}");
    let earlier = app.cart(&before).await;
    assert_eq!(
        earlier["lines"][0]["weight_grams"],
        Value::Null,
        "{earlier}"
    );
    assert_eq!(earlier["total_weight_grams"], 0, "{earlier}");
}
on_both_stores!(
    catalog_weight_and_tax_class_changes,
    an_admin_changes_weights_and_tax_classes_that_later_cart_lines_capture
);
