//! Checkout routes. Starting a checkout locks the cart and records the checkout in two
//! appends, then answers 202 at once: the saga runner does the rest asynchronously, and the
//! shopper polls `GET /v1/checkouts/{id}` until it is completed or failed (ADR 0013).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use carts::{CartCommand, CartError, CartStatus};
use checkout::{CheckoutCommand, CheckoutLine};
use chrono::Duration;
use shared_kernel::{CartId, CheckoutId, EmailAddress, PostalAddress};

use crate::dto::{CheckoutDto, StartCheckoutRequest};
use crate::http::{
    id_for_request, idempotency_key, idempotent, json_body, metadata, path_id, respond, Reply,
};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const SHOPPER: &str = "shopper";

/// A cart lock whose checkout was never recorded (the process died between the two appends)
/// is taken over after this long.
const ORPHANED_LOCK_GRACE: Duration = Duration::minutes(10);

/// A request that took longer than this between locking the cart and recording its checkout
/// gives up and unlocks instead: together with the far longer grace above, a stalled request
/// can never record a checkout for a lock someone else has taken over.
const LOCK_TO_START_LIMIT: Duration = Duration::seconds(30);

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
        let meta = metadata(SHOPPER);

        let cart_key = cart_id.to_string();
        let loaded = state.carts.load(&cart_key).await?;
        if loaded.version == 0 {
            return Err(ApiError::NotFound { resource: "cart" });
        }
        if let (Some(CartStatus::CheckingOut), Some(running)) = (
            loaded.aggregate.status(),
            loaded.aggregate.checkout_in_progress(),
        ) {
            release_orphaned_lock(&state, &loaded.aggregate, running, &meta).await?;
        }
        let checkout_id = CheckoutId::from_uuid(id_for_request(&request, "checkout", &cart_key));
        // The token waits outside the event stream until the payment is authorized (ADR 0016).
        // Kept before the cart is locked and the checkout recorded, so a recorded checkout always
        // finds it and a failure here leaves nothing to undo.
        state
            .payment_tokens
            .keep(
                checkout::payment_id(checkout_id),
                input.payment_method_token.trim(),
            )
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        let now = state.clock.now();
        let locked = state
            .carts
            .execute(
                &cart_key,
                CartCommand::BeginCheckout {
                    checkout_id: checkout_id.as_uuid(),
                    at: now,
                },
                None,
                &meta,
            )
            .await?;
        let cart = locked.state;
        let currency = cart
            .currency()
            .ok_or(ApiError::NotFound { resource: "cart" })?;
        let lines = cart
            .lines()
            .iter()
            .map(|line| {
                Ok(CheckoutLine {
                    sku: shared_kernel::Sku::parse(line.sku())
                        .map_err(|e| ApiError::Unavailable(e.to_string()))?,
                    product_id: line.product_id(),
                    title: line.title().to_owned(),
                    quantity: line.quantity(),
                    unit_price: line.unit_price(),
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let command = CheckoutCommand::StartCheckout {
            checkout_id,
            cart_id,
            customer_id: cart.customer_id(),
            email,
            shipping,
            currency,
            lines,
            started_at: now,
        };
        let unlock = CartCommand::ReleaseCheckout {
            checkout_id: checkout_id.as_uuid(),
        };
        if state.clock.now() - now > LOCK_TO_START_LIMIT {
            state.carts.execute(&cart_key, unlock, None, &meta).await?;
            return Err(ApiError::Unavailable(
                "the checkout took too long to start; nothing was charged".to_owned(),
            ));
        }
        let started = match state
            .checkouts
            .execute(&checkout_id.to_string(), command, None, &meta)
            .await
        {
            Ok(started) => started,
            Err(error) => {
                // A checkout that was refused must not leave the cart locked.
                if matches!(error, runtime::CommandError::Rejected(_)) {
                    state.carts.execute(&cart_key, unlock, None, &meta).await?;
                }
                return Err(error.into());
            }
        };
        (state.checkout_started)(checkout_id);
        let dto = CheckoutDto::from_checkout(&started.state, started.version);
        Ok(Reply::accepted(dto, format!("/v1/checkouts/{checkout_id}")))
    })
    .await
}

/// A cart stays locked by a checkout that is running. A lock whose checkout was never
/// recorded is released once it is old enough; anything else is a 409.
async fn release_orphaned_lock(
    state: &ApiState,
    cart: &carts::Cart,
    running: uuid::Uuid,
    meta: &runtime::CommandMetadata,
) -> Result<(), ApiError> {
    let recorded = state.checkouts.load(&running.to_string()).await?;
    let locked_at = cart.checkout_began_at();
    let orphaned = recorded.version == 0
        && locked_at.is_some_and(|at| state.clock.now() - at > ORPHANED_LOCK_GRACE);
    if !orphaned {
        return Err(ApiError::Cart(CartError::CheckoutInProgress {
            checkout_id: running,
        }));
    }
    let cart_id = cart.id().map(|id| id.to_string()).unwrap_or_default();
    tracing::warn!(%cart_id, checkout = %running, "releasing a cart lock whose checkout was never recorded");
    state
        .carts
        .execute(
            &cart_id,
            CartCommand::ReleaseCheckout {
                checkout_id: running,
            },
            None,
            meta,
        )
        .await?;
    Ok(())
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
