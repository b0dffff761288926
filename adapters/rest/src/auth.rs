//! Who may call what: the one authorization table (ADR 0023), the middleware that applies it
//! before any route runs, and the security it writes into the OpenAPI document.
//!
//! Every operation the API serves has exactly one row in [`ROUTES`]. An operation is open to
//! anyone, or needs an API key (`Authorization: Bearer ck_...`) holding a scope. A request
//! for an operation missing from the table is answered 404, as if the route did not exist, so
//! a route added without a row is unreachable rather than open; the authorization test fails
//! on it too. The check runs before the route, so a refusal never depends on, or reveals,
//! whether the resource asked for exists.

use std::sync::Arc;

use accounts::{ApiKey, Area, Scope};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use application::access_tokens::Held;

use crate::problem::Problem;
use crate::ApiState;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Anyone, without credentials: browsing the catalog, creating a cart, probes and the
    /// API's own description.
    Anyone,
    /// A staff tool or service whose API key holds this scope (or one that implies it).
    Key(Scope),
    /// Whoever holds the guest token of the resource (ADR 0024), the logged-in customer whose
    /// resource it is (ADR 0027), or, when a scope is named, a staff tool whose API key holds
    /// it.
    Holder(Holds, Option<Scope>),
    /// A logged-in customer, with a valid access token (ADR 0025).
    Customer,
    /// A logged-in customer who also holds the guest token of the path's resource: taking a
    /// guest cart over at login (ADR 0027).
    CustomerHolding(Holds),
}

/// Which guest token opens an operation, and how its resource is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// The cart the path's `{id}` names: its cart token, checked before the route runs.
    Cart,
    /// The cart of the checkout the path names: its cart token, checked by the route once
    /// it has read the checkout.
    CheckoutsCart,
    /// The order the path's `{id}` names: its order access token, checked before the route.
    Order,
    /// The order of the return the path names: checked by the route once it has read it.
    ReturnsOrder,
}

impl Holds {
    /// The request header the token travels in.
    pub fn header(self) -> &'static str {
        match self {
            Holds::Cart | Holds::CheckoutsCart => CART_TOKEN,
            Holds::Order | Holds::ReturnsOrder => ORDER_TOKEN,
        }
    }

    pub fn held(self) -> Held {
        match self {
            Holds::Cart | Holds::CheckoutsCart => Held::Cart,
            Holds::Order | Holds::ReturnsOrder => Held::Order,
        }
    }

    /// The resource the path names, as its not-found answer calls it.
    fn resource(self) -> &'static str {
        match self {
            Holds::Cart => "cart",
            Holds::CheckoutsCart => "checkout",
            Holds::Order => "order",
            Holds::ReturnsOrder => "return",
        }
    }

    /// Whether the path's `{id}` is the token's own resource (checked before the route).
    fn by_path(self) -> bool {
        matches!(self, Holds::Cart | Holds::Order)
    }
}

/// What every API key starts with.
const API_KEY_PREFIX: &str = application::api_keys::KEY_PREFIX;

/// The header a cart token travels in.
pub const CART_TOKEN: &str = "x-cart-token";
/// The header an order access token travels in.
pub const ORDER_TOKEN: &str = "x-order-token";

/// One operation: its method, its path as routed (and as the OpenAPI document names it), and
/// who may call it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub caller: Caller,
}

const fn open(method: &'static str, path: &'static str) -> Rule {
    Rule {
        method,
        path,
        caller: Caller::Anyone,
    }
}

const fn read(method: &'static str, path: &'static str, area: Area) -> Rule {
    Rule {
        method,
        path,
        caller: Caller::Key(Scope::Read(area)),
    }
}

const fn held(
    method: &'static str,
    path: &'static str,
    holds: Holds,
    staff: Option<Scope>,
) -> Rule {
    Rule {
        method,
        path,
        caller: Caller::Holder(holds, staff),
    }
}

