//! Cart routes. Every answer carries the cart's version as its ETag; changes honour If-Match
//! and, without it, retry a bounded number of times on a concurrent write.

use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use application::access_tokens::Held;
use carts::CartCommand;
use shared_kernel::{CartId, Currency, LineId, PostalAddress};

use carts::Cart;
use runtime::Executed;

use crate::dto::{
    quantity, AddItemRequest, AddressDto, ApplyPromotionRequest, CartDto, ChangeQuantityRequest,
    ChooseShippingMethodRequest, CreateCartRequest, ShippingOptionsDto, ShippingQuoteDto,
};
use crate::http::{idempotent, if_match, json_body, metadata, path_id, respond, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const SHOPPER: &str = "shopper";

/// Create a cart in one currency: a guest's, or, with a customer's access token, that
/// customer's (its orders then list under `/v1/me/orders`). The answer carries the cart's
/// token (`cart_token`), which every later call on the cart and its checkout needs.
#[utoipa::path(
    post, path = "/v1/carts", tag = "carts",
    request_body = CreateCartRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe")),
    responses(
        (status = 201, body = CartDto, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/carts")]
pub async fn create_cart(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: CreateCartRequest = json_body(&request, &body)?;
        let currency = Currency::parse(&input.currency)
            .map_err(|e| ApiError::validation("currency", e.to_string()))?;
        // The customer is whoever is logged in, never what the body says (ADR 0025).
        let customer_id = match crate::auth::principal(&request) {
            crate::auth::Principal::Customer(id) => Some(id),
            _ => None,
        };
        let cart_id = CartId::new();
        let command = CartCommand::CreateCart {
            cart_id,
            currency,
            customer_id,
        };
        let executed = state
            .carts
            .execute(&cart_id.to_string(), command, Some(0), &metadata(SHOPPER))
            .await?;
        let mut dto = priced_cart(&state, &executed.state, executed.version).await?;
        dto.cart_token = Some(state.access_tokens.token(Held::Cart, cart_id.as_uuid()));
        Ok(Reply::created(dto, format!("/v1/carts/{cart_id}")).etag(executed.version))
    })
    .await
}

/// Get a cart with its lines and totals.
#[utoipa::path(
    get, path = "/v1/carts/{id}", tag = "carts",
    params(("id" = uuid::Uuid, Path, description = "Cart id")),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/carts/{id}")]
pub async fn get_cart(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = path_id(&id, "id")?;
            let loaded = state.carts.load(&id.to_string()).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound { resource: "cart" });
            }
            let dto = priced_cart(&state, &loaded.aggregate, loaded.version).await?;
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

/// Add a SKU; if it is already in the cart, its line's quantity grows.
#[utoipa::path(
    post, path = "/v1/carts/{id}/items", tag = "carts",
    request_body = AddItemRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Cart id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/carts/{id}/items")]
pub async fn add_item(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        let input: AddItemRequest = json_body(&request, &body)?;
        let command = CartCommand::AddItem {
            sku: input.sku,
            quantity: quantity(input.quantity),
        };
        cart_command(&state, &request, id, command).await
    })
    .await
}

/// Set a line's quantity (1 to 999).
#[utoipa::path(
    patch, path = "/v1/carts/{id}/items/{line_id}", tag = "carts",
    request_body = ChangeQuantityRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Cart id"),
        ("line_id" = uuid::Uuid, Path, description = "Line id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/carts/{id}/items/{line_id}")]
pub async fn change_quantity(
    state: web::Data<ApiState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let (raw_cart, raw_line) = path.into_inner();
        let id = path_id(&raw_cart, "id")?;
        let line_id = LineId::from_uuid(path_id(&raw_line, "line_id")?);
        let input: ChangeQuantityRequest = json_body(&request, &body)?;
        let command = CartCommand::ChangeItemQuantity {
            line_id,
            quantity: quantity(input.quantity),
        };
        cart_command(&state, &request, id, command).await
    })
    .await
}

/// Remove a line.
#[utoipa::path(
    delete, path = "/v1/carts/{id}/items/{line_id}", tag = "carts",
    params(
        ("id" = uuid::Uuid, Path, description = "Cart id"),
        ("line_id" = uuid::Uuid, Path, description = "Line id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/carts/{id}/items/{line_id}")]
