use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A part of the API that a scope opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    Catalog,
    Inventory,
    Orders,
    Payments,
    Checkouts,
    Refunds,
    Returns,
    /// Shipping zones and their options, which staff edit and carts are quoted from.
    Shipping,
    /// Promotion codes and their redemption counts (ADR 0031).
    Promotions,
    Events,
    Webhooks,
    /// Shoppers' personal data: export and erasure (ADR 0026).
    Customers,
    /// What operators watch: the Prometheus metrics (ADR 0030).
    Operations,
}

impl Area {
    pub const ALL: [Area; 13] = [
        Area::Catalog,
        Area::Inventory,
        Area::Orders,
        Area::Payments,
        Area::Checkouts,
        Area::Refunds,
        Area::Returns,
        Area::Shipping,
        Area::Promotions,
        Area::Events,
        Area::Webhooks,
        Area::Customers,
        Area::Operations,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Area::Catalog => "catalog",
            Area::Inventory => "inventory",
            Area::Orders => "orders",
            Area::Payments => "payments",
            Area::Checkouts => "checkouts",
            Area::Refunds => "refunds",
            Area::Returns => "returns",
            Area::Shipping => "shipping",
            Area::Promotions => "promotions",
            Area::Events => "events",
            Area::Webhooks => "webhooks",
            Area::Customers => "customers",
            Area::Operations => "operations",
        }
    }
}

/// What a key may do: read an area, or change it (`catalog:write`). Writing an area implies
/// reading it, as in Stripe's restricted keys: a tool that changes prices must see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Read(Area),
    Write(Area),
}

impl Scope {
    /// Every scope there is, for listings and documentation.
    pub fn all() -> impl Iterator<Item = Scope> {
        Area::ALL
            .into_iter()
            .flat_map(|area| [Scope::Read(area), Scope::Write(area)])
    }

    pub fn area(self) -> Area {
        match self {
            Scope::Read(area) | Scope::Write(area) => area,
        }
    }

    /// Whether holding `self` is enough for an operation that requires `required`.
    pub fn covers(self, required: Scope) -> bool {
        match (self, required) {
            (Scope::Write(held), Scope::Read(needed) | Scope::Write(needed)) => held == needed,
            (Scope::Read(held), Scope::Read(needed)) => held == needed,
            (Scope::Read(_), Scope::Write(_)) => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Read(area) => write!(f, "{}:read", area.as_str()),
            Scope::Write(area) => write!(f, "{}:write", area.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`: scopes are `<area>:read` or `<area>:write` (areas: catalog, inventory, orders, payments, checkouts, refunds, returns, shipping, promotions, events, webhooks, customers, operations), or `*` for every scope")]
pub struct ScopeError(pub String);

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || ScopeError(text.to_owned());
        let (area, access) = text.trim().split_once(':').ok_or_else(unknown)?;
        let area = Area::ALL
            .into_iter()
            .find(|candidate| candidate.as_str() == area)
            .ok_or_else(unknown)?;
        match access {
            "read" => Ok(Scope::Read(area)),
            "write" => Ok(Scope::Write(area)),
            _ => Err(unknown()),
        }
    }
}

/// The scopes a key was given: a set of scopes, or every scope (`*`, a full-access key that
/// also opens areas added later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grants {
    Everything,
    Scopes(BTreeSet<Scope>),
}

impl Grants {
    pub fn allows(&self, required: Scope) -> bool {
        match self {
            Grants::Everything => true,
            Grants::Scopes(held) => held.iter().any(|scope| scope.covers(required)),
        }
    }

    /// Parses scopes separated by spaces or commas (`catalog:write orders:read`, or `*`).
    /// At least one is needed: a key that may do nothing is a mistake.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let words: Vec<&str> = text
            .split([' ', ','])
            .map(str::trim)
            .filter(|word| !word.is_empty())
            .collect();
        if words.is_empty() {
            return Err(ScopeError(text.to_owned()));
        }
        if words.contains(&"*") {
            return Ok(Grants::Everything);
        }
        words
            .into_iter()
            .map(Scope::from_str)
            .collect::<Result<BTreeSet<_>, _>>()
            .map(Grants::Scopes)
    }
}

impl fmt::Display for Grants {
    /// The stored and displayed form, which [`Grants::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grants::Everything => f.write_str("*"),
            Grants::Scopes(scopes) => {
                let words: Vec<String> = scopes.iter().map(Scope::to_string).collect();
                f.write_str(&words.join(" "))
            }
        }
    }
}

/// An API key as stored, without its secret: only a hash of the secret is kept, and the
/// first characters of it (`prefix`) so that people can tell their keys apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub grants: Grants,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the credential store is unavailable: {0}")]
pub struct CredentialStoreError(pub String);

/// Where API keys are kept. Secrets arrive already hashed: the store never sees one.
#[async_trait]
pub trait ApiKeys: Send + Sync {
    async fn insert_key(&self, key: &ApiKey, secret_hash: &str)
        -> Result<(), CredentialStoreError>;

