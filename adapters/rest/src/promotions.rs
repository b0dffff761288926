//! Promotion codes (admin, ADR 0031): create a code, list and read codes with how often they
//! were used, change their terms, and deactivate them for good. Shoppers redeem codes
//! through their checkout, never here.
//!
//! Shapes follow Stripe's coupons and promotion codes: an `offer` (`percent_off`, an
//! `amount_off` per currency, or `free_shipping`), what it `applies_to` (the order or some
//! SKUs), a `minimum_subtotal` per currency, a schedule (`starts_at`, `ends_at`), a
//! `usage_limit` and a `per_customer_limit`; `times_redeemed` counts uses spent by placed
//! orders and `reserved` those held by checkouts still under way. Money and percentages are
//! decimal strings, as every amount of the API is.
//!
//! Reading one code and every command answer come from the aggregate (read-your-writes, with
//! its version as the ETag); the list comes from the `promotions` read model, which may lag.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use coupons::{
    AppliesTo, CurrencyAmounts, Limit, Offer, Percentage, Promotion, PromotionCode,
    PromotionCommand, PromotionError, PromotionStatus, PromotionView, RedemptionState, Schedule,
    SkuSet, Terms,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use shared_kernel::{Money, Sku};
use utoipa::{IntoParams, ToSchema};

use crate::dto::MoneyDto;
use crate::http::{command_reply, idempotent, json_body, metadata, respond, Reply};
use crate::problem::{ApiError, FieldError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

/// What a code takes off: `type` names the kind, and the kind's own field gives the amount.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "percent_off", "percent_off": "12.5"}))]
pub struct OfferDto {
    /// `percent_off` (with `percent_off`), `amount_off` (with `amount_off`) or
    /// `free_shipping` (the whole shipping charge).
    #[serde(rename = "type")]
    #[schema(pattern = "^(percent_off|amount_off|free_shipping)$")]
    pub kind: String,
    /// Above 0 and at most 100, at most two decimal places: `"12.5"` is 12.5 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^(100(\.00?)?|[1-9][0-9]?(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub percent_off: Option<String>,
    /// The amount taken off once per order, one per currency the code can be used in; never
    /// more than what it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1)]
    pub amount_off: Option<Vec<MoneyDto>>,
}

/// Which lines the discount is taken from: `order` (every line) or `skus` (with `skus`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "skus", "skus": ["TEE-BLACK-M"]}))]
pub struct AppliesToDto {
    #[serde(rename = "type")]
    #[schema(pattern = "^(order|skus)$")]
    pub kind: String,
    /// 1 to 500 SKUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 500)]
    pub skus: Option<Vec<String>>,
}

/// A new promotion code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePromotionRequest {
    /// 3 to 32 of `A-Z a-z 0-9 - _`; case-insensitive, stored upper case. Taken for good, even
    /// once the promotion is deactivated.
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{3,32}\s*$")]
    pub code: String,
    pub offer: OfferDto,
    /// Default: the whole order.
    pub applies_to: Option<AppliesToDto>,
    /// The least merchandise subtotal, per currency; when set, the code can only be used in
    /// these currencies.
    #[schema(min_items = 1)]
    pub minimum_subtotal: Option<Vec<MoneyDto>>,
    /// RFC 3339; from when the code can be used (default: at once).
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339; until when (exclusive; default: no end). After `starts_at`.
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// How many checkouts may use the code, over everyone (default: no limit).
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    pub usage_limit: Option<i64>,
    /// How many times one signed-in customer may use it; guests cannot use a code that has
    /// one (default: no limit).
    #[schema(minimum = 1, maximum = 4_294_967_295_i64)]
    pub per_customer_limit: Option<i64>,
}

/// A field of a change: absent keeps it, `null` removes it, a value sets it.
#[derive(Debug, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Change<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Change::Clear, Change::Set))
    }
}

