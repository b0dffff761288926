//! Accounts: who may call the API (ADR 0022, ADR 0023).
//!
//! Today this is the staff and service side: API keys, each with the scopes it grants
//! ([`Scope`]), kept behind the [`ApiKeys`] port. Keys are credentials, not history: they
//! live in a table of the store, hashed, never in an event. Customers and guests come next.

mod api_keys;

pub use api_keys::{
    ApiKey, ApiKeys, Area, CredentialStoreError, Grants, Scope, ScopeError, ServerSecrets,
};