pub async fn remove_item(
    state: web::Data<ApiState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let (raw_cart, raw_line) = path.into_inner();
        let id = path_id(&raw_cart, "id")?;
        let line_id = LineId::from_uuid(path_id(&raw_line, "line_id")?);
        cart_command(&state, &request, id, CartCommand::RemoveItem { line_id }).await
    })
    .await
}

async fn cart_command(
    state: &ApiState,
    request: &HttpRequest,
    id: uuid::Uuid,
    command: CartCommand,
) -> Result<Reply, ApiError> {
    let expected = if_match(request)?;
    let executed = state
        .carts
        .execute(&id.to_string(), command, expected, &metadata(SHOPPER))
        .await?;
    cart_reply(state, executed).await
}

/// The answer to a change of the cart: the cart as it now stands, priced, with its version
/// as the ETag.
async fn cart_reply(state: &ApiState, executed: Executed<Cart>) -> Result<Reply, ApiError> {
    let dto = priced_cart(state, &executed.state, executed.version).await?;
    Ok(Reply::ok(dto).etag(executed.version))
}

/// The cart as answered everywhere: priced now with its code, its shipping method and its
/// tax.
pub(crate) async fn priced_cart(
    state: &ApiState,
    cart: &Cart,
    version: u64,
) -> Result<CartDto, ApiError> {
    let priced = state
        .cart_totals
        .price(cart)
        .await?
        .ok_or(ApiError::NotFound { resource: "cart" })?;
    Ok(CartDto::priced(cart, version, &priced))
}

/// Set where the cart ships (the address object the checkout takes), replacing any address
/// it had. A shipping method not offered for the new address is dropped with the move; the
/// cart then shows `shipping_method: null` and the shopper chooses again.
#[utoipa::path(
    put, path = "/v1/carts/{id}/shipping-address", tag = "carts",
    request_body = AddressDto,
    params(
        ("id" = uuid::Uuid, Path, description = "Cart id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Not a deliverable address (validation_failed naming the field); nothing changed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The cart is not open (a checkout holds it, or it is checked out)"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/carts/{id}/shipping-address")]
pub async fn set_shipping_address(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?.to_string();
        let input: AddressDto = json_body(&request, &body)?;
        let address = PostalAddress::new(input.into())
            .map_err(|error| ApiError::validation(error.field, error.reason))?;
        let expected = if_match(&request)?;
        let executed = state
            .cart_shipping
            .set_address(&id, address, expected, &metadata(SHOPPER))
            .await?;
        cart_reply(&state, executed).await
    })
    .await
}

/// The shipping options offered to the cart where it ships, cheapest first, priced on its
/// currency, merchandise subtotal (before discounts) and total weight (`total_weight_grams`;
/// a line whose variant has no weight counts 0 g). Empty when no shipping zone serves the
/// cart's country.
#[utoipa::path(
    get, path = "/v1/carts/{id}/shipping-options", tag = "carts",
    params(("id" = uuid::Uuid, Path, description = "Cart id")),
    responses(
        (status = 200, body = ShippingOptionsDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "The cart has no shipping address yet (shipping_address_required)"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/carts/{id}/shipping-options")]
pub async fn shipping_options(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = path_id(&id, "id")?;
            let loaded = state.carts.load(&id.to_string()).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound { resource: "cart" });
            }
            let cart = &loaded.aggregate;
            let quotes = state.cart_shipping.quotes(cart).await?;
            let country = cart
                .shipping_address()
                .map(|address| address.country().to_owned())
                .unwrap_or_default();
            Ok(Reply::ok(ShippingOptionsDto {
                country,
                data: quotes.iter().map(ShippingQuoteDto::from).collect(),
            }))
        }
        .await,
    )
}

/// Choose how the cart ships: one of the options offered for its address. The cart then
/// shows the method and its price in `shipping_total` and `total`.
#[utoipa::path(
    put, path = "/v1/carts/{id}/shipping-method", tag = "carts",
    request_body = ChooseShippingMethodRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Cart id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`option_id` is not an id (validation_failed)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The cart is not open"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "shipping_address_required, or shipping_method_not_offered: the option is not offered for the cart's address; nothing changed"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/carts/{id}/shipping-method")]
