//! Request and response plumbing shared by every route: strict JSON bodies, ids in paths,
//! entity tags and If-Match, Idempotency-Key handling, and list pagination.

use std::future::Future;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::Duration;
use cqrs_es::Aggregate;
use runtime::{CommandExecutor, CommandMetadata, IdempotencyClaim, StoredResponse};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::Principal;
use crate::problem::{ApiError, PROBLEM_JSON};
use crate::ApiState;

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Names one request; lowercase, as header names are stored.
pub const REQUEST_ID: &str = "x-request-id";
/// Names the flow a request belongs to; lowercase, as header names are stored.
pub const CORRELATION_ID: &str = "x-correlation-id";
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// An in-flight claim older than this belongs to a process that died mid-request.
const IDEMPOTENCY_STALE_AFTER: Duration = Duration::seconds(60);

/// A successful answer, kept as data so that it can be stored for idempotent replay.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub fn ok(body: impl serde::Serialize) -> Self {
        Self::with_status(StatusCode::OK, body)
    }

    /// 202: the work was recorded and goes on asynchronously; `location` is where to follow it.
    pub fn accepted(body: impl serde::Serialize, location: String) -> Self {
        Self::with_status(StatusCode::ACCEPTED, body).header(header::LOCATION.as_str(), location)
    }

    pub fn created(body: impl serde::Serialize, location: String) -> Self {
        Self::with_status(StatusCode::CREATED, body).header(header::LOCATION.as_str(), location)
    }

    fn with_status(status: StatusCode, body: impl serde::Serialize) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: serde_json::to_value(body).unwrap_or(Value::Null),
        }
    }

    pub fn header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }

    /// Sets the strong entity tag of a resource at `version`.
    pub fn etag(self, version: u64) -> Self {
        self.header(header::ETAG.as_str(), format!("\"{version}\""))
    }

    fn stored(&self) -> StoredResponse {
        StoredResponse {
            status: self.status.as_u16(),
            headers: self.headers.clone(),
            body: self.body.to_string(),
        }
    }
}

fn stored_problem(error: &ApiError) -> StoredResponse {
    let problem = error.problem();
    StoredResponse {
        status: problem.status,
        headers: vec![(
            header::CONTENT_TYPE.as_str().to_owned(),
            PROBLEM_JSON.to_owned(),
        )],
        body: serde_json::to_string(&problem).unwrap_or_default(),
    }
}

fn respond_stored(stored: &StoredResponse, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    let mut has_content_type = false;
    for (name, value) in &stored.headers {
        has_content_type |= name.eq_ignore_ascii_case(header::CONTENT_TYPE.as_str());
        response.insert_header((name.as_str(), value.as_str()));
    }
    if !has_content_type {
        response.content_type("application/json");
    }
    if replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    response.body(stored.body.clone())
}

pub fn respond(result: Result<Reply, ApiError>) -> HttpResponse {
    match result {
        Ok(reply) => respond_stored(&reply.stored(), false),
        Err(error) => actix_web::ResponseError::error_response(&error),
    }
}

/// An id for a resource a request creates: derived from the request's Idempotency-Key when it
/// has one, so a retry after an unknown outcome addresses the same resource (and the same
/// provider request) instead of minting a new one.
///
/// Keys belong to their caller: the same key sent by two API keys names two resources.
pub fn id_for_request(request: &HttpRequest, kind: &str, scope: &str) -> Uuid {
    match idempotency_key(request.headers()) {
        // A guest's key is already scoped by the resource it holds (`scope`).
        Ok(Some(key)) => match crate::auth::principal(request) {
            caller @ (Principal::Key(_) | Principal::Customer(_)) => {
                shared_kernel::deterministic_uuid(kind, &[scope, &key, &caller.scope_name()])
            }
            Principal::Anonymous | Principal::Holder(_) => {
                shared_kernel::deterministic_uuid(kind, &[scope, &key])
            }
        },
        _ => Uuid::now_v7(),
    }
}

/// Where a caller's idempotency key is recorded: keys belong to their caller, so the same
/// key from another caller is another request, never a replay of this one. An anonymous
/// caller's key is recorded as sent; a key holder's behind its name and a space, which no
/// key may contain, so no anonymous key can reach another caller's record.
fn recorded_key(request: &HttpRequest, key: &str) -> String {
    match crate::auth::principal(request) {
        Principal::Anonymous => key.to_owned(),
        caller => format!("{} {key}", caller.scope_name()),
    }
}

