//! The OpenAPI 3.1 document, generated from the route and DTO annotations, and a docs page.

use actix_web::{get, web, HttpResponse};
use utoipa::OpenApi;

use crate::auth::SecurityFromTable;
use crate::ApiState;

use crate::{
    carts, checkout_timeline, checkouts, customers, documents, dto, events, health, http,
    inventory, metrics, orders, payments, personal_data, problem, products, promotions, refunds,
    returns, shipping, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Commerce API",
        description = "Headless, event-sourced commerce backend. Errors are RFC 9457 problem+json; \
                       mutating calls accept Idempotency-Key; resources carry an ETag and honour If-Match. \
                       Admin operations, the event feed and webhooks need an API key holding the scope each names \
                       (`Authorization: Bearer ck_...`, from `commerce api-keys create`).",
    ),
    servers((url = "/", description = "The server that serves this document")),
    paths(
        products::list_products, products::get_product, products::create_product,
        products::get_admin_product, products::change_price, products::change_weight, products::change_tax_class, products::publish, products::unpublish,
        customers::register, customers::login, customers::refresh, customers::logout,
        customers::me, customers::my_orders, customers::update_me, customers::my_cart,
        customers::my_addresses, customers::add_address, customers::delete_address,
        carts::take_over_cart,
        personal_data::export_customer, personal_data::erase_customer,
        personal_data::erase_guest_order,
        carts::create_cart, carts::get_cart, carts::add_item, carts::change_quantity, carts::remove_item,
        carts::apply_promotion, carts::remove_promotion,
        carts::set_shipping_address, carts::shipping_options, carts::choose_shipping_method,
        orders::place_order, orders::get_order, orders::get_order_by_number, orders::list_orders,
        documents::get_invoice, documents::get_invoice_html, documents::list_credit_notes,
        documents::get_credit_note, documents::get_credit_note_html, orders::fulfill,
        orders::cancel, orders::mark_paid, orders::complete,
        payments::authorize, payments::get_payment, payments::capture, payments::void,
        payments::reconcile,
        refunds::create_refund, refunds::get_refund,
        returns::create_return, returns::get_return, returns::approve_return,
        returns::reject_return, returns::receive_return,
        inventory::receive, inventory::adjust, inventory::get_stock,
        shipping::create_zone, shipping::list_zones, shipping::get_zone, shipping::update_zone,
        shipping::delete_zone, shipping::create_option, shipping::update_option,
        shipping::delete_option,
        promotions::create_promotion, promotions::list_promotions, promotions::get_promotion,
        promotions::update_promotion, promotions::deactivate_promotion,
        checkouts::start_checkout, checkouts::get_checkout, checkouts::list_checkouts,
        checkout_timeline::checkout_timeline,
        events::list_events, events::stream_events, events::event_schemas,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook,
        webhooks::update_webhook, webhooks::delete_webhook, webhooks::list_deliveries,
        webhooks::redeliver,
        health::live, health::ready,
        metrics::scrape,
    ),
    components(schemas(
        customers::RegisterRequest, customers::LoginRequest, customers::RefreshRequest,
        customers::CustomerDto, customers::SessionDto, customers::UpdateProfileRequest,
        customers::SavedAddressDto, customers::SavedAddressList,
        personal_data::ErasureDto, personal_data::CustomerExportDto,
        dto::MoneyDto, dto::StorefrontVariantDto, dto::CreateProductRequest, dto::NewVariantRequest, dto::VariantDto, dto::WeightRequest, dto::TaxClassRequest,
        dto::ProductDto, dto::AdminProductDto, dto::ProductList, dto::CreateCartRequest,
        dto::AddItemRequest, dto::ChangeQuantityRequest, dto::CartLineDto, dto::CartDto, dto::CartPromotionDto, dto::ApplyPromotionRequest,
        documents::InvoiceDto, documents::InvoiceLineDto, documents::TaxLineDto, documents::CreditNoteDto,
        documents::CreditNoteLineDto, documents::CreditNoteList,
        dto::ChooseShippingMethodRequest, dto::ShippingQuoteDto, dto::ShippingOptionsDto,
        dto::HealthDto, problem::Problem, problem::FieldError,
        dto::AddressDto, dto::OrderLineRequestDto, dto::PlaceOrderRequestDto,
        dto::FulfillOrderRequest, dto::CancelOrderRequest, dto::OrderLineDto, dto::FulfillmentDto,
        dto::CancellationDto, dto::OrderDto, dto::OrderList,
        dto::AuthorizePaymentRequest, dto::CaptureRequest, dto::DeclineDto,
        dto::OrderRefundDto, dto::RefundLineDto, refunds::CreateRefundRequest,
        refunds::ShippingRefundInput,
        refunds::RefundLineInput, refunds::AdminRefundDto,
        returns::ReturnLineInput, returns::CreateReturnRequest, returns::RejectReturnRequest,
        returns::ReceivedLineInput, returns::ReceiveReturnRequest, returns::ReturnLineDto,
        returns::ReceivedLineDto, returns::ReturnDto,
        dto::RefundDto, dto::PaymentDto,
        dto::ReceiveStockRequest, dto::AdjustStockRequest, dto::ReservationDto, dto::StockItemDto,
        promotions::OfferDto, promotions::AppliesToDto, promotions::CreatePromotionRequest,
        promotions::UpdatePromotionRequest, promotions::PromotionDto, promotions::PromotionList,
        dto::StartCheckoutRequest, dto::CheckoutFailureDto, dto::CheckoutDto,
        checkouts::CheckoutAttentionDto, checkouts::CheckoutAttentionList,
        checkout_timeline::CheckoutTimelineDto, checkout_timeline::TimelineEntryDto,
        checkout_timeline::PendingStepDto, checkout_timeline::TimelineFailureDto,
        checkout_timeline::TimelineAttentionDto,
        events::EventPage, events::SchemaCatalog, events::EventTypeName,
        webhooks::CreateWebhookRequest, webhooks::UpdateWebhookRequest, webhooks::WebhookEndpointDto,
        webhooks::WebhookEndpointList, webhooks::DeletedWebhookDto, webhooks::WebhookAttemptDto,
        webhooks::WebhookDeliveryDto, webhooks::WebhookDeliveryList,
        shipping::CreateShippingZoneRequest, shipping::UpdateShippingZoneRequest,
        shipping::CreateShippingOptionRequest, shipping::UpdateShippingOptionRequest,
        shipping::ShippingPriceDto, shipping::SubtotalBandDto, shipping::WeightBandDto,
        shipping::ShippingOptionDto, shipping::ShippingZoneDto, shipping::ShippingZoneList,
        shipping::DeletedShippingZoneDto,
    )),
    tags(
        (name = "storefront", description = "What shoppers browse"),
        (name = "customers", description = "Customer accounts: registration, login, token refresh, and the customer's own profile and orders"),
        (name = "carts", description = "Carts and their lines"),
        (name = "checkout", description = "Turning a cart into a paid order, asynchronously"),
        (name = "orders", description = "Orders: placement, lookup, fulfilment, cancellation"),
        (name = "payments", description = "Payments through the configured gateway (admin)"),
        (name = "refunds", description = "Refunds of orders: money back through the payment, units back into stock (admin)"),
        (name = "returns", description = "Goods sent back by shoppers: requested, approved, received, refunded"),
        (name = "inventory", description = "Stock levels, receipts and adjustments (admin)"),
        (name = "shipping", description = "Shipping zones of destination countries and their options, priced per currency (admin)"),
        (name = "promotions", description = "Promotion codes: their offer, conditions and limits, and how often they were used (admin)"),
        (name = "admin", description = "Catalog administration"),
        (name = "events", description = "Published domain events for internal services: an ordered, resumable feed (long-poll and Server-Sent Events) and the schema of every type"),
        (name = "webhooks", description = "Signed deliveries of published events to HTTP endpoints (admin)"),
        (name = "health", description = "Probes"),
        (name = "operations", description = "What operators watch: Prometheus metrics (API key with operations:read)"),
    ),
    modifiers(&CommonResponses, &SecurityFromTable)
)]
pub struct ApiDoc;