pub async fn choose_shipping_method(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?.to_string();
        let input: ChooseShippingMethodRequest = json_body(&request, &body)?;
        let option_id = uuid::Uuid::parse_str(input.option_id.trim())
            .map_err(|_| ApiError::validation("option_id", "must be a shipping option id"))?;
        let expected = if_match(&request)?;
        let executed = state
            .cart_shipping
            .choose(&id, option_id, expected, &metadata(SHOPPER))
            .await?;
        cart_reply(&state, executed).await
    })
    .await
}

/// Apply a promotion code to the cart. The code must be usable on the cart as it is now
/// (live, within its dates, in the cart's currency, above its minimum, with a line it covers,
/// uses left); a cart holds one code, and a new one replaces it. The discount shows on the
/// cart at once; the code's use is taken when the checkout runs, so a code used up by other
/// shoppers meanwhile fails the checkout with `promotion_refused` and the cart unlocked.
#[utoipa::path(
    post, path = "/v1/carts/{id}/promotions", tag = "carts",
    request_body = ApplyPromotionRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Cart id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Not a promotion code (validation_failed on `code`)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The cart is not open (a checkout holds it, or it is checked out)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "The code cannot be used on this cart: promotion_code_unknown, promotion_inactive, promotion_not_started, promotion_expired, promotion_used_up, promotion_customer_limit_reached, promotion_sign_in_required, promotion_currency_not_supported, promotion_below_minimum_subtotal or promotion_no_eligible_items; nothing changed"),
    )
)]
#[post("/v1/carts/{id}/promotions")]
pub async fn apply_promotion(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?.to_string();
        let input: ApplyPromotionRequest = json_body(&request, &body)?;
        let executed = state
            .cart_promotions
            .apply(&id, &input.code, &metadata(SHOPPER))
            .await?;
        cart_reply(&state, executed).await
    })
    .await
}

/// Remove the cart's promotion code (nothing happens without one).
#[utoipa::path(
    delete, path = "/v1/carts/{id}/promotions", tag = "carts",
    params(("id" = uuid::Uuid, Path, description = "Cart id")),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The cart is not open"),
    )
)]
#[delete("/v1/carts/{id}/promotions")]
pub async fn remove_promotion(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?.to_string();
        let executed = state
            .cart_promotions
            .remove(&id, &metadata(SHOPPER))
            .await?;
        cart_reply(&state, executed).await
    })
    .await
}

/// Take a guest cart over at login (ADR 0027). The logged-in customer sends the guest cart's
/// token too. When they have an open cart, every line of the guest cart is added to it (a
/// SKU in both carts: quantities summed at that cart's price) and the guest cart is closed as
/// `merged`; otherwise the guest cart becomes theirs. Answers the customer's cart, which
/// their access token opens from now on. Safe to repeat.
#[utoipa::path(
    post, path = "/v1/carts/{id}/customer", tag = "carts",
    params(
        ("id" = uuid::Uuid, Path, description = "The guest cart's id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String), ("Content-Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "cart_owned_by_another_customer, not_allowed (checked out), merge_in_progress or concurrent_modification"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "The lines do not fit the customer's cart (quantity_out_of_range, too_many_lines, currency_mismatch); nothing changed"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/carts/{id}/customer")]
pub async fn take_over_cart(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = CartId::from_uuid(path_id(&id, "id")?);
        let crate::auth::Principal::Customer(customer) = crate::auth::principal(&request) else {
            // The authorization table lets only customers in.
            return Err(ApiError::Unavailable(
                "no customer on a customer route".to_owned(),
            ));
        };
        let executed = state
            .customer_carts
            .take_over(customer, id, &metadata(SHOPPER))
            .await?;
        let dto = priced_cart(&state, &executed.state, executed.version).await?;
        let location = format!("/v1/carts/{}", dto.id);
        Ok(Reply::ok(dto)
            .etag(executed.version)
            .header("content-location", location))
    })
    .await
}
