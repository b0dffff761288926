//! Shipping admin routes: zones of destination countries and their options, priced per
//! currency (flat, by subtotal bands or by weight bands, with a free-shipping threshold).
//!
//! Shapes follow Shopify's and Medusa's shipping zones: a zone has a `name`, `countries` as
//! ISO 3166-1 alpha-2 codes and its `options`; an option has a `name` and one price per
//! currency. Input is parsed into the shipping context's values here, with the offending
//! field named, so bad input never reaches a command. A zone reads from its stream (with its
//! ETag); the list reads the `shipping_zones` read model.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use application::shipping::{ShippingReadError, ShippingZoneError};
use shared_kernel::Money;
use shipping::{
    CountrySet, CurrencyPrice, Grams, Name, Rate, ShippingError, ShippingOption, ShippingOptionId,
    ShippingPrices, ShippingZone, ShippingZoneCommand, ShippingZoneId, ShippingZoneView,
    SubtotalBand, WeightBand, ZoneStatus,
};

use crate::dto::MoneyDto;
use crate::http::{
    id_for_request, idempotent, if_match, json_body, metadata, path_id, respond, ListParams, Reply,
};
use crate::problem::{ApiError, FieldError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

// ---------- shapes ----------

/// A new shipping zone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShippingZoneRequest {
    /// 1 to 100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// ISO 3166-1 alpha-2 codes; no country may belong to another zone.
    #[schema(min_items = 1)]
    pub countries: Vec<String>,
}

/// Changes to a zone: what is given is replaced (`countries` as a whole), at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateShippingZoneRequest {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(min_items = 1)]
    pub countries: Option<Vec<String>>,
}

/// A new option of a zone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShippingOptionRequest {
    /// Unique within the zone, ignoring case.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// One price per currency, at least one.
    #[schema(min_items = 1)]
    pub prices: Vec<ShippingPriceDto>,
}

/// Changes to an option: what is given is replaced (`prices` as a whole), at least one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateShippingOptionRequest {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(min_items = 1)]
    pub prices: Option<Vec<ShippingPriceDto>>,
}

