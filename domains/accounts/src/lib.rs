//! Accounts: who may call the API (ADR 0022, ADR 0023).
//!
//! Staff tools and services hold API keys, each with the scopes it grants ([`Scope`]), kept
//! behind the [`ApiKeys`] port. Customers hold accounts and the refresh tokens of their
//! sessions ([`Customers`], ADR 0025). Both are credentials, not history: they live in tables
//! of the store, secrets only as hashes, never in an event.

mod api_keys;
mod customers;
mod profiles;

pub use api_keys::{
    ApiKey, ApiKeys, Area, CredentialStoreError, Grants, Scope, ScopeError, ServerSecrets,
};
pub use customers::{Customer, Customers, RefreshToken, Spend};
pub use profiles::{AddressSaved, CustomerProfiles, SavedAddress, MAX_SAVED_ADDRESSES};
