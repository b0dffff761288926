//! Tax classes: the label a product carries so that a country can tax it at its own rate.
//! Shared because the catalog assigns them and the tax context rates them, and neither may
//! depend on the other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest tax class, in characters.
pub const MAX_TAX_CLASS_CHARS: usize = 32;

/// Why a text is not a [`TaxClass`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{class}' is not a valid tax class: use 1 to 32 characters of a-z, 0-9, '-' or '_'")]
pub struct TaxClassError {
    /// The text as given.
    pub class: String,
}

/// A product's tax class, which a country may tax at its own rate ("reduced", "books",
/// "food"): 1 to [`MAX_TAX_CLASS_CHARS`] characters of `a-z 0-9 - _`, surrounding whitespace
/// ignored, stored lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxClass(String);

impl TaxClass {
    pub fn parse(raw: &str) -> Result<TaxClass, TaxClassError> {
        let class = raw.trim().to_ascii_lowercase();
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_');
        if class.is_empty()
            || class.chars().count() > MAX_TAX_CLASS_CHARS
            || !class.chars().all(allowed)
        {
            return Err(TaxClassError {
                class: raw.to_owned(),
            });
        }
        Ok(TaxClass(class))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaxClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for TaxClass {
    type Error = TaxClassError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        TaxClass::parse(&raw)
    }
}

impl From<TaxClass> for String {
    fn from(class: TaxClass) -> Self {
        class.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tax_class_is_a_lower_case_slug() {
        assert_eq!(TaxClass::parse(" Reduced ").unwrap().as_str(), "reduced");
        assert!(TaxClass::parse("zero_rated-2").is_ok());
        assert!(TaxClass::parse(&"a".repeat(MAX_TAX_CLASS_CHARS)).is_ok());
        for refused in [
            "",
            "  ",
            "food & drink",
            "ü",
            &"a".repeat(MAX_TAX_CLASS_CHARS + 1),
        ] {
            assert_eq!(
                TaxClass::parse(refused),
                Err(TaxClassError {
                    class: refused.to_owned()
                }),
                "{refused:?}"
            );
        }
    }
}