/// Terms to change; absent fields stay as they are, `null` removes a condition. Once the code
/// was redeemed, its `offer` and `applies_to` are fixed (409 `promotion_terms_locked`), and a
/// limit cannot fall below the uses already made.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePromotionRequest {
    pub offer: Option<OfferDto>,
    pub applies_to: Option<AppliesToDto>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<MoneyDto>>, min_items = 1)]
    pub minimum_subtotal: Change<Vec<MoneyDto>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Change<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Change<String>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_i64)]
    pub usage_limit: Change<i64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_i64)]
    pub per_customer_limit: Change<i64>,
}

/// A promotion code, its terms and its use.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionDto {
    /// Upper case.
    pub code: String,
    pub offer: OfferDto,
    pub applies_to: AppliesToDto,
    pub minimum_subtotal: Option<Vec<MoneyDto>>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub usage_limit: Option<u32>,
    pub per_customer_limit: Option<u32>,
    /// Uses spent by placed orders.
    pub times_redeemed: u32,
    /// Uses held by checkouts still under way; they count against the limits too.
    pub reserved: u32,
    /// `active`, or `deactivated` (for good).
    pub status: String,
    pub created_at: String,
    pub deactivated_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionList {
    pub data: Vec<PromotionDto>,
    pub has_more: bool,
}

/// Cursor pagination over codes, in code order.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PromotionListParams {
    /// How many promotions to return, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The code of the last promotion of the previous page.
    #[param(pattern = r"^\s*[A-Za-z0-9_-]{3,32}\s*$")]
    pub starting_after: Option<String>,
}

struct Counts {
    reserved: u32,
    confirmed: u32,
}

impl PromotionDto {
    fn new(
        code: &str,
        terms: &Terms,
        status: PromotionStatus,
        (created_at, deactivated_at): (DateTime<Utc>, Option<DateTime<Utc>>),
        counts: Counts,
    ) -> Self {
        let money = |amounts: &CurrencyAmounts| -> Vec<MoneyDto> {
            amounts.amounts().iter().map(MoneyDto::from).collect()
        };
        let offer = match &terms.offer {
            Offer::PercentOff { percent } => OfferDto {
                kind: "percent_off".to_owned(),
                percent_off: Some(percent.as_percent().to_string()),
                amount_off: None,
            },
            Offer::AmountOff { amounts } => OfferDto {
                kind: "amount_off".to_owned(),
                percent_off: None,
                amount_off: Some(money(amounts)),
            },
            Offer::FreeShipping => OfferDto {
                kind: "free_shipping".to_owned(),
                percent_off: None,
                amount_off: None,
            },
        };
        let applies_to = match &terms.applies_to {
            AppliesTo::Order => AppliesToDto {
                kind: "order".to_owned(),
                skus: None,
            },
            AppliesTo::Skus { skus } => AppliesToDto {
                kind: "skus".to_owned(),
                skus: Some(skus.iter().map(|sku| sku.as_str().to_owned()).collect()),
            },
        };
        Self {
            code: code.to_owned(),
            offer,
            applies_to,
            minimum_subtotal: terms.minimum_subtotal.as_ref().map(money),
            starts_at: terms.schedule.starts_at().map(|at| at.to_rfc3339()),
            ends_at: terms.schedule.ends_at().map(|at| at.to_rfc3339()),
            usage_limit: terms.usage_limit.map(|limit| limit.get()),
            per_customer_limit: terms.per_customer_limit.map(|limit| limit.get()),
            times_redeemed: counts.confirmed,
            reserved: counts.reserved,
            status: status.to_string(),
            created_at: created_at.to_rfc3339(),
            deactivated_at: deactivated_at.map(|at| at.to_rfc3339()),
        }
    }

