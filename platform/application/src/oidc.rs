//! Customers who log in with an external OpenID Connect provider (ADR 0028).
//!
//! When an issuer is configured, an access token (a JWT) that this system did not sign is
//! checked against the issuer's published keys (its JWKS): signature, issuer, audience, expiry
//! and not-before, with a minute of leeway for clocks. Its `sub` names the person at the
//! provider; the first time a person is seen, they are tied to a customer account: the account
//! with their email if the provider vouches for the email (`email_verified`), else a new
//! account without a password. From then on the identity names that customer.
//!
//! Keys are fetched through a [`KeySource`] (HTTP in production), kept, and fetched again when
//! a token names a key id they lack, at most once per [`REFETCH_AFTER`], so that tokens with
//! made-up key ids cannot make this system hammer the provider.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::customers::AuthError;

/// The least time between two fetches of the keys caused by an unknown key id.
pub const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// How long fetched keys are trusted before they are fetched again.
pub const KEYS_TTL: Duration = Duration::from_secs(3600);

/// Where an issuer's signing keys come from.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn fetch(&self) -> Result<JwkSet, String>;
}

/// The issuer whose tokens are accepted.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Exactly as the tokens' `iss` claim states it.
    pub issuer: String,
    /// The audience the tokens must name (this API's client id at the provider).
    pub audience: String,
}

/// The person a valid external token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    /// Only when the provider says it verified the address.
    pub verified_email: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExternalClaims {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    name: Option<String>,
}

struct Keys {
    set: JwkSet,
    fetched_at: Option<Instant>,
}

/// Checks tokens of one external issuer.
pub struct OidcVerifier {
    settings: OidcSettings,
    source: Box<dyn KeySource>,
    keys: tokio::sync::Mutex<Keys>,
    last_refetch: Mutex<Option<Instant>>,
}

/// Signature algorithms accepted from a provider: asymmetric only, so that a token can never
/// be "signed" with a public key used as an HMAC secret.
const ACCEPTED: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

impl OidcVerifier {
    pub fn new(settings: OidcSettings, source: Box<dyn KeySource>) -> Self {
        Self {
            settings,
            source,
            keys: tokio::sync::Mutex::new(Keys {
                set: JwkSet { keys: Vec::new() },
                fetched_at: None,
            }),
            last_refetch: Mutex::new(None),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The key `kid` names, fetching the keys again when they are old or lack it.
    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        let mut keys = self.keys.lock().await;
        let stale = keys.fetched_at.is_none_or(|at| at.elapsed() > KEYS_TTL);
        let unknown = keys.set.find(kid).is_none();
        if stale || (unknown && self.may_refetch()) {
            match self.source.fetch().await {
                Ok(set) => {
                    keys.set = set;
                    keys.fetched_at = Some(Instant::now());
                }
                // Keys fetched before still serve while the provider is unreachable.
                Err(error) if keys.fetched_at.is_some() => {
                    tracing::warn!(%error, issuer = %self.settings.issuer, "the provider's keys could not be fetched again");
                }
                Err(error) => {
                    return Err(AuthError::Unavailable(format!(
                        "the keys of {} could not be fetched: {error}",
                        self.settings.issuer
                    )))
                }
            }
        }
        let jwk = keys
            .set
            .find(kid)
            .ok_or_else(|| AuthError::InvalidAccessToken(format!("unknown key id {kid}")))?;
        DecodingKey::from_jwk(jwk).map_err(|e| AuthError::InvalidAccessToken(e.to_string()))
    }

    fn may_refetch(&self) -> bool {
        let mut last = self
            .last_refetch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < REFETCH_AFTER) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// The identity a token of the issuer names, if the token is valid now.
    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity, AuthError> {
        let invalid = |e: jsonwebtoken::errors::Error| AuthError::InvalidAccessToken(e.to_string());
        let header = jsonwebtoken::decode_header(token).map_err(invalid)?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(AuthError::InvalidAccessToken(format!(
                "{:?} is not accepted from an external issuer",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::InvalidAccessToken("the token names no key id".to_owned()))?;
        let key = self.key(&kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 60;
        let data =
            jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation).map_err(invalid)?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(AuthError::InvalidAccessToken(
                "the token's subject is empty or too long".to_owned(),
            ));
        }
        let verified_email = claims
            .email
            .filter(|_| claims.email_verified == Some(true))
            .and_then(|email| crate::customers::normalized_email(&email).ok());
        Ok(ExternalIdentity {
            issuer: self.settings.issuer.clone(),
            subject: claims.sub,
            verified_email,
            name: claims.name.map(|n| n.chars().take(200).collect()),
        })
    }
}

/// Whether a token is one this system signed (HS256) rather than an external issuer's.
pub fn is_own_token(token: &str) -> bool {
    jsonwebtoken::decode_header(token).is_ok_and(|header| header.alg == Algorithm::HS256)
}
