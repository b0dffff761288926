//! RFC 9457 problem details, and the one place where every failure becomes an HTTP status and
//! a stable machine `code` (ADR 0008).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use carts::CartError;
use catalog::CatalogError;
use checkout::CheckoutError;
use inventory::InventoryError;
use orders::OrderError;
use payments::PaymentError;
use runtime::CommandError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type; `/problems/{code}`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable; never changes once released.
    pub code: String,
    /// For validation failures: one entry per offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: Vec::new(),
        }
    }

    pub fn to_response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .content_type(PROBLEM_JSON)
            .json(self)
    }
}

/// Everything a route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Well-formed input that a rule the document cannot state refuses (an amount in more
    /// decimal places than its currency has, a schedule that ends before it starts).
    #[error("{detail}")]
    Unprocessable {
        code: &'static str,
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("unknown field {field}")]
    UnknownField { field: String },
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("{param} is not a valid id")]
    InvalidId { param: &'static str },
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error(transparent)]
    Catalog(CatalogError),
    #[error(transparent)]
    Cart(CartError),
    #[error(transparent)]
    Order(Box<OrderError>),
    #[error(transparent)]
    Payment(Box<PaymentError>),
    #[error(transparent)]
    Inventory(Box<InventoryError>),
    #[error(transparent)]
    Checkout(Box<CheckoutError>),
    #[error(transparent)]
    Return(Box<refunds::ReturnError>),
    #[error(transparent)]
    Shipping(Box<shipping::ShippingError>),
    /// Another shipping zone holds the country (the problem names the zone).
    #[error("{country} already belongs to shipping zone {zone_id}")]
    CountryTaken { country: String, zone_id: String },
    #[error(transparent)]
    Promotion(Box<coupons::PromotionError>),
    #[error(transparent)]
    Document(orders::documents::DocumentError),
    #[error("If-Match names version {expected} but the resource is at version {actual}")]
    VersionMismatch { expected: u64, actual: u64 },
    #[error("If-Match must be a strong entity tag such as \"3\", or *")]
    InvalidIfMatch,
    #[error("the resource was changed concurrently; retry the request")]
    Conflict,
    #[error("this request needs an Idempotency-Key header, so that a double submit is harmless")]
    IdempotencyKeyRequired,
    #[error("Idempotency-Key must be 1 to 255 printable ASCII characters")]
    InvalidIdempotencyKey,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInUse,
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
    #[error("Commerce-Min-Position (or min_position) must be a position from a Commerce-Position header: 32 hexadecimal digits")]
    InvalidPosition,
    /// A request named a feed position that what answers it has not reached in time.
    #[error("the read models have not reached position {position} yet; retry")]
    ReadModelBehind { position: String },
    #[error("too many requests from this address; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("'{event_type}' is neither a published event type nor a context such as orders.*")]
    UnknownEventType { event_type: String },
    #[error(transparent)]
    Auth(Box<application::customers::AuthError>),
    #[error(transparent)]
    Profile(Box<application::profiles::ProfileError>),
    #[error("this order belongs to customer {customer_id}, whose orders share one key: erase the customer")]
    OrderOfACustomer { customer_id: String },
    /// A promotion code the shopper cannot use on this cart: the problem's code is the
    /// coupons context's (`promotion_used_up`, ...), its detail the shopper's sentence.
    #[error("{0}")]
    PromotionRefused(coupons::Refusal),
    /// The cart's address is not offered the shipping option it asked for.
    #[error("shipping option {option_id} is not offered for this cart going to {country}; choose one of its shipping options")]
    ShippingMethodNotOffered { option_id: String, country: String },
    /// A checkout request names an address other than the cart's.
    #[error("the shipping address differs from the cart's; change the cart's address or leave shipping_address out")]
    ShippingAddressMismatch,
    /// The cart cannot be taxed where it ships (`code`: `tax_rate_missing`,
    /// `tax_currency_not_configured`, ...): the checkout is refused rather than charge a
    /// tax nobody configured.
    #[error("{message}")]
    TaxUnavailable { code: &'static str, message: String },
}