    /// The promotion as its stream has it (`None` before it was created).
    fn from_aggregate(promotion: &Promotion) -> Option<Self> {
        let (code, terms, status, created_at) = (
            promotion.code()?,
            promotion.terms()?,
            promotion.status()?,
            promotion.created_at()?,
        );
        let mut counts = Counts {
            reserved: 0,
            confirmed: 0,
        };
        for checkout_id in promotion.active_checkouts() {
            match promotion.redemption(checkout_id).map(|r| r.state()) {
                Some(RedemptionState::Reserved) => counts.reserved += 1,
                Some(RedemptionState::Confirmed) => counts.confirmed += 1,
                Some(RedemptionState::Released) | None => {}
            }
        }
        Some(Self::new(
            code.as_str(),
            terms,
            status,
            (created_at, promotion.deactivated_at()),
            counts,
        ))
    }

    /// For [`command_reply`]: a command only answers once the promotion exists.
    fn from_promotion(promotion: &Promotion, _version: u64) -> Option<Self> {
        Self::from_aggregate(promotion)
    }

    fn from_view(view: &PromotionView) -> Self {
        Self::new(
            &view.code,
            &view.terms,
            view.status,
            (view.created_at, view.deactivated_at),
            Counts {
                reserved: view.reserved,
                confirmed: view.confirmed,
            },
        )
    }
}

/// Every offending field of a request, reported together: a 400 when any breaks what the
/// OpenAPI document states, else a 422 naming the first rule broken (rules the document
/// cannot state, such as the minor units of a currency).
#[derive(Default)]
struct Fields {
    errors: Vec<FieldError>,
    malformed: bool,
    rule: Option<&'static str>,
}

/// Why a field was refused.
enum Refused {
    /// The field breaks what the document states of it.
    Malformed(String),
    /// The field is well-formed, and a rule of promotions refuses it.
    Rule(PromotionError),
}

impl From<String> for Refused {
    fn from(message: String) -> Self {
        Refused::Malformed(message)
    }
}

impl Fields {
    fn check<T>(&mut self, field: &str, result: Result<T, impl Into<Refused>>) -> Option<T> {
        let message = match result.map_err(Into::into) {
            Ok(value) => return Some(value),
            Err(Refused::Malformed(message)) => {
                self.malformed = true;
                message
            }
            Err(Refused::Rule(error)) => {
                self.rule.get_or_insert(error.code());
                error.to_string()
            }
        };
        self.errors.push(FieldError::new(field, message));
        None
    }

    fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let detail = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        match self.rule {
            Some(code) if !self.malformed => Err(ApiError::Unprocessable {
                code,
                detail,
                errors: self.errors,
            }),
            _ => Err(ApiError::Validation {
                detail,
                errors: self.errors,
            }),
        }
    }
}

fn domain<T>(result: Result<T, PromotionError>) -> Result<T, String> {
    result.map_err(|e| e.to_string())
}

fn code_from(raw: &str, field: &str) -> Result<PromotionCode, ApiError> {
    PromotionCode::parse(raw).map_err(|e| ApiError::validation(field, e.to_string()))
}