/// An option's price in one currency; every amount of it is in that currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ShippingPriceDto {
    /// One price whatever the cart.
    Flat {
        amount: MoneyDto,
        /// A merchandise subtotal at or above this ships free.
        free_shipping_from: Option<MoneyDto>,
    },
    /// A price per band of the merchandise subtotal; bands are `[from, to)`, contiguous from
    /// zero, only the last open-ended.
    SubtotalBands {
        #[schema(min_items = 1)]
        bands: Vec<SubtotalBandDto>,
        free_shipping_from: Option<MoneyDto>,
    },
    /// A price per band of the cart's weight in grams; bands are `[from_grams, to_grams)`,
    /// contiguous from zero, only the last open-ended.
    WeightBands {
        #[schema(min_items = 1)]
        bands: Vec<WeightBandDto>,
        free_shipping_from: Option<MoneyDto>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtotalBandDto {
    pub from: MoneyDto,
    /// Absent or null: no upper end (the last band only).
    pub to: Option<MoneyDto>,
    pub amount: MoneyDto,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightBandDto {
    /// At most 1,000,000,000 g (a thousand tonnes): far beyond any parcel.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub from_grams: u64,
    /// Absent or null: no upper end (the last band only). At most 1,000,000,000 g.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub to_grams: Option<u64>,
    pub amount: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptionDto {
    pub id: String,
    pub name: String,
    pub prices: Vec<ShippingPriceDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingZoneDto {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 codes, in alphabetical order.
    pub countries: Vec<String>,
    /// Live options, in the order they were created.
    pub options: Vec<ShippingOptionDto>,
    /// The zone's version, also its ETag.
    pub version: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingZoneList {
    pub data: Vec<ShippingZoneDto>,
    pub has_more: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedShippingZoneDto {
    pub id: String,
    pub deleted: bool,
}

impl ShippingZoneDto {
    fn from_zone(zone: &ShippingZone, version: u64) -> Self {
        Self {
            id: zone.zone_id().map(|id| id.to_string()).unwrap_or_default(),
            name: zone
                .name()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
            countries: zone
                .countries()
                .map(|set| set.iter().map(str::to_owned).collect())
                .unwrap_or_default(),
            options: zone.options().iter().map(option_dto).collect(),
            version,
        }
    }

    fn from_view(view: &ShippingZoneView) -> Self {
        Self {
            id: view.zone_id.to_string(),
            name: view.name.as_str().to_owned(),
            countries: view.countries.iter().map(str::to_owned).collect(),
            options: view.options.iter().map(option_dto).collect(),
            version: view.version,
        }
    }
}

fn option_dto(option: &ShippingOption) -> ShippingOptionDto {
    ShippingOptionDto {
        id: option.option_id().to_string(),
        name: option.name().as_str().to_owned(),
        prices: option.prices().entries().iter().map(price_dto).collect(),
    }
}

fn price_dto(entry: &CurrencyPrice) -> ShippingPriceDto {
    let free_shipping_from = entry.free_shipping_from.as_ref().map(MoneyDto::from);
    match &entry.rate {
        Rate::Flat { price } => ShippingPriceDto::Flat {
            amount: price.into(),
            free_shipping_from,
        },
        Rate::SubtotalBands { bands } => ShippingPriceDto::SubtotalBands {
            bands: bands
                .iter()
                .map(|band| SubtotalBandDto {
                    from: (&band.from).into(),
                    to: band.to.as_ref().map(MoneyDto::from),
                    amount: (&band.price).into(),
                })
                .collect(),
            free_shipping_from,
        },
        Rate::WeightBands { bands } => ShippingPriceDto::WeightBands {
            bands: bands
                .iter()
                .map(|band| WeightBandDto {
                    from_grams: band.from.get(),
                    to_grams: band.to.map(|to| to.get()),
                    amount: (&band.price).into(),
                })
                .collect(),
            free_shipping_from,
        },
    }
}

// ---------- parsing ----------

fn invalid(field: &str, error: &ShippingError) -> ApiError {
    ApiError::validation(field, error.to_string())
}

/// A field the OpenAPI document allows that a rule of shipping refuses (a string that is no
/// country, bands that leave a gap): a 422 naming the field and the rule, as elsewhere in the
/// API; what the document itself rules out stays a 400.
fn refused(field: &str, error: &ShippingError) -> ApiError {
    let message = error.to_string();
    ApiError::Unprocessable {
        code: error.code(),
        detail: format!("{field}: {message}"),
        errors: vec![FieldError::new(field, message)],
    }
}

fn parse_name(raw: &str, field: &str) -> Result<Name, ApiError> {
    // The document states the length and a visible character; what else a name may not hold
    // (control characters) is a rule.
    let documented = !raw.trim().is_empty() && (1..=100).contains(&raw.chars().count());
    Name::parse(raw).map_err(|e| {
        if documented {
            refused(field, &e)
        } else {
            invalid(field, &e)
        }
    })
}

fn parse_countries(raw: &[String]) -> Result<CountrySet, ApiError> {
    CountrySet::parse(raw.iter().map(String::as_str)).map_err(|e| match e {
        // An empty list breaks the document's `minItems`.
        ShippingError::NoCountries => invalid("countries", &e),
        other => refused("countries", &other),
    })
}

fn money(dto: &MoneyDto, field: &str) -> Result<Money, ApiError> {
    dto.to_money(field)
}

fn optional_money(dto: Option<&MoneyDto>, field: &str) -> Result<Option<Money>, ApiError> {
    dto.map(|dto| money(dto, field)).transpose()
}

/// The heaviest band edge the API takes, in grams (the document's `maximum`).
const MAX_GRAMS: u64 = 1_000_000_000;

fn parse_prices(raw: &[ShippingPriceDto]) -> Result<ShippingPrices, ApiError> {
    if raw.is_empty() {
        // Breaks the document's `minItems`.
        return Err(ApiError::validation(
            "prices",
            "give a price for at least one currency",
        ));
    }
    let mut entries = Vec::with_capacity(raw.len());
    for (index, price) in raw.iter().enumerate() {
        let at = format!("prices[{index}]");
        let entry = match price {
            ShippingPriceDto::Flat {
                amount,
                free_shipping_from,
            } => CurrencyPrice {
                rate: Rate::Flat {
                    price: money(amount, &format!("{at}.amount"))?,
                },
                free_shipping_from: optional_money(
                    free_shipping_from.as_ref(),
                    &format!("{at}.free_shipping_from"),
                )?,
            },
            ShippingPriceDto::SubtotalBands {
                bands,
                free_shipping_from,
            } => {
                let mut parsed = Vec::with_capacity(bands.len());
                for (b, band) in bands.iter().enumerate() {
                    let here = format!("{at}.bands[{b}]");
                    parsed.push(SubtotalBand {
                        from: money(&band.from, &format!("{here}.from"))?,
                        to: optional_money(band.to.as_ref(), &format!("{here}.to"))?,
                        price: money(&band.amount, &format!("{here}.amount"))?,
                    });
                }
                CurrencyPrice {
                    rate: Rate::SubtotalBands { bands: parsed },
                    free_shipping_from: optional_money(
                        free_shipping_from.as_ref(),
                        &format!("{at}.free_shipping_from"),
                    )?,
                }
            }
            ShippingPriceDto::WeightBands {
                bands,
                free_shipping_from,
            } => {
                let mut parsed = Vec::with_capacity(bands.len());
                for (b, band) in bands.iter().enumerate() {
                    let here = format!("{at}.bands[{b}]");
                    for (grams, name) in [
                        (Some(band.from_grams), "from_grams"),
                        (band.to_grams, "to_grams"),
                    ] {
                        if grams.is_some_and(|grams| grams > MAX_GRAMS) {
                            return Err(ApiError::validation(
                                format!("{here}.{name}"),
                                format!("at most {MAX_GRAMS} g"),
                            ));
                        }
                    }
                    parsed.push(WeightBand {
                        from: Grams::new(band.from_grams),
                        to: band.to_grams.map(Grams::new),
                        price: money(&band.amount, &format!("{here}.amount"))?,
                    });
                }
                CurrencyPrice {
                    rate: Rate::WeightBands { bands: parsed },
                    free_shipping_from: optional_money(
                        free_shipping_from.as_ref(),
                        &format!("{at}.free_shipping_from"),
                    )?,
                }
            }
        };
        entries.push(entry);
    }
    ShippingPrices::new(entries).map_err(|e| refused("prices", &e))
}

fn zone_id(raw: &str) -> Result<ShippingZoneId, ApiError> {
    path_id(raw, "id").map(ShippingZoneId::from_uuid)
}

fn option_id(raw: &str) -> Result<ShippingOptionId, ApiError> {
    path_id(raw, "option_id").map(ShippingOptionId::from_uuid)
}

fn zone_location(zone_id: ShippingZoneId) -> String {
    format!("/v1/admin/shipping-zones/{zone_id}")
}

/// Runs `commands` on the zone one after another, the first at the If-Match version and each
/// next at the version the one before left; answers the zone as the last left it.
async fn run(
    state: &ApiState,
    request: &HttpRequest,
    zone_id: ShippingZoneId,
    commands: Vec<ShippingZoneCommand>,
) -> Result<(ShippingZoneDto, u64), ApiError> {
    let mut expected = if_match(request)?;
    let meta = metadata(ADMIN);
    let mut last = None;
    for command in commands {
        let executed = state
            .shipping
            .execute(zone_id, command, expected, &meta)
            .await?;
        expected = Some(executed.version);
        last = Some(executed);
    }
    let executed = last.ok_or_else(|| ApiError::validation("body", "nothing to change"))?;
    Ok((
        ShippingZoneDto::from_zone(&executed.state, executed.version),
        executed.version,
    ))
}

// ---------- routes ----------

/// Create a shipping zone (admin). A country can belong to one zone only.
#[utoipa::path(
    post, path = "/v1/admin/shipping-zones", tag = "shipping",
    request_body = CreateShippingZoneRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe")),
    responses(
        (status = 201, body = ShippingZoneDto, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "A country that is none (`invalid_country`); nothing changed"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/shipping-zones")]
pub async fn create_zone(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: CreateShippingZoneRequest = json_body(&request, &body)?;
        let name = parse_name(&input.name, "name")?;
        let countries = parse_countries(&input.countries)?;
        let zone_id = ShippingZoneId::from_uuid(id_for_request(&request, "shipping_zone", ""));
        let command = ShippingZoneCommand::CreateZone {
            zone_id,
            name,
            countries,
        };
        let executed = state
            .shipping
            .execute(zone_id, command, Some(0), &metadata(ADMIN))
            .await?;
        let dto = ShippingZoneDto::from_zone(&executed.state, executed.version);
        Ok(Reply::created(dto, zone_location(zone_id)).etag(executed.version))
    })
    .await
}

/// List shipping zones with their options (admin), in id order.
#[utoipa::path(
    get, path = "/v1/admin/shipping-zones", tag = "shipping",
    params(ListParams),
    responses(
        (status = 200, body = ShippingZoneList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/shipping-zones")]
pub async fn list_zones(
    state: web::Data<ApiState>,
    params: web::Query<ListParams>,
) -> HttpResponse {
    respond(
        async {
            let page = params.page()?;
            let mut zones = state
                .shipping
                .list(page.limit + 1, page.starting_after.as_deref())
                .await?;
            let has_more = zones.len() > page.limit;
            zones.truncate(page.limit);
            let data = zones.iter().map(ShippingZoneDto::from_view).collect();
            Ok(Reply::ok(ShippingZoneList { data, has_more }))
        }
        .await,
    )
}

/// Get a shipping zone with its options (admin).
#[utoipa::path(
    get, path = "/v1/admin/shipping-zones/{id}", tag = "shipping",
    params(("id" = uuid::Uuid, Path, description = "Shipping zone id")),
    responses(
        (status = 200, body = ShippingZoneDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/shipping-zones/{id}")]
pub async fn get_zone(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let zone_id = zone_id(&id)?;
            let loaded = state.shipping.load(zone_id).await?;
            if loaded.aggregate.status() != Some(ZoneStatus::Active) {
                return Err(ApiError::NotFound {
                    resource: "shipping_zone",
                });
            }
            let dto = ShippingZoneDto::from_zone(&loaded.aggregate, loaded.version);
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

/// Rename a zone or replace its countries (admin). Honours If-Match.
#[utoipa::path(
    patch, path = "/v1/admin/shipping-zones/{id}", tag = "shipping",
    request_body = UpdateShippingZoneRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Shipping zone id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = ShippingZoneDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "A country that is none (`invalid_country`); nothing changed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/admin/shipping-zones/{id}")]
pub async fn update_zone(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let zone_id = zone_id(&id)?;
        let input: UpdateShippingZoneRequest = json_body(&request, &body)?;
        let mut commands = Vec::new();
        // Countries first: a country taken refuses the request before anything is recorded.
        if let Some(countries) = &input.countries {
            let countries = parse_countries(countries)?;
            commands.push(ShippingZoneCommand::ChangeZoneCountries { countries });
        }
        if let Some(name) = &input.name {
            let name = parse_name(name, "name")?;
            commands.push(ShippingZoneCommand::RenameZone { name });
        }
        if commands.is_empty() {
            return Err(ApiError::validation("body", "give a name or countries"));
        }
        let (dto, version) = run(&state, &request, zone_id, commands).await?;
        Ok(Reply::ok(dto).etag(version))
    })
    .await
}

/// Delete a zone and its options, for good (admin). Its countries become free for others.
#[utoipa::path(
    delete, path = "/v1/admin/shipping-zones/{id}", tag = "shipping",
    params(("id" = uuid::Uuid, Path, description = "Shipping zone id")),
    responses(
        (status = 200, body = DeletedShippingZoneDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/admin/shipping-zones/{id}")]
pub async fn delete_zone(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    idempotent(&state, &request, &[], || async {
        let zone_id = zone_id(&id)?;
        run(
            &state,
            &request,
            zone_id,
            vec![ShippingZoneCommand::DeleteZone],
        )
        .await?;
        Ok(Reply::ok(DeletedShippingZoneDto {
            id: zone_id.to_string(),
            deleted: true,
        }))
    })
    .await
}

/// Add an option to a zone (admin); answers the zone. Honours If-Match.
#[utoipa::path(
    post, path = "/v1/admin/shipping-zones/{id}/options", tag = "shipping",
    request_body = CreateShippingOptionRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Shipping zone id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 201, body = ShippingZoneDto, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Prices shipping refuses: bands with a gap or an empty band, a currency twice, a negative amount (`invalid_shipping_prices`); nothing changed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/shipping-zones/{id}/options")]
pub async fn create_option(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let zone_id = zone_id(&id)?;
        let input: CreateShippingOptionRequest = json_body(&request, &body)?;
        let name = parse_name(&input.name, "name")?;
        let prices = parse_prices(&input.prices)?;
        let option_id = ShippingOptionId::from_uuid(id_for_request(
            &request,
            "shipping_option",
            &zone_id.to_string(),
        ));
        let command = ShippingZoneCommand::CreateOption {
            option_id,
            name,
            prices,
        };
        let (dto, version) = run(&state, &request, zone_id, vec![command]).await?;
        Ok(Reply::created(dto, zone_location(zone_id)).etag(version))
    })
    .await
}

/// Rename an option or replace its prices (admin); answers the zone. Honours If-Match.
#[utoipa::path(
    patch, path = "/v1/admin/shipping-zones/{id}/options/{option_id}", tag = "shipping",
    request_body = UpdateShippingOptionRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Shipping zone id"),
        ("option_id" = uuid::Uuid, Path, description = "Shipping option id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = ShippingZoneDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Prices shipping refuses: bands with a gap or an empty band, a currency twice, a negative amount (`invalid_shipping_prices`); nothing changed"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/admin/shipping-zones/{id}/options/{option_id}")]
pub async fn update_option(
    state: web::Data<ApiState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let (raw_zone, raw_option) = path.into_inner();
        let zone_id = zone_id(&raw_zone)?;
        let option_id = option_id(&raw_option)?;
        let input: UpdateShippingOptionRequest = json_body(&request, &body)?;
        let mut commands = Vec::new();
        // The name first: a name taken refuses the request before anything is recorded.
        if let Some(name) = &input.name {
            let name = parse_name(name, "name")?;
            commands.push(ShippingZoneCommand::RenameOption { option_id, name });
        }
        if let Some(prices) = &input.prices {
            let prices = parse_prices(prices)?;
            commands.push(ShippingZoneCommand::ChangeOptionPrices { option_id, prices });
        }
        if commands.is_empty() {
            return Err(ApiError::validation("body", "give a name or prices"));
        }
        let (dto, version) = run(&state, &request, zone_id, commands).await?;
        Ok(Reply::ok(dto).etag(version))
    })
    .await
}

/// Take an option off its zone, for good (admin); answers the zone. Honours If-Match.
#[utoipa::path(
    delete, path = "/v1/admin/shipping-zones/{id}/options/{option_id}", tag = "shipping",
    params(
        ("id" = uuid::Uuid, Path, description = "Shipping zone id"),
        ("option_id" = uuid::Uuid, Path, description = "Shipping option id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = ShippingZoneDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/admin/shipping-zones/{id}/options/{option_id}")]
pub async fn delete_option(
    state: web::Data<ApiState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    idempotent(&state, &request, &[], || async {
        let (raw_zone, raw_option) = path.into_inner();
        let zone_id = zone_id(&raw_zone)?;
        let option_id = option_id(&raw_option)?;
        let command = ShippingZoneCommand::DeleteOption { option_id };
        let (dto, version) = run(&state, &request, zone_id, vec![command]).await?;
        Ok(Reply::ok(dto).etag(version))
    })
    .await
}

impl From<ShippingZoneError> for ApiError {
    fn from(error: ShippingZoneError) -> Self {
        match error {
            ShippingZoneError::Rejected(e) => e.into(),
            ShippingZoneError::CountryTaken { country, zone_id } => ApiError::CountryTaken {
                country,
                zone_id: zone_id.to_string(),
            },
            ShippingZoneError::PreconditionFailed { expected, actual } => {
                ApiError::VersionMismatch { expected, actual }
            }
            ShippingZoneError::Conflict => ApiError::Conflict,
            ShippingZoneError::Unavailable(e) => ApiError::Unavailable(e),
        }
    }
}

impl From<ShippingReadError> for ApiError {
    fn from(error: ShippingReadError) -> Self {
        ApiError::Unavailable(error.to_string())
    }
}

impl From<ShippingError> for ApiError {
    fn from(error: ShippingError) -> Self {
        ApiError::Shipping(Box::new(error))
    }
}
