//! The stock keeping unit: the identity of a sellable item that the catalog prices, carts
//! hold, inventory counts and orders ship. Shared because every one of those contexts must
//! agree on when two SKUs are the same.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest SKU, in characters.
pub const MAX_SKU_CHARS: usize = 64;

/// 1 to 64 characters of `A-Z a-z 0-9 - _ .`, surrounding whitespace ignored, stored
/// uppercase so that `abc-1` and `ABC-1` are the same SKU.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "'{sku}' is not a valid SKU: use 1 to {MAX_SKU_CHARS} characters of A-Z, 0-9, '-', '_' or '.'"
)]
pub struct SkuError {
    pub sku: String,
}

impl Sku {
    pub fn parse(raw: &str) -> Result<Sku, SkuError> {
        let trimmed = raw.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if trimmed.is_empty() || trimmed.len() > MAX_SKU_CHARS || !trimmed.chars().all(allowed) {
            return Err(SkuError {
                sku: raw.to_owned(),
            });
        }
        Ok(Sku(trimmed.to_ascii_uppercase()))
    }

    /// A SKU as an event recorded it, taken as it is: it passed the rules of its day, and
    /// history must load even after a rule is tightened.
    pub fn recorded(sku: String) -> Sku {
        Sku(sku)
    }

    /// The normalized (uppercase) form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Sku {
    type Err = SkuError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Sku::parse(raw)
    }
}

impl TryFrom<String> for Sku {
    type Error = SkuError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Sku::parse(&raw)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> Self {
        sku.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_and_whitespace() {
        assert_eq!(
            Sku::parse("  tee-black_m.1 ").unwrap().as_str(),
            "TEE-BLACK_M.1"
        );
    }

    #[test]
    fn rejects_empty_long_and_odd_characters() {
        assert!(Sku::parse("   ").is_err());
        assert!(Sku::parse("has space").is_err());
        assert!(Sku::parse("ümlaut").is_err());
        assert!(Sku::parse(&"A".repeat(MAX_SKU_CHARS + 1)).is_err());
        assert!(Sku::parse(&"A".repeat(MAX_SKU_CHARS)).is_ok());
    }

    #[test]
    fn deserialization_validates() {
        assert!(serde_json::from_str::<Sku>("\"bad sku\"").is_err());
        assert_eq!(
            serde_json::from_str::<Sku>("\"ab\"").unwrap().as_str(),
            "AB"
        );
    }
}