const fn customer(method: &'static str, path: &'static str) -> Rule {
    Rule {
        method,
        path,
        caller: Caller::Customer,
    }
}

const fn customer_holding(method: &'static str, path: &'static str, holds: Holds) -> Rule {
    Rule {
        method,
        path,
        caller: Caller::CustomerHolding(holds),
    }
}

const fn write(method: &'static str, path: &'static str, area: Area) -> Rule {
    Rule {
        method,
        path,
        caller: Caller::Key(Scope::Write(area)),
    }
}

/// The authorization table: every operation, and who may call it.
pub const ROUTES: &[Rule] = &[
    // The API itself.
    open("GET", "/health/live"),
    open("GET", "/health/ready"),
    open("GET", "/openapi.json"),
    open("GET", "/docs"),
    open("GET", "/docs/redoc-2.5.4.standalone.js"),
    // The demo storefront's page, script and styles (ADR 0048).
    open("GET", "/demo"),
    open("GET", "/demo/demo.js"),
    open("GET", "/demo/demo.css"),
    // Prometheus scrapes with a bearer API key (ADR 0030).
    read("GET", "/metrics", Area::Operations),
    // Storefront.
    open("GET", "/v1/products"),
    open("GET", "/v1/products/{id}"),
    open("GET", "/v1/events/schemas"),
    // Customer accounts: anyone may register and log in; the rest is the customer's own.
    open("POST", "/v1/auth/register"),
    open("POST", "/v1/auth/login"),
    open("POST", "/v1/auth/refresh"),
    open("POST", "/v1/auth/logout"),
    customer("GET", "/v1/me"),
    customer("PATCH", "/v1/me"),
    customer("GET", "/v1/me/orders"),
    customer("GET", "/v1/me/cart"),
    customer("GET", "/v1/me/addresses"),
    customer("POST", "/v1/me/addresses"),
    customer("DELETE", "/v1/me/addresses/{id}"),
    // A cart, checkout and order: a guest's open to its token (creating a cart answers it;
    // the checkout completed answers the order's), a customer's to their access token.
    open("POST", "/v1/carts"),
    customer_holding("POST", "/v1/carts/{id}/customer", Holds::Cart),
    held("GET", "/v1/carts/{id}", Holds::Cart, None),
    held("POST", "/v1/carts/{id}/items", Holds::Cart, None),
    held("PATCH", "/v1/carts/{id}/items/{line_id}", Holds::Cart, None),
    held(
        "DELETE",
        "/v1/carts/{id}/items/{line_id}",
        Holds::Cart,
        None,
    ),
    held("POST", "/v1/carts/{id}/promotions", Holds::Cart, None),
    held("DELETE", "/v1/carts/{id}/promotions", Holds::Cart, None),
    held("PUT", "/v1/carts/{id}/shipping-address", Holds::Cart, None),
    held("GET", "/v1/carts/{id}/shipping-options", Holds::Cart, None),
    held("PUT", "/v1/carts/{id}/shipping-method", Holds::Cart, None),
    held("POST", "/v1/carts/{id}/checkout", Holds::Cart, None),
    held(
        "GET",
        "/v1/checkouts/{id}",
        Holds::CheckoutsCart,
        Some(Scope::Read(Area::Checkouts)),
    ),
    held(
        "GET",
        "/v1/orders/{id}",
        Holds::Order,
        Some(Scope::Read(Area::Orders)),
    ),
    held(
        "GET",
        "/v1/orders/{id}/invoice",
        Holds::Order,
        Some(Scope::Read(Area::Orders)),
    ),
    held(
        "GET",
        "/v1/orders/{id}/invoice/html",
        Holds::Order,
        Some(Scope::Read(Area::Orders)),
    ),
    held(
        "GET",
        "/v1/orders/{id}/credit-notes",
        Holds::Order,
        Some(Scope::Read(Area::Orders)),
    ),
    held(
        "GET",
        "/v1/orders/{id}/credit-notes/{refund_id}",
        Holds::Order,
        Some(Scope::Read(Area::Orders)),
    ),
    held(
        "GET",
        "/v1/orders/{id}/credit-notes/{refund_id}/html",
        Holds::Order,
        Some(Scope::Read(Area::Orders)),
    ),
    held(
        "POST",
        "/v1/orders/{id}/returns",
        Holds::Order,
        Some(Scope::Write(Area::Returns)),
    ),
    held(
        "GET",
        "/v1/returns/{id}",
        Holds::ReturnsOrder,
        Some(Scope::Read(Area::Returns)),
    ),
    // Catalog administration.
    write("POST", "/v1/admin/products", Area::Catalog),
    read("GET", "/v1/admin/products/{id}", Area::Catalog),
    write(
        "PUT",
        "/v1/admin/products/{id}/variants/{sku}/price",
        Area::Catalog,
    ),
    write(
        "PUT",
        "/v1/admin/products/{id}/variants/{sku}/weight",
        Area::Catalog,
    ),
    write("PUT", "/v1/admin/products/{id}/tax-class", Area::Catalog),
    write("POST", "/v1/admin/products/{id}/publish", Area::Catalog),
    write("POST", "/v1/admin/products/{id}/unpublish", Area::Catalog),
    // Inventory.
    read("GET", "/v1/admin/inventory/{sku}", Area::Inventory),
    write(
        "POST",
        "/v1/admin/inventory/{sku}/receipts",
        Area::Inventory,
    ),
    write(
        "POST",
        "/v1/admin/inventory/{sku}/adjustments",
        Area::Inventory,
    ),
    // Orders: searching them by email or customer is staff work, never the public's.
    read("GET", "/v1/orders", Area::Orders),
    read("GET", "/v1/admin/orders/by-number/{number}", Area::Orders),
    write("POST", "/v1/admin/orders", Area::Orders),
    write("POST", "/v1/admin/orders/{id}/fulfillments", Area::Orders),
    write("POST", "/v1/admin/orders/{id}/cancel", Area::Orders),
    write("POST", "/v1/admin/orders/{id}/mark-paid", Area::Orders),
    write("POST", "/v1/admin/orders/{id}/complete", Area::Orders),
    // Shoppers' personal data (ADR 0026): export and erasure need the customers scope.
    read("GET", "/v1/admin/customers/{id}/export", Area::Customers),
    write("POST", "/v1/admin/customers/{id}/erasure", Area::Customers),
    write("POST", "/v1/admin/orders/{id}/erasure", Area::Customers),
    // Payments.
    write("POST", "/v1/admin/payments", Area::Payments),
    read("GET", "/v1/admin/payments/{id}", Area::Payments),
    write("POST", "/v1/admin/payments/{id}/captures", Area::Payments),
    write("POST", "/v1/admin/payments/{id}/void", Area::Payments),
    write("POST", "/v1/admin/payments/{id}/reconcile", Area::Payments),
    // Checkouts that need staff, and why a checkout is where it is.
    read("GET", "/v1/admin/checkouts", Area::Checkouts),
    read("GET", "/v1/admin/checkouts/{id}/timeline", Area::Checkouts),
    // Refunds and returns.
    write("POST", "/v1/admin/orders/{id}/refunds", Area::Refunds),
    read("GET", "/v1/admin/refunds/{id}", Area::Refunds),
    write("POST", "/v1/admin/returns/{id}/approve", Area::Returns),
    write("POST", "/v1/admin/returns/{id}/reject", Area::Returns),
    write("POST", "/v1/admin/returns/{id}/receive", Area::Returns),
    // Promotion codes (ADR 0031).
    write("POST", "/v1/admin/promotions", Area::Promotions),
    read("GET", "/v1/admin/promotions", Area::Promotions),
    read("GET", "/v1/admin/promotions/{code}", Area::Promotions),
    write("PATCH", "/v1/admin/promotions/{code}", Area::Promotions),
    write("DELETE", "/v1/admin/promotions/{code}", Area::Promotions),
    // Events for internal services.
    read("GET", "/v1/admin/shipping-zones", Area::Shipping),
    write("POST", "/v1/admin/shipping-zones", Area::Shipping),
    read("GET", "/v1/admin/shipping-zones/{id}", Area::Shipping),
    write("PATCH", "/v1/admin/shipping-zones/{id}", Area::Shipping),
    write("DELETE", "/v1/admin/shipping-zones/{id}", Area::Shipping),
    write(
        "POST",
        "/v1/admin/shipping-zones/{id}/options",
        Area::Shipping,
    ),
    write(
        "PATCH",
        "/v1/admin/shipping-zones/{id}/options/{option_id}",
        Area::Shipping,
    ),
    write(
        "DELETE",
        "/v1/admin/shipping-zones/{id}/options/{option_id}",
        Area::Shipping,
    ),
    read("GET", "/v1/events", Area::Events),
    read("GET", "/v1/events/stream", Area::Events),
    // Webhooks.
    write("POST", "/v1/admin/webhooks", Area::Webhooks),
    read("GET", "/v1/admin/webhooks", Area::Webhooks),
    read("GET", "/v1/admin/webhooks/{id}", Area::Webhooks),
    write("PATCH", "/v1/admin/webhooks/{id}", Area::Webhooks),
    write("DELETE", "/v1/admin/webhooks/{id}", Area::Webhooks),
    read("GET", "/v1/admin/webhooks/{id}/deliveries", Area::Webhooks),
    write(
        "POST",
        "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        Area::Webhooks,
    ),
];

