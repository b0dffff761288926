//! Postal addresses: typed and validated where input enters, plain data in events.
//!
//! [`AddressData`] is the plain shape: what a shopper typed, and what events record.
//! [`PostalAddress`] is an address that passed the rules; [`PostalAddress::recorded`] rebuilds
//! one from an event without checking it again, because history must load even after a rule
//! (the country list, a length) changes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest text field of an address, in characters.
pub const MAX_ADDRESS_FIELD_CHARS: usize = 200;
/// Longest postal code, in characters.
pub const MAX_POSTAL_CODE_CHARS: usize = 20;

/// Why an address was refused: the first field that failed, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct AddressError {
    pub field: &'static str,
    pub reason: String,
}

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted for binary search. Reserved and
/// user-assigned codes (EU, UK, XK, ...) are not countries a carrier can deliver to by code.
const ASSIGNED_COUNTRY_CODES: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// An officially assigned ISO 3166-1 alpha-2 country code, stored in uppercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(&'static str);

impl CountryCode {
    /// Accepts any case and surrounding whitespace: `" de "` is `DE`.
    pub fn parse(raw: &str) -> Result<CountryCode, AddressError> {
        let code = raw.trim().to_ascii_uppercase();
        ASSIGNED_COUNTRY_CODES
            .binary_search(&code.as_str())
            .map(|index| CountryCode(ASSIGNED_COUNTRY_CODES[index]))
            .map_err(|_| AddressError {
                field: "country",
                reason: format!("'{}' is not an ISO 3166-1 alpha-2 country code", raw.trim()),
            })
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// All assigned codes, in alphabetical order.
    pub fn all() -> impl Iterator<Item = CountryCode> {
        ASSIGNED_COUNTRY_CODES.iter().map(|code| CountryCode(code))
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl TryFrom<String> for CountryCode {
    type Error = AddressError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&raw)
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.0.to_owned()
    }
}

/// An address as plain data: as submitted, before any check, and as events record it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AddressData {
    /// Recipient.
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// State, province or county, where the country uses one.
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2; any case when submitted, uppercase once accepted.
    pub country: String,
    /// For the carrier; not validated as a number because formats vary by country.
    pub phone: Option<String>,
}

impl AddressData {
    /// What a recorded address reads as once its person was erased (ADR 0026): every text
    /// field [`ERASED`](crate::ERASED), every optional one empty.
    pub fn erased() -> AddressData {
        AddressData {
            name: crate::ERASED.to_owned(),
            line1: crate::ERASED.to_owned(),
            line2: None,
            city: crate::ERASED.to_owned(),
            postal_code: crate::ERASED.to_owned(),
            region: None,
            country: crate::ERASED.to_owned(),
            phone: None,
        }
    }
}

/// An address a carrier can deliver to. Text fields are trimmed, free of control characters
/// and at most [`MAX_ADDRESS_FIELD_CHARS`] long ([`MAX_POSTAL_CODE_CHARS`] for the postal code);
/// optional fields left blank are `None`; the country is an assigned ISO 3166-1 code. Postal
/// codes are not checked per country: formats vary too much, and a carrier rejects what it
/// cannot route.
///
/// Serializes as [`AddressData`]; deserializing checks the rules again, so only submitted or
/// cached data should come in that way. Events hold [`AddressData`], never this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AddressData", into = "AddressData")]
pub struct PostalAddress(AddressData);

impl PostalAddress {
    /// Checks every field; the error names the first one that fails.
    pub fn new(address: AddressData) -> Result<PostalAddress, AddressError> {
        Ok(PostalAddress(AddressData {
            name: required_text("name", &address.name, MAX_ADDRESS_FIELD_CHARS)?,
            line1: required_text("line1", &address.line1, MAX_ADDRESS_FIELD_CHARS)?,
            line2: optional_text("line2", address.line2.as_deref())?,
            city: required_text("city", &address.city, MAX_ADDRESS_FIELD_CHARS)?,
            postal_code: required_text("postal_code", &address.postal_code, MAX_POSTAL_CODE_CHARS)?,
            region: optional_text("region", address.region.as_deref())?,
            country: CountryCode::parse(&address.country)?.as_str().to_owned(),
            phone: optional_text("phone", address.phone.as_deref())?,
        }))
    }

    /// An address as an event recorded it, taken as it is: it passed the rules of its day.
    pub fn recorded(address: AddressData) -> PostalAddress {
        PostalAddress(address)
    }

