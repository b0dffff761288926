//! Checkout routes. Starting a checkout (the application's `CheckoutStarter`: lock the cart,
//! record the checkout) answers 202 at once: the saga runner does the rest asynchronously, and
//! the shopper follows `GET /v1/checkouts/{id}` until it is completed or failed (ADR 0013),
//! long-polling it with `wait` rather than asking again and again.

use tokio::time::Instant;

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use application::access_tokens::Held;
use application::checkout_start::{StartCheckout, StartCheckoutError};
use checkout::CheckoutStatus;
use shared_kernel::{CartId, CheckoutId, EmailAddress, PostalAddress};

use crate::dto::{CheckoutDto, StartCheckoutRequest};
use crate::http::{
    id_for_request, idempotency_key, idempotent, json_body, metadata, path_id, respond, Reply,
};
use crate::long_poll;
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const SHOPPER: &str = "shopper";

/// Check out a cart: reserve stock, authorize payment, place the order (asynchronously).
/// The checkout ships to the cart's shipping address when it has one (the request may leave
/// `shipping_address` out) and charges the cart's shipping method, quoted again now:
/// `total = subtotal - discount + shipping`.
#[utoipa::path(
    post, path = "/v1/carts/{id}/checkout", tag = "checkout",
    request_body = StartCheckoutRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Cart id"),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "Required: makes a double submit harmless"),
    ),
    responses(
        (status = 202, body = CheckoutDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "The checkout cannot start as asked, nothing changed: among others shipping_address_mismatch (the request names another address than the cart's), shipping_address_required, shipping_method_not_offered (the cart's method is no longer offered where it ships), tax_rate_missing or tax_currency_not_configured (the shop cannot tax the cart where it ships)"),
        (status = 429, body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String))),
    )
)]
#[post("/v1/carts/{id}/checkout")]
pub async fn start_checkout(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    match idempotency_key(request.headers()) {
        Ok(Some(_)) => {}
        Ok(None) => return respond(Err(ApiError::IdempotencyKeyRequired)),
        Err(error) => return respond(Err(error)),
    }
    if let Err(limited) = within_rate(&state, &request) {
        return respond(Err(limited));
    }
    idempotent(&state, &request, &body, || async {
        let cart_id = CartId::from_uuid(path_id(&id, "id")?);
        let input: StartCheckoutRequest = json_body(&request, &body)?;
        let email = EmailAddress::parse(&input.email).map_err(ApiError::from)?;
        let shipping = input
            .shipping_address
            .map(|address| PostalAddress::new(address.into()))
            .transpose()
            .map_err(ApiError::from)?;
        if input.payment_method_token.trim().is_empty() {
            return Err(ApiError::validation(
                "payment_method_token",
                "must not be empty",
            ));
        }
        let checkout_id =
            CheckoutId::from_uuid(id_for_request(&request, "checkout", &cart_id.to_string()));
        let started = state
            .checkout_starter
            .start(
                StartCheckout {
                    cart_id,
                    checkout_id,
                    email,
                    shipping,
                    payment_method_token: input.payment_method_token,
                },
                &metadata(SHOPPER),
            )
            .await
            .map_err(|error| match error {
                StartCheckoutError::CartNotFound => ApiError::NotFound { resource: "cart" },
                StartCheckoutError::Cart(error) => ApiError::Cart(error),
                StartCheckoutError::Checkout(error) => error.into(),
                StartCheckoutError::TooSlow => ApiError::Unavailable(error.to_string()),
                StartCheckoutError::Promotion(refusal) => ApiError::PromotionRefused(refusal),
                StartCheckoutError::ShippingAddressMismatch => ApiError::ShippingAddressMismatch,
                StartCheckoutError::ShippingAddressRequired => {
                    ApiError::Cart(carts::CartError::ShippingAddressRequired)
                }
                StartCheckoutError::ShippingMethodNotOffered { option_id, country } => {
                    ApiError::ShippingMethodNotOffered {
                        option_id: option_id.to_string(),
                        country,
                    }
                }
                StartCheckoutError::TaxUnavailable { code, message } => {
                    ApiError::TaxUnavailable { code, message }
                }
                StartCheckoutError::Unavailable(error) => ApiError::Unavailable(error),
            })?;
        (state.checkout_started)(checkout_id);
        let dto = CheckoutDto::from_checkout(&started.state, started.version);
        Ok(Reply::accepted(dto, format!("/v1/checkouts/{checkout_id}")))
    })
    .await
}

/// Refuses a checkout start beyond the client address's rate, before anything is claimed or
/// changed, saying when to retry.
fn within_rate(state: &ApiState, request: &HttpRequest) -> Result<(), ApiError> {
    let (Some(limiter), Some(peer)) = (&state.checkout_limiter, request.peer_addr()) else {
        return Ok(());
    };
    limiter.check_key(&peer.ip()).map_err(|not_until| {
        use governor::clock::Clock;
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        ApiError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        }
    })
}

/// How long a shopper may wait for its checkout to settle.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckoutWaitParams {
    /// Seconds to wait, 0 to 30 (default 0), while the checkout is still `pending`: the answer
    /// comes as soon as it is completed or failed, or when the time is up (still `pending`;
    /// ask again).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 30)]
    pub wait: Option<String>,
}

