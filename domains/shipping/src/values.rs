//! Value types of the shipping context: ids, names, the countries of a zone and weights. Each
//! constructor checks its rules, so a value built from input is valid. `Deserialize` reads
//! recorded history and checks nothing (ADR 0014): input from outside is built with the
//! constructors, never deserialized into these types.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::CountryCode;
use uuid::Uuid;

use crate::errors::ShippingError;

/// Weights are the shared kernel's: the catalog weighs variants, carts add them up.
pub use shared_kernel::Grams;

/// Longest zone or option name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        // No `Default`: a made-up id would hide a missing one.
        #[allow(clippy::new_without_default)]
        impl $name {
            /// A fresh, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A shipping zone; also its aggregate id (hyphenated).
    ShippingZoneId
);
uuid_id!(
    /// A shipping option, unique across zones (a UUID); a cart names the option it chose.
    ShippingOptionId
);

/// What staff call a zone ("Europe") or what a shopper reads for an option ("Standard, 3-5
/// days"): trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Name, ShippingError> {
        let invalid = |reason| ShippingError::InvalidName {
            name: raw.to_owned(),
            reason,
        };
        let name = raw.trim();
        if name.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid("must be at most 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        Ok(Name(name.to_owned()))
    }

    /// A name as an event recorded it, taken as it is.
    pub fn recorded(name: String) -> Name {
        Name(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two names would read as the same to a shopper: equal ignoring case.
    pub fn same_as(&self, other: &Name) -> bool {
        self.0.to_lowercase() == other.0.to_lowercase()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The destination countries of a zone: at least one assigned ISO 3166-1 alpha-2 code, each
/// once. Stored as a sorted list of codes and read back as recorded, so a code that ISO later
/// withdraws never makes history unreadable.
///
/// Invariant: within a zone a country is listed at most once (it is a set). That no country is
/// in two zones is not this type's rule nor the aggregate's: see
/// [`ZoneDirectory`](crate::ports::ZoneDirectory).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct CountrySet(BTreeSet<String>);

impl CountrySet {
    pub fn new(
        countries: impl IntoIterator<Item = CountryCode>,
    ) -> Result<CountrySet, ShippingError> {
        let countries: BTreeSet<String> = countries
            .into_iter()
            .map(|code| code.as_str().to_owned())
            .collect();
        if countries.is_empty() {
            return Err(ShippingError::NoCountries);
        }
        Ok(CountrySet(countries))
    }

    /// Parses every code (any case, as [`CountryCode::parse`] does); the error names the
    /// first that is not an assigned code.
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<CountrySet, ShippingError> {
        let codes = raw
            .into_iter()
            .map(|code| {
                CountryCode::parse(code).map_err(|_| ShippingError::UnknownCountry {
                    country: code.trim().to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        CountrySet::new(codes)
    }

    pub fn contains(&self, country: CountryCode) -> bool {
        self.0.contains(country.as_str())
    }

    /// The codes, in alphabetical order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a set built with [`CountrySet::new`]; kept for the lint's sake.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<String>> for CountrySet {
    fn from(recorded: Vec<String>) -> Self {
        CountrySet(recorded.into_iter().collect())
    }
}

impl From<CountrySet> for Vec<String> {
    fn from(countries: CountrySet) -> Self {
        countries.0.into_iter().collect()
    }
}

/// Whether staff keep a zone. A deleted zone ships nowhere and takes no more commands; its id
/// and its option ids stay taken, so orders that name them keep one meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneStatus {
    Active,
    Deleted,
}

impl fmt::Display for ZoneStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ZoneStatus::Active => "active",
            ZoneStatus::Deleted => "deleted",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> CountryCode {
        CountryCode::parse(code).unwrap()
    }

    #[test]
    fn names_are_trimmed_and_refuse_blank_long_or_control_text() {
        assert_eq!(Name::parse("  Standard ").unwrap().as_str(), "Standard");
        assert!(Name::parse(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        for refused in ["", "   ", "two\nlines", &"é".repeat(MAX_NAME_CHARS + 1)] {
            assert!(
                matches!(Name::parse(refused), Err(ShippingError::InvalidName { .. })),
                "{refused:?}"
            );
        }
        let standard = Name::parse("Standard").unwrap();
        assert!(standard.same_as(&Name::parse("STANDARD").unwrap()));
        assert!(!standard.same_as(&Name::parse("Express").unwrap()));
    }

    #[test]
    fn a_country_set_holds_each_assigned_code_once_and_at_least_one() {
        let set = CountrySet::parse(["de", " AT", "DE"]).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), ["AT", "DE"]);
        assert!(set.contains(country("AT")));
        assert!(!set.contains(country("FR")));
        assert_eq!(CountrySet::new([]), Err(ShippingError::NoCountries));
        assert_eq!(
            CountrySet::parse(["DE", "UK"]),
            Err(ShippingError::UnknownCountry {
                country: "UK".into()
            })
        );
    }

    #[test]
    fn a_recorded_country_set_is_read_back_as_it_was_stored() {
        let set: CountrySet = serde_json::from_value(serde_json::json!(["YU", "DE"])).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), ["DE", "YU"]);
        assert_eq!(
            serde_json::to_value(&set).unwrap(),
            serde_json::json!(["DE", "YU"])
        );
    }
}