fn amounts(input: &[MoneyDto]) -> Result<CurrencyAmounts, Refused> {
    let money = input
        .iter()
        .enumerate()
        .map(|(i, m)| Money::parse(&m.amount, &m.currency).map_err(|e| format!("[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if money.is_empty() {
        return Err(Refused::Malformed("give at least one amount".to_owned()));
    }
    CurrencyAmounts::new(money).map_err(Refused::Rule)
}

fn offer(input: &OfferDto) -> Result<Offer, Refused> {
    match (input.kind.as_str(), &input.percent_off, &input.amount_off) {
        ("percent_off", Some(percent), None) => {
            // The document states the whole rule: above 0, at most 100, two decimals.
            let percent = Decimal::from_str_exact(percent.trim())
                .map_err(|_| format!("percent_off '{percent}' is not a decimal number"))?;
            let percent = domain(Percentage::new(percent))?;
            Ok(Offer::PercentOff { percent })
        }
        ("amount_off", None, Some(amount)) => {
            amounts(amount).map(|amounts| Offer::AmountOff { amounts })
        }
        ("free_shipping", None, None) => Ok(Offer::FreeShipping),
        ("percent_off" | "amount_off" | "free_shipping", _, _) => Err(Refused::Malformed(format!(
            "an offer of type {} gives {}",
            input.kind,
            match input.kind.as_str() {
                "percent_off" => "percent_off and no amount_off",
                "amount_off" => "amount_off and no percent_off",
                _ => "neither percent_off nor amount_off",
            }
        ))),
        _ => Err(Refused::Malformed(
            "type must be percent_off, amount_off or free_shipping".to_owned(),
        )),
    }
}

fn applies_to(input: &AppliesToDto) -> Result<AppliesTo, String> {
    match (input.kind.as_str(), &input.skus) {
        ("order", None) => Ok(AppliesTo::Order),
        ("skus", Some(skus)) => {
            let skus = skus
                .iter()
                .map(|raw| Sku::parse(raw).map_err(|e| format!("'{raw}': {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            domain(SkuSet::new(skus)).map(|skus| AppliesTo::Skus { skus })
        }
        ("order", Some(_)) => Err("an order-wide promotion names no skus".to_owned()),
        ("skus", None) => Err("name the skus it applies to".to_owned()),
        _ => Err("type must be order or skus".to_owned()),
    }
}

fn instant(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| format!("'{raw}' is not an RFC 3339 date-time"))
}

fn limit(raw: i64) -> Result<Limit, String> {
    u32::try_from(raw)
        .ok()
        .and_then(|limit| Limit::new(limit).ok())
        .ok_or_else(|| "must be an integer from 1 to 4294967295".to_owned())
}

/// Applies a change to an optional value, checking a new one with `parse`.
fn changed<I, T, E: Into<Refused>>(
    fields: &mut Fields,
    field: &str,
    change: &Change<I>,
    current: Option<T>,
    parse: impl FnOnce(&I) -> Result<T, E>,
) -> Option<T> {
    match change {
        Change::Keep => current,
        Change::Clear => None,
        Change::Set(input) => fields.check(field, parse(input)),
    }
}

impl UpdatePromotionRequest {
    /// `current` with this change applied, or every offending field.
    fn applied_to(&self, current: &Terms) -> Result<Terms, ApiError> {
        let mut fields = Fields::default();
        let offer = match &self.offer {
            Some(input) => fields.check("offer", offer(input)),
            None => Some(current.offer.clone()),
        };
        let applies_to = match &self.applies_to {
            Some(input) => fields.check("applies_to", applies_to(input)),
            None => Some(current.applies_to.clone()),
        };
        let minimum_subtotal = changed(
            &mut fields,
            "minimum_subtotal",
            &self.minimum_subtotal,
            current.minimum_subtotal.clone(),
            |input: &Vec<MoneyDto>| amounts(input),
        );
        let starts_at = changed(
            &mut fields,
            "starts_at",
            &self.starts_at,
            current.schedule.starts_at(),
            |raw| instant(raw),
        );
        let ends_at = changed(
            &mut fields,
            "ends_at",
            &self.ends_at,
            current.schedule.ends_at(),
            |raw| instant(raw),
        );
        let usage_limit = changed(
            &mut fields,
            "usage_limit",
            &self.usage_limit,
            current.usage_limit,
            |raw| limit(*raw),
        );
        let per_customer_limit = changed(
            &mut fields,
            "per_customer_limit",
            &self.per_customer_limit,
            current.per_customer_limit,
            |raw| limit(*raw),
        );
        let schedule = fields.check(
            "ends_at",
            Schedule::new(starts_at, ends_at).map_err(Refused::Rule),
        );
        fields.finish()?;
        match (offer, applies_to, schedule) {
            (Some(offer), Some(applies_to), Some(schedule)) => Ok(Terms {
                offer,
                applies_to,
                minimum_subtotal,
                schedule,
                usage_limit,
                per_customer_limit,
            }),
            // Each missing part recorded a field error above.
            _ => Err(ApiError::validation("body", "invalid terms")),
        }
    }
}

impl CreatePromotionRequest {
    fn code_and_terms(&self) -> Result<(PromotionCode, Terms), ApiError> {
        let mut fields = Fields::default();
        let code = fields.check(
            "code",
            PromotionCode::parse(&self.code).map_err(|e| e.to_string()),
        );
        let offer = fields.check("offer", offer(&self.offer));
        let applies_to = match &self.applies_to {
            Some(input) => fields.check("applies_to", applies_to(input)),
            None => Some(AppliesTo::Order),
        };
        let minimum_subtotal = self
            .minimum_subtotal
            .as_deref()
            .and_then(|input| fields.check("minimum_subtotal", amounts(input)));
        let starts_at = self
            .starts_at
            .as_deref()
            .and_then(|raw| fields.check("starts_at", instant(raw)));
        let ends_at = self
            .ends_at
            .as_deref()
            .and_then(|raw| fields.check("ends_at", instant(raw)));
        let usage_limit = self
            .usage_limit
            .and_then(|raw| fields.check("usage_limit", limit(raw)));
        let per_customer_limit = self
            .per_customer_limit
            .and_then(|raw| fields.check("per_customer_limit", limit(raw)));
        let schedule = fields.check(
            "ends_at",
            Schedule::new(starts_at, ends_at).map_err(Refused::Rule),
        );
        fields.finish()?;
        match (code, offer, applies_to, schedule) {
            (Some(code), Some(offer), Some(applies_to), Some(schedule)) => Ok((
                code,
                Terms {
                    offer,
                    applies_to,
                    minimum_subtotal,
                    schedule,
                    usage_limit,
                    per_customer_limit,
                },
            )),
            // Each missing part recorded a field error above.
            _ => Err(ApiError::validation("body", "invalid promotion")),
        }
    }
}

fn location(code: &PromotionCode) -> String {
    format!("/v1/admin/promotions/{}", Promotion::aggregate_id(code))
}

/// A command's answer: the promotion it left, with its version as the ETag.
async fn promotion_command(
    state: &ApiState,
    request: &HttpRequest,
    code: &PromotionCode,
    command: PromotionCommand,
) -> Result<Reply, ApiError> {
    let reply = command_reply(
        state.promotions.as_ref(),
        request,
        ADMIN,
        &Promotion::aggregate_id(code),
        command,
        PromotionDto::from_promotion,
    )
    .await?;
    if reply.body.is_null() {
        return Err(ApiError::NotFound {
            resource: "promotion",
        });
    }
    Ok(reply)
}

/// Create a promotion code (admin).
#[utoipa::path(
    post, path = "/v1/admin/promotions", tag = "promotions",
    request_body = CreatePromotionRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe")),
    responses(
        (status = 201, body = PromotionDto, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The code is taken (`promotion_code_taken`)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "The promotion would already have ended (`promotion_already_ended`)"),
    )
)]
#[post("/v1/admin/promotions")]
pub async fn create_promotion(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: CreatePromotionRequest = json_body(&request, &body)?;
        let (code, terms) = input.code_and_terms()?;
        let command = PromotionCommand::CreatePromotion {
            code: code.clone(),
            terms,
            at: state.clock.now(),
        };
        let executed = state
            .promotions
            .execute(
                &Promotion::aggregate_id(&code),
                command,
                None,
                &metadata(ADMIN),
            )
            .await?;
        let dto = PromotionDto::from_aggregate(&executed.state).ok_or(ApiError::NotFound {
            resource: "promotion",
        })?;
        Ok(Reply::created(dto, location(&code)).etag(executed.version))
    })
    .await
}

