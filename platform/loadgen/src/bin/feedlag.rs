//! `feedlag`: how long published events take to reach a subscriber, on each delivery.
//!
//! Subscribes from the head of the published feed at once through the HTTP long-poll
//! (`/v1/events?wait=`), Server-Sent Events (`/v1/events/stream`) and, with `--nats-url`, an
//! ordered JetStream consumer on the relay's stream, for `--duration-secs`. For every event
//! received it records `now - occurred_at`: `occurred_at` is stamped just before the append,
//! so the figure includes the commit itself and slightly overstates commit-to-subscriber lag.
//! The server and this tool must share a clock (the same machine). Run it beside `loadgen`.
//!
//! It also probes: every 50 ms it creates a cart and notes when the answer came back (the
//! commit was acknowledged by then), and each subscriber notes when that cart's
//! `carts.cart_created` arrived. That lag, from the acknowledged commit, understates the
//! commit-to-subscriber lag as the first figure overstates it: the truth lies between.
//!
//! Prints two lines per delivery: lag from `occurred_at` over every event, and lag from the
//! acknowledged commit over the probes; each with the count and p50 / p95 / p99 / max in ms.

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::Value;

#[derive(Debug, Parser)]
#[command(name = "feedlag", version)]
struct Args {
    /// Base URL of the API.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// API key holding events:read (`commerce api-keys create --scope events:read`).
    #[arg(long, env = "COMMERCE_API_KEY", hide_env_values = true)]
    api_key: String,
    /// NATS server of the relay; unset: no JetStream subscriber.
    #[arg(long)]
    nats_url: Option<String>,
    /// The relay's JetStream stream.
    #[arg(long, default_value = "COMMERCE")]
    nats_stream: String,
    /// How long to subscribe, in seconds.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
}

type Lags = Vec<u64>;

/// What one subscriber saw: the lag of every event from its `occurred_at`, and when each
/// cart creation arrived (cart id, arrival).
#[derive(Default)]
struct Seen {
    lags: Lags,
    carts: Vec<(String, chrono::DateTime<chrono::Utc>)>,
}

impl Seen {
    fn record(&mut self, event: &Value) {
        self.lags.extend(lag_micros(event));
        if event["type"] == "carts.cart_created" {
            if let Some(cart) = event["data"]["cart_id"].as_str() {
                self.carts.push((cart.to_owned(), chrono::Utc::now()));
            }
        }
    }
}

/// Lag of one received envelope, in microseconds (0 if the clock went backwards).
fn lag_micros(event: &Value) -> Option<u64> {
    let occurred = event["occurred_at"].as_str()?;
    let occurred = chrono::DateTime::parse_from_rfc3339(occurred).ok()?;
    let lag = chrono::Utc::now().signed_duration_since(occurred);
    Some(u64::try_from(lag.num_microseconds().unwrap_or(0)).unwrap_or(0))
}

/// The cursor after everything published now.
async fn head(client: &reqwest::Client, base: &str) -> Result<String, String> {
    let mut after = String::new();
    loop {
        let page: Value = client
            .get(format!("{base}/v1/events?limit=1000&after={after}"))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let empty = page["data"].as_array().is_none_or(Vec::is_empty);
        after = page["next_cursor"].as_str().unwrap_or_default().to_owned();
        if empty {
            return Ok(after);
        }
    }
}

async fn long_poll(
    client: reqwest::Client,
    base: String,
    mut after: String,
    until: Instant,
) -> Seen {
    let mut seen = Seen::default();
    while Instant::now() < until {
        let url = format!("{base}/v1/events?limit=1000&wait=5&after={after}");
        let Ok(response) = client.get(url).send().await else {
            continue;
        };
        let Ok(page) = response.json::<Value>().await else {
            continue;
        };
        for event in page["data"].as_array().into_iter().flatten() {
            seen.record(event);
        }
        after = page["next_cursor"].as_str().unwrap_or_default().to_owned();
    }
    seen
}

async fn server_sent_events(
    client: reqwest::Client,
    base: String,
    after: String,
    until: Instant,
) -> Seen {
    let mut seen = Seen::default();
    let Ok(mut response) = client
        .get(format!("{base}/v1/events/stream?after={after}"))
        .send()
        .await
    else {
        return seen;
    };
    let mut text = String::new();
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout(
        until.saturating_duration_since(Instant::now()),
        response.chunk(),
    )
    .await
    {
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                if let Ok(event) = serde_json::from_str::<Value>(data) {
                    seen.record(&event);
                }
            }
        }
    }
    seen
}

