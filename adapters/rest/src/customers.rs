//! Customer accounts over HTTP (ADR 0025): register, log in, refresh, log out, and the
//! customer's own profile and orders. Tokens are never stored in idempotency records: these
//! routes take no Idempotency-Key (a repeated login is another login; a repeated refresh
//! spends a token already spent, which ends its family, as a stolen one would).

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use application::customers::Session;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::dto::{AddressDto, CartDto, OrderList};
use crate::http::{json_body, respond, ListParams, Reply};
use crate::orders::OrderListParams;
use crate::problem::{ApiError, Problem};
use crate::ApiState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(format = Email)]
    pub email: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(format = Email)]
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: String,
    pub email: String,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&accounts::Customer> for CustomerDto {
    fn from(customer: &accounts::Customer) -> Self {
        Self {
            id: customer.id.to_string(),
            email: customer.email.clone(),
            name: customer.name.clone(),
            created_at: customer.created_at.to_rfc3339(),
        }
    }
}

/// A login: send `access_token` as `Authorization: Bearer ...` until it expires, then
/// exchange `refresh_token` (once) for a new pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    pub customer: CustomerDto,
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token is good for.
    pub expires_in: i64,
    pub refresh_token: String,
}

impl From<&Session> for SessionDto {
    fn from(session: &Session) -> Self {
        Self {
            customer: CustomerDto::from(&session.customer),
            access_token: session.access_token.clone(),
            token_type: "Bearer".to_owned(),
            expires_in: session.expires_in.num_seconds(),
            refresh_token: session.refresh_token.clone(),
        }
    }
}

/// Refuses a registration or login beyond the client address's rate.
fn within_rate(state: &ApiState, request: &HttpRequest) -> Result<(), ApiError> {
    let (Some(limiter), Some(peer)) = (&state.auth_limiter, request.peer_addr()) else {
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

/// Open a customer account; the answer logs it in.
#[utoipa::path(
    post, path = "/v1/auth/register", tag = "customers",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = SessionDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "email_taken"),
        (status = 429, body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String))),
    )
)]
#[post("/v1/auth/register")]
pub async fn register(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    respond(
        async {
            within_rate(&state, &request)?;
            let input: RegisterRequest = json_body(&request, &body)?;
            let session = state
                .customers
                .register(&input.email, &input.password, &input.name)
                .await?;
            Ok(Reply::created(
                SessionDto::from(&session),
                "/v1/me".to_owned(),
            ))
        }
        .await,
    )
}

/// Log in with email and password. A wrong email and a wrong password get the same answer.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "customers",
    request_body = LoginRequest,
    responses(
        (status = 200, body = SessionDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "invalid_credentials"),
        (status = 429, body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String))),
    )
)]
#[post("/v1/auth/login")]
pub async fn login(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    respond(
        async {
            within_rate(&state, &request)?;
            let input: LoginRequest = json_body(&request, &body)?;
            let session = state.customers.login(&input.email, &input.password).await?;
            Ok(Reply::ok(SessionDto::from(&session)))
        }
        .await,
    )
}

/// Exchange a refresh token, once, for a new pair. Presenting one that was already
/// exchanged ends every session of its login (`refresh_token_reused`).
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "customers",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = SessionDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "invalid_refresh_token or refresh_token_reused"),
    )
)]
#[post("/v1/auth/refresh")]
pub async fn refresh(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    respond(
        async {
            let input: RefreshRequest = json_body(&request, &body)?;
            let session = state.customers.refresh(&input.refresh_token).await?;
            Ok(Reply::ok(SessionDto::from(&session)))
        }
        .await,
    )
}

/// Log out: every session of the refresh token's login ends (access tokens expire within
/// 15 minutes).
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "customers",
    request_body = RefreshRequest,
    responses(
        (status = 204),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/logout")]
pub async fn logout(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let input: RefreshRequest = json_body(&request, &body)?;
        state.customers.logout(&input.refresh_token).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(error) => actix_web::ResponseError::error_response(&error),
    }
}

fn caller(request: &HttpRequest) -> Result<shared_kernel::CustomerId, ApiError> {
    match crate::auth::principal(request) {
        Principal::Customer(id) => Ok(id),
        // The authorization table lets only customers in.
        _ => Err(ApiError::Unavailable(
            "no customer on a customer route".to_owned(),
        )),
    }
}

/// The logged-in customer's profile.
#[utoipa::path(
    get, path = "/v1/me", tag = "customers",
    responses(
        (status = 200, body = CustomerDto),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "customer_not_found: the account was deleted"),
    )
)]
#[get("/v1/me")]
pub async fn me(state: web::Data<ApiState>, request: HttpRequest) -> HttpResponse {
    respond(
        async {
            let id = caller(&request)?;
            let customer = state
                .customers
                .customer(id)
                .await?
                .ok_or(ApiError::NotFound {
                    resource: "customer",
                })?;
            Ok(Reply::ok(CustomerDto::from(&customer)))
        }
        .await,
    )
}

