//! The published event feed for internal services (ADR 0015): pages with long-polling, a
//! Server-Sent Events stream, and the schemas of every published type.
//!
//! Both read the runtime's published feed from a cursor the consumer holds, so a consumer can
//! start from the beginning of history, stop anywhere and resume exactly after the last event
//! it processed. Order is the global feed's; delivery is at least once (a consumer that
//! resumes from an older cursor sees events again), so consumers deduplicate by event `id`.
//!
//! Waiting readers are woken as soon as this instance appends, and on PostgreSQL when any
//! instance commits (LISTEN/NOTIFY); polling every [`POLL`] stays the authority, so a lost
//! wake-up costs latency, never an event.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use runtime::{Cursor, PublishError, PublishedEvent, PublishedFeed, TypeFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use utoipa::{IntoParams, ToSchema};

use crate::http::{respond, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

/// Most events one page holds.
const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;
/// How often a waiting reader looks again even when nothing woke it.
const POLL: Duration = Duration::from_millis(250);
/// After a wake-up that found nothing yet (PostgreSQL shows a commit only once every older
/// transaction has ended), look again this soon, doubling up to [`POLL`].
const RECHECK: Duration = Duration::from_millis(2);
/// An idle stream sends a comment this often so that proxies keep it open.
const HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Resume after this cursor (from an event's `cursor` or a page's `next_cursor`). Absent
    /// or empty: from the beginning of history.
    #[param(pattern = "^([0-9a-fA-F]{32})?$")]
    pub after: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// Comma-separated published types (`orders.order_placed`) or contexts (`orders.*`).
    /// Absent: every type.
    #[param(value_type = Option<Vec<EventTypeName>>, style = Form, explode = false)]
    pub types: Option<String>,
    /// Seconds to wait, 0 to 30 (default 0), when nothing newer is there yet: the answer
    /// comes as soon as a matching event commits.
    #[param(value_type = Option<u32>, minimum = 0, maximum = 30)]
    pub wait: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Resume after this cursor; the `Last-Event-ID` header takes precedence. Absent: from
    /// the beginning of history.
    pub after: Option<String>,
    /// Comma-separated published types or contexts (`orders.*`). Absent: every type.
    pub types: Option<String>,
}

/// A published event type (`orders.order_placed`) or a whole context (`orders.*`). The
/// document served at `/openapi.json` lists them as an enum, from the published contracts the
/// server runs with ([`published_type_names`]).
pub struct EventTypeName;

impl utoipa::PartialSchema for EventTypeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "A published type (`orders.order_placed`) or context (`orders.*`)",
            ))
            .into()
    }
}

impl ToSchema for EventTypeName {}

/// Every name a types filter accepts: each published type, and each publishing context
/// followed by `.*`.
pub fn published_type_names(contracts: &[runtime::ContractSchema]) -> Vec<String> {
    let mut names: Vec<String> = contracts
        .iter()
        .map(|c| c.event_type.clone())
        .chain(contracts.iter().map(|c| format!("{}.*", c.context)))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// One page of the published feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Published events in feed order; see `/v1/events/schemas` for each type's `data`.
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<PublishedEvent>,
    /// Where the next page starts. It may be past the last event returned: events of other
    /// types, and internal ones, are skipped and never scanned again.
    pub next_cursor: String,
    /// Whether more events were already there when this page was read.
    pub has_more: bool,
}

/// Every published type, each version, with the JSON Schema of its `data`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemaCatalog {
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<runtime::ContractSchema>,
    /// The schema of the envelope every event comes in.
    #[schema(value_type = Object)]
    pub envelope: Value,
}

fn cursor_param(raw: Option<&str>) -> Result<Cursor, ApiError> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(Cursor::START),
        Some(token) => Cursor::from_token(token).map_err(|e| {
            ApiError::validation("after", format!("{e}; pass back an event's `cursor`"))
        }),
    }
}

/// The types filter, each name checked against what is published.
fn types_param(state: &ApiState, raw: Option<&str>) -> Result<TypeFilter, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(TypeFilter::all());
    };
    TypeFilter::of_published(raw.split(','), &state.published.contracts().schemas()).map_err(
        |unknown| ApiError::validation("types", format!("{unknown}; see /v1/events/schemas")),
    )
}

pub(crate) fn number_param(
    name: &str,
    raw: Option<&str>,
    default: u64,
    range: (u64, u64),
) -> Result<u64, ApiError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (range.0..=range.1).contains(n))
            .ok_or_else(|| {
                ApiError::validation(
                    name,
                    format!("must be an integer from {} to {}", range.0, range.1),
                )
            }),
    }
}

fn publish_error(error: PublishError) -> ApiError {
    match error {
        PublishError::Store(error) => ApiError::Unavailable(error.to_string()),
        // A stored event this release cannot publish: the feed stops here rather than skip it.
        undecodable => {
            tracing::error!(error = %undecodable, "the published feed cannot go past an event");
            ApiError::Unavailable(undecodable.to_string())
        }
    }
}