/// List promotion codes in code order, deactivated ones included (admin). The list follows
/// the event feed and may lag a change by a moment; a code read by itself never does.
#[utoipa::path(
    get, path = "/v1/admin/promotions", tag = "promotions",
    params(PromotionListParams),
    responses(
        (status = 200, body = PromotionList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/promotions")]
pub async fn list_promotions(
    state: web::Data<ApiState>,
    params: web::Query<PromotionListParams>,
) -> HttpResponse {
    respond(
        async {
            let page = crate::http::ListParams {
                limit: params.limit.clone(),
                starting_after: None,
            }
            .page()?;
            let starting_after = params
                .starting_after
                .as_deref()
                .map(|raw| code_from(raw, "starting_after"))
                .transpose()?;
            let mut views = state
                .promotion_directory
                .list(page.limit + 1, starting_after.as_ref())
                .await
                .map_err(|e| ApiError::Unavailable(e.to_string()))?;
            let has_more = views.len() > page.limit;
            views.truncate(page.limit);
            let data = views.iter().map(PromotionDto::from_view).collect();
            Ok(Reply::ok(PromotionList { data, has_more }))
        }
        .await,
    )
}

/// A promotion code, its terms and its use (admin). The code is case-insensitive.
#[utoipa::path(
    get, path = "/v1/admin/promotions/{code}", tag = "promotions",
    params(("code" = String, Path, pattern = r"^\s*[A-Za-z0-9_-]{3,32}\s*$", description = "Promotion code, any case")),
    responses(
        (status = 200, body = PromotionDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/promotions/{code}")]
pub async fn get_promotion(state: web::Data<ApiState>, code: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let code = code_from(&code, "code")?;
            let loaded = state
                .promotions
                .load(&Promotion::aggregate_id(&code))
                .await?;
            let dto =
                PromotionDto::from_aggregate(&loaded.aggregate).ok_or(ApiError::NotFound {
                    resource: "promotion",
                })?;
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

/// Change a promotion's terms (admin). Absent fields stay; `null` removes a condition. Once
/// the code was redeemed its offer and what it applies to are fixed, and a limit cannot fall
/// below the uses made. Honours If-Match.
#[utoipa::path(
    patch, path = "/v1/admin/promotions/{code}", tag = "promotions",
    request_body = UpdatePromotionRequest,
    params(
        ("code" = String, Path, pattern = r"^\s*[A-Za-z0-9_-]{3,32}\s*$", description = "Promotion code, any case"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = PromotionDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The promotion is deactivated, its offer is fixed since it was redeemed (`promotion_terms_locked`), or a limit is below the uses made"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/admin/promotions/{code}")]
pub async fn update_promotion(
    state: web::Data<ApiState>,
    request: HttpRequest,
    code: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let code = code_from(&code, "code")?;
        let input: UpdatePromotionRequest = json_body(&request, &body)?;
        let loaded = state
            .promotions
            .load(&Promotion::aggregate_id(&code))
            .await?;
        let current = loaded.aggregate.terms().ok_or(ApiError::NotFound {
            resource: "promotion",
        })?;
        // The change is applied to the terms just read. Redemptions never change terms, so
        // only a concurrent change by staff could be overwritten; If-Match, which the command
        // is held to, guards against it.
        let terms = input.applied_to(current)?;
        promotion_command(
            &state,
            &request,
            &code,
            PromotionCommand::UpdatePromotion { terms },
        )
        .await
    })
    .await
}

/// Deactivate a promotion code for good (admin): no checkout can redeem it any more, those
/// under way still finish, and the code stays taken. Repeating it changes nothing.
#[utoipa::path(
    delete, path = "/v1/admin/promotions/{code}", tag = "promotions",
    params(
        ("code" = String, Path, pattern = r"^\s*[A-Za-z0-9_-]{3,32}\s*$", description = "Promotion code, any case"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = PromotionDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/admin/promotions/{code}")]
pub async fn deactivate_promotion(
    state: web::Data<ApiState>,
    request: HttpRequest,
    code: web::Path<String>,
) -> HttpResponse {
    idempotent(&state, &request, &[], || async {
        let code = code_from(&code, "code")?;
        let command = PromotionCommand::DeactivatePromotion {
            at: state.clock.now(),
        };
        promotion_command(&state, &request, &code, command).await
    })
    .await
}