/// Runs a mutating handler under Stripe's Idempotency-Key semantics: the same key with the
/// same request replays the first response; with a different request it is a 422; while the
/// first is still running it is a 409. Without the header the handler simply runs.
pub async fn idempotent<F, Fut>(
    state: &ApiState,
    request: &HttpRequest,
    body: &[u8],
    handler: F,
) -> HttpResponse
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Reply, ApiError>>,
{
    let key = match idempotency_key(request.headers()) {
        Ok(Some(key)) => recorded_key(request, &key),
        Ok(None) => return respond(handler().await),
        Err(error) => return respond(Err(error)),
    };
    let fingerprint = fingerprint(request, body);
    let now = state.clock.now();
    let claim = state
        .idempotency
        .claim(&key, &fingerprint, now, IDEMPOTENCY_STALE_AFTER)
        .await;
    match claim {
        Err(error) => respond(Err(error.into())),
        Ok(IdempotencyClaim::Replay(stored)) => {
            runtime::metrics()
                .idempotency_replay(request.match_pattern().as_deref().unwrap_or("unmatched"));
            respond_stored(&stored, true)
        }
        Ok(IdempotencyClaim::InFlight) => respond(Err(ApiError::IdempotencyKeyInUse)),
        Ok(IdempotencyClaim::Mismatch) => respond(Err(ApiError::IdempotencyKeyReused)),
        Ok(IdempotencyClaim::Acquired) => {
            if let Some(boundary) = &state.request_boundary {
                boundary("idempotency_claimed");
            }
            let result = handler().await;
            let stored = match &result {
                Ok(reply) => Some(reply.stored()),
                // A 5xx is never final: the retry must be allowed to run.
                Err(error)
                    if error.is_final_outcome() && !error.status_and_code().0.is_server_error() =>
                {
                    Some(stored_problem(error))
                }
                Err(_) => None,
            };
            let recorded = match &stored {
                Some(stored) => {
                    state
                        .idempotency
                        .complete(&key, stored, state.clock.now())
                        .await
                }
                None => state.idempotency.release(&key).await,
            };
            if let Err(error) = recorded {
                // The outcome stands; a repeat will wait for the stale claim to be taken over.
                tracing::error!(%error, key, "could not record an idempotency outcome");
            }
            respond(result)
        }
    }
}

pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::InvalidIdempotencyKey)?
        .trim();
    let printable = key.chars().all(|c| c.is_ascii_graphic());
    if key.is_empty() || key.len() > 255 || !printable {
        return Err(ApiError::InvalidIdempotencyKey);
    }
    Ok(Some(key.to_owned()))
}

