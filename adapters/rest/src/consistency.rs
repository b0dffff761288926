//! Read-your-writes over HTTP (ADR 0040).
//!
//! Every answer to a request that appended events carries `Commerce-Position`: the feed
//! position its last event reached. A request that names a position, in the
//! `Commerce-Min-Position` header or the `min_position` query parameter, is served only once
//! every read model has projected past it: it waits (up to [`ApiState::read_wait_max`]), and
//! if the read models are still behind then, it is refused with `503 read_model_behind` and
//! `Retry-After` rather than answered with a view that misses the caller's own write.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use runtime::Cursor;

use crate::problem::ApiError;
use crate::ApiState;

/// The response header naming where a request's writes landed in the feed.
pub const POSITION: &str = "commerce-position";
/// The request header naming a position the answer must reflect.
pub const MIN_POSITION: &str = "commerce-min-position";
/// The query parameter naming it, for clients that cannot set headers (links, `EventSource`).
pub const MIN_POSITION_PARAM: &str = "min_position";

/// The position a request asks its answer to reflect, if it names one (the header wins).
fn requested(headers: &header::HeaderMap, query: &str) -> Result<Option<Cursor>, ApiError> {
    let from_header = headers
        .get(MIN_POSITION)
        .map(|value| value.to_str().unwrap_or("").trim().to_owned());
    let from_query = || {
        query.split('&').find_map(|pair| {
            let (name, value) = parameter(pair);
            (name == MIN_POSITION_PARAM).then(|| value.to_owned())
        })
    };
    let Some(token) = from_header.or_else(from_query) else {
        return Ok(None);
    };
    Cursor::from_token(&token)
        .map(Some)
        .map_err(|_| ApiError::InvalidPosition)
}

/// The position a request named (already checked by [`read_your_writes`]), for handlers
/// whose answer reflects more than the read models (the webhook delivery log).
pub fn min_position(request: &HttpRequest) -> Option<Cursor> {
    request
        .extensions()
        .get::<NamedPosition>()
        .map(|named| named.0)
}

/// The position a request named. A `min_position` query parameter is also taken out of the
/// query string, so that routes with strict query parameters still accept it.
#[derive(Debug, Clone, Copy)]
struct NamedPosition(Cursor);

/// A query-string pair as name and value (empty when it has none).
fn parameter(pair: &str) -> (&str, &str) {
    pair.split_once('=').unwrap_or((pair, ""))
}

fn named_in_query(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| parameter(pair).0 == MIN_POSITION_PARAM)
}

/// The query string without the `min_position` parameter.
fn without_position(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| parameter(pair).0 != MIN_POSITION_PARAM)
        .collect::<Vec<_>>()
        .join("&")
}

/// Waits for the read models to pass the position a request names, then runs it, recording
/// where its own writes land and answering with that position.
pub async fn read_your_writes(
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refuse = |request: ServiceRequest, response: HttpResponse| {
        Ok(request.into_response(response).map_into_right_body())
    };
    let position = match requested(request.headers(), request.query_string()) {
        Ok(position) => position,
        Err(error) => return refuse(request, error.error_response()),
    };
    if let Some(position) = position {
        request.extensions_mut().insert(NamedPosition(position));
    }
    if named_in_query(request.query_string()) {
        let query = without_position(request.query_string());
        let path = request.path();
        let rebuilt = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        if let Ok(uri) = rebuilt.parse() {
            request.head_mut().uri = uri;
        }
    }
    if let (Some(position), Some(state)) = (position, request.app_data::<web::Data<ApiState>>()) {
        if let Some(progress) = &state.read_progress {
            let refusal = match progress.wait_past(position, state.read_wait_max).await {
                Ok(true) => None,
                Ok(false) => Some(ApiError::ReadModelBehind {
                    position: position.to_token(),
                }),
                Err(error) => Some(ApiError::from(error)),
            };
            if let Some(refusal) = refusal {
                return refuse(request, refusal.error_response());
            }
        }
    }
    let (response, written) = runtime::consistency::recording(next.call(request)).await;
    let mut response = response?;
    if let Some(written) = written {
        if let Ok(value) = header::HeaderValue::from_str(&written.to_token()) {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static(POSITION), value);
        }
    }
    Ok(response.map_into_left_body())
}
