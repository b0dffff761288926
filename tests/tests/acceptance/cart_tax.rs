//! Tax on carts, checkouts, orders, refunds and documents (ADR 0038), with the shop charging
//! 19 % in Germany on top of EUR prices: the cart shows the tax of each line after its
//! discount and of the shipping, the payment takes the total with it, the order and the
//! invoice record the same numbers, and a refunded unit gives its share of the tax back. A
//! destination without a rate is refused, never taxed at 0 %.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, eur, settings_for, spawn_with, Store, TestApp};

fn address(country: &str) -> Value {
    json!({"name": "Grace Hopper", "line1": "7 Compiler Lane", "city": "Berlin",
           "postal_code": "10115", "country": country})
}

fn checkout_body() -> Value {
    json!({"email": "grace@example.com", "payment_method_token": "tok_visa"})
}

async fn taxed_app(store: Store) -> TestApp {
    let mut settings = settings_for(store).await;
    settings.tax_rates = Some("DE=19,DE/reduced=7,AT=20".to_owned());
    settings.tax_prices = "EUR=exclusive".to_owned();
    spawn_with(settings).await
}

/// A zone for Germany and France with Standard at 4.90, once carts can be quoted from it.
async fn zone_with_standard(app: &TestApp) -> String {
    let zones = "/v1/admin/shipping-zones";
    let created = app
        .post_json(
            zones,
            &json!({"name": "DE and FR", "countries": ["DE", "FR"]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let zone: Value = created.json().await.unwrap();
    let options = format!("{zones}/{}/options", zone["id"].as_str().unwrap());
    let standard = json!({"name": "Standard", "prices": [{"type": "flat", "amount": eur("4.90")}]});
    assert_eq!(app.post_json(&options, &standard).await.status(), 201);
    let listed = app
        .until(zones, |list| list["data"][0]["version"] == 2)
        .await;
    listed["data"][0]["options"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn tax_follows_the_cart_to_the_payment_the_order_and_its_documents(app: &TestApp) {
    // Given three tees at 10.00, 10 % off with TAX10, shipped to Germany for 4.90,
    app.published_product("TAX-TEE", "10.00").await;
    app.receive("TAX-TEE", 10).await;
    let promotion = json!({"code": "TAX10", "offer": {"type": "percent_off", "percent_off": "10"}});
    assert_eq!(
        app.post_json("/v1/admin/promotions", &promotion)
            .await
            .status(),
        201
    );
    let standard = zone_with_standard(app).await;
    let cart = app.create_cart("EUR").await;
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": "TAX-TEE", "quantity": 3}),
        )
        .await;
    assert_eq!(added.status(), 200);
    let body: Value = added.json().await.unwrap();
    // a cart without an address cannot be taxed yet;
    assert_eq!(body["tax_status"], "address_required", "{body}");
    assert_eq!(body["tax_total"], eur("0.00"));
    assert_eq!(
        app.post_json(
            &format!("/v1/carts/{cart}/promotions"),
            &json!({"code": "TAX10"})
        )
        .await
        .status(),
        200
    );
    let path = format!("/v1/carts/{cart}/shipping-address");
    assert_eq!(app.put_json(&path, &address("DE")).await.status(), 200);
    let chosen = app
        .put_json(
            &format!("/v1/carts/{cart}/shipping-method"),
            &json!({"option_id": standard}),
        )
        .await;
    assert_eq!(chosen.status(), 200);

    // then the cart shows 19 % of 27.00 (5.13) on the line and of 4.90 (0.93) on shipping,
    // on top of the prices: 27.00 + 4.90 + 6.06.
    let priced: Value = chosen.json().await.unwrap();
    assert_eq!(priced["tax_status"], "calculated", "{priced}");
    assert_eq!(priced["taxes_included"], false);
    assert_eq!(priced["lines"][0]["discount"], eur("3.00"));
    assert_eq!(priced["lines"][0]["tax"], eur("5.13"));
    assert_eq!(priced["lines"][0]["tax_rate"], "19");
    assert_eq!(priced["shipping_tax"], eur("0.93"));
    assert_eq!(priced["tax_total"], eur("6.06"));
    assert_eq!(priced["total"], eur("37.96"));

    // When the shopper checks out,
    let started = app.check_out(&cart, "tax-ok", &checkout_body()).await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");

    // then the checkout shows every component, the payment takes the total with the tax,
    assert_eq!(done["subtotal"], eur("30.00"), "{done}");
    assert_eq!(done["discount_total"], eur("3.00"));
    assert_eq!(done["shipping_total"], eur("4.90"));
    assert_eq!(done["tax_total"], eur("6.06"));
    assert_eq!(done["taxes_included"], false);
    assert_eq!(done["total"], eur("37.96"));
    let payment: Value = app
        .get(&format!(
            "/v1/admin/payments/{}",
            done["payment_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(payment["amount"], eur("37.96"), "{payment}");
    // the order records the same numbers,
    let order_id = done["order_id"].as_str().unwrap().to_owned();
    let order: Value = app
        .until(&format!("/v1/orders/{order_id}"), |o| o["status"] == "paid")
        .await;
    assert_eq!(order["tax_total"], eur("6.06"), "{order}");
    assert_eq!(order["shipping_tax"], eur("0.93"));
    assert_eq!(order["lines"][0]["tax"], eur("5.13"));
    assert_eq!(order["lines"][0]["tax_rate"], "19");
    assert_eq!(order["total"], eur("37.96"));
    // and so does the invoice, with the tax per rate.
    let invoice: Value = app
        .get(&format!("/v1/orders/{order_id}/invoice"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        invoice["tax_breakdown"],
        json!([{"rate": "19", "taxable": eur("31.90"), "tax": eur("6.06")}]),
        "{invoice}"
    );
    assert_eq!(invoice["lines"][0]["gross"], eur("32.13"));
    assert_eq!(invoice["total"], eur("37.96"));

    // A refunded tee gives back 10.00 less its 1.00 of discount plus its 1.71 of tax,
    let refund = app
        .request(
            Method::POST,
            &format!("/v1/admin/orders/{order_id}/refunds"),
        )
        .header("idempotency-key", "tax-refund")
        .json(
            &json!({"lines": [{"sku": "TAX-TEE", "quantity": 1}], "reason": "Too small",
                      "restock": false}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refund.status(), 202);
    let location = refund.headers()["location"].to_str().unwrap().to_owned();
    let refunded = app.until(&location, |r| r["progress"] == "completed").await;
    assert_eq!(refunded["amount"], eur("10.71"), "{refunded}");
    // and its credit note shows that tax.
    let notes: Value = app
        .get(&format!("/v1/orders/{order_id}/credit-notes"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(notes["data"][0]["tax_total"], eur("1.71"), "{notes}");
    assert_eq!(notes["data"][0]["lines"][0]["tax"], eur("1.71"));
}

async fn a_destination_without_a_rate_is_refused_not_taxed_at_zero(app: &TestApp) {
    // Given a cart shipping to France, where the shop has no rate,
    app.published_product("TAX-MUG", "8.00").await;
    app.receive("TAX-MUG", 10).await;
    let cart = app.create_cart("EUR").await;
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": "TAX-MUG", "quantity": 1}),
        )
        .await;
    assert_eq!(added.status(), 200);
    let path = format!("/v1/carts/{cart}/shipping-address");
    let set: Value = app
        .put_json(&path, &address("FR"))
        .await
        .json()
        .await
        .unwrap();
    // the cart says it cannot be taxed there,
    assert_eq!(set["tax_status"], "unavailable", "{set}");
    assert!(set["tax_message"].as_str().unwrap().contains("FR"), "{set}");
    // the checkout is refused with a reason,
    let refused = app.check_out(&cart, "tax-fr", &checkout_body()).await;
    let problem = assert_problem(refused, 422, "tax_rate_missing").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("FR"),
        "{problem}"
    );
    // and the cart is open to change its address.
    assert_eq!(app.cart(&cart).await["status"], "open");
    let moved: Value = app
        .put_json(&path, &address("AT"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["tax_status"], "calculated", "{moved}");
    assert_eq!(moved["tax_total"], eur("1.60"));
    assert_eq!(moved["total"], eur("9.60"));
}

async fn a_product_in_a_tax_class_is_taxed_at_its_rate(app: &TestApp) {
    // Given a book in the "reduced" class, which Germany taxes at 7 %,
    let created = app
        .post_json(
            "/v1/admin/products",
            &json!({"title": "Book", "publish": true, "tax_class": "reduced",
                    "variants": [{"sku": "TAX-BOOK", "prices": [eur("8.00")]}]}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let cart = app.create_cart("EUR").await;
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": "TAX-BOOK", "quantity": 1}),
        )
        .await;
    assert_eq!(added.status(), 200);
    // when the cart ships to Germany, the book is taxed 7 % of 8.00.
    let path = format!("/v1/carts/{cart}/shipping-address");
    let priced: Value = app
        .put_json(&path, &address("DE"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(priced["lines"][0]["tax_rate"], "7", "{priced}");
    assert_eq!(priced["lines"][0]["tax"], eur("0.56"));
    assert_eq!(priced["total"], eur("8.56"));
}

macro_rules! on_both_taxed_stores {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = taxed_app(Store::Sqlite).await;
                $body(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = taxed_app(Store::Postgres).await;
                $body(&app).await;
                app.stop().await;
            }
        }
    };
}

on_both_taxed_stores!(
    tax_on_carts_orders_and_documents,
    tax_follows_the_cart_to_the_payment_the_order_and_its_documents
);
on_both_taxed_stores!(
    tax_refused_where_no_rate,
    a_destination_without_a_rate_is_refused_not_taxed_at_zero
);
on_both_taxed_stores!(
    tax_class_rates,
    a_product_in_a_tax_class_is_taxed_at_its_rate
);