impl ApiError {
    /// The single mapping from failures to HTTP statuses and problem codes.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Validation { .. } => (StatusCode::BAD_REQUEST, "validation_failed"),
            Self::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Self::UnknownField { .. } => (StatusCode::BAD_REQUEST, "unknown_field"),
            Self::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::InvalidId { .. } => (StatusCode::BAD_REQUEST, "invalid_id"),
            Self::NotFound { resource } => (StatusCode::NOT_FOUND, not_found_code(resource)),
            Self::Catalog(error) => (catalog_status(error), error.code()),
            Self::Cart(error) => (cart_status(error), error.code()),
            Self::Order(error) => (order_status(error), error.code()),
            Self::Payment(error) => (payment_status(error), error.code()),
            Self::Inventory(error) => (inventory_status(error), error.code()),
            Self::Checkout(error) => (checkout_status(error), error.code()),
            Self::Return(error) => (return_status(error), error.code()),
            Self::Shipping(error) => (shipping_status(error), error.code()),
            Self::CountryTaken { .. } => (StatusCode::CONFLICT, "country_in_another_shipping_zone"),
            Self::Promotion(error) => (promotion_status(error), error.code()),
            Self::VersionMismatch { .. } => (StatusCode::PRECONDITION_FAILED, "version_mismatch"),
            Self::InvalidIfMatch => (StatusCode::BAD_REQUEST, "invalid_if_match"),
            Self::Conflict => (StatusCode::CONFLICT, "concurrent_modification"),
            Self::InvalidIdempotencyKey => (StatusCode::BAD_REQUEST, "invalid_idempotency_key"),
            Self::IdempotencyKeyRequired => (StatusCode::BAD_REQUEST, "idempotency_key_required"),
            Self::IdempotencyKeyInUse => (StatusCode::CONFLICT, "idempotency_key_in_use"),
            Self::IdempotencyKeyReused => {
                (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
            }
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::InvalidPosition => (StatusCode::BAD_REQUEST, "invalid_position"),
            Self::ReadModelBehind { .. } => (StatusCode::SERVICE_UNAVAILABLE, "read_model_behind"),
            Self::UnknownEventType { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unknown_event_type")
            }
            Self::Auth(error) => auth_status_and_code(error),
            Self::Profile(error) => profile_status_and_code(error),
            Self::OrderOfACustomer { .. } => (StatusCode::CONFLICT, "order_belongs_to_customer"),
            Self::PromotionRefused(refusal) => (StatusCode::UNPROCESSABLE_ENTITY, refusal.code()),
            Self::Document(error) => match error {
                orders::documents::DocumentError::NotPaid => (StatusCode::CONFLICT, error.code()),
                _ => (StatusCode::NOT_FOUND, error.code()),
            },
            Self::ShippingMethodNotOffered { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "shipping_method_not_offered",
            ),
            Self::ShippingAddressMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "shipping_address_mismatch",
            ),
            Self::TaxUnavailable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
        }
    }

    /// Whether the outcome is final for the request (a business decision worth replaying to a
    /// repeated Idempotency-Key), as opposed to a rejection before work started or a failure
    /// that a retry may cure.
    pub fn is_final_outcome(&self) -> bool {
        matches!(
            self,
            Self::Catalog(_) | Self::Cart(_) | Self::Shipping(_) | Self::NotFound { .. }
        )
    }

    pub fn problem(&self) -> Problem {
        let (status, code) = self.status_and_code();
        let detail = match self {
            // Infrastructure details belong in the logs, not in answers to clients.
            Self::Unavailable(_) | Self::Auth(_) | Self::Profile(_)
                if self.status_and_code().0 == StatusCode::SERVICE_UNAVAILABLE =>
            {
                "the service is temporarily unavailable; retry later".to_owned()
            }
            other => other.to_string(),
        };
        let mut problem = Problem::new(status, code, detail);
        match self {
            Self::Validation { errors, .. } | Self::Unprocessable { errors, .. } => {
                problem.errors.clone_from(errors);
            }
            Self::UnknownField { field } => {
                problem.errors = vec![FieldError::new(field.clone(), "unknown field")];
            }
            Self::Auth(error) => {
                if let application::customers::AuthError::Invalid { field, message } =
                    error.as_ref()
                {
                    problem.errors = vec![FieldError::new(*field, message.clone())];
                }
            }
            Self::Profile(error) => {
                if let application::profiles::ProfileError::Invalid { field, message } =
                    error.as_ref()
                {
                    problem.errors = vec![FieldError::new(field.clone(), message.clone())];
                }
            }
            Self::CountryTaken { .. } => {
                problem.errors = vec![FieldError::new("countries", self.to_string())];
            }
            Self::ShippingMethodNotOffered { .. } => {
                problem.errors = vec![FieldError::new("option_id", self.to_string())];
            }
            Self::ShippingAddressMismatch => {
                problem.errors = vec![FieldError::new("shipping_address", self.to_string())];
            }
            Self::UnknownEventType { event_type } => {
                let message = format!("unknown event type {event_type}");
                problem.errors = vec![FieldError::new("event_types", message)];
            }
            Self::Order(error) => match error.as_ref() {
                OrderError::InvalidAddress { field, reason } => {
                    let field = format!("shipping_address.{field}");
                    problem.errors = vec![FieldError::new(field, reason.clone())];
                }
                OrderError::InvalidEmail { reason } => {
                    problem.errors = vec![FieldError::new("email", reason.clone())];
                }
                OrderError::InvalidShippingRefund { .. }
                | OrderError::ShippingOverRefund { .. } => {
                    problem.errors = vec![FieldError::new("shipping.amount", error.to_string())];
                }
                OrderError::ShippingWithAmount | OrderError::NoShippingToRefund => {
                    problem.errors = vec![FieldError::new("shipping", error.to_string())];
                }
                _ => {}
            },
            _ => {}
        }
        problem
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        Self::Validation {
            detail: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }
}

