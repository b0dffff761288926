//! Customer accounts (ADR 0025): who a shopper with an account is, and the refresh tokens of
//! their sessions. Kept in tables of the store, never in events: a password hash and a
//! refresh token are credentials, and a profile must be erasable outright (ADR 0016).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::CustomerId;
use uuid::Uuid;

use crate::CredentialStoreError;

/// A customer's account, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    /// Fully lowercased and trimmed: the form that is unique and looked up.
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// One refresh token as stored: only its hash. Every token issued by refreshing one login's
/// tokens belongs to that login's family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub customer_id: CustomerId,
    pub family_id: Uuid,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What spending a refresh token came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// It was live and is now spent: issue its successor in the same family.
    Spent {
        customer_id: CustomerId,
        family_id: Uuid,
    },
    /// It had been spent already, or its family revoked: someone replays a token, so the
    /// whole family must end.
    Reused {
        family_id: Uuid,
    },
    Expired,
    Unknown,
}

/// Where accounts and refresh tokens are kept.
#[async_trait]
pub trait Customers: Send + Sync {
    /// Keeps a new customer with its password hash; false, and nothing kept, if an account
    /// with the same email exists (the store enforces it, whatever runs at once).
    async fn insert_customer(
        &self,
        customer: &Customer,
        password_hash: &str,
    ) -> Result<bool, CredentialStoreError>;

    /// The account with this (normalized) email, and its password hash.
    async fn customer_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(Customer, String)>, CredentialStoreError>;

    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, CredentialStoreError>;

    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), CredentialStoreError>;

    /// Spends the token whose hash this is, at once and only once, however many try together.
    async fn spend_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Spend, CredentialStoreError>;

    /// The account an external identity (an OpenID Connect issuer and subject) was tied to.
    async fn customer_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Customer>, CredentialStoreError>;

    /// Ties an external identity to an account; an identity tied already keeps its account.
    async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        customer_id: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError>;

    /// Deletes the account and every refresh token of it (erasure, ADR 0026); false if there
    /// was no such account.
    async fn delete_customer(&self, id: CustomerId) -> Result<bool, CredentialStoreError>;

    /// Ends every token of the family: no token of it refreshes again.
    async fn revoke_family(
        &self,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError>;
}