/// The row for an operation, if it has one.
pub fn rule(method: &str, path: &str) -> Option<&'static Rule> {
    ROUTES
        .iter()
        .find(|rule| rule.method.eq_ignore_ascii_case(method) && rule.path == path)
}

/// Who is calling, as the middleware established it; in the request's extensions for the
/// routes (idempotency keys are kept per caller).
#[derive(Debug, Clone)]
pub enum Principal {
    Anonymous,
    Key(Arc<ApiKey>),
    /// A guest holding the token of this resource (`cart:<id>`, `order:<id>`).
    Holder(String),
    /// A logged-in customer.
    Customer(shared_kernel::CustomerId),
}

impl Principal {
    /// A stable name of the caller for scoping what it stores (idempotency keys).
    pub fn scope_name(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".to_owned(),
            Principal::Key(key) => format!("api_key:{}", key.id),
            Principal::Holder(resource) => resource.clone(),
            Principal::Customer(id) => format!("customer:{id}"),
        }
    }
}

/// A guest token the route itself must check against the resource it reads
/// ([`Holds::CheckoutsCart`], [`Holds::ReturnsOrder`]).
#[derive(Debug, Clone)]
struct PresentedToken(String);

/// For routes whose rule is a holder that the route checks: passes staff through, a guest
/// whose token opens `owner` (the cart of the checkout, the order of the return), and the
/// customer whose `owner` it is; anyone else gets the same not-found answer as a resource
/// that does not exist.
pub async fn check_holder(
    request: &actix_web::HttpRequest,
    state: &ApiState,
    held: Held,
    owner: uuid::Uuid,
    resource: &'static str,
) -> Result<(), crate::problem::ApiError> {
    match principal(request) {
        Principal::Key(_) => return Ok(()),
        Principal::Customer(customer) => {
            return if owner_of(state, held, owner).await? == Some(customer) {
                Ok(())
            } else {
                Err(crate::problem::ApiError::NotFound { resource })
            };
        }
        _ => {}
    }
    let presented = request.extensions().get::<PresentedToken>().cloned();
    match presented {
        Some(PresentedToken(token)) if state.access_tokens.holds(held, owner, &token) => Ok(()),
        _ => Err(crate::problem::ApiError::NotFound { resource }),
    }
}