/// The answers any operation of a kind can give, whatever it does: added to every operation
/// that does not declare them itself, so that the document lists every status a client can
/// get. A path id that is not a UUID is a 400 and one that names nothing a 404; a body can be
/// malformed (400), too large (413) or not JSON (415); an `Idempotency-Key` can be invalid
/// (400), in use (409) or reused for another request (422); any operation can find a
/// dependency unavailable (503).
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_path_id = path.contains('{');
            let operations = [
                (false, item.get.as_mut()),
                (true, item.post.as_mut()),
                (true, item.put.as_mut()),
                (true, item.patch.as_mut()),
                (true, item.delete.as_mut()),
            ];
            for (mutating, operation) in operations {
                let Some(operation) = operation else {
                    continue;
                };
                let has_query = operation.parameters.as_ref().is_some_and(|parameters| {
                    parameters.iter().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    })
                });
                let mut add = |status: &str, description: &str| {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description).into());
                };
                if has_path_id || has_query || mutating {
                    add("400", "Malformed or invalid input");
                }
                if has_path_id {
                    add("404", "Nothing by that id");
                }
                if mutating {
                    add(
                        "409",
                        "A request with this Idempotency-Key is still running",
                    );
                    add("413", "Body over 64 KiB");
                    add("415", "Body not JSON");
                    add("422", "Idempotency-Key reused for another request");
                }
                add("503", "A dependency is unavailable; retry later");
            }
        }
    }
}

