//! A webhook receiver as a subscriber would write it from the Standard Webhooks
//! specification alone, without this crate: it checks the signature and the timestamp,
//! acknowledges a message it has already handled without handling it again, and answers
//! fast (real work would go to a queue of its own).
//!
//! ```text
//! WEBHOOK_SECRET=whsec_... cargo run -p webhooks --example receiver -- 127.0.0.1:9000
//! ```
//!
//! then register `http://127.0.0.1:9000/webhooks` with `POST /v1/admin/webhooks`, using the
//! secret that call answers with. The acceptance tests include this file as a module and run
//! [`app`] against real deliveries.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the sender's clock may be from ours; older messages may be replays.
pub const TOLERANCE_SECS: u64 = 5 * 60;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    MissingHeader(&'static str),
    /// Our own secret is not `whsec_<base64>`: a configuration mistake.
    UnusableSecret,
    BadTimestamp,
    StaleTimestamp,
    BadSignature,
}

/// Verifies one request: `timestamp` within [`TOLERANCE_SECS`] of `now` (Unix seconds), and a
/// `v1` signature in the space-separated `signatures` that is the base64 HMAC-SHA256, keyed
/// with the secret's decoded bytes, of `"{id}.{timestamp}.{body}"`.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: u64,
) -> Result<(), Rejection> {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|encoded| STANDARD.decode(encoded).ok())
        .ok_or(Rejection::UnusableSecret)?;
    let sent: u64 = timestamp.parse().map_err(|_| Rejection::BadTimestamp)?;
    if sent.abs_diff(now) > TOLERANCE_SECS {
        return Err(Rejection::StaleTimestamp);
    }
    let mut expected =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| Rejection::UnusableSecret)?;
    expected.update(format!("{id}.{timestamp}.").as_bytes());
    expected.update(body);
    for signature in signatures.split(' ') {
        let Some(("v1", encoded)) = signature.split_once(',') else {
            continue;
        };
        let Ok(candidate) = STANDARD.decode(encoded) else {
            continue;
        };
        // Constant time: comparing byte by byte would tell an attacker how much was right.
        if expected.clone().verify_slice(&candidate).is_ok() {
            return Ok(());
        }
    }
    Err(Rejection::BadSignature)
}

/// What the receiver did with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Handled,
    /// Already handled under the same `webhook-id` (a retry or a redelivery).
    Duplicate,
    Refused(Rejection),
}

/// A receiver's state: its secret, and what it has handled. A real one keeps the handled ids
/// in its database, written in the same transaction as the work they stand for.
pub struct Receiver {
    secret: String,
    seen: Mutex<HashSet<String>>,
    handled: Mutex<Vec<serde_json::Value>>,
}

impl Receiver {
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            seen: Mutex::new(HashSet::new()),
            handled: Mutex::new(Vec::new()),
        }
    }

    pub fn receive(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Received {
        let header = |name: &'static str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .ok_or(Rejection::MissingHeader(name))
        };
        let checked = (|| {
            let id = header("webhook-id")?;
            let timestamp = header("webhook-timestamp")?;
            let signatures = header("webhook-signature")?;
            verify(&self.secret, id, timestamp, signatures, body, now)?;
            Ok(id.to_owned())
        })();
        let id = match checked {
            Ok(id) => id,
            Err(rejection) => return Received::Refused(rejection),
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.insert(id) {
            return Received::Duplicate;
        }
        let event = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
        self.handled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
        Received::Handled
    }

    /// The events handled so far, each once, in the order they came.
    pub fn handled(&self) -> Vec<serde_json::Value> {
        self.handled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

async fn webhook(
    receiver: web::Data<Receiver>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match receiver.receive(request.headers(), &body, unix_now()) {
        Received::Handled | Received::Duplicate => HttpResponse::NoContent().finish(),
        // Not 5xx: a refused message will not get better by being sent again.
        Received::Refused(rejection) => {
            HttpResponse::Unauthorized().body(format!("refused: {rejection:?}"))
        }
    }
}

/// The receiver's routes: `POST /webhooks`.
pub fn app(receiver: web::Data<Receiver>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        config
            .app_data(receiver)
            .route("/webhooks", web::post().to(webhook));
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let secret = std::env::var("WEBHOOK_SECRET").map_err(|_| {
        std::io::Error::other("set WEBHOOK_SECRET to the whsec_... secret of the endpoint")
    })?;
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9000".to_owned());
    let receiver = web::Data::new(Receiver::new(secret));
    println!("receiving webhooks at http://{listen}/webhooks");
    actix_web::HttpServer::new(move || actix_web::App::new().configure(app(receiver.clone())))
        .bind(listen)?
        .run()
        .await
}