/// The caller of `request`, for routes; anonymous when the middleware did not run.
pub fn principal(request: &actix_web::HttpRequest) -> Principal {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or(Principal::Anonymous)
}

/// The bearer credential of a request, if it sent one.
fn bearer(request: &ServiceRequest) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, credential) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(credential.trim())
}

fn refusal(status: StatusCode, code: &str, detail: String, challenge: String) -> HttpResponse {
    let mut response = Problem::new(status, code, detail).to_response();
    if let Ok(value) = header::HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Applies [`ROUTES`] to every request before its route runs.
pub async fn authorize(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(pattern) = request.match_pattern() else {
        // No route has this path: routing answers 404.
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let refuse = |request: ServiceRequest, response: HttpResponse| {
        Ok(request.into_response(response).map_into_right_body())
    };
    let Some(rule) = rule(request.method().as_str(), &pattern) else {
        // The path is served, but not with this method: 405 naming those it is served with.
        let allowed: Vec<&str> = ROUTES
            .iter()
            .filter(|rule| rule.path == pattern)
            .map(|rule| rule.method)
            .collect();
        if allowed.is_empty() {
            let detail = format!("no route for {} {}", request.method(), request.path());
            return refuse(
                request,
                Problem::new(StatusCode::NOT_FOUND, "route_not_found", detail).to_response(),
            );
        }
        let allow = allowed.join(", ");
        let mut response = Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not served here; try {allow}", request.method()),
        )
        .to_response();
        if let Ok(value) = header::HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return refuse(request, response);
    };
    let api_key_presented = bearer(&request).is_some_and(|b| b.starts_with(API_KEY_PREFIX));
    let required = match rule.caller {
        Caller::Anyone | Caller::Customer => {
            // A customer's access token, if one is sent (an API key means nothing here).
            let access_token = bearer(&request)
                .filter(|_| !api_key_presented)
                .map(str::to_owned);
            let principal = match (access_token, rule.caller) {
                (None, Caller::Customer) => {
                    return refuse(
                        request,
                        refusal(
                            StatusCode::UNAUTHORIZED,
                            "unauthenticated",
                            "log in first: send the access token from /v1/auth/login as \
                             `Authorization: Bearer ...`"
                                .to_owned(),
                            "Bearer realm=\"commerce\"".to_owned(),
                        ),
                    )
                }
                (None, _) => Principal::Anonymous,
                (Some(token), _) => {
                    let Some(state) = request.app_data::<web::Data<ApiState>>().cloned() else {
                        return refuse(request, internal_error());
                    };
                    match state.customers.authenticate(&token).await {
                        Ok(id) => Principal::Customer(id),
                        Err(error) => return refuse(request, access_token_refused(&error)),
                    }
                }
            };
            request.extensions_mut().insert(principal);
            return Ok(next.call(request).await?.map_into_left_body());
        }
        Caller::Key(required) => required,
        // Staff present a key; guests their token.
        Caller::Holder(_, Some(required)) if api_key_presented => required,
        Caller::Holder(holds, _) => {
            let Some(state) = request.app_data::<web::Data<ApiState>>().cloned() else {
                return refuse(request, internal_error());
            };
            return match holder(&request, &state, holds).await {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    Ok(next.call(request).await?.map_into_left_body())
                }
                Err(response) => refuse(request, *response),
            };
        }
        Caller::CustomerHolding(holds) => {
            let Some(state) = request.app_data::<web::Data<ApiState>>().cloned() else {
                return refuse(request, internal_error());
            };
            return match logged_in_holder(&request, &state, holds).await {
                Ok(principal) => {
                    request.extensions_mut().insert(principal);
                    Ok(next.call(request).await?.map_into_left_body())
                }
                Err(response) => refuse(request, *response),
            };
        }
    };
    let Some(presented) = bearer(&request).map(str::to_owned) else {
        return refuse(
            request,
            refusal(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                format!(
                    "this operation needs an API key with the scope {required}: send it as \
                     `Authorization: Bearer ck_...` (create one with `commerce api-keys create`)"
                ),
                format!("Bearer realm=\"commerce\", scope=\"{required}\""),
            ),
        );
    };
    let Some(state) = request.app_data::<web::Data<ApiState>>().cloned() else {
        return refuse(request, internal_error());
    };
    let key = match application::api_keys::authenticate(state.api_keys.as_ref(), &presented).await {
        Ok(Some(key)) => key,
        Ok(None) => {
            return refuse(
                request,
                refusal(
                    StatusCode::UNAUTHORIZED,
                    "invalid_api_key",
                    "the API key is not valid: unknown, mistyped or revoked".to_owned(),
                    "Bearer realm=\"commerce\", error=\"invalid_token\"".to_owned(),
                ),
            )
        }
        Err(error) => {
            tracing::warn!(%error, "could not check an API key");
            return refuse(
                request,
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "credentials cannot be checked right now; retry later",
                )
                .to_response(),
            );
        }
    };
    if !key.grants.allows(required) {
        return refuse(
            request,
            refusal(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!(
                    "this API key ({}) lacks the scope {required} that this operation needs",
                    key.prefix
                ),
                format!(
                    "Bearer realm=\"commerce\", error=\"insufficient_scope\", scope=\"{required}\""
                ),
            ),
        );
    }
    request
        .extensions_mut()
        .insert(Principal::Key(Arc::new(key)));
    Ok(next.call(request).await?.map_into_left_body())
}

