//! Checkout routes. Starting a checkout (the application's `CheckoutStarter`: lock the cart,
//! record the checkout) answers 202 at once: the saga runner does the rest asynchronously, and
//! the shopper polls `GET /v1/checkouts/{id}` until it is completed or failed (ADR 0013).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use application::checkout_start::{StartCheckout, StartCheckoutError};
use shared_kernel::{CartId, CheckoutId, EmailAddress, PostalAddress};

use crate::dto::{CheckoutDto, StartCheckoutRequest};
use crate::http::{
    id_for_request, idempotency_key, idempotent, json_body, metadata, path_id, respond, Reply,
};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const SHOPPER: &str = "shopper";

/// Check out a cart: reserve stock, authorize payment, place the order (asynchronously).
#[utoipa::path(
    post, path = "/v1/carts/{id}/checkout", tag = "checkout",
    request_body = StartCheckoutRequest,
    params(
        ("id" = String, Path, description = "Cart id"),
        ("Idempotency-Key" = String, Header, description = "Required: makes a double submit harmless"),
    ),
    responses(
        (status = 202, body = CheckoutDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
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
    idempotent(&state, &request, &body, || async {
        let cart_id = CartId::from_uuid(path_id(&id, "id")?);
        let input: StartCheckoutRequest = json_body(&request, &body)?;
        let email = EmailAddress::parse(&input.email).map_err(ApiError::from)?;
        let shipping = PostalAddress::new(input.shipping_address.into()).map_err(ApiError::from)?;
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
                StartCheckoutError::Unavailable(error) => ApiError::Unavailable(error),
            })?;
        (state.checkout_started)(checkout_id);
        let dto = CheckoutDto::from_checkout(&started.state, started.version);
        Ok(Reply::accepted(dto, format!("/v1/checkouts/{checkout_id}")))
    })
    .await
}

/// Follow a checkout: `pending`, `completed` (with the order id) or `failed` (with a reason).
#[utoipa::path(
    get, path = "/v1/checkouts/{id}", tag = "checkout",
    params(("id" = String, Path, description = "Checkout id")),
    responses(
        (status = 200, body = CheckoutDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/checkouts/{id}")]
pub async fn get_checkout(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = path_id(&id, "id")?;
            let loaded = state.checkouts.load(&id.to_string()).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound {
                    resource: "checkout",
                });
            }
            let dto = CheckoutDto::from_checkout(&loaded.aggregate, loaded.version);
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}