    /// The key whose secret hashes to `secret_hash`, unless it was revoked.
    async fn active_key(&self, secret_hash: &str) -> Result<Option<ApiKey>, CredentialStoreError>;

    /// Every key, revoked ones too, oldest first.
    async fn list_keys(&self) -> Result<Vec<ApiKey>, CredentialStoreError>;

    /// Revokes the key; false if there is no such key or it was already revoked.
    async fn revoke_key(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool, CredentialStoreError>;
}

/// Secrets the server itself keeps, for when the environment gives none (the token secret
/// of ADR 0024 on a development machine). One per name, kept by the first instance that
/// needs it, so that every instance and every restart uses the same.
#[async_trait]
pub trait ServerSecrets: Send + Sync {
    /// The secret kept under `name`, keeping `candidate` there first if there is none yet.
    async fn kept_secret(
        &self,
        name: &str,
        candidate: &str,
    ) -> Result<String, CredentialStoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_an_area_implies_reading_it_but_not_the_reverse() {
        let catalog_write = Scope::Write(Area::Catalog);
        assert!(catalog_write.covers(Scope::Read(Area::Catalog)));
        assert!(catalog_write.covers(Scope::Write(Area::Catalog)));
        assert!(!catalog_write.covers(Scope::Read(Area::Orders)));
        assert!(!Scope::Read(Area::Catalog).covers(Scope::Write(Area::Catalog)));
        assert!(Scope::Read(Area::Catalog).covers(Scope::Read(Area::Catalog)));
    }

    #[test]
    fn every_scope_reads_back_from_its_text() {
        for scope in Scope::all() {
            assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
        }
        assert_eq!(Scope::all().count(), 26);
        assert_eq!(
            "promotions:write".parse::<Scope>(),
            Ok(Scope::Write(Area::Promotions))
        );
    }

    #[test]
    fn grants_parse_from_spaces_or_commas_and_print_back() {
        let grants = Grants::parse("orders:write, catalog:read events:read").unwrap();
        assert_eq!(
            grants.to_string(),
            "catalog:read events:read orders:write",
            "in one stable order, as stored"
        );
        assert_eq!(Grants::parse(&grants.to_string()), Ok(grants.clone()));
        assert!(grants.allows(Scope::Read(Area::Orders)));
        assert!(!grants.allows(Scope::Write(Area::Catalog)));
        assert!(!grants.allows(Scope::Read(Area::Webhooks)));
        assert_eq!(Grants::parse("*"), Ok(Grants::Everything));
        assert!(Grants::Everything.allows(Scope::Write(Area::Webhooks)));
    }

    #[test]
    fn unknown_or_missing_scopes_are_refused() {
        for text in [
            "",
            " , ",
            "catalog",
            "catalog:delete",
            "billing:read",
            "CATALOG:READ",
        ] {
            assert!(Grants::parse(text).is_err(), "{text:?} was accepted");
        }
    }
}
