//! Email addresses: parsed once where input enters, plain text in events.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest email address, in characters (RFC 5321's path limit minus the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest part of an email address before the '@', in characters.
pub const MAX_EMAIL_LOCAL_PART_CHARS: usize = 64;
/// Longest label of an email domain (DNS limit).
pub const MAX_DOMAIN_LABEL_CHARS: usize = 63;

/// Why a text is not an [`EmailAddress`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address: {reason}")]
pub struct EmailError {
    pub reason: String,
}

/// An email address to write to: a shopper's, a customer's.
///
/// Deliberately stricter than RFC 5322 (no quoted local parts, no IP-literal domains, no
/// internationalized domains in Unicode form): these are shop contacts, not arbitrary mail
/// routes. The domain is stored lowercased because DNS is case-insensitive; the local part is
/// kept as given because, strictly, a mail server may treat it case-sensitively.
/// [`EmailAddress::normalized`] is the fully lowercased form to compare and look up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Trims `raw` and checks it; see the type's documentation for the rules.
    pub fn parse(raw: &str) -> Result<EmailAddress, EmailError> {
        let email = raw.trim();
        if email.is_empty() {
            return Err(invalid_email("must not be empty"));
        }
        if email.chars().count() > MAX_EMAIL_CHARS {
            return Err(invalid_email(format!(
                "must be at most {MAX_EMAIL_CHARS} characters"
            )));
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid_email(
                "must not contain whitespace or control characters",
            ));
        }
        let Some((local, domain)) = email.split_once('@').filter(|(_, d)| !d.contains('@')) else {
            return Err(invalid_email("must contain exactly one '@'"));
        };
        if local.is_empty() {
            return Err(invalid_email("the part before '@' must not be empty"));
        }
        if local.chars().count() > MAX_EMAIL_LOCAL_PART_CHARS {
            return Err(invalid_email(format!(
                "the part before '@' must be at most {MAX_EMAIL_LOCAL_PART_CHARS} characters"
            )));
        }
        check_email_domain(domain)?;
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    /// An address as an event recorded it. It was accepted under the rules of its day and is
    /// never checked again: history must load even after a rule is tightened.
    pub fn recorded(address: String) -> EmailAddress {
        EmailAddress(address)
    }

    /// The address as stored: local part as given, domain lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the '@', as given.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(local, _)| local)
    }

    /// The lowercased domain.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }

    /// The fully lowercased address, for finding a shopper's orders whatever case they typed.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

fn invalid_email(reason: impl Into<String>) -> EmailError {
    EmailError {
        reason: reason.into(),
    }
}

