//! Guest tokens (ADR 0024), used the way a storefront without accounts uses them: the cart
//! token opens its cart and that cart's checkout, the order access token its order and its
//! returns, and nothing opens anything else. A refusal looks the same whether or not the
//! thing asked for exists.

use reqwest::Client;
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, TestApp};
use crate::on_both_stores;

struct Storefront<'a> {
    app: &'a TestApp,
    http: Client,
}

impl Storefront<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    async fn cart(&self) -> (String, String) {
        let created: Value = self
            .http
            .post(self.url("/v1/carts"))
            .json(&json!({"currency": "EUR"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let token = created["cart_token"].as_str().unwrap().to_owned();
        assert!(token.starts_with("ct_"), "{created}");
        (id, token)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        header: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

fn checkout_body() -> Value {
    json!({"email": "guest@example.com", "payment_method_token": "tok_visa",
           "shipping_address": {"name": "G. Uest", "line1": "1 Main St", "city": "Berlin",
                                "postal_code": "10115", "country": "DE"}})
}

/// The status and problem code of an answer.
async fn answer(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

async fn a_cart_token_opens_its_cart_and_checkout_and_nothing_else(app: &TestApp) {
    use reqwest::Method;
    app.published_product("GUEST-1", "10.00").await;
    app.post_json(
        "/v1/admin/inventory/GUEST-1/receipts",
        &json!({"quantity": 5}),
    )
    .await;
    let shop = Storefront {
        app,
        http: client_with_key(None),
    };
    let (mine, my_token) = shop.cart().await;
    let (_theirs, their_token) = shop.cart().await;
    assert_ne!(my_token, their_token);
    let item = json!({"sku": "GUEST-1", "quantity": 1});

    // Without a token: 401, for a cart that exists and for one that does not.
    let unknown = uuid::Uuid::now_v7();
    for cart in [mine.as_str(), &unknown.to_string()] {
        let refused = shop
            .send(
                Method::POST,
                &format!("/v1/carts/{cart}/items"),
                None,
                Some(item.clone()),
            )
            .await;
        assert_problem(refused, 401, "token_required").await;
    }
    // Someone else's token: the same 404 as a cart that does not exist, and nothing changes.
    let mine_with_theirs = answer(
        shop.send(
            Method::POST,
            &format!("/v1/carts/{mine}/items"),
            Some(("x-cart-token", &their_token)),
            Some(item.clone()),
        )
        .await,
    )
    .await;
    let nothing_with_theirs = answer(
        shop.send(
            Method::POST,
            &format!("/v1/carts/{unknown}/items"),
            Some(("x-cart-token", &their_token)),
            Some(item.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(mine_with_theirs, (404, "cart_not_found".to_owned()));
    assert_eq!(mine_with_theirs, nothing_with_theirs);
    // A staff key is no cart token either.
    let staff = shop
        .app
        .client
        .get(shop.url(&format!("/v1/carts/{mine}")))
        .send()
        .await
        .unwrap();
    assert_problem(staff, 401, "token_required").await;

    // With its own token everything works, and the cart was untouched by the others.
    let own = Some(("x-cart-token", my_token.as_str()));
    let cart: Value = shop
        .send(Method::GET, &format!("/v1/carts/{mine}"), own, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cart["lines"].as_array().unwrap().len(), 0, "{cart}");
    assert!(
        cart.get("cart_token").is_none(),
        "the token is answered once"
    );
    let added = shop
        .send(
            Method::POST,
            &format!("/v1/carts/{mine}/items"),
            own,
            Some(item),
        )
        .await;
    assert_eq!(added.status(), 200);

    // Its checkout is followed with the cart's token only.
    let started = shop
        .http
        .post(shop.url(&format!("/v1/carts/{mine}/checkout")))
        .header("x-cart-token", &my_token)
        .header("idempotency-key", "guest-checkout")
        .json(&checkout_body())
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    assert_problem(
        shop.send(Method::GET, &location, None, None).await,
        401,
        "token_required",
    )
    .await;
    let wrong = shop
        .send(
            Method::GET,
            &location,
            Some(("x-cart-token", &their_token)),
            None,
        )
        .await;
    let missing = shop
        .send(
            Method::GET,
            &format!("/v1/checkouts/{}", uuid::Uuid::now_v7()),
            Some(("x-cart-token", &my_token)),
            None,
        )
        .await;
    assert_eq!(answer(wrong).await, answer(missing).await);
    let done = loop {
        let seen: Value = shop
            .send(Method::GET, &location, own, None)
            .await
            .json()
            .await
            .unwrap();
        if seen["status"] != "pending" {
            break seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["order_access_token"]
        .as_str()
        .unwrap()
        .starts_with("ot_"));
}
on_both_stores!(
    cart_tokens,
    a_cart_token_opens_its_cart_and_checkout_and_nothing_else
);

async fn an_order_access_token_reads_its_order_and_returns_it_and_nothing_else(app: &TestApp) {
    use reqwest::Method;
    let shop = Storefront {
        app,
        http: client_with_key(None),
    };
    // Two guest orders, through the storefront as a guest would.
    let mut orders = Vec::new();
    for sku in ["GUEST-A", "GUEST-B"] {
        app.published_product(sku, "10.00").await;
        app.post_json(
            &format!("/v1/admin/inventory/{sku}/receipts"),
            &json!({"quantity": 5}),
        )
        .await;
        let (cart, token) = shop.cart().await;
        let own = Some(("x-cart-token", token.as_str()));
        shop.send(
            Method::POST,
            &format!("/v1/carts/{cart}/items"),
            own,
            Some(json!({"sku": sku, "quantity": 1})),
        )
        .await;
        let started = shop
            .http
            .post(shop.url(&format!("/v1/carts/{cart}/checkout")))
            .header("x-cart-token", &token)
            .header("idempotency-key", format!("order-{sku}"))
            .json(&checkout_body())
            .send()
            .await
            .unwrap();
        let location = started.headers()["location"].to_str().unwrap().to_owned();
        let done = loop {
            let seen: Value = shop
                .send(Method::GET, &location, own, None)
                .await
                .json()
                .await
                .unwrap();
            if seen["status"] != "pending" {
                break seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        orders.push((
            done["order_id"].as_str().unwrap().to_owned(),
            done["order_access_token"].as_str().unwrap().to_owned(),
            token,
            sku,
        ));
    }
    let (order, order_token, cart_token, sku) = orders[0].clone();
    let (other_order, other_token, _, _) = orders[1].clone();
    let path = format!("/v1/orders/{order}");

    let read = shop
        .send(
            Method::GET,
            &path,
            Some(("x-order-token", &order_token)),
            None,
        )
        .await;
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["id"], order.as_str());
    // No token, the cart's token, another order's token: refused, as for a missing order.
    assert_problem(
        shop.send(Method::GET, &path, None, None).await,
        401,
        "token_required",
    )
    .await;
    let with_cart_token = shop
        .send(
            Method::GET,
            &path,
            Some(("x-order-token", &cart_token)),
            None,
        )
        .await;
    let with_other = shop
        .send(
            Method::GET,
            &path,
            Some(("x-order-token", &other_token)),
            None,
        )
        .await;
    let missing = shop
        .send(
            Method::GET,
            &format!("/v1/orders/{}", uuid::Uuid::now_v7()),
            Some(("x-order-token", &order_token)),
            None,
        )
        .await;
    let missing = answer(missing).await;
    assert_eq!(missing, (404, "order_not_found".to_owned()));
    assert_eq!(answer(with_cart_token).await, missing);
    assert_eq!(answer(with_other).await, missing);
    // The public search by email is gone.
    let search = shop
        .send(
            Method::GET,
            "/v1/orders?email=guest@example.com",
            None,
            None,
        )
        .await;
    assert_problem(search, 401, "unauthenticated").await;

    // A return of its own order, followed with the order's token.
    let requested = shop
        .http
        .post(shop.url(&format!("{path}/returns")))
        .header("x-order-token", &order_token)
        .header("idempotency-key", "guest-return")
        .json(&json!({"lines": [{"sku": sku, "quantity": 1}], "reason": "Too small"}))
        .send()
        .await
        .unwrap();
    assert_eq!(requested.status(), 201);
    let return_path = requested.headers()["location"].to_str().unwrap().to_owned();
    let refused = shop
        .http
        .post(shop.url(&format!("/v1/orders/{other_order}/returns")))
        .header("x-order-token", &order_token)
        .header("idempotency-key", "guest-return-2")
        .json(&json!({"lines": [{"sku": "GUEST-B", "quantity": 1}], "reason": "Not mine"}))
        .send()
        .await
        .unwrap();
    assert_problem(refused, 404, "order_not_found").await;
    let own = shop
        .send(
            Method::GET,
            &return_path,
            Some(("x-order-token", &order_token)),
            None,
        )
        .await;
    assert_eq!(own.status(), 200);
    let theirs = shop
        .send(
            Method::GET,
            &return_path,
            Some(("x-order-token", &other_token)),
            None,
        )
        .await;
    let nothing = shop
        .send(
            Method::GET,
            &format!("/v1/returns/{}", uuid::Uuid::now_v7()),
            Some(("x-order-token", &order_token)),
            None,
        )
        .await;
    assert_eq!(answer(theirs).await, answer(nothing).await);
}
on_both_stores!(
    order_access_tokens,
    an_order_access_token_reads_its_order_and_returns_it_and_nothing_else
);