/// The logged-in customer's orders, newest first: those checked out from carts they created
/// while logged in.
#[utoipa::path(
    get, path = "/v1/me/orders", tag = "customers",
    params(ListParams),
    responses(
        (status = 200, body = OrderList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/orders")]
pub async fn my_orders(
    state: web::Data<ApiState>,
    request: HttpRequest,
    params: web::Query<ListParams>,
) -> HttpResponse {
    respond(
        async {
            let id = caller(&request)?;
            let params = OrderListParams {
                customer_id: Some(id.to_string()),
                email: None,
                limit: params.limit.clone(),
                starting_after: params.starting_after.clone(),
            };
            crate::orders::list(&state, &params).await
        }
        .await,
    )
}

/// A change to the logged-in customer's profile.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    /// The name the customer goes by, as one field (names do not all split into first and
    /// last). At most 200 characters, none of them a control character.
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: String,
}

/// Change the logged-in customer's profile.
#[utoipa::path(
    patch, path = "/v1/me", tag = "customers",
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, body = CustomerDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "customer_not_found: the account was deleted"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/me")]
pub async fn update_me(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    respond(
        async {
            let id = caller(&request)?;
            let input: UpdateProfileRequest = json_body(&request, &body)?;
            let customer = state.profiles.rename(id, &input.name).await?;
            Ok(Reply::ok(CustomerDto::from(&customer)))
        }
        .await,
    )
}

/// The logged-in customer's open cart: their newest cart that is neither checked out nor
/// merged. Their access token opens it (no cart token needed).
#[utoipa::path(
    get, path = "/v1/me/cart", tag = "customers",
    responses(
        (status = 200, body = CartDto, headers(("ETag" = String), ("Content-Location" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "cart_not_found: no open cart"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/cart")]
pub async fn my_cart(state: web::Data<ApiState>, request: HttpRequest) -> HttpResponse {
    respond(
        async {
            let id = caller(&request)?;
            let loaded = state
                .customer_carts
                .current(id)
                .await?
                .ok_or(ApiError::NotFound { resource: "cart" })?;
            let dto = crate::carts::priced_cart(&state, &loaded.aggregate, loaded.version).await?;
            let location = format!("/v1/carts/{}", dto.id);
            Ok(Reply::ok(dto)
                .etag(loaded.version)
                .header("content-location", location))
        }
        .await,
    )
}

/// An address in the customer's address book.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedAddressDto {
    pub id: String,
    pub address: AddressDto,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&accounts::SavedAddress> for SavedAddressDto {
    fn from(saved: &accounts::SavedAddress) -> Self {
        Self {
            id: saved.id.to_string(),
            address: AddressDto::from(saved.address.data()),
            created_at: saved.created_at.to_rfc3339(),
        }
    }
}

/// The customer's address book, oldest first (at most 20).
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedAddressList {
    pub data: Vec<SavedAddressDto>,
    /// Always false: the whole book fits in one page.
    pub has_more: bool,
}

/// The logged-in customer's saved addresses.
#[utoipa::path(
    get, path = "/v1/me/addresses", tag = "customers",
    responses(
        (status = 200, body = SavedAddressList),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/addresses")]
pub async fn my_addresses(state: web::Data<ApiState>, request: HttpRequest) -> HttpResponse {
    respond(
        async {
            let id = caller(&request)?;
            let addresses = state.profiles.addresses(id).await?;
            Ok(Reply::ok(SavedAddressList {
                data: addresses.iter().map(SavedAddressDto::from).collect(),
                has_more: false,
            }))
        }
        .await,
    )
}

/// Save an address in the logged-in customer's address book (at most 20). It is checked as
/// a shipping address is.
#[utoipa::path(
    post, path = "/v1/me/addresses", tag = "customers",
    request_body = AddressDto,
    responses(
        (status = 201, body = SavedAddressDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "customer_not_found: the account was deleted"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "address_book_full"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/addresses")]
pub async fn add_address(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    respond(
        async {
            let id = caller(&request)?;
            let input: AddressDto = json_body(&request, &body)?;
            let saved = state.profiles.save_address(id, input.into()).await?;
            let location = format!("/v1/me/addresses/{}", saved.id);
            Ok(Reply::created(SavedAddressDto::from(&saved), location))
        }
        .await,
    )
}

/// Delete an address from the logged-in customer's address book.
#[utoipa::path(
    delete, path = "/v1/me/addresses/{id}", tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Address id")),
    responses(
        (status = 204),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "address_not_found"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/addresses/{id}")]
pub async fn delete_address(
    state: web::Data<ApiState>,
    request: HttpRequest,
    address: web::Path<String>,
) -> HttpResponse {
    let result = async {
        let id = caller(&request)?;
        let address = crate::http::path_id(&address, "id")?;
        state.profiles.delete_address(id, address).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(error) => actix_web::ResponseError::error_response(&error),
    }
}
