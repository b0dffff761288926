//! `loadgen get`: one URL asked over and over on N keep-alive connections, each sending its
//! next request as soon as the last is answered, to find how many requests per second a
//! server answers (BENCHMARKS.md, "Request ceiling"). No shoppers, no audit.
//!
//! Each connection is its own HTTP client holding one pooled connection, so N connections
//! are N TCP connections kept alive for the whole run (a transport error drops one and the
//! next request opens another). Only requests answered inside the measured window (after
//! the warm-up, up to the deadline) count; a request still in flight at the deadline is
//! neither counted nor timed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::stats::{format_micros_as_secs, format_rate_per_sec, micros, LatencySummary};

/// `loadgen get`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct GetArgs {
    /// The URL every request asks for (`GET`, http only).
    #[arg(long)]
    pub url: String,

    /// Concurrent keep-alive connections, each with one request in flight at a time.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub connections: u64,

    /// Measured run time in seconds, after the warm-up.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration_secs: u64,

    /// Warm-up seconds before measuring (connections opened, caches filled); their requests
    /// are not counted.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
}

/// What one connection saw, or all of them merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Latencies of the 2xx answers, in microseconds.
    pub samples: Vec<u64>,
    /// Body bytes of the 2xx answers.
    pub bytes: u64,
    /// Everything else by kind: the status code ("503") or "transport".
    pub errors: BTreeMap<String, u64>,
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP answer with this status and this many body bytes.
    Status(u16, u64),
    /// No answer: connection refused or reset, timeout, unreadable body.
    Transport,
}

impl Tally {
    /// Counts one answer that took `latency_micros`.
    pub fn record(&mut self, answer: Answer, latency_micros: u64) {
        match answer {
            Answer::Status(status, bytes) if (200..300).contains(&status) => {
                self.samples.push(latency_micros);
                self.bytes += bytes;
            }
            Answer::Status(status, _) => *self.errors.entry(status.to_string()).or_default() += 1,
            Answer::Transport => *self.errors.entry("transport".to_owned()).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: Tally) {
        self.samples.extend(other.samples);
        self.bytes += other.bytes;
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
    }

    /// 2xx answers.
    pub fn ok(&self) -> u64 {
        u64::try_from(self.samples.len()).unwrap_or(u64::MAX)
    }

    /// Everything that was not a 2xx answer.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The JSON line `loadgen get` prints last. Decimals are strings; counts are integers.
#[derive(Debug, Clone, Serialize)]
pub struct GetReport {
    pub mode: &'static str,
    pub url: String,
    pub connections: u64,
    pub warmup_secs: u64,
    pub measured_secs: String,
    /// 2xx answers per second of the measured window.
    pub requests_per_s: String,
    /// 2xx answers in the measured window.
    pub requests: u64,
    /// Non-2xx answers and transport failures in the measured window.
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Mean body size of the 2xx answers.
    pub bytes_per_answer: u64,
    /// Latency of the 2xx answers.
    pub latency_ms: LatencySummary,
}

/// Runs the load `args` describe and reports it (`Err` when it cannot start: a bad URL).
pub async fn run(args: &GetArgs) -> Result<GetReport, String> {
    let url = reqwest::Url::parse(&args.url).map_err(|e| format!("--url {:?}: {e}", args.url))?;
    if url.scheme() != "http" {
        return Err(format!("--url {:?}: only http is supported", args.url));
    }
    let started = Instant::now();
    let measure_from = started + Duration::from_secs(args.warmup_secs);
    let deadline = measure_from + Duration::from_secs(args.duration_secs);
    let mut handles = Vec::new();
    for _ in 0..args.connections {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        handles.push(tokio::spawn(connection(
            client,
            url.clone(),
            measure_from,
            deadline,
        )));
    }
    let mut tally = Tally::default();
    for handle in handles {
        tally.merge(
            handle
                .await
                .map_err(|e| format!("a connection's task failed: {e}"))?,
        );
    }
    let measured_micros = micros(deadline.saturating_duration_since(measure_from));
    let requests = tally.ok();
    Ok(GetReport {
        mode: "get",
        url: args.url.clone(),
        connections: args.connections,
        warmup_secs: args.warmup_secs,
        measured_secs: format_micros_as_secs(measured_micros),
        requests_per_s: format_rate_per_sec(requests, measured_micros),
        requests,
        errors: tally.error_count(),
        errors_by_kind: tally.errors.clone(),
        bytes_per_answer: tally.bytes.checked_div(requests).unwrap_or(0),
        latency_ms: LatencySummary::from_samples(&mut tally.samples),
    })
}

/// One connection's loop: ask, read the whole answer (so that the connection can be
/// reused), ask again, until the deadline.
async fn connection(
    client: reqwest::Client,
    url: reqwest::Url,
    measure_from: Instant,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            return tally;
        }
        let answer = match client.get(url.clone()).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(body) => Answer::Status(status, u64::try_from(body.len()).unwrap_or(0)),
                    Err(_) => Answer::Transport,
                }
            }
            Err(_) => Answer::Transport,
        };
        let answered = Instant::now();
        if answered >= measure_from && answered <= deadline {
            tally.record(answer, micros(answered - sent));
        }
        if answer == Answer::Transport {
            // A refused connection would otherwise spin; this also bounds the error count.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Prints `report` as one line of text and then as the JSON line.
pub fn print(report: &GetReport) {
    println!(
        "GET {} on {} connections for {} s: {} requests/s, {} answers, {} errors, latency p50 {} p99 {} max {} ms",
        report.url,
        report.connections,
        report.measured_secs,
        report.requests_per_s,
        report.requests,
        report.errors,
        report.latency_ms.p50_ms,
        report.latency_ms.p99_ms,
        report.latency_ms.max_ms,
    );
    match serde_json::to_string(report) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("loadgen: cannot encode the JSON summary: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_2xx_as_answers_and_everything_else_as_errors_by_kind() {
        let mut tally = Tally::default();
        tally.record(Answer::Status(200, 900), 1_000);
        tally.record(Answer::Status(204, 0), 2_000);
        tally.record(Answer::Status(404, 50), 3_000);
        tally.record(Answer::Status(503, 50), 4_000);
        tally.record(Answer::Status(503, 50), 5_000);
        tally.record(Answer::Transport, 6_000);
        assert_eq!(tally.ok(), 2);
        assert_eq!(tally.samples, vec![1_000, 2_000]);
        assert_eq!(tally.bytes, 900);
        assert_eq!(tally.error_count(), 4);
        assert_eq!(
            tally.errors,
            BTreeMap::from([
                ("404".to_owned(), 1),
                ("503".to_owned(), 2),
                ("transport".to_owned(), 1)
            ])
        );
    }

    #[test]
    fn merged_tallies_add_up() {
        let mut a = Tally::default();
        a.record(Answer::Status(200, 10), 7);
        a.record(Answer::Transport, 1);
        let mut b = Tally::default();
        b.record(Answer::Status(200, 30), 9);
        b.record(Answer::Status(500, 0), 1);
        b.record(Answer::Transport, 1);
        a.merge(b);
        assert_eq!(a.ok(), 2);
        assert_eq!(a.bytes, 40);
        assert_eq!(a.samples, vec![7, 9]);
        assert_eq!(
            a.errors,
            BTreeMap::from([("500".to_owned(), 1), ("transport".to_owned(), 2)])
        );
    }
}