/// Reads the next page; with `wait`, waits until it has events or the time is up.
async fn read(
    feed: &PublishedFeed,
    wake: &mut watch::Receiver<u64>,
    after: Cursor,
    limit: usize,
    filter: &TypeFilter,
    until: Instant,
) -> Result<runtime::PublishedPage, PublishError> {
    let mut recheck = POLL;
    loop {
        // Mark what has been seen before reading, so an append during the read still wakes us.
        wake.borrow_and_update();
        let page = feed.read_after(after, limit, filter).await?;
        let now = Instant::now();
        if !page.events.is_empty() || now >= until {
            return Ok(page);
        }
        let pause = recheck.min(until - now);
        let woken = tokio::select! {
            changed = wake.changed() => changed.is_ok(),
            () = tokio::time::sleep(pause) => false,
        };
        // A wake-up that finds nothing yet is looked at again soon: on PostgreSQL the commit
        // shows in the feed only once every older transaction has ended.
        recheck = if woken {
            RECHECK
        } else {
            (recheck * 2).min(POLL)
        };
    }
}

/// Published events after a cursor, oldest first; long-polls with `wait`.
#[utoipa::path(
    get, path = "/v1/events", tag = "events",
    params(FeedParams),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/events")]
pub async fn list_events(
    state: web::Data<ApiState>,
    params: web::Query<FeedParams>,
) -> HttpResponse {
    respond(
        async {
            let after = cursor_param(params.after.as_deref())?;
            let limit = number_param(
                "limit",
                params.limit.as_deref(),
                DEFAULT_LIMIT as u64,
                (1, MAX_LIMIT as u64),
            )?;
            let filter = types_param(&state, params.types.as_deref())?;
            let mut wake = state.feed_signal.subscribe();
            let (_, until) =
                crate::long_poll::deadline(params.wait.as_deref(), state.long_poll_max)?;
            let page = read(
                &state.published,
                &mut wake,
                after,
                limit as usize,
                &filter,
                until,
            )
            .await
            .map_err(publish_error)?;
            let has_more = page.events.len() >= limit as usize;
            Ok(Reply::ok(EventPage {
                data: page.events,
                next_cursor: page.next.to_token(),
                has_more,
            }))
        }
        .await,
    )
}

/// The state of one open event stream.
struct Stream {
    feed: PublishedFeed,
    wake: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    filter: TypeFilter,
    after: Cursor,
    pending: VecDeque<PublishedEvent>,
    done: bool,
}

impl Stream {
    /// The next chunk to send, or `None` once the stream is over.
    async fn next_chunk(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(sse_event(&event));
            }
            if *self.closing.borrow() {
                return None;
            }
            let until = Instant::now() + HEARTBEAT;
            let read = tokio::select! {
                read = read(&self.feed, &mut self.wake, self.after, 100, &self.filter, until) => read,
                _ = self.closing.changed() => return None,
            };
            match read {
                Ok(page) if page.events.is_empty() => {
                    self.after = page.next;
                    return Some(": keep-alive\n\n".to_owned());
                }
                Ok(page) => {
                    self.after = page.next;
                    self.pending.extend(page.events);
                }
                Err(error) => {
                    tracing::error!(%error, "event stream stopped");
                    self.done = true;
                    let data = serde_json::json!({ "code": "feed_unavailable", "detail": error.to_string() });
                    return Some(format!("event: error\ndata: {data}\n\n"));
                }
            }
        }
    }
}

/// One event as Server-Sent Events: its cursor as the `id` (what `Last-Event-ID` brings
/// back), its type as the event name, the envelope as data.
fn sse_event(event: &PublishedEvent) -> String {
    let data = serde_json::to_string(event).unwrap_or_default();
    format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        event.cursor, event.event_type
    )
}

/// Published events as Server-Sent Events, from a cursor on, as they commit. Reconnecting
/// with `Last-Event-ID` resumes right after the last event received.
#[utoipa::path(
    get, path = "/v1/events/stream", tag = "events",
    params(
        StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this cursor"),
    ),
    responses(
        (status = 200, description = "An endless text/event-stream: `id` is the cursor, `event` the type, `data` the envelope", content_type = "text/event-stream"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/events/stream")]
pub async fn stream_events(
    state: web::Data<ApiState>,
    request: HttpRequest,
    params: web::Query<StreamParams>,
) -> HttpResponse {
    let last_event_id = request
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let opened = (|| {
        let after = cursor_param(last_event_id.as_deref().or(params.after.as_deref()))?;
        let filter = types_param(&state, params.types.as_deref())?;
        Ok::<_, ApiError>((after, filter))
    })();
    let (after, filter) = match opened {
        Ok(opened) => opened,
        Err(error) => return respond(Err(error)),
    };
    let stream = Stream {
        feed: state.published.clone(),
        wake: state.feed_signal.subscribe(),
        closing: state.streams_closing.clone(),
        filter,
        after,
        pending: VecDeque::new(),
        done: false,
    };
    let body = futures::stream::unfold(stream, |mut stream| async move {
        let chunk = stream.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), stream))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}

/// Every published event type and version, with the JSON Schema of its `data`.
#[utoipa::path(
    get, path = "/v1/events/schemas", tag = "events",
    responses((status = 200, body = SchemaCatalog))
)]
#[get("/v1/events/schemas")]
pub async fn event_schemas(state: web::Data<ApiState>) -> HttpResponse {
    respond(Ok(Reply::ok(SchemaCatalog {
        data: state.published.contracts().schemas(),
        envelope: state.published.contracts().envelope_schema(),
    })))
}