fn auth_status_and_code(error: &application::customers::AuthError) -> (StatusCode, &'static str) {
    use application::customers::AuthError;
    match error {
        AuthError::Invalid { .. } => (StatusCode::BAD_REQUEST, "validation_failed"),
        AuthError::EmailTaken => (StatusCode::CONFLICT, "email_taken"),
        AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        AuthError::InvalidRefreshToken => (StatusCode::UNAUTHORIZED, "invalid_refresh_token"),
        AuthError::RefreshTokenReused => (StatusCode::UNAUTHORIZED, "refresh_token_reused"),
        AuthError::InvalidAccessToken(_) => (StatusCode::UNAUTHORIZED, "invalid_access_token"),
        AuthError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
    }
}

impl From<application::personal_data::PersonalDataError> for ApiError {
    fn from(error: application::personal_data::PersonalDataError) -> Self {
        use application::personal_data::PersonalDataError as E;
        match error {
            E::UnknownCustomer => Self::NotFound {
                resource: "customer",
            },
            E::UnknownOrder => Self::NotFound { resource: "order" },
            E::CustomersOrder(_, customer_id) => Self::OrderOfACustomer {
                customer_id: customer_id.to_string(),
            },
            E::Unavailable(detail) => Self::Unavailable(detail),
        }
    }
}

impl From<application::customers::AuthError> for ApiError {
    fn from(error: application::customers::AuthError) -> Self {
        Self::Auth(Box::new(error))
    }
}

fn profile_status_and_code(
    error: &application::profiles::ProfileError,
) -> (StatusCode, &'static str) {
    use application::profiles::ProfileError;
    match error {
        ProfileError::Invalid { .. } => (StatusCode::BAD_REQUEST, "validation_failed"),
        ProfileError::AddressBookFull { .. } => (StatusCode::CONFLICT, "address_book_full"),
        ProfileError::NotFound(resource) => (StatusCode::NOT_FOUND, not_found_code(resource)),
        ProfileError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
    }
}

impl From<application::profiles::ProfileError> for ApiError {
    fn from(error: application::profiles::ProfileError) -> Self {
        Self::Profile(Box::new(error))
    }
}

fn not_found_code(resource: &str) -> &'static str {
    match resource {
        "product" => "product_not_found",
        "cart" => "cart_not_found",
        "line" => "line_not_found",
        "order" => "order_not_found",
        "payment" => "payment_not_found",
        "checkout" => "checkout_not_found",
        "refund" => "refund_not_found",
        "return" => "return_not_found",
        "address" => "address_not_found",
        "stock_item" => "stock_item_not_found",
        "webhook_endpoint" => "webhook_endpoint_not_found",
        "webhook_delivery" => "webhook_delivery_not_found",
        "customer" => "customer_not_found",
        "shipping_zone" => "shipping_zone_not_found",
        "promotion" => "promotion_not_found",
        _ => "not_found",
    }
}