    /// Recipient.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn line1(&self) -> &str {
        &self.0.line1
    }

    pub fn line2(&self) -> Option<&str> {
        self.0.line2.as_deref()
    }

    pub fn city(&self) -> &str {
        &self.0.city
    }

    pub fn postal_code(&self) -> &str {
        &self.0.postal_code
    }

    /// State, province or county, where the country uses one.
    pub fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }

    /// The ISO 3166-1 alpha-2 code, uppercase.
    pub fn country(&self) -> &str {
        &self.0.country
    }

    /// For the carrier; not validated as a number because formats vary by country.
    pub fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// The plain data, as an event records it.
    pub fn data(&self) -> &AddressData {
        &self.0
    }
}

impl TryFrom<AddressData> for PostalAddress {
    type Error = AddressError;

    fn try_from(address: AddressData) -> Result<Self, Self::Error> {
        PostalAddress::new(address)
    }
}

impl From<PostalAddress> for AddressData {
    fn from(address: PostalAddress) -> Self {
        address.0
    }
}

/// Trimmed `raw`, or why it is not an acceptable address field.
fn required_text(field: &'static str, raw: &str, max: usize) -> Result<String, AddressError> {
    let invalid = |reason: String| AddressError { field, reason };
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid("must not be empty".to_owned()));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters".to_owned()));
    }
    if text.chars().count() > max {
        return Err(invalid(format!("must be at most {max} characters")));
    }
    Ok(text.to_owned())
}

