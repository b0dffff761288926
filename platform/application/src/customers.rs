//! Customer accounts (ADR 0025): registration and login with argon2id password hashes,
//! short-lived JWT access tokens, and rotating refresh tokens whose reuse revokes the family.
//!
//! An access token (HS256, 15 minutes) is checked without the store. A refresh token is 192
//! random bits, kept only as its SHA-256 hash, spent once: refreshing answers a new pair and
//! the successor joins the family of the login it descends from. Presenting a spent token
//! means two parties hold it (a thief and the customer), so the whole family ends and both
//! must log in again.

use std::sync::Arc;

use accounts::{CredentialStoreError, Customer, Customers, RefreshToken, Spend};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use shared_kernel::{Clock, CustomerId, EmailAddress};
use uuid::Uuid;

/// How long an access token is good for.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
/// How long a refresh token is good for (each refresh starts a new one).
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
/// Password length, in characters (NIST SP 800-63B: at least 8, allow long passphrases).
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=128;

const ISSUER: &str = "commerce";
/// The stored hash of an account without a password: not a PHC string, so nothing matches it.
const NO_PASSWORD: &str = "!";
const AUDIENCE: &str = "commerce:customer";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("the email or the password is wrong")]
    InvalidCredentials,
    #[error("the refresh token is not valid: unknown, expired or revoked")]
    InvalidRefreshToken,
    #[error("the refresh token was used before: every session of its login is revoked")]
    RefreshTokenReused,
    #[error("the access token is not valid: {0}")]
    InvalidAccessToken(String),
    #[error("the account store is unavailable: {0}")]
    Unavailable(String),
}

impl From<CredentialStoreError> for AuthError {
    fn from(error: CredentialStoreError) -> Self {
        AuthError::Unavailable(error.0)
    }
}

/// What a login answers.
#[derive(Debug, Clone)]
pub struct Session {
    pub customer: Customer,
    pub access_token: String,
    pub expires_in: Duration,
    pub refresh_token: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// The customer side of accounts.
pub struct CustomerAccounts {
    store: Arc<dyn Customers>,
    clock: Arc<dyn Clock>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Verified when an email is unknown, so that a login takes as long either way.
    decoy_hash: String,
    /// An external OpenID Connect issuer whose tokens also log customers in (ADR 0028).
    oidc: Option<crate::oidc::OidcVerifier>,
}

impl std::fmt::Debug for CustomerAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerAccounts(..)")
    }
}

fn random_token(prefix: &str) -> Result<String, AuthError> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Unavailable(e.to_string()))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Unavailable(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Unavailable(e.to_string()))?;
    // Argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's recommendation).
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Unavailable(e.to_string()))
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The form of an email that is unique and looked up: trimmed, checked, fully lowercased.
pub fn normalized_email(raw: &str) -> Result<String, AuthError> {
    EmailAddress::parse(raw)
        .map(|email| email.as_str().to_lowercase())
        .map_err(|error| AuthError::Invalid {
            field: "email",
            message: error.to_string(),
        })
}