fn check_email_domain(domain: &str) -> Result<(), EmailError> {
    if domain.is_empty() {
        return Err(invalid_email("the domain after '@' must not be empty"));
    }
    if !domain.contains('.') {
        return Err(invalid_email("the domain needs at least one dot"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err(invalid_email("the domain must not have empty labels"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid_email(
                "domain labels may only contain the letters A-Z, digits and '-'",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid_email(
                "domain labels must not start or end with '-'",
            ));
        }
        if label.len() > MAX_DOMAIN_LABEL_CHARS {
            return Err(invalid_email(format!(
                "domain labels have at most {MAX_DOMAIN_LABEL_CHARS} characters"
            )));
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(invalid_email(
            "the top-level domain must be at least two letters",
        ));
    }
    Ok(())
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&raw)
    }
}

impl From<EmailAddress> for String {
    fn from(email: EmailAddress) -> Self {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email_error(raw: &str) -> Option<String> {
        EmailAddress::parse(raw).err().map(|error| error.reason)
    }

    #[test]
    fn accepts_ordinary_email_addresses() {
        let valid = [
            "ada@example.com",
            "ada.lovelace@example.co.uk",
            "ada+orders@example.com",
            "o'brien@example.ie",
            "a@b.io",
            "x_y-z@sub-domain.example.museum",
            "1234@123.example.org",
            "ada@xn--bcher-kva.example",
        ];
        for raw in valid {
            assert_eq!(email_error(raw), None, "{raw} should be valid");
        }
    }

    #[test]
    fn rejects_malformed_email_addresses_with_a_reason() {
        let invalid = [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            ("ada.example.com", "must contain exactly one '@'"),
            ("ada@@example.com", "must contain exactly one '@'"),
            ("ada@home@example.com", "must contain exactly one '@'"),
            ("@example.com", "the part before '@' must not be empty"),
            ("ada@", "the domain after '@' must not be empty"),
            ("ada@localhost", "the domain needs at least one dot"),
            ("ada@example..com", "the domain must not have empty labels"),
            ("ada@.example.com", "the domain must not have empty labels"),
            ("ada@example.com.", "the domain must not have empty labels"),
            (
                "ada@exa_mple.com",
                "domain labels may only contain the letters A-Z, digits and '-'",
            ),
            (
                "ada@bücher.de",
                "domain labels may only contain the letters A-Z, digits and '-'",
            ),
            (
                "ada@-example.com",
                "domain labels must not start or end with '-'",
            ),
            (
                "ada@example-.com",
                "domain labels must not start or end with '-'",
            ),
            (
                "ada@example.c",
                "the top-level domain must be at least two letters",
            ),
            (
                "ada@example.c0m",
                "the top-level domain must be at least two letters",
            ),
            (
                "ada@192.168.0.1",
                "the top-level domain must be at least two letters",
            ),
            (
                "ada lovelace@example.com",
                "must not contain whitespace or control characters",
            ),
            (
                "ada@exam\u{0}ple.com",
                "must not contain whitespace or control characters",
            ),
            (
                "ada\u{a0}x@example.com",
                "must not contain whitespace or control characters",
            ),
        ];
        for (raw, reason) in invalid {
            assert_eq!(email_error(raw).as_deref(), Some(reason), "{raw:?}");
        }
    }

    #[test]
    fn email_is_trimmed_and_its_domain_lowercased() {
        let email = EmailAddress::parse("  Ada.Lovelace@Example.COM \n").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace@example.com");
        assert_eq!(email.local_part(), "Ada.Lovelace");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.to_string(), "Ada.Lovelace@example.com");
    }

    #[test]
    fn normalized_email_is_fully_lowercased() {
        let email = EmailAddress::parse("Ada.Lovelace@Example.COM").unwrap();
        assert_eq!(email.normalized(), "ada.lovelace@example.com");
    }

    #[test]
    fn email_local_part_is_at_most_64_characters() {
        let local = "a".repeat(64);
        assert_eq!(email_error(&format!("{local}@example.com")), None);
        assert_eq!(
            email_error(&format!("{local}a@example.com")).as_deref(),
            Some("the part before '@' must be at most 64 characters")
        );
    }

    #[test]
    fn email_is_at_most_254_characters() {
        // 64 + 1 + 189 = 254, in labels of at most 63.
        let domain = format!(
            "{}.{}.{}.com",
            "b".repeat(61),
            "c".repeat(61),
            "d".repeat(61)
        );
        let at_limit = format!("{}@{domain}", "a".repeat(64));
        assert_eq!(at_limit.len(), 254);
        assert_eq!(email_error(&at_limit), None);
        assert_eq!(
            email_error(&format!("a{at_limit}")).as_deref(),
            Some("must be at most 254 characters")
        );
    }

    #[test]
    fn email_domain_labels_are_at_most_63_characters() {
        assert_eq!(email_error(&format!("a@{}.com", "b".repeat(63))), None);
        assert_eq!(
            email_error(&format!("a@{}.com", "b".repeat(64))).as_deref(),
            Some("domain labels have at most 63 characters")
        );
    }

    #[test]
    fn email_deserializes_only_when_valid() {
        let email: EmailAddress = serde_json::from_str(r#""Ada@EXAMPLE.com""#).unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            r#""Ada@example.com""#
        );
        assert!(serde_json::from_str::<EmailAddress>(r#""not an email""#).is_err());
    }

    // --- CountryCode ---

    #[test]
    fn a_recorded_address_is_taken_as_it_was_stored() {
        let recorded = EmailAddress::recorded("no-longer valid@example".into());
        assert_eq!(recorded.as_str(), "no-longer valid@example");
    }
}