/// Like [`required_text`], but blank means absent.
fn optional_text(field: &'static str, raw: Option<&str>) -> Result<Option<String>, AddressError> {
    match raw.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => required_text(field, text, MAX_ADDRESS_FIELD_CHARS).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> AddressData {
        AddressData {
            name: "Ada Lovelace".into(),
            line1: "1 Analytical Way".into(),
            line2: None,
            city: "London".into(),
            postal_code: "N1 9GU".into(),
            region: None,
            country: "GB".into(),
            phone: None,
        }
    }

    /// Changes one field of a valid address.
    type Edit = fn(&mut AddressData);
    /// Puts a value into one field of a valid address.
    type Set = fn(&mut AddressData, String);

    fn address_error(address: AddressData) -> (&'static str, String) {
        match PostalAddress::new(address) {
            Err(AddressError { field, reason }) => (field, reason),
            other => panic!("expected an invalid address, got {other:?}"),
        }
    }

    #[test]
    fn country_code_accepts_assigned_codes_in_any_case() {
        assert_eq!(CountryCode::parse("DE").unwrap().as_str(), "DE");
        assert_eq!(CountryCode::parse(" de ").unwrap().as_str(), "DE");
        assert_eq!(CountryCode::parse("gB").unwrap().to_string(), "GB");
        for code in ["AX", "BQ", "CW", "SS", "SX", "ZW", "AQ", "UM"] {
            assert!(CountryCode::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn country_code_rejects_unassigned_reserved_and_malformed_codes() {
        for raw in [
            "XX", "UK", "EU", "XK", "AN", "ZZ", "D", "DEU", "", "D E", "ÄÖ", "276",
        ] {
            assert!(
                matches!(
                    CountryCode::parse(raw),
                    Err(AddressError {
                        field: "country",
                        ..
                    })
                ),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn country_code_list_holds_all_249_assigned_codes_in_order() {
        let codes: Vec<&str> = CountryCode::all().map(|code| code.as_str()).collect();
        assert_eq!(codes.len(), 249);
        assert!(codes.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(codes
            .iter()
            .all(|code| code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase())));
    }

    #[test]
    fn country_code_deserializes_only_when_assigned() {
        let code: CountryCode = serde_json::from_str(r#""fr""#).unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), r#""FR""#);
        assert!(serde_json::from_str::<CountryCode>(r#""XX""#).is_err());
    }

    // --- PostalAddress ---

    #[test]
    fn address_fields_are_trimmed() {
        let address = PostalAddress::new(AddressData {
            name: "  Ada Lovelace ".into(),
            line1: " 1 Analytical Way".into(),
            line2: Some(" Flat 2 ".into()),
            city: "London ".into(),
            postal_code: " N1 9GU ".into(),
            region: Some(" Greater London ".into()),
            country: " gb ".into(),
            phone: Some(" +44 20 7946 0000 ".into()),
        })
        .unwrap();
        assert_eq!(address.name(), "Ada Lovelace");
        assert_eq!(address.line1(), "1 Analytical Way");
        assert_eq!(address.line2(), Some("Flat 2"));
        assert_eq!(address.city(), "London");
        assert_eq!(address.postal_code(), "N1 9GU");
        assert_eq!(address.region(), Some("Greater London"));
        assert_eq!(address.country(), "GB");
        assert_eq!(address.phone(), Some("+44 20 7946 0000"));
    }

    #[test]
    fn blank_optional_address_fields_are_absent() {
        let address = PostalAddress::new(AddressData {
            line2: Some("  ".into()),
            region: Some(String::new()),
            phone: Some("\t".into()),
            ..address()
        })
        .unwrap();
        assert_eq!(address.line2(), None);
        assert_eq!(address.region(), None);
        assert_eq!(address.phone(), None);
    }

    #[test]
    fn rejects_blank_required_address_fields_naming_the_field() {
        let blanks: [(&str, Edit); 4] = [
            ("name", |a| a.name = " ".into()),
            ("line1", |a| a.line1 = String::new()),
            ("city", |a| a.city = "\t".into()),
            ("postal_code", |a| a.postal_code = "  ".into()),
        ];
        for (field, blank) in blanks {
            let mut input = address();
            blank(&mut input);
            assert_eq!(
                address_error(input),
                (field, "must not be empty".to_owned())
            );
        }
    }

    #[test]
    fn rejects_address_fields_longer_than_200_characters() {
        let long = "é".repeat(201);
        let too_long: [(&str, Set); 6] = [
            ("name", |a, s| a.name = s),
            ("line1", |a, s| a.line1 = s),
            ("line2", |a, s| a.line2 = Some(s)),
            ("city", |a, s| a.city = s),
            ("region", |a, s| a.region = Some(s)),
            ("phone", |a, s| a.phone = Some(s)),
        ];
        for (field, set) in too_long {
            let mut input = address();
            set(&mut input, long.clone());
            assert_eq!(
                address_error(input),
                (field, "must be at most 200 characters".to_owned())
            );
        }
    }

    #[test]
    fn accepts_address_fields_of_exactly_200_characters() {
        let address = PostalAddress::new(AddressData {
            line1: "é".repeat(200),
            ..address()
        });
        assert!(address.is_ok());
    }

    #[test]
    fn postal_code_is_at_most_20_characters() {
        let ok = AddressData {
            postal_code: "1".repeat(20),
            ..address()
        };
        assert!(PostalAddress::new(ok).is_ok());
        let too_long = AddressData {
            postal_code: "1".repeat(21),
            ..address()
        };
        assert_eq!(
            address_error(too_long),
            ("postal_code", "must be at most 20 characters".to_owned())
        );
    }

    #[test]
    fn rejects_control_characters_in_address_fields() {
        let input = AddressData {
            line1: "1 Analytical Way\nLondon".into(),
            ..address()
        };
        assert_eq!(
            address_error(input),
            ("line1", "must not contain control characters".to_owned())
        );
        let input = AddressData {
            phone: Some("+44\u{7}".into()),
            ..address()
        };
        assert_eq!(address_error(input).0, "phone");
    }

    #[test]
    fn rejects_an_unknown_country_naming_the_country_field() {
        let input = AddressData {
            country: "UK".into(),
            ..address()
        };
        assert_eq!(
            address_error(input),
            (
                "country",
                "'UK' is not an ISO 3166-1 alpha-2 country code".to_owned()
            )
        );
    }

    #[test]
    fn address_serializes_as_plain_fields_and_revalidates_on_the_way_in() {
        let address = PostalAddress::new(address()).unwrap();
        let json = serde_json::to_value(&address).unwrap();
        assert_eq!(json["country"], "GB");
        assert_eq!(json["line2"], serde_json::Value::Null);
        assert_eq!(
            serde_json::from_value::<PostalAddress>(json.clone()).unwrap(),
            address
        );

        let mut tampered = json;
        tampered["city"] = serde_json::Value::String("  ".into());
        assert!(serde_json::from_value::<PostalAddress>(tampered).is_err());
    }

    #[test]
    fn a_recorded_address_is_taken_as_it_was_stored() {
        let mut old = address();
        old.country = "YU".into();
        let recorded = PostalAddress::recorded(old.clone());
        assert_eq!(recorded.country(), "YU");
        assert_eq!(recorded.data(), &old);
    }
}
