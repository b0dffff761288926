//! The catalog over REST: admin commands, storefront visibility, SKU uniqueness, pagination,
//! and the service endpoints (OpenAPI, health).

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, TestApp};
use crate::on_both_stores;

async fn only_published_products_reach_the_storefront(app: &TestApp) {
    let draft = app
        .create_product(
            "Draft lamp",
            json!([{"sku": "LAMP-D", "name": "Brass", "prices": [{"amount": "99.9", "currency": "EUR"}]}]),
            false,
        )
        .await;
    let admin: Value = app
        .get(&format!("/v1/admin/products/{draft}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(admin["status"], "draft");
    assert_eq!(
        admin["variants"][0]["prices"][0],
        json!({"amount": "99.90", "currency": "EUR"}),
        "prices are kept in minor units"
    );
    assert_problem(
        app.get(&format!("/v1/products/{draft}")).await,
        404,
        "product_not_found",
    )
    .await;

    let publish = app
        .request(Method::POST, &format!("/v1/admin/products/{draft}/publish"))
        .send()
        .await
        .unwrap();
    assert_eq!(publish.status(), 200);
    assert_eq!(publish.headers()["etag"], "\"2\"");
    app.wait_for_storefront(&draft).await;

    let change = app
        .request(
            Method::PUT,
            &format!("/v1/admin/products/{draft}/variants/LAMP-D/price"),
        )
        .header("if-match", "\"2\"")
        .json(&json!({"amount": "89.00", "currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let body: Value = app
            .get(&format!("/v1/products/{draft}"))
            .await
            .json()
            .await
            .unwrap();
        if body["variants"][0]["prices"][0]["amount"] == "89.00" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "price change never projected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let unpublish = app
        .request(
            Method::POST,
            &format!("/v1/admin/products/{draft}/unpublish"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unpublish.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.get(&format!("/v1/products/{draft}")).await.status() != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "unpublish never projected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
on_both_stores!(
    only_published_products_reach_the_storefront_on,
    only_published_products_reach_the_storefront
);

async fn rejects_a_duplicate_sku_across_products(app: &TestApp) {
    app.published_product("DUPE-1", "1.00").await;
    let response = app
        .post_json(
            "/v1/admin/products",
            &json!({"title": "Copycat", "variants": [
                {"sku": "OTHER-1", "prices": [{"amount": "1.00", "currency": "EUR"}]},
                {"sku": "dupe-1", "prices": [{"amount": "1.00", "currency": "EUR"}]}
            ]}),
        )
        .await;
    assert_problem(response, 409, "sku_taken").await;
    // The refused product released the SKU it had claimed first.
    app.published_product("OTHER-1", "2.00").await;
}
on_both_stores!(
    rejects_a_duplicate_sku_across_products_on,
    rejects_a_duplicate_sku_across_products
);

async fn concurrent_creations_with_one_sku_let_exactly_one_win(app: &TestApp) {
    let attempts = (0..8).map(|i| {
        let body = json!({"title": format!("Racer {i}"), "variants": [
            {"sku": "RACE-SKU", "prices": [{"amount": "5.00", "currency": "EUR"}]}
        ]});
        let request = app.request(Method::POST, "/v1/admin/products").json(&body);
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
}
on_both_stores!(
    concurrent_creations_with_one_sku_let_exactly_one_win_on,
    concurrent_creations_with_one_sku_let_exactly_one_win
);

async fn invalid_products_are_refused(app: &TestApp) {
    let cases = [
        (
            json!({"title": "  ", "variants": [{"sku": "A-1", "prices": [{"amount": "1.00", "currency": "EUR"}]}]}),
            422,
        ),
        (json!({"title": "No variants", "variants": []}), 422),
        (
            json!({"title": "Negative", "variants": [{"sku": "A-2", "prices": [{"amount": "-1.00", "currency": "EUR"}]}]}),
            422,
        ),
        (
            json!({"title": "Too precise", "variants": [{"sku": "A-3", "prices": [{"amount": "1.001", "currency": "EUR"}]}]}),
            422,
        ),
        (
            json!({"title": "Bad amount", "variants": [{"sku": "A-4", "prices": [{"amount": "one", "currency": "EUR"}]}]}),
            400,
        ),
        (
            json!({"title": "Float amount", "variants": [{"sku": "A-5", "prices": [{"amount": 1.5, "currency": "EUR"}]}]}),
            400,
        ),
        (
            json!({"title": "Bad currency", "variants": [{"sku": "A-6", "prices": [{"amount": "1.00", "currency": "EURO"}]}]}),
            400,
        ),
        (
            json!({"title": "Twin SKUs", "variants": [
            {"sku": "A-7", "prices": [{"amount": "1.00", "currency": "EUR"}]},
            {"sku": "a-7", "prices": [{"amount": "1.00", "currency": "EUR"}]}]}),
            422,
        ),
        (
            json!({"title": "Bad SKU", "variants": [{"sku": "has space", "prices": [{"amount": "1.00", "currency": "EUR"}]}]}),
            422,
        ),
        (
            json!({"title": "Extra", "colour": "red", "variants": []}),
            400,
        ),
    ];
    for (body, status) in cases {
        let response = app.post_json("/v1/admin/products", &body).await;
        let actual = response.status().as_u16();
        let problem: Value = response.json().await.unwrap();
        assert_eq!(actual, status, "{body} -> {problem}");
        assert!(problem["code"].is_string());
    }
    // None of the refused products claimed a SKU or reached any view.
    app.published_product("A-1", "1.00").await;
    let listing: Value = app.get("/v1/products").await.json().await.unwrap();
    assert_eq!(listing["data"].as_array().unwrap().len(), 1);
}
on_both_stores!(
    invalid_products_are_refused_on,
    invalid_products_are_refused
);

async fn products_are_listed_with_cursor_pagination(app: &TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.published_product(&format!("PAGE-{i}"), "1.00").await);
    }
    ids.sort();
    let first: Value = app.get("/v1/products?limit=2").await.json().await.unwrap();
    assert_eq!(first["has_more"], true);
    let page_ids = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(page_ids(&first), ids[0..2]);
    let second: Value = app
        .get(&format!("/v1/products?limit=2&starting_after={}", ids[1]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page_ids(&second), ids[2..4]);
    let last: Value = app
        .get(&format!("/v1/products?limit=2&starting_after={}", ids[3]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page_ids(&last), ids[4..5]);
    assert_eq!(last["has_more"], false);

    for bad in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "starting_after=nope",
        "page=2",
    ] {
        let response = app.get(&format!("/v1/products?{bad}")).await;
        assert_problem(response, 400, "validation_failed").await;
    }
}
on_both_stores!(
    products_are_listed_with_cursor_pagination_on,
    products_are_listed_with_cursor_pagination
);

async fn serves_openapi_and_health(app: &TestApp) {
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/products",
        "/v1/carts/{id}/items",
        "/v1/admin/products/{id}/publish",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} missing");
    }
    // Parameters are declared as exactly as they are checked: ids are UUIDs, a page holds
    // 1 to 100 items.
    let parameter = |path: &str, name: &str| -> Value {
        document["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no parameters"))
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has no parameter {name}"))["schema"]
            .clone()
    };
    for (path, name) in [
        ("/v1/orders/{id}", "id"),
        ("/v1/carts/{id}", "id"),
        ("/v1/admin/refunds/{id}", "id"),
        ("/v1/products", "starting_after"),
    ] {
        assert_eq!(parameter(path, name)["format"], "uuid", "{path} {name}");
    }
    // Every operation lists the statuses any operation of its kind can answer.
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            let mut expected = vec!["503"];
            if path.contains('{') {
                expected.extend(["400", "404"]);
            }
            if method != "get" {
                expected.extend(["400", "409", "413", "415", "422"]);
            }
            for status in expected {
                assert!(
                    responses.get(status).is_some(),
                    "{method} {path} does not declare {status}"
                );
            }
        }
    }
    let limit = parameter("/v1/products", "limit");
    assert_eq!(
        (limit["minimum"].as_u64(), limit["maximum"].as_u64()),
        (Some(1), Some(100)),
        "{limit}"
    );
    let docs = app.get("/docs").await;
    assert_eq!(docs.status(), 200);
    let page = docs.text().await.unwrap();
    assert!(page.contains("/openapi.json"));
    // Redoc comes from this server at a pinned version (issue 13): the page needs no
    // internet and runs no script from another origin.
    let script = "/docs/redoc-2.5.4.standalone.js";
    assert!(
        page.contains(&format!(r#"<script src="{script}"></script>"#)),
        "{page}"
    );
    assert!(
        !page.contains("://"),
        "the page loads from elsewhere: {page}"
    );
    let bundle = app.get(script).await;
    assert_eq!(bundle.status(), 200);
    assert!(bundle.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let bundle = bundle.text().await.unwrap();
    assert!(bundle.len() > 500_000 && bundle.contains("2.5.4"));
    assert_eq!(app.get("/health/live").await.status(), 200);
    assert_eq!(app.get("/health/ready").await.status(), 200);
}
on_both_stores!(serves_openapi_and_health_on, serves_openapi_and_health);

/// The demo storefront (ADR 0048) is served from the binary: a page that loads only this
/// server's script and styles, under a policy that lets it run them and call this server
/// alone, and a script that is the bundled typed client, not a placeholder.
async fn serves_the_demo_storefront(app: &TestApp) {
    let page = app.get("/demo").await;
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} missing: {policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<script src="/demo/demo.js"></script>"#),
        "{html}"
    );
    assert!(html.contains(r#"href="/demo/demo.css""#), "{html}");
    assert!(
        !html.contains("://"),
        "the page loads from elsewhere: {html}"
    );
    for (path, kind, needle) in [
        (
            "/demo/demo.js",
            "text/javascript",
            "/v1/carts/{id}/checkout",
        ),
        ("/demo/demo.js", "text/javascript", "X-Cart-Token"),
        ("/demo/demo.css", "text/css", ".product"),
    ] {
        let asset = app.get(path).await;
        assert_eq!(asset.status(), 200, "{path}");
        let content_type = asset.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(
            asset.text().await.unwrap().contains(needle),
            "{path}: no {needle}"
        );
    }
}
on_both_stores!(serves_the_demo_storefront_on, serves_the_demo_storefront);

/// What the server accepts is what the document declares (issue 9): the currencies and
/// countries of the shared kernel's tables, the published event types, rules between fields,
/// and open operations that say they need no credential.
async fn the_document_names_the_values_the_server_accepts(app: &TestApp) {
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    let schemas = &document["components"]["schemas"];
    let currencies: Vec<&str> = shared_kernel::Currency::all()
        .iter()
        .map(|c| c.code())
        .collect();
    assert_eq!(
        schemas["CreateCartRequest"]["properties"]["currency"]["enum"],
        json!(currencies)
    );
    let countries = schemas["AddressDto"]["properties"]["country"]["enum"]
        .as_array()
        .unwrap();
    assert!(countries.contains(&json!("GB")) && !countries.contains(&json!("AA")));
    let types = schemas["EventTypeName"]["enum"].as_array().unwrap();
    for name in ["orders.*", "orders.order_placed"] {
        assert!(types.contains(&json!(name)), "{name} missing: {types:?}");
    }
    assert_eq!(
        schemas["CreateWebhookRequest"]["properties"]["event_types"]["items"]["$ref"],
        "#/components/schemas/EventTypeName"
    );
    assert_eq!(
        schemas["CreateRefundRequest"]["anyOf"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // A refund's shipping is all that is left or an amount of it, exactly as the server
    // reads it.
    let shipping = &schemas["ShippingRefundInput"];
    assert_eq!(
        schemas["CreateRefundRequest"]["properties"]["shipping"]["oneOf"][1]["$ref"],
        "#/components/schemas/ShippingRefundInput",
        "{}",
        schemas["CreateRefundRequest"]
    );
    assert_eq!(shipping["additionalProperties"], false, "{shipping}");
    assert_eq!(
        shipping["anyOf"][0]["properties"]["full_refund"]["const"], true,
        "{shipping}"
    );
    assert_eq!(
        shipping["anyOf"][1]["properties"]["amount"]["$ref"], "#/components/schemas/MoneyDto",
        "{shipping}"
    );
    assert_eq!(
        schemas["AdjustStockRequest"]["anyOf"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        document["paths"]["/v1/products"]["get"]["security"],
        json!([])
    );
    assert_eq!(document["servers"][0]["url"], "/");
    let if_match = document["paths"]["/v1/carts/{id}/items/{line_id}"]["patch"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "If-Match")
        .unwrap()
        .clone();
    assert_eq!(if_match["schema"]["type"], "string", "{if_match}");
}
on_both_stores!(
    the_document_names_the_values_the_server_accepts_on,
    the_document_names_the_values_the_server_accepts
);
