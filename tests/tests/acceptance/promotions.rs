//! Promotion codes over the admin API (ADR 0031): created, listed, read, changed and
//! deactivated by staff holding the promotions scopes; redemptions come from checkouts, here
//! sent to the aggregate directly as the saga will send them.

use std::sync::Arc;

use accounts::{Area, Grants, Scope};
use chrono::{Duration, Utc};
use coupons::{
    AppliesTo, Limit, Offer, Promotion, PromotionCode, PromotionCommand, PromotionError, Refusal,
    Terms,
};
use reqwest::{Method, Response};
use runtime::{CommandError, CommandMetadata};
use serde_json::{json, Value};
use shared_kernel::{CheckoutId, Money};

use crate::app::{assert_problem, client_with_key, settings_for, Store, TestApp};
use crate::on_both_stores;

async fn send(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Response {
    let request = app.request(method, path);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.unwrap()
}

async fn create(app: &TestApp, body: Value) -> Response {
    send(app, Method::POST, "/v1/admin/promotions", Some(body)).await
}

async fn patch(app: &TestApp, code: &str, body: Value) -> Response {
    let path = format!("/v1/admin/promotions/{code}");
    send(app, Method::PATCH, &path, Some(body)).await
}

async fn read(app: &TestApp, code: &str) -> Value {
    let response = app.get(&format!("/v1/admin/promotions/{code}")).await;
    assert_eq!(response.status(), 200, "{code}");
    response.json().await.unwrap()
}

fn ten_percent(code: &str) -> Value {
    json!({"code": code, "offer": {"type": "percent_off", "percent_off": "10"}})
}

/// A checkout holds a use of `code`, as the checkout saga's step does.
async fn redeem(app: &TestApp, code: &str, checkout: CheckoutId) {
    let code = PromotionCode::parse(code).unwrap();
    let command = PromotionCommand::RedeemPromotion {
        checkout_id: checkout,
        customer_id: None,
        subtotal: Money::parse("80.00", "EUR").unwrap(),
        at: Utc::now(),
    };
    promotions(app)
        .execute(
            &Promotion::aggregate_id(&code),
            command,
            None,
            &CommandMetadata::new("checkout-saga"),
        )
        .await
        .unwrap();
}

async fn confirm(app: &TestApp, code: &str, checkout: CheckoutId) {
    let code = PromotionCode::parse(code).unwrap();
    promotions(app)
        .execute(
            &Promotion::aggregate_id(&code),
            PromotionCommand::ConfirmRedemption {
                checkout_id: checkout,
            },
            None,
            &CommandMetadata::new("checkout-saga"),
        )
        .await
        .unwrap();
}

fn promotions(app: &TestApp) -> &dyn runtime::CommandExecutor<Promotion> {
    app.running.as_ref().unwrap().wired.api.promotions.as_ref()
}

async fn key_with(app: &TestApp, scopes: &[Scope]) -> reqwest::Client {
    let key = application::api_keys::issue(
        app.running.as_ref().unwrap().wired.api.api_keys.as_ref(),
        &shared_kernel::SystemClock,
        "promotions test",
        Grants::Scopes(scopes.iter().copied().collect()),
    )
    .await
    .unwrap()
    .secret;
    client_with_key(Some(&key))
}

async fn a_code_is_created_read_in_any_case_changed_and_deactivated(app: &TestApp) {
    let starts_at = "2026-01-01T00:00:00+00:00";
    let created = create(
        app,
        json!({
            "code": " winter-10 ",
            "offer": {"type": "amount_off", "amount_off": [
                {"amount": "5", "currency": "EUR"}, {"amount": "600", "currency": "JPY"}]},
            "applies_to": {"type": "skus", "skus": ["tee-black-m", "MUG"]},
            "minimum_subtotal": [{"amount": "40.00", "currency": "EUR"},
                                 {"amount": "6000", "currency": "JPY"}],
            "starts_at": starts_at,
            "usage_limit": 100,
            "per_customer_limit": 1
        }),
    )
    .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.headers()["location"],
        "/v1/admin/promotions/WINTER-10"
    );
    assert_eq!(created.headers()["etag"], "\"1\"");
    let body: Value = created.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "code": "WINTER-10",
            "offer": {"type": "amount_off", "amount_off": [
                {"amount": "5.00", "currency": "EUR"}, {"amount": "600", "currency": "JPY"}]},
            "applies_to": {"type": "skus", "skus": ["MUG", "TEE-BLACK-M"]},
            "minimum_subtotal": [{"amount": "40.00", "currency": "EUR"},
                                 {"amount": "6000", "currency": "JPY"}],
            "starts_at": starts_at,
            "ends_at": null,
            "usage_limit": 100,
            "per_customer_limit": 1,
            "times_redeemed": 0,
            "reserved": 0,
            "status": "active",
            "created_at": body["created_at"],
            "deactivated_at": null
        })
    );

    // Codes are case-insensitive.
    assert_eq!(read(app, "winter-10").await, body);

    // A change keeps what it does not name, and null removes a condition.
    let changed = patch(
        app,
        "Winter-10",
        json!({"offer": {"type": "percent_off", "percent_off": "12.5"},
               "usage_limit": 250, "per_customer_limit": null,
               "ends_at": "2099-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.headers()["etag"], "\"2\"");
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(
        changed["offer"],
        json!({"type": "percent_off", "percent_off": "12.5"})
    );
    assert_eq!(changed["usage_limit"], 250);
    assert_eq!(changed["per_customer_limit"], Value::Null);
    assert_eq!(changed["ends_at"], "2099-01-01T00:00:00+00:00");
    assert_eq!(changed["starts_at"], starts_at);
    assert_eq!(changed["applies_to"], body["applies_to"]);
    assert_eq!(read(app, "WINTER-10").await, changed);

    // If-Match guards against another change made meanwhile.
    let stale = app
        .request(Method::PATCH, "/v1/admin/promotions/WINTER-10")
        .header("if-match", "\"1\"")
        .json(&json!({"usage_limit": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(stale, 412, "version_mismatch").await;

    // Deactivating is final, and repeating it changes nothing.
    let deactivated = send(app, Method::DELETE, "/v1/admin/promotions/winter-10", None).await;
    assert_eq!(deactivated.status(), 200);
    assert_eq!(deactivated.headers()["etag"], "\"3\"");
    let deactivated: Value = deactivated.json().await.unwrap();
    assert_eq!(deactivated["status"], "deactivated");
    assert!(deactivated["deactivated_at"].is_string(), "{deactivated}");
    let again = send(app, Method::DELETE, "/v1/admin/promotions/WINTER-10", None).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["etag"], "\"3\"");
    assert_problem(
        patch(app, "WINTER-10", json!({"usage_limit": 10})).await,
        409,
        "not_allowed",
    )
    .await;
    assert_eq!(read(app, "WINTER-10").await, deactivated);
}
on_both_stores!(
    a_code_is_created_read_in_any_case_changed_and_deactivated_on,
    a_code_is_created_read_in_any_case_changed_and_deactivated
);

async fn a_code_is_taken_for_good_whatever_its_case(app: &TestApp) {
    assert_eq!(create(app, ten_percent("SPRING")).await.status(), 201);
    let taken = create(app, ten_percent("spring")).await;
    assert_problem(taken, 409, "promotion_code_taken").await;
    let deleted = send(app, Method::DELETE, "/v1/admin/promotions/SPRING", None).await;
    assert_eq!(deleted.status(), 200);
    let still_taken = create(app, ten_percent("Spring")).await;
    assert_problem(still_taken, 409, "promotion_code_taken").await;
    // The first promotion is untouched by the refused ones.
    let kept = read(app, "SPRING").await;
    assert_eq!(
        kept["offer"],
        json!({"type": "percent_off", "percent_off": "10"})
    );
    assert_eq!(kept["status"], "deactivated");
}
on_both_stores!(
    a_code_is_taken_for_good_whatever_its_case_on,
    a_code_is_taken_for_good_whatever_its_case
);

async fn codes_are_listed_in_pages_with_their_redemptions(app: &TestApp) {
    for code in ["CCC", "AAA", "BBB"] {
        assert_eq!(create(app, ten_percent(code)).await.status(), 201);
    }
    let first = CheckoutId::new();
    for checkout in [first, CheckoutId::new(), CheckoutId::new()] {
        redeem(app, "BBB", checkout).await;
    }
    confirm(app, "BBB", first).await;

    let page = app
        .until("/v1/admin/promotions?limit=2", |page| {
            page["data"][1]["times_redeemed"] == 1
        })
        .await;
    assert_eq!(page["has_more"], true);
    let codes: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["AAA", "BBB"]);
    assert_eq!(page["data"][1]["reserved"], 2);
    assert_eq!(page["data"][0]["times_redeemed"], 0);
    // The list shows a code as reading it alone does.
    assert_eq!(page["data"][1], read(app, "BBB").await);
    let rest: Value = app
        .get("/v1/admin/promotions?limit=1&starting_after=bbb")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["code"], "CCC");

    // The application's lookup, for features that price a code, reads the same view.
    let directory = &app.running.as_ref().unwrap().wired.api.promotion_directory;
    let view = directory
        .find(&PromotionCode::parse("bbb").unwrap())
        .await
        .unwrap()
        .expect("BBB is projected");
    assert_eq!((view.reserved, view.confirmed), (2, 1));
    let missing = PromotionCode::parse("NOPE").unwrap();
    assert!(directory.find(&missing).await.unwrap().is_none());
}
on_both_stores!(
    codes_are_listed_in_pages_with_their_redemptions_on,
    codes_are_listed_in_pages_with_their_redemptions
);

async fn a_redeemed_code_keeps_its_offer_and_its_limits_cover_the_uses(app: &TestApp) {
    let body = json!({"code": "FIXED", "offer": {"type": "percent_off", "percent_off": "10"},
                      "usage_limit": 5});
    assert_eq!(create(app, body).await.status(), 201);
    redeem(app, "FIXED", CheckoutId::new()).await;
    redeem(app, "FIXED", CheckoutId::new()).await;
    let before = read(app, "FIXED").await;
    assert_eq!(before["reserved"], 2);

    let locked = patch(
        app,
        "FIXED",
        json!({"offer": {"type": "percent_off", "percent_off": "50"}}),
    )
    .await;
    let problem = assert_problem(locked, 409, "promotion_terms_locked").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("redeemed"),
        "{problem}"
    );
    let applies = patch(
        app,
        "FIXED",
        json!({"applies_to": {"type": "skus", "skus": ["MUG"]}}),
    )
    .await;
    assert_problem(applies, 409, "promotion_terms_locked").await;
    let below = patch(app, "FIXED", json!({"usage_limit": 1})).await;
    assert_problem(below, 409, "usage_limit_below_uses").await;
    assert_eq!(read(app, "FIXED").await, before);

    // What may still change does.
    let raised = patch(app, "FIXED", json!({"usage_limit": 2})).await;
    assert_eq!(raised.status(), 200);
    let raised: Value = raised.json().await.unwrap();
    assert_eq!(raised["usage_limit"], 2);
    assert_eq!(raised["offer"], before["offer"]);
}
on_both_stores!(
    a_redeemed_code_keeps_its_offer_and_its_limits_cover_the_uses_on,
    a_redeemed_code_keeps_its_offer_and_its_limits_cover_the_uses
);

