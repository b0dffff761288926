//! Signatures as the Standard Webhooks specification defines them, so that subscribers can
//! verify deliveries with any of its libraries, or with a few lines of their own.
//!
//! Each request carries three headers: `webhook-id` (the message id, the same on every retry),
//! `webhook-timestamp` (Unix seconds when the attempt was signed) and `webhook-signature`
//! (`v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes, of
//! `"{webhook-id}.{webhook-timestamp}.{body}"`). Signing the id and the timestamp with the body
//! lets receivers refuse replays: an old timestamp fails the tolerance check and cannot be
//! changed without breaking the signature. The signature header may list several
//! space-separated signatures (while a secret is being rotated); one valid one is enough.
//!
//! Secrets are 32 random bytes from the operating system, shown as `whsec_<base64>`.

use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// What every secret's text starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a timestamp may be from the receiver's clock, either way, by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

const SECRET_BYTES: usize = 32;
/// The specification's bounds on the key length.
const MIN_SECRET_BYTES: usize = 24;
const MAX_SECRET_BYTES: usize = 64;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret is {SECRET_PREFIX} followed by base64")]
    Malformed,
    #[error("a webhook secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {0}")]
    Length(usize),
    #[error("the operating system's random source failed")]
    Random(#[source] getrandom::Error),
}

/// A signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    key: Vec<u8>,
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> Result<Self, SecretError> {
        let mut key = vec![0; SECRET_BYTES];
        getrandom::fill(&mut key).map_err(SecretError::Random)?;
        Ok(Self { key })
    }

    /// Reads the `whsec_<base64>` text form.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let key = text
            .strip_prefix(SECRET_PREFIX)
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .ok_or(SecretError::Malformed)?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self { key })
    }

    /// The text form, as shown to the subscriber.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    fn mac(&self, message_id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

// A secret never reaches a log line.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A new secret's text form, for whoever registers endpoints.
pub fn generate_secret_text() -> Result<String, SecretError> {
    Secret::generate().map(|secret| secret.to_text())
}

/// The `webhook-signature` value for one attempt: `v1,<base64 HMAC>`.
pub fn sign(secret: &Secret, message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret
        .mac(message_id, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// The three headers of a delivery, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is outside the tolerance: too old or too far ahead")]
    OutsideTolerance,
    #[error("no v1 signature in webhook-signature matches")]
    NoMatchingSignature,
}

/// Checks a received delivery: the timestamp must be within `tolerance` of `now` (Unix
/// seconds), and one of the `v1` signatures must match, compared in constant time.
pub fn verify(
    secret: &Secret,
    headers: SignedHeaders<'_>,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let sent: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if now.abs_diff(sent) > tolerance.unsigned_abs() {
        return Err(VerifyError::OutsideTolerance);
    }
    let mac = secret.mac(headers.id, headers.timestamp.trim(), body);
    let matches = headers
        .signature
        .split(' ')
        .filter_map(|candidate| candidate.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
        // `verify_slice` compares in constant time.
        .any(|tag| mac.clone().verify_slice(&tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification: interoperability, not only
    /// agreement with ourselves.
    #[test]
    fn signs_the_specification_example_like_every_other_implementation() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    fn signed(secret: &Secret, timestamp: i64, body: &[u8]) -> (String, String) {
        (
            timestamp.to_string(),
            sign(secret, "msg_1", timestamp, body),
        )
    }

    fn check(
        secret: &Secret,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), VerifyError> {
        let headers = SignedHeaders {
            id: "msg_1",
            timestamp,
            signature,
        };
        verify(secret, headers, body, now, DEFAULT_TOLERANCE)
    }

    #[test]
    fn a_signature_verifies_only_for_its_body_id_and_timestamp() {
        let secret = Secret::generate().unwrap();
        let (timestamp, signature) = signed(&secret, 1_700_000_000, b"{\"a\":1}");
        let now = 1_700_000_010;
        assert_eq!(
            check(&secret, &timestamp, &signature, b"{\"a\":1}", now),
            Ok(())
        );
        assert_eq!(
            check(&secret, &timestamp, &signature, b"{\"a\":2}", now),
            Err(VerifyError::NoMatchingSignature)
        );
        let other_id = SignedHeaders {
            id: "msg_2",
            timestamp: &timestamp,
            signature: &signature,
        };
        assert_eq!(
            verify(&secret, other_id, b"{\"a\":1}", now, DEFAULT_TOLERANCE),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            check(&secret, "1700000001", &signature, b"{\"a\":1}", now),
            Err(VerifyError::NoMatchingSignature)
        );
        let other_secret = Secret::generate().unwrap();
        assert_eq!(
            check(&other_secret, &timestamp, &signature, b"{\"a\":1}", now),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_refused_either_way() {
        let secret = Secret::generate().unwrap();
        let sent = 1_700_000_000;
        let (timestamp, signature) = signed(&secret, sent, b"{}");
        let limit = 5 * 60;
        assert!(check(&secret, &timestamp, &signature, b"{}", sent + limit).is_ok());
        assert!(check(&secret, &timestamp, &signature, b"{}", sent - limit).is_ok());
        assert_eq!(
            check(&secret, &timestamp, &signature, b"{}", sent + limit + 1),
            Err(VerifyError::OutsideTolerance)
        );
        assert_eq!(
            check(&secret, &timestamp, &signature, b"{}", sent - limit - 1),
            Err(VerifyError::OutsideTolerance)
        );
        assert_eq!(
            check(&secret, "yesterday", &signature, b"{}", sent),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn any_one_of_several_signatures_is_enough() {
        let old = Secret::generate().unwrap();
        let new = Secret::generate().unwrap();
        let (timestamp, old_signature) = signed(&old, 1_700_000_000, b"{}");
        let (_, new_signature) = signed(&new, 1_700_000_000, b"{}");
        let both = format!("v2,ignored {old_signature} v1,bm90LWJhc2U2NA== {new_signature}");
        assert!(check(&new, &timestamp, &both, b"{}", 1_700_000_000).is_ok());
        assert!(check(&old, &timestamp, &both, b"{}", 1_700_000_000).is_ok());
        let neither = format!("v1,{} garbage", "A".repeat(44));
        assert_eq!(
            check(&new, &timestamp, &neither, b"{}", 1_700_000_000),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn secrets_round_trip_through_their_text_and_are_random() {
        let secret = Secret::generate().unwrap();
        let text = secret.to_text();
        assert!(text.starts_with("whsec_"));
        assert_eq!(Secret::parse(&text).unwrap(), secret);
        assert_ne!(Secret::generate().unwrap(), secret);
        assert!(matches!(
            Secret::parse("MfKQ9r8GKYqrTwjU"),
            Err(SecretError::Malformed)
        ));
        assert!(matches!(
            Secret::parse("whsec_!!"),
            Err(SecretError::Malformed)
        ));
        assert!(matches!(
            Secret::parse("whsec_c2hvcnQ="),
            Err(SecretError::Length(5))
        ));
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }
}
