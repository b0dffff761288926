//! A published event as a NATS message: the envelope JSON as the body, and headers that let
//! JetStream deduplicate and let consumers route or filter without parsing the body.

use async_nats::jetstream::message::PublishMessage;
use async_nats::{header, HeaderMap};
use bytes::Bytes;
use runtime::PublishedEvent;

/// The header JetStream deduplicates by, within the stream's duplicate window.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The event's public type, as in the envelope's `type`.
pub const EVENT_TYPE: &str = "Commerce-Event-Type";
/// The contract version of `data`, as in the envelope's `version`.
pub const EVENT_VERSION: &str = "Commerce-Event-Version";
/// The event's position in the global feed, as in the envelope's `cursor`: a consumer that
/// lost its JetStream state can resume from the HTTP feed after it.
pub const CURSOR: &str = "Commerce-Cursor";
/// The flow the event belongs to, when it has one.
pub const CORRELATION_ID: &str = "Commerce-Correlation-Id";

/// One event, encoded once and published as many times as a retry needs.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    body: Bytes,
    headers: HeaderMap,
}

impl Encoded {
    /// The message to publish; with `expected_last`, JetStream stores it only if its stream's
    /// last sequence is exactly that (see the crate docs on ordering).
    pub(crate) fn to_publish(&self, expected_last: Option<u64>) -> PublishMessage {
        let publish = PublishMessage::build()
            .payload(self.body.clone())
            .headers(self.headers.clone());
        match expected_last {
            Some(sequence) => publish.expected_last_sequence(sequence),
            None => publish,
        }
    }

    /// Headers and body for a plain NATS publish that JetStream stores only if its stream's
    /// last sequence is exactly `expected_last`, and does not acknowledge.
    pub(crate) fn unacknowledged(&self, expected_last: u64) -> (HeaderMap, Bytes) {
        let mut headers = self.headers.clone();
        headers.insert(
            header::NATS_EXPECTED_LAST_SEQUENCE,
            expected_last.to_string().as_str(),
        );
        (headers, self.body.clone())
    }
}

/// The message for `event`.
pub(crate) fn encode(event: &PublishedEvent) -> Result<Encoded, serde_json::Error> {
    let body = Bytes::from(serde_json::to_vec(event)?);
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID, event.id.to_string().as_str());
    headers.insert(EVENT_TYPE, event.event_type.as_str());
    headers.insert(EVENT_VERSION, event.version.to_string().as_str());
    headers.insert(CURSOR, event.cursor.as_str());
    headers.insert("Content-Type", "application/json");
    if let Some(correlation_id) = event.correlation_id {
        headers.insert(CORRELATION_ID, correlation_id.to_string().as_str());
    }
    Ok(Encoded { body, headers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::StreamRef;
    use serde_json::json;
    use uuid::Uuid;

    fn event() -> PublishedEvent {
        PublishedEvent {
            id: Uuid::from_u128(7),
            event_type: "orders.order_placed".into(),
            version: 2,
            stream: StreamRef {
                aggregate_type: "order".into(),
                id: "o-1".into(),
            },
            sequence: 1,
            cursor: "0000000000000000000000000000002a".into(),
            occurred_at: None,
            correlation_id: Some(Uuid::from_u128(9)),
            causation_id: None,
            data: json!({"order_id": "o-1"}),
        }
    }

    #[test]
    fn the_body_is_the_envelope_and_the_headers_repeat_what_routing_needs() {
        let event = event();
        let Encoded { body, headers } = encode(&event).unwrap();
        let body: PublishedEvent = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, event);
        let header = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
        assert_eq!(header(MSG_ID), Some(event.id.to_string()));
        assert_eq!(header(EVENT_TYPE).as_deref(), Some("orders.order_placed"));
        assert_eq!(header(EVENT_VERSION).as_deref(), Some("2"));
        assert_eq!(header(CURSOR), Some(event.cursor.clone()));
        assert_eq!(header(CORRELATION_ID), Some(Uuid::from_u128(9).to_string()));
    }
}