/// What makes two requests "the same" for an idempotency key: method, path, query, the
/// precondition and the exact body bytes.
fn fingerprint(request: &HttpRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(request.method().as_str());
    hasher.update([0]);
    hasher.update(request.path());
    hasher.update([0]);
    hasher.update(request.query_string());
    hasher.update([0]);
    if let Some(if_match) = request.headers().get(header::IF_MATCH) {
        hasher.update(if_match.as_bytes());
    }
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Deepest nesting of arrays and objects a request body may have. Every request shape of
/// the API needs fewer than five; the limit keeps parsing cheap whatever a client sends.
pub const MAX_JSON_DEPTH: usize = 32;

/// How deeply arrays and objects nest in `body`, brackets inside strings not counted. Reads
/// bytes only, so it is safe on any input, valid JSON or not.
fn json_depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses a command body strictly: JSON only, no unknown fields, clear messages.
pub fn json_body<T: DeserializeOwned>(request: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
        let content_type = content_type
            .to_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the body is empty".to_owned()));
    }
    if json_depth(body) > MAX_JSON_DEPTH {
        return Err(ApiError::MalformedJson(format!(
            "the body is nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let mut value: Value =
        serde_json::from_slice(body).map_err(|error| ApiError::MalformedJson(error.to_string()))?;
    integral_numbers_as_integers(&mut value);
    T::deserialize(value).map_err(|error| {
        use serde_json::error::Category;
        let message = error.to_string();
        match error.classify() {
            Category::Data => match unknown_field_name(&message) {
                Some(field) => ApiError::UnknownField { field },
                None => ApiError::Validation {
                    detail: message.clone(),
                    errors: vec![crate::problem::FieldError::new(
                        missing_field_name(&message).unwrap_or_else(|| "body".to_owned()),
                        message,
                    )],
                },
            },
            _ => ApiError::MalformedJson(message),
        }
    })
}

/// JSON does not tell `2` from `2.0`: both are the number two. Integral numbers written
/// with a fraction or an exponent become integers, so that integer fields take them.
fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) if number.is_f64() => {
            // Within ±2^53 every integral f64 is exact, and far inside the i64 range.
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if let Some(float) = number.as_f64() {
                if float.fract() == 0.0 && float.abs() <= EXACT {
                    #[allow(clippy::cast_possible_truncation)]
                    let integer = float as i64;
                    *number = serde_json::Number::from(integer);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    Some(rest.split('`').next()?.to_owned())
}

fn unknown_field_name(message: &str) -> Option<String> {
    quoted_after(message, "unknown field ")
}

fn missing_field_name(message: &str) -> Option<String> {
    quoted_after(message, "missing field ")
}

/// Parses an id from the path; a malformed id is a 400, not a 404 or a 500.
pub fn path_id(raw: &str, param: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::InvalidId { param })
}

/// Reads If-Match: `None` when absent, `Some(version)` for `"N"`. `*` means "any current
/// version", which for an existing resource is the same as no precondition.
pub fn if_match(request: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    parse_if_match(value)
}

fn parse_if_match(value: &HeaderValue) -> Result<Option<u64>, ApiError> {
    let text = value.to_str().map_err(|_| ApiError::InvalidIfMatch)?.trim();
    if text == "*" {
        return Ok(None);
    }
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<u64>().ok())
        .map(Some)
        .ok_or(ApiError::InvalidIfMatch)
}

/// Runs `command` on the aggregate `id`, honouring If-Match, and answers 200 with the state
/// it left, rendered by `render`, and that state's version as the ETag.
pub async fn command_reply<A, D>(
    executor: &dyn CommandExecutor<A>,
    request: &HttpRequest,
    actor: &str,
    id: &str,
    command: A::Command,
    render: fn(&A, u64) -> D,
) -> Result<Reply, ApiError>
where
    A: Aggregate + Clone,
    A::Error: Into<ApiError>,
    D: serde::Serialize,
{
    let expected = if_match(request)?;
    let executed = executor
        .execute(id, command, expected, &metadata(actor))
        .await?;
    Ok(Reply::ok(render(&executed.state, executed.version)).etag(executed.version))
}

/// Command metadata for work `actor` does in this request: correlation and causation come
/// from the flow [`trace_requests`](crate::trace_requests) opened around it.
pub fn metadata(actor: &str) -> CommandMetadata {
    CommandMetadata::new(actor)
}

/// Cursor pagination parameters shared by list routes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many items to return, 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The id of the last item of the previous page.
    #[param(value_type = Option<uuid::Uuid>)]
    pub starting_after: Option<String>,
}

pub struct Page {
    pub limit: usize,
    pub starting_after: Option<String>,
}

impl ListParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = match &self.limit {
            None => 20,
            Some(raw) => match raw.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        "must be an integer from 1 to 100",
                    ))
                }
            },
        };
        let starting_after = match &self.starting_after {
            None => None,
            Some(raw) => Some(
                Uuid::parse_str(raw)
                    .map_err(|_| ApiError::validation("starting_after", "must be an id"))?
                    .to_string(),
            ),
        };
        Ok(Page {
            limit,
            starting_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_numbers_reach_integer_fields_and_fractions_do_not() {
        let mut value: Value =
            serde_json::from_str(r#"{"a": 2.0, "b": [1e3, -4.0], "c": 2.5, "d": 7, "e": 1e300}"#)
                .unwrap();
        integral_numbers_as_integers(&mut value);
        assert_eq!(value["a"].as_u64(), Some(2));
        assert_eq!(value["b"][0].as_u64(), Some(1000));
        assert_eq!(value["b"][1].as_i64(), Some(-4));
        assert_eq!(value["c"].as_f64(), Some(2.5));
        assert!(value["c"].as_i64().is_none());
        assert_eq!(value["d"].as_u64(), Some(7));
        assert!(
            value["e"].as_i64().is_none(),
            "too large to be exact stays a float"
        );
    }

    #[test]
    fn if_match_accepts_strong_tags_and_star_only() {
        let parse = |s: &'static str| parse_if_match(&HeaderValue::from_static(s));
        assert_eq!(parse("\"3\"").unwrap(), Some(3));
        assert_eq!(parse("*").unwrap(), None);
        assert!(parse("W/\"3\"").is_err());
        assert!(parse("3").is_err());
        assert!(parse("\"x\"").is_err());
    }

    #[test]
    fn depth_counts_nesting_outside_strings_only() {
        assert_eq!(json_depth(b"{}"), 1);
        assert_eq!(json_depth(br#"{"a":[1,{"b":[]}]}"#), 4);
        assert_eq!(json_depth(br#"{"a":"[[[[{{{{"}"#), 1);
        assert_eq!(json_depth(br#"{"a":"\"[[["}"#), 1);
        assert_eq!(json_depth(b"]]]]"), 0);
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(json_depth(deep.as_bytes()), 40);
    }

    #[test]
    fn serde_messages_name_the_offending_field() {
        assert_eq!(
            unknown_field_name("unknown field `colour`, expected one of `sku`"),
            Some("colour".to_owned())
        );
        assert_eq!(
            missing_field_name("missing field `sku` at line 1 column 2"),
            Some("sku".to_owned())
        );
    }

    mod fuzz {
        //! Any bytes a client may send to a command route are answered, never a panic and
        //! never a 5xx: JSON of every shape, near-misses of the real request shapes, and
        //! bytes that are not JSON at all.

        use proptest::prelude::*;
        use serde_json::{Map, Value};

        use super::*;

        fn request() -> HttpRequest {
            actix_web::test::TestRequest::default()
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .to_http_request()
        }

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(
                    |f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                ),
                ".{0,12}".prop_map(Value::String),
                prop_oneof![Just("EUR"), Just("1.00"), Just("-0.001"), Just("TEE-S")]
                    .prop_map(|s| Value::String(s.to_owned())),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec(
                        (
                            prop_oneof![
                                Just("amount".to_owned()),
                                Just("currency".to_owned()),
                                Just("lines".to_owned()),
                                Just("sku".to_owned()),
                                Just("quantity".to_owned()),
                                Just("resellable".to_owned()),
                                Just("reason".to_owned()),
                                Just("restock".to_owned()),
                                Just("email".to_owned()),
                                Just("payment_method_token".to_owned()),
                                Just("shipping_address".to_owned()),
                                "[a-z_]{1,8}",
                            ],
                            inner,
                        ),
                        0..6,
                    )
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
                ]
            })
        }

        /// Parses `body` as every command shape that takes one; each answer is a 4xx at worst.
        fn parse_all(body: &[u8]) {
            let request = request();
            macro_rules! each {
                ($($shape:ty),+ $(,)?) => {
                    $(
                        if let Err(error) = json_body::<$shape>(&request, body) {
                            let status = error.status_and_code().0;
                            assert!(status.is_client_error(), "{status} for {}", stringify!($shape));
                        }
                    )+
                };
            }
            each!(
                crate::dto::CreateCartRequest,
                crate::dto::AddItemRequest,
                crate::dto::StartCheckoutRequest,
                crate::dto::PlaceOrderRequestDto,
                crate::dto::AuthorizePaymentRequest,
                crate::dto::ReceiveStockRequest,
                crate::dto::AdjustStockRequest,
                crate::refunds::CreateRefundRequest,
                crate::returns::CreateReturnRequest,
                crate::returns::ReceiveReturnRequest,
                crate::returns::RejectReturnRequest,
                crate::promotions::CreatePromotionRequest,
                crate::promotions::UpdatePromotionRequest,
            );
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn any_json_gets_an_answer(value in any_json()) {
                parse_all(value.to_string().as_bytes());
            }

            #[test]
            fn any_bytes_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                parse_all(&bytes);
            }
        }

        #[test]
        fn deeper_than_the_limit_is_refused_before_parsing() {
            let deep = format!(
                "{}{}",
                "[".repeat(MAX_JSON_DEPTH + 1),
                "]".repeat(MAX_JSON_DEPTH + 1)
            );
            let error = json_body::<Value>(&request(), deep.as_bytes()).unwrap_err();
            assert_eq!(error.status_and_code().1, "malformed_json");
            assert!(
                error.to_string().contains("nested deeper than 32"),
                "{error}"
            );
            let fine = format!(
                "{}{}",
                "[".repeat(MAX_JSON_DEPTH),
                "]".repeat(MAX_JSON_DEPTH)
            );
            assert!(json_body::<Value>(&request(), fine.as_bytes()).is_ok());
        }
    }
}
