//! Which flow a piece of work belongs to, and what caused it (ADR 0014).
//!
//! One correlation id runs from the HTTP request that starts a flow through every event that
//! flow causes in any context; each event also names its direct cause (the request, or the
//! event a saga step reacted to). The REST adapter opens a [`Cause`] around each request and
//! the saga runner around each step, with [`within`]; every [`CommandMetadata`] built inside
//! takes both ids from it, so no port or command has to carry them.
//!
//! The scope is task-local: work spawned onto another task starts a flow of its own unless it
//! opens the scope again (the saga does, from the metadata stored with the events it reads).
//!
//! [`CommandMetadata`]: crate::CommandMetadata

use std::future::Future;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// The flow and the direct cause of the work running in the current task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub correlation_id: Uuid,
    /// The request or event that caused the work.
    pub causation_id: Uuid,
}

tokio::task_local! {
    static CURRENT: Cause;
}

/// Runs `work` with `cause` as the current cause.
pub async fn within<F: Future>(cause: Cause, work: F) -> F::Output {
    CURRENT.scope(cause, work).await
}

/// The cause of the work running now, if a scope was opened.
pub fn current() -> Option<Cause> {
    CURRENT.try_with(|cause| *cause).ok()
}

/// The metadata stored with one event, read leniently: events written before a field existed
/// simply do not have it (`occurred_at` and `causation_id` are missing from the first
/// release's events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventMetadata {
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub actor: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    /// The W3C trace context of the span that appended the event (ADR 0030), when it was
    /// traced.
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl EventMetadata {
    pub fn from_json(metadata: &Value) -> Self {
        let text = |key: &str| metadata.get(key).and_then(Value::as_str);
        let uuid = |key: &str| text(key).and_then(|t| Uuid::parse_str(t).ok());
        Self {
            correlation_id: uuid("correlation_id"),
            causation_id: uuid("causation_id"),
            actor: text("actor").map(str::to_owned),
            occurred_at: text("occurred_at")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            traceparent: text("traceparent").map(str::to_owned),
            tracestate: text("tracestate").map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn the_cause_is_visible_inside_its_scope_only() {
        let cause = Cause {
            correlation_id: Uuid::now_v7(),
            causation_id: Uuid::now_v7(),
        };
        assert_eq!(current(), None);
        let seen = within(cause, async { current() }).await;
        assert_eq!(seen, Some(cause));
        assert_eq!(current(), None);
    }

    #[test]
    fn metadata_of_the_first_release_reads_without_the_newer_fields() {
        let id = Uuid::now_v7();
        let metadata = EventMetadata::from_json(&json!({
            "actor": "shopper",
            "correlation_id": id.to_string(),
        }));
        assert_eq!(metadata.correlation_id, Some(id));
        assert_eq!(metadata.actor.as_deref(), Some("shopper"));
        assert_eq!(metadata.causation_id, None);
        assert_eq!(metadata.occurred_at, None);
    }
}