/// Follow a checkout: `pending`, `completed` (with the order id) or `failed` (with a reason).
/// With `wait`, a pending checkout is long-polled: one request instead of many.
#[utoipa::path(
    get, path = "/v1/checkouts/{id}", tag = "checkout",
    params(("id" = uuid::Uuid, Path, description = "Checkout id"), CheckoutWaitParams),
    responses(
        (status = 200, body = CheckoutDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/checkouts/{id}")]
pub async fn get_checkout(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    params: web::Query<CheckoutWaitParams>,
) -> HttpResponse {
    respond(
        async {
            let id = path_id(&id, "id")?;
            let (wait, until) = long_poll::deadline(params.wait.as_deref(), state.long_poll_max)?;
            let key = id.to_string();
            // Watch before the first read, so that an append during any read still wakes us.
            let watching = (wait > 0).then(|| state.checkout_appends.watch(&key));
            let mut closing = state.streams_closing.clone();
            let mut holder_checked = false;
            // Whether the store must be read: at first, after each recheck, when another
            // instance appended (ADR 0041), and when an append in this process settled the
            // checkout. An append here that leaves it pending needs no read: the state it
            // left is in memory (ADR 0042).
            let mut read_store = true;
            let loaded = loop {
                let changed = watching.as_ref().map(runtime::Watching::changed);
                let mut changed = std::pin::pin!(changed);
                if let Some(changed) = changed.as_mut().as_pin_mut() {
                    changed.enable();
                }
                if !read_store
                    && !watching
                        .as_ref()
                        .is_some_and(runtime::Watching::appended_elsewhere)
                {
                    let pending = state.checkouts.cached(&key).is_some_and(|cached| {
                        !matches!(
                            cached.aggregate.status(),
                            Some(CheckoutStatus::Completed | CheckoutStatus::Failed)
                        )
                    });
                    let now = Instant::now();
                    if pending && now < until && !*closing.borrow() {
                        if let Some(changed) = changed.as_mut().as_pin_mut() {
                            read_store =
                                long_poll::wait_for_change(changed, &mut closing, until).await;
                            continue;
                        }
                    }
                }
                let loaded = state.checkouts.load(&key).await?;
                let Some(cart_id) = loaded.aggregate.cart_id().filter(|_| loaded.version > 0)
                else {
                    return Err(ApiError::NotFound {
                        resource: "checkout",
                    });
                };
                if !holder_checked {
                    // Only the cart's holder (or staff) may follow its checkout.
                    crate::auth::check_holder(
                        &request,
                        &state,
                        Held::Cart,
                        cart_id.as_uuid(),
                        "checkout",
                    )
                    .await?;
                    holder_checked = true;
                }
                let settled = matches!(
                    loaded.aggregate.status(),
                    Some(CheckoutStatus::Completed | CheckoutStatus::Failed)
                );
                let now = Instant::now();
                if settled || now >= until || *closing.borrow() {
                    break loaded;
                }
                // Time is left only when a wait was asked, and so a watch made.
                let Some(changed) = changed.as_mut().as_pin_mut() else {
                    break loaded;
                };
                read_store = long_poll::wait_for_change(changed, &mut closing, until).await;
            };
            let mut dto = CheckoutDto::from_checkout(&loaded.aggregate, loaded.version);
            dto.order_access_token = dto
                .order_id
                .as_deref()
                .and_then(|id| uuid::Uuid::parse_str(id).ok())
                .map(|order| state.access_tokens.token(Held::Order, order));
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

/// Which checkouts to list (admin).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckoutListParams {
    /// Required: `needs_attention` (checkouts whose order is placed but a later step was
    /// refused for good). Other statuses are followed per checkout.
    #[param(required = true, pattern = "^needs_attention$")]
    pub status: Option<String>,
    /// 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The id of the last checkout of the previous page.
    #[param(value_type = Option<uuid::Uuid>)]
    pub starting_after: Option<String>,
}

/// A checkout that needs staff, as the admins' list shows it.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CheckoutAttentionDto {
    pub checkout_id: String,
    pub order_id: String,
    pub payment_id: String,
    /// The step refused: `capture_payment`, `mark_order_paid`, `commit_stock:<sku>` or
    /// `check_out_cart`.
    pub step: String,
    pub reason: String,
    /// RFC 3339, when it was refused.
    pub since: Option<String>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CheckoutAttentionList {
    pub data: Vec<CheckoutAttentionDto>,
    pub has_more: bool,
}

/// List checkouts that need staff (admin): `?status=needs_attention`, oldest first.
#[utoipa::path(
    get, path = "/v1/admin/checkouts", tag = "checkout",
    params(CheckoutListParams),
    responses(
        (status = 200, body = CheckoutAttentionList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/checkouts")]
pub async fn list_checkouts(
    state: web::Data<ApiState>,
    params: web::Query<CheckoutListParams>,
) -> HttpResponse {
    respond(
        async {
            if params.status.as_deref() != Some("needs_attention") {
                return Err(ApiError::validation(
                    "status",
                    "must be needs_attention (follow other checkouts by id)",
                ));
            }
            let page = crate::http::ListParams {
                limit: params.limit.clone(),
                starting_after: params.starting_after.clone(),
            }
            .page()?;
            let mut entries = state
                .read_models
                .list(
                    runtime::ListQuery::new(
                        application::CHECKOUTS_NEEDING_ATTENTION_VIEW,
                        page.limit + 1,
                    )
                    .starting_after(page.starting_after.as_deref()),
                )
                .await?;
            let has_more = entries.len() > page.limit;
            entries.truncate(page.limit);
            let data = entries
                .into_iter()
                .map(|(_, body)| {
                    serde_json::from_value::<CheckoutAttentionDto>(body)
                        .map_err(|e| ApiError::Unavailable(format!("unreadable checkout: {e}")))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(Reply::ok(CheckoutAttentionList { data, has_more }))
        }
        .await,
    )
}