fn internal_error() -> HttpResponse {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "an unexpected error occurred",
    )
    .to_response()
}

/// The customer a request's access token names, if it sends one (an API key is not one);
/// a token that is not valid is refused.
async fn presented_customer(
    request: &ServiceRequest,
    state: &ApiState,
) -> Result<Option<shared_kernel::CustomerId>, Box<HttpResponse>> {
    let Some(token) = bearer(request).filter(|b| !b.starts_with(API_KEY_PREFIX)) else {
        return Ok(None);
    };
    state
        .customers
        .authenticate(token)
        .await
        .map(Some)
        .map_err(|error| Box::new(access_token_refused(&error)))
}

/// The answer to an access token that did not authenticate: 401, or 503 when what checks it
/// (the account store, an external issuer's keys) could not be reached.
fn access_token_refused(error: &application::customers::AuthError) -> HttpResponse {
    if let application::customers::AuthError::Unavailable(detail) = error {
        tracing::warn!(%detail, "an access token could not be checked");
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "the service is temporarily unavailable; retry later",
        )
        .to_response();
    }
    refusal(
        StatusCode::UNAUTHORIZED,
        "invalid_access_token",
        format!("{error}; refresh it or log in again"),
        "Bearer realm=\"commerce\", error=\"invalid_token\"".to_owned(),
    )
}