impl CustomerAccounts {
    /// Accounts whose access tokens are signed with `signing_secret`.
    pub fn new(
        store: Arc<dyn Customers>,
        clock: Arc<dyn Clock>,
        signing_secret: &str,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            store,
            clock,
            encoding: EncodingKey::from_secret(signing_secret.as_bytes()),
            decoding: DecodingKey::from_secret(signing_secret.as_bytes()),
            decoy_hash: hash_password("decoy password, never anyone's")?,
            oidc: None,
        })
    }

    /// Also accepts access tokens of an external OpenID Connect issuer (ADR 0028).
    pub fn with_oidc(mut self, verifier: crate::oidc::OidcVerifier) -> Self {
        self.oidc = Some(verifier);
        self
    }

    /// Opens an account and logs it in.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<Session, AuthError> {
        let email = normalized_email(email)?;
        let chars = password.chars().count();
        if !PASSWORD_CHARS.contains(&chars) {
            return Err(AuthError::Invalid {
                field: "password",
                message: format!(
                    "must be {} to {} characters",
                    PASSWORD_CHARS.start(),
                    PASSWORD_CHARS.end()
                ),
            });
        }
        let name = name.trim();
        if name.chars().count() > 200 {
            return Err(AuthError::Invalid {
                field: "name",
                message: "must be at most 200 characters".to_owned(),
            });
        }
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))??;
        let customer = Customer {
            id: CustomerId::new(),
            email,
            name: name.to_owned(),
            created_at: self.clock.now(),
        };
        if !self.store.insert_customer(&customer, &hash).await? {
            return Err(AuthError::EmailTaken);
        }
        self.session(customer, Uuid::now_v7()).await
    }

    /// Logs in with email and password.
    pub async fn login(&self, email: &str, password: &str) -> Result<Session, AuthError> {
        let email = normalized_email(email).map_err(|_| AuthError::InvalidCredentials)?;
        let found = self.store.customer_by_email(&email).await?;
        let hash = found
            .as_ref()
            .map_or_else(|| self.decoy_hash.clone(), |(_, hash)| hash.clone());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || password_matches(&password, &hash))
            .await
            .map_err(|e| AuthError::Unavailable(e.to_string()))?;
        match found {
            Some((customer, _)) if matches => self.session(customer, Uuid::now_v7()).await,
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Spends a refresh token for a new pair in the same family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AuthError> {
        let now = self.clock.now();
        match self
            .store
            .spend_refresh_token(&crate::api_keys::secret_hash(refresh_token.trim()), now)
            .await?
        {
            Spend::Spent {
                customer_id,
                family_id,
            } => {
                let customer = self
                    .store
                    .customer(customer_id)
                    .await?
                    .ok_or(AuthError::InvalidRefreshToken)?;
                self.session(customer, family_id).await
            }
            Spend::Reused { family_id } => {
                self.store.revoke_family(family_id, now).await?;
                tracing::warn!(family = %family_id, "a spent refresh token was presented again: its family is revoked");
                Err(AuthError::RefreshTokenReused)
            }
            Spend::Expired | Spend::Unknown => Err(AuthError::InvalidRefreshToken),
        }
    }

    /// Logs out: the refresh token's whole family ends. Unknown tokens are ignored.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AuthError> {
        let now = self.clock.now();
        let family = match self
            .store
            .spend_refresh_token(&crate::api_keys::secret_hash(refresh_token.trim()), now)
            .await?
        {
            Spend::Spent { family_id, .. } | Spend::Reused { family_id } => Some(family_id),
            Spend::Expired | Spend::Unknown => None,
        };
        if let Some(family) = family {
            self.store.revoke_family(family, now).await?;
        }
        Ok(())
    }

    /// The customer an access token names, if it is valid now: one this system signed, or,
    /// when an external issuer is configured, one of its tokens (ADR 0028).
    pub async fn authenticate(&self, access_token: &str) -> Result<CustomerId, AuthError> {
        let token = access_token.trim();
        match &self.oidc {
            Some(oidc) if !crate::oidc::is_own_token(token) => {
                let identity = oidc.verify(token).await?;
                self.customer_of_identity(&identity).await
            }
            _ => self.authenticate_own(token),
        }
    }

    /// The account an external identity names, tied on first sight: to the account with the
    /// email the provider verified, or to a new account without a password.
    async fn customer_of_identity(
        &self,
        identity: &crate::oidc::ExternalIdentity,
    ) -> Result<CustomerId, AuthError> {
        let (issuer, subject) = (&identity.issuer, &identity.subject);
        if let Some(customer) = self.store.customer_by_identity(issuer, subject).await? {
            return Ok(customer.id);
        }
        let email = identity.verified_email.clone().ok_or_else(|| {
            AuthError::InvalidAccessToken(
                "the identity provider must vouch for an email (email, email_verified) the \
                 first time a person logs in"
                    .to_owned(),
            )
        })?;
        let customer = Customer {
            id: CustomerId::new(),
            email: email.clone(),
            name: identity.name.clone().unwrap_or_default(),
            created_at: self.clock.now(),
        };
        // No password hash: this account logs in through its provider only (a password login
        // never matches). An account that has the email already is the person's.
        let owner = if self.store.insert_customer(&customer, NO_PASSWORD).await? {
            customer.id
        } else {
            self.store
                .customer_by_email(&email)
                .await?
                .map(|(existing, _)| existing.id)
                .ok_or_else(|| {
                    AuthError::Unavailable("an account vanished while tied".to_owned())
                })?
        };
        self.store
            .link_identity(issuer, subject, owner, self.clock.now())
            .await?;
        // Whoever tied it first, the identity names one account from now on.
        self.store
            .customer_by_identity(issuer, subject)
            .await?
            .map(|customer| customer.id)
            .ok_or_else(|| AuthError::Unavailable("an identity vanished while tied".to_owned()))
    }

    fn authenticate_own(&self, access_token: &str) -> Result<CustomerId, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(access_token.trim(), &self.decoding, &validation)
            .map_err(|e| AuthError::InvalidAccessToken(e.to_string()))?;
        // Expiry against the injected clock, not only the system's.
        if data.claims.exp <= self.clock.now().timestamp() {
            return Err(AuthError::InvalidAccessToken("expired".to_owned()));
        }
        CustomerId::parse(&data.claims.sub)
            .map_err(|_| AuthError::InvalidAccessToken("no customer in it".to_owned()))
    }

    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, AuthError> {
        Ok(self.store.customer(id).await?)
    }

    async fn session(&self, customer: Customer, family_id: Uuid) -> Result<Session, AuthError> {
        let now = self.clock.now();
        let access_token = self.access_token(customer.id, now)?;
        let refresh_token = random_token("rt_")?;
        self.store
            .insert_refresh_token(&RefreshToken {
                token_hash: crate::api_keys::secret_hash(&refresh_token),
                customer_id: customer.id,
                family_id,
                issued_at: now,
                expires_at: now + REFRESH_TOKEN_TTL,
            })
            .await?;
        Ok(Session {
            customer,
            access_token,
            expires_in: ACCESS_TOKEN_TTL,
            refresh_token,
        })
    }

    fn access_token(&self, customer: CustomerId, now: DateTime<Utc>) -> Result<String, AuthError> {
        let claims = Claims {
            sub: customer.to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: (now + ACCESS_TOKEN_TTL).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Unavailable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_a_salt_each() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(password_matches("correct horse battery", &a));
        assert!(!password_matches("correct horse battery!", &a));
        assert!(!password_matches("correct horse battery", "not a hash"));
    }

    #[test]
    fn emails_are_unique_in_their_lowercase_form() {
        assert_eq!(
            normalized_email("  Ada.Lovelace@Example.COM ").unwrap(),
            "ada.lovelace@example.com"
        );
        assert!(normalized_email("not an email").is_err());
    }
}
