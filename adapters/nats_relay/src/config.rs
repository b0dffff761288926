//! What the relay needs to know about its NATS deployment.

use std::time::Duration;

/// Where and how the relay publishes. Built by the composition root when `NATS_URL` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// The server(s) to connect to: `nats://host:4222`, several separated by commas.
    pub url: String,
    /// The JetStream stream the relay owns and creates if missing.
    pub stream: String,
    /// Every event goes to `<subject_prefix>.<type>`; the stream captures `<subject_prefix>.>`.
    pub subject_prefix: String,
    /// How long JetStream remembers a `Nats-Msg-Id` to drop a republished event. Only used
    /// when the relay creates the stream; an existing stream keeps its own setting.
    pub duplicate_window: Duration,
    /// Published events per batch: one feed read, one round of pipelined publishes, one
    /// checkpoint commit.
    pub batch_size: usize,
    /// How often a relay that nothing woke looks at the feed: appends in other instances do
    /// not reach this process's feed signal.
    pub idle_poll: Duration,
    /// How long a JetStream request or publish ack may take before the batch is retried.
    pub request_timeout: Duration,
    /// How often, at most, the relay records how far it has published. What it relayed since
    /// is published again after a crash and dropped by JetStream's duplicate window, so a
    /// commit per batch buys nothing but database load.
    pub checkpoint_every: Duration,
    /// How long the relay lets appends accumulate after a round that found only a few:
    /// fewer, fuller rounds cost less per event, at the price of up to this much latency.
    pub coalesce: Duration,
}

impl RelayConfig {
    pub const DEFAULT_STREAM: &'static str = "COMMERCE";
    pub const DEFAULT_SUBJECT_PREFIX: &'static str = "commerce";

    /// The defaults: stream `COMMERCE` on `commerce.>`, a five-minute duplicate window.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: Self::DEFAULT_STREAM.to_owned(),
            subject_prefix: Self::DEFAULT_SUBJECT_PREFIX.to_owned(),
            // Long enough to cover a relay that crashed after publishing and was restarted by
            // its supervisor; JetStream's own default is two minutes.
            duplicate_window: Duration::from_secs(5 * 60),
            batch_size: 256,
            idle_poll: Duration::from_millis(200),
            request_timeout: Duration::from_secs(5),
            checkpoint_every: Duration::from_millis(250),
            coalesce: Duration::from_millis(5),
        }
    }

    pub fn with_stream(mut self, stream: impl Into<String>) -> Self {
        self.stream = stream.into();
        self
    }

    pub fn with_subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.subject_prefix = prefix.into();
        self
    }

    pub fn with_duplicate_window(mut self, window: Duration) -> Self {
        self.duplicate_window = window;
        self
    }

    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The subject an event of `event_type` (`orders.order_placed`) is published to.
    pub fn subject_for(&self, event_type: &str) -> String {
        format!("{}.{event_type}", self.subject_prefix)
    }

    /// The subjects the stream captures.
    pub fn stream_subjects(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }

    /// The URL without any user or password, for logs and errors.
    pub fn redacted_url(&self) -> String {
        self.url
            .split(',')
            .map(|server| match (server.find("://"), server.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    format!("{}{}", &server[..scheme + 3], &server[at + 1..])
                }
                (None, Some(at)) => server[at + 1..].to_owned(),
                _ => server.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_type_becomes_a_subject_under_the_prefix() {
        let config = RelayConfig::new("nats://127.0.0.1:4222");
        assert_eq!(
            config.subject_for("orders.order_placed"),
            "commerce.orders.order_placed"
        );
        assert_eq!(config.stream_subjects(), "commerce.>");
        assert_eq!(config.stream, "COMMERCE");
        let custom = config.with_subject_prefix("test_1").with_stream("T1");
        assert_eq!(custom.subject_for("a.b"), "test_1.a.b");
        assert_eq!(custom.stream_subjects(), "test_1.>");
    }

    #[test]
    fn credentials_never_reach_the_logs() {
        let config = RelayConfig::new("nats://relay:s3cret@nats-1:4222,tls://tok@nats-2:4222");
        assert_eq!(
            config.redacted_url(),
            "nats://nats-1:4222,tls://nats-2:4222"
        );
        assert_eq!(
            RelayConfig::new("user:pw@localhost:4222").redacted_url(),
            "localhost:4222"
        );
        assert_eq!(
            RelayConfig::new("nats://127.0.0.1:4222").redacted_url(),
            "nats://127.0.0.1:4222"
        );
    }
}