fn catalog_status(error: &CatalogError) -> StatusCode {
    match error {
        CatalogError::NotFound => StatusCode::NOT_FOUND,
        CatalogError::UnknownVariant { .. } => StatusCode::NOT_FOUND,
        CatalogError::AlreadyExists
        | CatalogError::SkuTaken { .. }
        | CatalogError::NotAllowed { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn shipping_status(error: &shipping::ShippingError) -> StatusCode {
    use shipping::ShippingError as E;
    match error {
        E::ZoneNotFound | E::OptionNotFound { .. } => StatusCode::NOT_FOUND,
        E::ZoneExists { .. }
        | E::NotAllowed { .. }
        | E::OptionExists { .. }
        | E::OptionNameTaken { .. }
        | E::TooManyOptions { .. } => StatusCode::CONFLICT,
        E::InvalidName { .. }
        | E::NoCountries
        | E::UnknownCountry { .. }
        | E::InvalidPrices { .. } => StatusCode::BAD_REQUEST,
    }
}

fn cart_status(error: &CartError) -> StatusCode {
    match error {
        CartError::NotFound => StatusCode::NOT_FOUND,
        CartError::LineNotFound { .. } => StatusCode::NOT_FOUND,
        CartError::AlreadyExists
        | CartError::NotAllowed { .. }
        | CartError::CheckoutInProgress { .. }
        | CartError::OwnedByAnotherCustomer
        | CartError::MergeInProgress { .. } => StatusCode::CONFLICT,
        CartError::PricingUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn order_status(error: &OrderError) -> StatusCode {
    match error {
        OrderError::NotFound => StatusCode::NOT_FOUND,
        OrderError::AlreadyExists
        | OrderError::NotAllowed { .. }
        | OrderError::NotPaid
        | OrderError::RefundIdReused { .. }
        | OrderError::RefundSettled { .. }
        | OrderError::TooManyRefunds { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn payment_status(error: &PaymentError) -> StatusCode {
    match error {
        PaymentError::NotFound => StatusCode::NOT_FOUND,
        PaymentError::NotAllowed { .. }
        | PaymentError::AmountMismatch { .. }
        | PaymentError::RefundMismatch { .. } => StatusCode::CONFLICT,
        PaymentError::GatewayUnavailable(_) | PaymentError::TokensUnavailable(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        PaymentError::GatewayOutcomeUnknown(_) => StatusCode::GATEWAY_TIMEOUT,
        PaymentError::GatewayRejected(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn inventory_status(error: &InventoryError) -> StatusCode {
    match error {
        InventoryError::UnknownReservation { .. } => StatusCode::NOT_FOUND,
        InventoryError::OutOfStock { .. }
        | InventoryError::ReservationMismatch { .. }
        | InventoryError::AlreadyCommitted { .. }
        | InventoryError::ReservationNotActive { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn checkout_status(error: &CheckoutError) -> StatusCode {
    match error {
        CheckoutError::NotFound => StatusCode::NOT_FOUND,
        CheckoutError::AlreadyExists | CheckoutError::NotAllowed { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Unavailable(reason) = self {
            tracing::error!(%reason, "request failed on a dependency");
        }
        if let Self::Auth(error) = self {
            if let application::customers::AuthError::Unavailable(reason) = error.as_ref() {
                tracing::error!(%reason, "request failed on a dependency");
            }
        }
        let mut response = self.problem().to_response();
        if let Self::ReadModelBehind { .. } = self {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from_static("1"),
            );
        }
        if let Self::RateLimited { retry_after_secs } = self {
            if let Ok(value) =
                actix_web::http::header::HeaderValue::from_str(&retry_after_secs.to_string())
            {
                response
                    .headers_mut()
                    .insert(actix_web::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<runtime::StoreError> for ApiError {
    fn from(error: runtime::StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

/// A domain refusal as an API error: each context's error keeps its own statuses and codes.
impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        Self::Catalog(error)
    }
}

impl From<application::cart_promotions::PromotionCodeError> for ApiError {
    fn from(error: application::cart_promotions::PromotionCodeError) -> Self {
        use application::cart_promotions::PromotionCodeError as E;
        match error {
            E::Invalid(error) => Self::validation("code", error.to_string()),
            E::Refused(refusal) => Self::PromotionRefused(refusal),
            E::Cart(CartError::NotFound) => Self::NotFound { resource: "cart" },
            E::Cart(error) => Self::Cart(error),
            E::Unavailable(error) => Self::Unavailable(error),
        }
    }
}

impl From<application::cart_totals::CartTotalsError> for ApiError {
    fn from(error: application::cart_totals::CartTotalsError) -> Self {
        use application::cart_totals::CartTotalsError as E;
        match error {
            E::Shipping(error) => error.into(),
            E::Promotion(error) => error.into(),
            E::TaxUnavailable(error) => Self::Unavailable(error),
        }
    }
}

impl From<application::cart_shipping::CartShippingError> for ApiError {
    fn from(error: application::cart_shipping::CartShippingError) -> Self {
        use application::cart_shipping::CartShippingError as E;
        match error {
            E::Cart(CommandError::Rejected(CartError::NotFound)) => {
                Self::NotFound { resource: "cart" }
            }
            E::Cart(error) => error.into(),
            E::NotOffered { option_id, country } => Self::ShippingMethodNotOffered {
                option_id: option_id.to_string(),
                country,
            },
            E::Unavailable(error) => Self::Unavailable(error),
        }
    }
}

impl From<CartError> for ApiError {
    fn from(error: CartError) -> Self {
        Self::Cart(error)
    }
}

impl From<refunds::ReturnError> for ApiError {
    fn from(error: refunds::ReturnError) -> Self {
        Self::Return(Box::new(error))
    }
}

fn return_status(error: &refunds::ReturnError) -> StatusCode {
    use refunds::ReturnError as E;
    match error {
        E::NotFound => StatusCode::NOT_FOUND,
        E::AlreadyRequested { .. } | E::NotAllowed { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<coupons::PromotionError> for ApiError {
    fn from(error: coupons::PromotionError) -> Self {
        Self::Promotion(Box::new(error))
    }
}

/// What staff asked contradicts the promotion as it stands: 409; a request that could never
/// succeed: 422.
fn promotion_status(error: &coupons::PromotionError) -> StatusCode {
    use coupons::PromotionError as E;
    match error {
        E::NotFound => StatusCode::NOT_FOUND,
        E::CodeTaken { .. }
        | E::NotAllowed { .. }
        | E::TermsLocked
        | E::UsageLimitBelowUses { .. }
        | E::CustomerLimitBelowUses { .. }
        | E::UnknownRedemption { .. }
        | E::RedemptionReleased { .. }
        | E::RedemptionConfirmed { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        Self::Order(Box::new(error))
    }
}

/// An email refused where input enters answers like the orders context's own refusal.
impl From<shared_kernel::EmailError> for ApiError {
    fn from(error: shared_kernel::EmailError) -> Self {
        OrderError::from(error).into()
    }
}

/// An address refused where input enters answers like the orders context's own refusal.
impl From<shared_kernel::AddressError> for ApiError {
    fn from(error: shared_kernel::AddressError) -> Self {
        OrderError::from(error).into()
    }
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        Self::Payment(Box::new(error))
    }
}

impl From<InventoryError> for ApiError {
    fn from(error: InventoryError) -> Self {
        Self::Inventory(Box::new(error))
    }
}

impl From<CheckoutError> for ApiError {
    fn from(error: CheckoutError) -> Self {
        Self::Checkout(Box::new(error))
    }
}

/// How a command's failure is answered, the same for every context.
impl<E> From<CommandError<E>> for ApiError
where
    E: std::error::Error + Into<ApiError>,
{
    fn from(error: CommandError<E>) -> Self {
        match error {
            CommandError::Rejected(e) => e.into(),
            CommandError::PreconditionFailed { expected, actual } => {
                Self::VersionMismatch { expected, actual }
            }
            CommandError::Conflict => Self::Conflict,
            CommandError::Infrastructure(e) => Self::Unavailable(e),
        }
    }
}