async fn bad_input_is_a_problem_and_changes_nothing(app: &TestApp) {
    assert_eq!(create(app, ten_percent("KEEP")).await.status(), 201);
    let kept = read(app, "KEEP").await;
    let events = app.count_rows("events").await;
    let offer = |offer: Value| json!({"code": "BAD", "offer": offer});
    let with = |field: &str, value: Value| {
        let mut body = ten_percent("BAD");
        body[field] = value;
        body
    };
    let refused_creations = [
        (
            json!({"offer": {"type": "free_shipping"}}),
            400,
            "validation_failed",
            "code",
        ),
        (ten_percent("AB"), 400, "validation_failed", "code"),
        (ten_percent("NO SPACE"), 400, "validation_failed", "code"),
        (
            offer(json!({"type": "percent_off", "percent_off": "0"})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(json!({"type": "percent_off", "percent_off": "100.5"})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(json!({"type": "percent_off", "percent_off": "12.345"})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(json!({"type": "percent_off", "percent_off": "ten"})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(json!({"type": "percent_off"})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(json!({"type": "percent_off", "percent_off": "10",
                      "amount_off": [{"amount": "1", "currency": "EUR"}]})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(json!({"type": "amount_off", "amount_off": []})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(
                json!({"type": "amount_off", "amount_off": [{"amount": "0", "currency": "EUR"}]}),
            ),
            422,
            "invalid_amounts",
            "offer",
        ),
        (
            offer(
                json!({"type": "amount_off", "amount_off": [{"amount": "1.005", "currency": "EUR"}]}),
            ),
            422,
            "invalid_amounts",
            "offer",
        ),
        (
            offer(
                json!({"type": "amount_off", "amount_off": [{"amount": "1", "currency": "EUR"},
                                                            {"amount": "2", "currency": "EUR"}]}),
            ),
            422,
            "invalid_amounts",
            "offer",
        ),
        (
            offer(
                json!({"type": "amount_off", "amount_off": [{"amount": "1", "currency": "XXX"}]}),
            ),
            400,
            "validation_failed",
            "offer",
        ),
        (
            offer(json!({"type": "bogus"})),
            400,
            "validation_failed",
            "offer",
        ),
        (
            with("applies_to", json!({"type": "skus", "skus": []})),
            400,
            "validation_failed",
            "applies_to",
        ),
        (
            with("applies_to", json!({"type": "skus"})),
            400,
            "validation_failed",
            "applies_to",
        ),
        (
            with("applies_to", json!({"type": "order", "skus": ["MUG"]})),
            400,
            "validation_failed",
            "applies_to",
        ),
        (
            with(
                "minimum_subtotal",
                json!([{"amount": "-1", "currency": "EUR"}]),
            ),
            422,
            "invalid_amounts",
            "minimum_subtotal",
        ),
        (
            with("starts_at", json!("tomorrow")),
            400,
            "validation_failed",
            "starts_at",
        ),
        (
            with("ends_at", json!("2020-13-01T00:00:00Z")),
            400,
            "validation_failed",
            "ends_at",
        ),
        (
            with("usage_limit", json!(0)),
            400,
            "validation_failed",
            "usage_limit",
        ),
        (
            with("per_customer_limit", json!(-2)),
            400,
            "validation_failed",
            "per_customer_limit",
        ),
        (
            with("usage_limit", json!(4_294_967_296_i64)),
            400,
            "validation_failed",
            "usage_limit",
        ),
        (with("surprise", json!(1)), 400, "unknown_field", "surprise"),
        (
            json!({"code": "BAD", "offer": {"type": "free_shipping"},
                   "starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-05-01T00:00:00Z"}),
            422,
            "invalid_schedule",
            "ends_at",
        ),
        (
            with("ends_at", json!("2020-01-01T00:00:00Z")),
            422,
            "promotion_already_ended",
            "",
        ),
    ];
    for (body, status, code, field) in refused_creations {
        let problem = assert_problem(create(app, body.clone()).await, status, code).await;
        if !field.is_empty() {
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
    }
    // Every offending field is named at once.
    let many = assert_problem(
        create(
            app,
            json!({"code": "x", "offer": {"type": "percent_off", "percent_off": "0"},
                   "usage_limit": 0}),
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = many["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "offer", "usage_limit"], "{many}");
    let not_json = app
        .request(Method::POST, "/v1/admin/promotions")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 400, "malformed_json").await;

    let refused_changes = [
        ("KEEP", json!({"usage_limit": 0}), 400, "validation_failed"),
        (
            "KEEP",
            json!({"offer": null, "usage_limit": 0}),
            400,
            "validation_failed",
        ),
        (
            "KEEP",
            json!({"offer": {"type": "percent_off", "percent_off": "101"}}),
            400,
            "validation_failed",
        ),
        (
            "KEEP",
            json!({"starts_at": "2099-01-02T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}),
            422,
            "invalid_schedule",
        ),
        ("KEEP", json!({"code": "OTHER"}), 400, "unknown_field"),
        (
            "NOPE",
            json!({"usage_limit": 3}),
            404,
            "promotion_not_found",
        ),
        ("A.B", json!({"usage_limit": 3}), 400, "validation_failed"),
    ];
    for (code, body, status, problem) in refused_changes {
        assert_problem(patch(app, code, body).await, status, problem).await;
    }
    assert_problem(
        app.get("/v1/admin/promotions/NOPE").await,
        404,
        "promotion_not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/admin/promotions/x").await,
        400,
        "validation_failed",
    )
    .await;
    assert_problem(
        send(app, Method::DELETE, "/v1/admin/promotions/NOPE", None).await,
        404,
        "promotion_not_found",
    )
    .await;
    for query in [
        "limit=0",
        "limit=101",
        "limit=x",
        "starting_after=a!",
        "colour=red",
    ] {
        assert_problem(
            app.get(&format!("/v1/admin/promotions?{query}")).await,
            400,
            "validation_failed",
        )
        .await;
    }

    assert_eq!(
        app.count_rows("events").await,
        events,
        "an event was stored"
    );
    assert_eq!(read(app, "KEEP").await, kept);
    assert_problem(
        app.get("/v1/admin/promotions/BAD").await,
        404,
        "promotion_not_found",
    )
    .await;
}
on_both_stores!(
    bad_input_is_a_problem_and_changes_nothing_on,
    bad_input_is_a_problem_and_changes_nothing
);

async fn only_keys_with_the_promotions_scopes_manage_codes(app: &TestApp) {
    let reader = key_with(app, &[Scope::Read(Area::Promotions)]).await;
    let writer = key_with(app, &[Scope::Write(Area::Promotions)]).await;
    let other = key_with(
        app,
        &[Scope::Write(Area::Catalog), Scope::Write(Area::Orders)],
    )
    .await;
    let url = |path: &str| format!("{}{path}", app.base);

    let refused = reader
        .post(url("/v1/admin/promotions"))
        .json(&ten_percent("SCOPED"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(refused, 403, "insufficient_scope").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("promotions:write"),
        "{problem}"
    );
    let anonymous = client_with_key(None)
        .post(url("/v1/admin/promotions"))
        .json(&ten_percent("SCOPED"))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthenticated").await;
    assert_problem(
        app.get("/v1/admin/promotions/SCOPED").await,
        404,
        "promotion_not_found",
    )
    .await;

    let created = writer
        .post(url("/v1/admin/promotions"))
        .json(&ten_percent("SCOPED"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let read_back = reader
        .get(url("/v1/admin/promotions/scoped"))
        .send()
        .await
        .unwrap();
    assert_eq!(read_back.status(), 200);
    let listed = reader
        .get(url("/v1/admin/promotions"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    for request in [
        reader
            .patch(url("/v1/admin/promotions/SCOPED"))
            .json(&json!({"usage_limit": 1})),
        reader.delete(url("/v1/admin/promotions/SCOPED")),
    ] {
        let refused = request.send().await.unwrap();
        assert_problem(refused, 403, "insufficient_scope").await;
    }
    for request in [
        other.get(url("/v1/admin/promotions")),
        other.get(url("/v1/admin/promotions/SCOPED")),
    ] {
        let refused = request.send().await.unwrap();
        assert_problem(refused, 403, "insufficient_scope").await;
    }
    let unchanged = read(app, "SCOPED").await;
    assert_eq!(unchanged["usage_limit"], Value::Null);
    assert_eq!(unchanged["status"], "active");
    let deactivated = writer
        .delete(url("/v1/admin/promotions/SCOPED"))
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), 200);
}
on_both_stores!(
    only_keys_with_the_promotions_scopes_manage_codes_on,
    only_keys_with_the_promotions_scopes_manage_codes
);

/// A code can be offered ahead of its start, and an offer without an amount reads back as such.
async fn a_code_can_be_scheduled_ahead(app: &TestApp) {
    let starts_at = (Utc::now() + Duration::days(30)).to_rfc3339();
    let body = json!({"code": "LATER", "offer": {"type": "free_shipping"},
                      "applies_to": {"type": "order"}, "starts_at": starts_at});
    let created = create(app, body).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["offer"], json!({"type": "free_shipping"}));
    assert_eq!(created["applies_to"], json!({"type": "order"}));
    assert!(created["starts_at"].is_string());
}
on_both_stores!(
    a_code_can_be_scheduled_ahead_on,
    a_code_can_be_scheduled_ahead
);

/// A popular code's stream is a hot spot (ADR 0031): 60 checkouts redeem a code limited to 10
/// uses through two app instances sharing one PostgreSQL database. Exactly 10 hold a use, every
/// other one is refused as used up, and no write conflict ever reaches a caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_on_a_code_never_exceeds_its_limit_nor_fails_on_a_conflict_on_postgres() {
    let settings = settings_for(Store::Postgres).await;
    let first = commerce::open(&settings).await.unwrap();
    let second = commerce::open(&settings).await.unwrap();
    let code = PromotionCode::parse("RUSH").unwrap();
    let id = Promotion::aggregate_id(&code);
    let metadata = CommandMetadata::new("test");
    let terms = Terms {
        usage_limit: Some(Limit::new(10).unwrap()),
        ..Terms::new(Offer::FreeShipping, AppliesTo::Order)
    };
    first
        .api
        .promotions
        .execute(
            &id,
            PromotionCommand::CreatePromotion {
                code,
                terms,
                at: Utc::now(),
            },
            None,
            &metadata,
        )
        .await
        .unwrap();

    let instances = [
        Arc::clone(&first.api.promotions),
        Arc::clone(&second.api.promotions),
    ];
    let redemptions: Vec<_> = (0..60)
        .map(|i| {
            let promotions = Arc::clone(&instances[i % 2]);
            let (id, metadata) = (id.clone(), metadata.clone());
            tokio::spawn(async move {
                let command = PromotionCommand::RedeemPromotion {
                    checkout_id: CheckoutId::new(),
                    customer_id: None,
                    subtotal: Money::parse("30.00", "EUR").unwrap(),
                    at: Utc::now(),
                };
                promotions.execute(&id, command, None, &metadata).await
            })
        })
        .collect();
    let (mut redeemed, mut used_up) = (0, 0);
    for redemption in redemptions {
        match redemption.await.unwrap() {
            Ok(_) => redeemed += 1,
            Err(CommandError::Rejected(PromotionError::Refused(Refusal::UsedUp))) => used_up += 1,
            Err(other) => panic!("a redemption ended neither redeemed nor used up: {other}"),
        }
    }
    assert_eq!((redeemed, used_up), (10, 50));
    let promotion = first.api.promotions.load(&id).await.unwrap().aggregate;
    assert_eq!(promotion.active_redemptions(), 10);
    assert_eq!(promotion.remaining(), Some(0));
}

/// Internal services follow codes on the event feed (ADR 0015): staff's changes and every
/// redemption, each as its public type, with the code it is about.
async fn codes_and_their_redemptions_are_published_on_the_feed(app: &TestApp) {
    assert_eq!(create(app, ten_percent("fed")).await.status(), 201);
    let changed = patch(app, "FED", json!({"usage_limit": 3})).await;
    assert_eq!(changed.status(), 200);
    let checkout = CheckoutId::new();
    redeem(app, "FED", checkout).await;
    confirm(app, "FED", checkout).await;
    let deleted = send(app, Method::DELETE, "/v1/admin/promotions/FED", None).await;
    assert_eq!(deleted.status(), 200);

    let page = app
        .until("/v1/events?types=promotions.*&limit=100", |page| {
            page["data"].as_array().is_some_and(|data| data.len() >= 5)
        })
        .await;
    let data = page["data"].as_array().unwrap();
    let types: Vec<&str> = data.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "promotions.promotion_created",
            "promotions.promotion_updated",
            "promotions.promotion_redeemed",
            "promotions.redemption_confirmed",
            "promotions.promotion_deactivated",
        ]
    );
    assert!(data.iter().all(|e| e["data"]["code"] == "FED"), "{page}");
    assert_eq!(
        data[0]["data"]["terms"]["offer"],
        json!({"type": "percent_off", "percent_off": "10", "amount_off": null})
    );
    assert_eq!(data[1]["data"]["terms"]["usage_limit"], 3);
    assert_eq!(
        data[2]["data"]["checkout_id"],
        checkout.as_uuid().to_string()
    );
    assert_eq!(
        data[2]["data"]["subtotal"],
        json!({"amount": "80.00", "currency": "EUR"})
    );
    assert!(data[4]["data"]["deactivated_at"].is_string(), "{page}");
}
on_both_stores!(
    codes_and_their_redemptions_are_published_on_the_feed_on,
    codes_and_their_redemptions_are_published_on_the_feed
);