/// The customer whose cart or order `id` is, if any; read from its stream.
pub(crate) async fn owner_of(
    state: &ApiState,
    held: Held,
    id: uuid::Uuid,
) -> Result<Option<shared_kernel::CustomerId>, crate::problem::ApiError> {
    let id = id.to_string();
    Ok(match held {
        Held::Cart => state.carts.load(&id).await?.aggregate.customer_id(),
        Held::Order => state
            .orders
            .orders()
            .load(&id)
            .await?
            .aggregate
            .customer_id(),
    })
}

/// The path's `{id}` (`/v1/carts/{id}/...`, `/v1/orders/{id}/...`: the third segment), if it
/// is a UUID. One that is not names nothing; the route answers it (400) without reading.
fn path_resource(request: &ServiceRequest) -> Option<uuid::Uuid> {
    request
        .path()
        .split('/')
        .nth(3)
        .and_then(|segment| uuid::Uuid::parse_str(segment).ok())
}

/// A customer who sent no guest token: let through when the path's resource is theirs (or,
/// for a resource the route reads first, for the route to check); else the answer for a
/// resource that does not exist.
async fn owning_customer(
    request: &ServiceRequest,
    state: &ApiState,
    holds: Holds,
    customer: shared_kernel::CustomerId,
) -> Result<Principal, Box<HttpResponse>> {
    let not_found = || {
        Box::new(actix_web::ResponseError::error_response(
            &crate::problem::ApiError::NotFound {
                resource: holds.resource(),
            },
        ))
    };
    if !holds.by_path() {
        return Ok(Principal::Customer(customer));
    }
    let Some(id) = path_resource(request) else {
        return Ok(Principal::Customer(customer));
    };
    match owner_of(state, holds.held(), id).await {
        Ok(owner) if owner == Some(customer) => Ok(Principal::Customer(customer)),
        Ok(_) => Err(not_found()),
        Err(error) => Err(Box::new(actix_web::ResponseError::error_response(&error))),
    }
}

