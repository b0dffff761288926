//! The real `commerce` binary, configured only by the standard `OTEL_EXPORTER_OTLP_ENDPOINT`,
//! exports its traces and metrics over OTLP/HTTP (protobuf) to a receiver this test runs
//! (ADR 0030): the checkout's request, its saga steps and its gateway calls arrive in the
//! storefront's trace, and the instruments arrive as OTLP metrics.

mod server;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::{json, Value};

#[derive(Default)]
struct Received {
    /// (trace id in hex, span name, service name) of every span.
    spans: Vec<(String, String, String)>,
    metrics: HashSet<String>,
}

async fn traces(received: web::Data<Arc<Mutex<Received>>>, body: web::Bytes) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut received = received.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref())
            .map(|v| format!("{:?}", v.value))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                let trace: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                received.spans.push((trace, span.name, service.clone()));
            }
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

async fn metrics(received: web::Data<Arc<Mutex<Received>>>, body: web::Bytes) -> HttpResponse {
    let Ok(request) = ExportMetricsServiceRequest::decode(body) else {
        return HttpResponse::BadRequest().finish();
    };
    let mut received = received.lock().unwrap();
    for resource in request.resource_metrics {
        for scope in resource.scope_metrics {
            for metric in scope.metrics {
                received.metrics.insert(metric.name);
            }
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .finish()
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> reqwest::Response {
    client.post(url).json(&body).send().await.unwrap()
}

#[actix_web::test]
async fn traces_and_metrics_reach_an_otlp_receiver() {
    let received = Arc::new(Mutex::new(Received::default()));
    let data = web::Data::new(received.clone());
    let receiver = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/v1/traces", web::post().to(traces))
            .route("/v1/metrics", web::post().to(metrics))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let endpoint = format!("http://{}", receiver.addrs()[0]);
    let receiver = receiver.run();
    let receiver_handle = receiver.handle();
    actix_web::rt::spawn(receiver);

    let data_dir = std::env::temp_dir().join(format!("commerce-otlp-{}", uuid::Uuid::new_v4()));
    let key = server::api_key(&data_dir, None).1;
    let port = server::free_port();
    let mut command = server::command(&data_dir, port);
    command
        .env("COMMERCE_DEMO_CATALOG", "false")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "commerce-otlp-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "300");
    let server = server::start(command, port).await;
    let base = server.base.clone();
    let client = server::client(&key);

    let product = post(
        &client,
        format!("{base}/v1/admin/products"),
        json!({"title": "Traced lamp", "publish": true,
               "variants": [{"sku": "OTLP-1", "prices": [{"amount": "12.00", "currency": "EUR"}]}]}),
    )
    .await;
    assert_eq!(product.status(), 201);
    let received_stock = post(
        &client,
        format!("{base}/v1/admin/inventory/OTLP-1/receipts"),
        json!({"quantity": 3}),
    )
    .await;
    assert_eq!(received_stock.status(), 200);
    let cart: Value = post(
        &client,
        format!("{base}/v1/carts"),
        json!({"currency": "EUR"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let cart_id = cart["id"].as_str().unwrap();
    let cart_token = cart["cart_token"].as_str().unwrap();
    let added = client
        .post(format!("{base}/v1/carts/{cart_id}/items"))
        .header("x-cart-token", cart_token)
        .json(&json!({"sku": "OTLP-1", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let trace = uuid::Uuid::new_v4().simple().to_string();
    let started = client
        .post(format!("{base}/v1/carts/{cart_id}/checkout"))
        .header("x-cart-token", cart_token)
        .header("idempotency-key", "otlp-checkout")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(
            &json!({"email": "otlp@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "O. Tlp", "line1": "1 Collector Way",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);

    let wanted = [
        "POST /v1/carts/{id}/checkout",
        "checkout reserve_stock",
        "checkout authorize_payment",
        "checkout place_order",
        "checkout capture_payment",
        "payment_gateway authorize",
        "payment_gateway capture",
        "command order",
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (found, services, metric_names) = {
            let received = received.lock().unwrap();
            let found: HashSet<String> = received
                .spans
                .iter()
                .filter(|(t, _, _)| *t == trace)
                .map(|(_, name, _)| name.clone())
                .collect();
            let services: HashSet<String> =
                received.spans.iter().map(|(_, _, s)| s.clone()).collect();
            (found, services, received.metrics.clone())
        };
        let spans_in = wanted.iter().all(|name| found.contains(*name));
        let metrics_in = [
            "http.server.request.duration",
            "commerce.commands",
            "commerce.events.appended",
            "commerce.gateway.call.duration",
            "commerce.checkouts",
        ]
        .iter()
        .all(|name| metric_names.contains(*name));
        if spans_in && metrics_in {
            assert!(
                services.iter().all(|s| s.contains("commerce-otlp-test")),
                "{services:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spans of the trace: {found:?}; metrics: {metric_names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server::kill_9(server);
    receiver_handle.stop(false).await;
}