async fn jetstream(url: String, stream: String, until: Instant) -> Result<Seen, String> {
    use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
    use futures::StreamExt;
    let client = async_nats::connect(url).await.map_err(|e| e.to_string())?;
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream
        .get_stream(stream)
        .await
        .map_err(|e| e.to_string())?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    let mut seen = Seen::default();
    while let Ok(Some(Ok(message))) = tokio::time::timeout(
        until.saturating_duration_since(Instant::now()),
        messages.next(),
    )
    .await
    {
        if let Ok(event) = serde_json::from_slice::<Value>(&message.payload) {
            seen.record(&event);
        }
    }
    Ok(seen)
}

/// Creates a cart every 50 ms until `until`; answers (cart id, when the answer came).
async fn probe(
    client: reqwest::Client,
    base: String,
    until: Instant,
) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    let mut acknowledged = Vec::new();
    while Instant::now() < until {
        let answer = client
            .post(format!("{base}/v1/carts"))
            .json(&serde_json::json!({"currency": "EUR"}))
            .send()
            .await;
        let at = chrono::Utc::now();
        if let Ok(answer) = answer {
            if let Ok(cart) = answer.json::<Value>().await {
                if let Some(id) = cart["id"].as_str() {
                    acknowledged.push((id.to_owned(), at));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    acknowledged
}

/// Lag of each probe from its acknowledgement to its arrival (0 if it arrived first).
fn probe_lags(acknowledged: &[(String, chrono::DateTime<chrono::Utc>)], seen: &Seen) -> Lags {
    let arrivals: std::collections::HashMap<&str, chrono::DateTime<chrono::Utc>> = seen
        .carts
        .iter()
        .map(|(id, at)| (id.as_str(), *at))
        .collect();
    acknowledged
        .iter()
        .filter_map(|(id, acked)| {
            let arrived = arrivals.get(id.as_str())?;
            let lag = arrived.signed_duration_since(*acked).num_microseconds()?;
            Some(u64::try_from(lag).unwrap_or(0))
        })
        .collect()
}

fn millis(micros: u64) -> String {
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

fn report(name: &str, mut lags: Lags) {
    if lags.is_empty() {
        println!("{name:<28} no events received");
        return;
    }
    lags.sort_unstable();
    let at = |per_mille: usize| lags[(lags.len() * per_mille / 1000).min(lags.len() - 1)];
    println!(
        "{name:<28} events {:>7}  lag ms p50 {:>8}  p95 {:>8}  p99 {:>8}  max {:>8}",
        lags.len(),
        millis(at(500)),
        millis(at(950)),
        millis(at(990)),
        millis(*lags.last().unwrap_or(&0)),
    );
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", args.api_key))
        .map_err(|e| format!("--api-key: {e}"))?;
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .map_err(|e| e.to_string())?;
    let after = head(&client, &args.base_url).await?;
    let until = Instant::now() + Duration::from_secs(args.duration_secs);
    let http = tokio::spawn(long_poll(
        client.clone(),
        args.base_url.clone(),
        after.clone(),
        until,
    ));
    let sse = tokio::spawn(server_sent_events(
        client.clone(),
        args.base_url.clone(),
        after,
        until,
    ));
    let nats = args
        .nats_url
        .clone()
        .map(|url| tokio::spawn(jetstream(url, args.nats_stream.clone(), until)));
    // Probes stop a second early, so that the last ones can still arrive.
    let probes = tokio::spawn(probe(
        client,
        args.base_url.clone(),
        until - Duration::from_secs(1),
    ));
    let mut seen = vec![
        ("long-poll", http.await.map_err(|e| e.to_string())?),
        ("sse", sse.await.map_err(|e| e.to_string())?),
    ];
    if let Some(nats) = nats {
        seen.push(("jetstream", nats.await.map_err(|e| e.to_string())??));
    }
    let acknowledged = probes.await.map_err(|e| e.to_string())?;
    for (name, seen) in &seen {
        report(&format!("{name} from occurred_at"), seen.lags.clone());
        report(
            &format!("{name} from ack (probes)"),
            probe_lags(&acknowledged, seen),
        );
    }
    Ok(())
}