// Keeps `http` referenced for the ListParams IntoParams derive used in the paths above.
#[allow(dead_code)]
type _ListParams = http::ListParams;

/// The document, with the published event types this server runs with listed where a
/// filter names them (they come from the contracts, which this crate does not depend on).
#[get("/openapi.json")]
pub async fn document(state: web::Data<ApiState>) -> HttpResponse {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut document = ApiDoc::openapi();
    let names = events::published_type_names(&state.published.contracts().schemas());
    if let Some(components) = document.components.as_mut() {
        components.schemas.insert(
            <events::EventTypeName as utoipa::ToSchema>::name().into_owned(),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "A published type (`orders.order_placed`) or context (`orders.*`)",
                ))
                .enum_values(Some(names))
                .into(),
        );
    }
    let mut document = serde_json::to_value(document).expect("the document serializes");
    state_rules_between_fields(&mut document);
    headers_are_never_null(&mut document);
    link_created_resources(&mut document);
    HttpResponse::Ok().json(document)
}

/// An optional header is absent or text, never null: the derive states an `Option` header
/// as `string | null`, which a client could only send as the text `null`.
fn headers_are_never_null(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    let parameters = operations
        .filter_map(|operation| operation.get_mut("parameters"))
        .filter_map(serde_json::Value::as_array_mut)
        .flat_map(|parameters| parameters.iter_mut())
        .filter(|parameter| parameter["in"] == "header");
    for parameter in parameters {
        let Some(schema) = parameter.get_mut("schema") else {
            continue;
        };
        let Some(types) = schema
            .get_mut("type")
            .and_then(serde_json::Value::as_array_mut)
        else {
            continue;
        };
        types.retain(|t| t != "null");
        if let [single] = types.as_slice() {
            schema["type"] = single.clone();
        }
    }
}

/// Where what an operation creates can be used next: OpenAPI links from the answer that
/// creates a resource to the operations on it, for clients and for stateful testing. Only
/// operations that staff (or the customer who created it) can call with the same credential.
fn link_created_resources(doc: &mut serde_json::Value) {
    use serde_json::json;
    const ID: &str = "$response.body#/id";
    let links: [(&str, &str, &str, &[&str]); 7] = [
        (
            "/v1/admin/orders",
            "post",
            "201",
            &[
                "cancel",
                "complete",
                "fulfill",
                "mark_paid",
                "create_refund",
                "erase_guest_order",
            ],
        ),
        (
            "/v1/admin/payments",
            "post",
            "201",
            &["get_payment", "capture", "void", "reconcile"],
        ),
        (
            "/v1/admin/products",
            "post",
            "201",
            &["get_admin_product", "publish", "unpublish"],
        ),
        (
            "/v1/admin/webhooks",
            "post",
            "201",
            &[
                "get_webhook",
                "update_webhook",
                "delete_webhook",
                "list_deliveries",
            ],
        ),
        (
            "/v1/admin/shipping-zones",
            "post",
            "201",
            &["get_zone", "update_zone", "delete_zone", "create_option"],
        ),
        (
            "/v1/admin/orders/{id}/refunds",
            "post",
            "202",
            &["get_refund"],
        ),
        ("/v1/me/addresses", "post", "201", &["delete_address"]),
    ];
    for (path, method, status, targets) in links {
        let response = &mut doc["paths"][path][method]["responses"][status];
        for target in targets {
            response["links"][*target] = json!({
                "operationId": target,
                "parameters": { "id": ID },
            });
        }
    }
    for target in ["get_promotion", "update_promotion", "deactivate_promotion"] {
        doc["paths"]["/v1/admin/promotions"]["post"]["responses"]["201"]["links"][target] = json!({
            "operationId": target,
            "parameters": { "code": "$response.body#/code" },
        });
    }
    doc["paths"]["/v1/admin/products"]["post"]["responses"]["201"]["links"]["change_price"] = json!({
        "operationId": "change_price",
        "parameters": { "id": ID, "sku": "$response.body#/variants/0/sku" },
    });
}