/// A logged-in customer who also holds the path's guest token ([`Caller::CustomerHolding`]).
async fn logged_in_holder(
    request: &ServiceRequest,
    state: &ApiState,
    holds: Holds,
) -> Result<Principal, Box<HttpResponse>> {
    let Some(customer) = presented_customer(request, state).await? else {
        return Err(Box::new(refusal(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first: send the access token from /v1/auth/login as \
             `Authorization: Bearer ...`"
                .to_owned(),
            "Bearer realm=\"commerce\"".to_owned(),
        )));
    };
    if presented_token(request, holds).is_none() {
        return Err(token_required(holds));
    }
    holder(request, state, holds).await?;
    Ok(Principal::Customer(customer))
}

fn presented_token(request: &ServiceRequest, holds: Holds) -> Option<String> {
    request
        .headers()
        .get(holds.header())
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

fn token_required(holds: Holds) -> Box<HttpResponse> {
    let header = holds.header();
    let what = match holds.held() {
        Held::Cart => "the cart token answered when the cart was created",
        Held::Order => "the order access token answered when its checkout completed",
    };
    Box::new(refusal(
        StatusCode::UNAUTHORIZED,
        "token_required",
        format!("this operation needs {what}, in the {header} header"),
        format!("Token realm=\"commerce\", header=\"{header}\""),
    ))
}

/// A guest's token for `holds`: checked here when the path names the token's own resource,
/// else left for the route to check against what it reads. Without a token, a customer's
/// access token opens what is theirs.
async fn holder(
    request: &ServiceRequest,
    state: &ApiState,
    holds: Holds,
) -> Result<Principal, Box<HttpResponse>> {
    let Some(token) = presented_token(request, holds) else {
        if let Some(customer) = presented_customer(request, state).await? {
            return owning_customer(request, state, holds, customer).await;
        }
        return Err(token_required(holds));
    };
    if !holds.by_path() {
        request.extensions_mut().insert(PresentedToken(token));
        return Ok(Principal::Anonymous);
    }
    let Some(id) = path_resource(request) else {
        return Ok(Principal::Anonymous);
    };
    if state.access_tokens.holds(holds.held(), id, &token) {
        Ok(Principal::Holder(format!("{}:{id}", holds.resource())))
    } else {
        // The same answer as for a resource that does not exist.
        Err(Box::new(actix_web::ResponseError::error_response(
            &crate::problem::ApiError::NotFound {
                resource: holds.resource(),
            },
        )))
    }
}

/// Writes the table into the OpenAPI document: the `api_key` bearer scheme, and on each
/// operation that needs a key, the scope it needs.
pub struct SecurityFromTable;

/// The name of the API key scheme in the OpenAPI document.
pub const API_KEY_SCHEME: &str = "api_key";
/// The name of the customer access token scheme in the OpenAPI document.
pub const CUSTOMER_SCHEME: &str = "customer";
/// The name of the cart token scheme in the OpenAPI document.
pub const CART_TOKEN_SCHEME: &str = "cart_token";
/// The name of the order access token scheme in the OpenAPI document.
pub const ORDER_TOKEN_SCHEME: &str = "order_token";

impl utoipa::Modify for SecurityFromTable {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityScheme;
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ck_...")
                    .description(Some(
                        "An API key from `commerce api-keys create`, holding the scope the \
                         operation names (`<area>:write` implies `<area>:read`; `*` holds all)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            CUSTOMER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A customer's access token from /v1/auth/login, /register or /refresh \
                         (15 minutes)",
                    ))
                    .build(),
            ),
        );
        for (name, header, description) in [
            (
                CART_TOKEN_SCHEME,
                CART_TOKEN,
                "The cart token answered when the cart was created (`cart_token`)",
            ),
            (
                ORDER_TOKEN_SCHEME,
                ORDER_TOKEN,
                "The order access token answered by the completed checkout \
                 (`order_access_token`)",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                    utoipa::openapi::security::ApiKeyValue::with_description(header, description),
                )),
            );
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("GET", item.get.as_mut()),
                ("POST", item.post.as_mut()),
                ("PUT", item.put.as_mut()),
                ("PATCH", item.patch.as_mut()),
                ("DELETE", item.delete.as_mut()),
            ];
            for (method, operation) in operations {
                let (Some(operation), Some(rule)) = (operation, rule(method, path)) else {
                    continue;
                };
                let (requirements, not_found) = match rule.caller {
                    // Stated as no requirement at all, so that open reads as a decision.
                    Caller::Anyone => {
                        operation.security = Some(Vec::new());
                        continue;
                    }
                    Caller::Customer => (
                        vec![SecurityRequirement::new(
                            CUSTOMER_SCHEME,
                            Vec::<String>::new(),
                        )],
                        false,
                    ),
                    Caller::Key(scope) => (
                        vec![SecurityRequirement::new(
                            API_KEY_SCHEME,
                            [scope.to_string()],
                        )],
                        false,
                    ),
                    Caller::Holder(holds, staff) => {
                        let scheme = match holds.held() {
                            Held::Cart => CART_TOKEN_SCHEME,
                            Held::Order => ORDER_TOKEN_SCHEME,
                        };
                        let mut requirements = vec![
                            SecurityRequirement::new(scheme, Vec::<String>::new()),
                            SecurityRequirement::new(CUSTOMER_SCHEME, Vec::<String>::new()),
                        ];
                        requirements.extend(staff.map(|scope| {
                            SecurityRequirement::new(API_KEY_SCHEME, [scope.to_string()])
                        }));
                        (requirements, true)
                    }
                    Caller::CustomerHolding(holds) => {
                        let scheme = match holds.held() {
                            Held::Cart => CART_TOKEN_SCHEME,
                            Held::Order => ORDER_TOKEN_SCHEME,
                        };
                        (
                            vec![
                                SecurityRequirement::new(CUSTOMER_SCHEME, Vec::<String>::new())
                                    .add(scheme, Vec::<String>::new()),
                            ],
                            true,
                        )
                    }
                };
                operation.security = Some(requirements);
                let problem = |description: &str| {
                    utoipa::openapi::ResponseBuilder::new()
                        .description(description)
                        .content(
                            "application/problem+json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                                .build(),
                        )
                        .build()
                };
                let responses = &mut operation.responses.responses;
                responses
                    .entry("401".to_owned())
                    .or_insert_with(|| problem("No credential, or not a valid one").into());
                if matches!(rule.caller, Caller::Key(_) | Caller::Holder(_, Some(_))) {
                    responses.entry("403".to_owned()).or_insert_with(|| {
                        problem("The API key lacks the scope this operation needs").into()
                    });
                }
                if not_found {
                    responses.entry("404".to_owned()).or_insert_with(|| {
                        problem("Nothing by that id, or a token that does not open it").into()
                    });
                }
            }
        }
    }
}