/// Rules between the fields of a request body, which no field's own schema can state and the
/// derive cannot express: written into the body's schema as JSON Schema.
fn state_rules_between_fields(doc: &mut serde_json::Value) {
    use serde_json::json;
    let schemas = &mut doc["components"]["schemas"];
    // Exactly one of `amount`, `lines` and `shipping`, or `lines` with `shipping` (a null one
    // counts as absent). The branches exclude each other, so `anyOf` says what `oneOf` would.
    schemas["CreateRefundRequest"]["anyOf"] = json!([
        {
            "required": ["amount"],
            "properties": {
                "amount": { "$ref": "#/components/schemas/MoneyDto" },
                "lines": { "type": "null" },
                "shipping": { "type": "null" }
            }
        },
        {
            "required": ["lines"],
            "properties": {
                "lines": { "type": "array" },
                "amount": { "type": "null" }
            }
        },
        {
            "required": ["shipping"],
            "properties": {
                "shipping": { "type": "object" },
                "amount": { "type": "null" },
                "lines": { "type": "null" }
            }
        }
    ]);
    // A shipping refund is all that is left (`full_refund: true`) or an amount, not both.
    schemas["ShippingRefundInput"]["anyOf"] = json!([
        {
            "required": ["full_refund"],
            "properties": {
                "full_refund": { "const": true },
                "amount": { "type": "null" }
            }
        },
        {
            "required": ["amount"],
            "properties": {
                "amount": { "$ref": "#/components/schemas/MoneyDto" },
                "full_refund": { "type": "null" }
            }
        }
    ]);
    schemas["AdjustStockRequest"]["properties"]["delta"]["not"] = json!({ "const": 0 });
    // A note goes with the reason `other`, and only with it (exclusive branches again).
    schemas["AdjustStockRequest"]["anyOf"] = json!([
        {
            "required": ["note"],
            "properties": {
                "reason": { "const": "other" },
                "note": { "type": "string" }
            }
        },
        {
            "properties": {
                "reason": { "enum": ["damaged", "lost", "found", "recount", "returned"] },
                "note": { "type": "null" }
            }
        }
    ]);
    // A change of a shipping zone or option changes something: at least one field, not null.
    for (schema, fields) in [
        (
            "UpdateShippingZoneRequest",
            [("name", "string"), ("countries", "array")],
        ),
        (
            "UpdateShippingOptionRequest",
            [("name", "string"), ("prices", "array")],
        ),
    ] {
        let branches: Vec<_> = fields
            .iter()
            .map(|(field, kind)| {
                json!({ "required": [field], "properties": { *field: { "type": kind } } })
            })
            .collect();
        schemas[schema]["anyOf"] = json!(branches);
    }
    // Each shape of a shipping price is closed: the server refuses a field it does not know.
    if let Some(variants) = schemas["ShippingPriceDto"]["oneOf"].as_array_mut() {
        for variant in variants {
            variant["additionalProperties"] = json!(false);
        }
    }
    // An offer gives the amount field of its type, and no other (exclusive branches; a null
    // field counts as absent).
    schemas["OfferDto"]["anyOf"] = json!([
        {
            "required": ["percent_off"],
            "properties": {
                "type": { "const": "percent_off" },
                "percent_off": { "type": "string" },
                "amount_off": { "type": "null" }
            }
        },
        {
            "required": ["amount_off"],
            "properties": {
                "type": { "const": "amount_off" },
                "amount_off": { "type": "array" },
                "percent_off": { "type": "null" }
            }
        },
        {
            "properties": {
                "type": { "const": "free_shipping" },
                "percent_off": { "type": "null" },
                "amount_off": { "type": "null" }
            }
        }
    ]);
    // SKUs go with `skus`, and only with it; each is a SKU as everywhere else.
    schemas["AppliesToDto"]["properties"]["skus"]["items"]["pattern"] =
        json!(r"^\s*[A-Za-z0-9._-]{1,64}\s*$");
    schemas["AppliesToDto"]["anyOf"] = json!([
        {
            "required": ["skus"],
            "properties": { "type": { "const": "skus" }, "skus": { "type": "array" } }
        },
        {
            "properties": { "type": { "const": "order" }, "skus": { "type": "null" } }
        }
    ]);
}

/// A page that renders the document with Redoc, loaded by the reader's browser.
#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // Redoc is served by this server (pinned, embedded); it renders with inline styles
        // and a worker. Nothing is loaded from another origin.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'",
        ))
        .body(DOCS_HTML)
}

/// Redoc's standalone bundle at a pinned version, from its npm package, unchanged
/// (`adapters/rest/assets/redoc/README.md` says where from; its license is beside it). The
/// version is in the path, so a browser may keep it for good.
#[get("/docs/redoc-2.5.4.standalone.js")]
pub async fn redoc_bundle() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(REDOC_BUNDLE)
}

const REDOC_BUNDLE: &[u8] = include_bytes!("../assets/redoc/redoc-2.5.4.standalone.js");

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Commerce API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<noscript>The machine-readable document is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<script src="/docs/redoc-2.5.4.standalone.js"></script>
</body>
</html>
"#;
