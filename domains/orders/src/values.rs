//! Value types and limits of the orders context. Each constructor validates, so holding one
//! means it is valid; deserializing one validates again, so a stored or submitted payload cannot
//! smuggle in what the constructor would refuse.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Money, ProductId, Quantity, Sku};

use crate::errors::OrderError;

/// Most lines one order may have (the same bound as a cart).
pub const MAX_LINES: usize = 100;
/// Longest email address, in characters (RFC 5321's path limit minus the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest part of an email address before the '@', in characters.
pub const MAX_EMAIL_LOCAL_PART_CHARS: usize = 64;
/// Longest label of an email domain (DNS limit).
pub const MAX_DOMAIN_LABEL_CHARS: usize = 63;
/// Longest text field of a shipping address, in characters.
pub const MAX_ADDRESS_FIELD_CHARS: usize = 200;
/// Longest postal code, in characters.
pub const MAX_POSTAL_CODE_CHARS: usize = 20;
/// Longest carrier name or tracking number, in characters.
pub const MAX_FULFILLMENT_CHARS: usize = 100;
/// Longest cancellation reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Lifecycle of a placed order. An order that does not exist yet has no status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed by checkout, waiting for its payment to be recorded.
    Placed,
    /// Paid in full; ready to ship.
    Paid,
    /// Handed to a carrier; can no longer be cancelled.
    Fulfilled,
    /// Delivered and closed.
    Completed,
    /// Cancelled before fulfilment.
    Cancelled,
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        })
    }
}

/// An email address to send order mail to.
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
    pub fn parse(raw: &str) -> Result<EmailAddress, OrderError> {
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

fn invalid_email(reason: impl Into<String>) -> OrderError {
    OrderError::InvalidEmail {
        reason: reason.into(),
    }
}

fn check_email_domain(domain: &str) -> Result<(), OrderError> {
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
    type Error = OrderError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&raw)
    }
}

impl From<EmailAddress> for String {
    fn from(email: EmailAddress) -> Self {
        email.0
    }
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
    pub fn parse(raw: &str) -> Result<CountryCode, OrderError> {
        let code = raw.trim().to_ascii_uppercase();
        ASSIGNED_COUNTRY_CODES
            .binary_search(&code.as_str())
            .map(|index| CountryCode(ASSIGNED_COUNTRY_CODES[index]))
            .map_err(|_| OrderError::InvalidAddress {
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
    type Error = OrderError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&raw)
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> Self {
        code.0.to_owned()
    }
}

/// A shipping address as submitted, before validation. Also the address's JSON shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, any case.
    pub country: String,
    pub phone: Option<String>,
}

/// Where an order ships to. Text fields are trimmed, free of control characters and at most
/// [`MAX_ADDRESS_FIELD_CHARS`] long ([`MAX_POSTAL_CODE_CHARS`] for the postal code); optional
/// fields left blank are `None`. Postal codes are not checked per country: formats vary too
/// much, and a carrier rejects what it cannot route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NewAddress", into = "NewAddress")]
pub struct ShippingAddress {
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    postal_code: String,
    region: Option<String>,
    country: CountryCode,
    phone: Option<String>,
}

impl ShippingAddress {
    /// Validates every field; the error names the first one that fails.
    pub fn new(address: NewAddress) -> Result<ShippingAddress, OrderError> {
        Ok(ShippingAddress {
            name: required_text("name", &address.name, MAX_ADDRESS_FIELD_CHARS)?,
            line1: required_text("line1", &address.line1, MAX_ADDRESS_FIELD_CHARS)?,
            line2: optional_text("line2", address.line2.as_deref())?,
            city: required_text("city", &address.city, MAX_ADDRESS_FIELD_CHARS)?,
            postal_code: required_text("postal_code", &address.postal_code, MAX_POSTAL_CODE_CHARS)?,
            region: optional_text("region", address.region.as_deref())?,
            country: CountryCode::parse(&address.country)?,
            phone: optional_text("phone", address.phone.as_deref())?,
        })
    }

    /// Recipient.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn line1(&self) -> &str {
        &self.line1
    }

    pub fn line2(&self) -> Option<&str> {
        self.line2.as_deref()
    }

    pub fn city(&self) -> &str {
        &self.city
    }

    pub fn postal_code(&self) -> &str {
        &self.postal_code
    }

    /// State, province or county, where the country uses one.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    pub fn country(&self) -> CountryCode {
        self.country
    }

    /// For the carrier; not validated as a number because formats vary by country.
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
}

impl TryFrom<NewAddress> for ShippingAddress {
    type Error = OrderError;

    fn try_from(address: NewAddress) -> Result<Self, Self::Error> {
        ShippingAddress::new(address)
    }
}

impl From<ShippingAddress> for NewAddress {
    fn from(address: ShippingAddress) -> Self {
        NewAddress {
            name: address.name,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            postal_code: address.postal_code,
            region: address.region,
            country: address.country.to_string(),
            phone: address.phone,
        }
    }
}

/// Trimmed `raw`, or why it is not an acceptable address field.
fn required_text(field: &'static str, raw: &str, max: usize) -> Result<String, OrderError> {
    let invalid = |reason: String| OrderError::InvalidAddress { field, reason };
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
fn optional_text(field: &'static str, raw: Option<&str>) -> Result<Option<String>, OrderError> {
    match raw.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => required_text(field, text, MAX_ADDRESS_FIELD_CHARS).map(Some),
    }
}

/// One line of an order: what was bought, how many, at which unit price.
///
/// Unlike a cart line it never changes; `line_total` is computed once, when the order is
/// placed, and stored so readers need not redo the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OrderLineFields")]
pub struct OrderLine {
    sku: Sku,
    product_id: ProductId,
    title: String,
    quantity: Quantity,
    unit_price: Money,
    line_total: Money,
}

impl OrderLine {
    /// A line of an order in `currency`. The unit price must be in that currency
    /// ([`OrderError::CurrencyMismatch`]) and a valid price: not negative, not above
    /// [`Money::MAX_PRICE`], no finer than the currency's minor unit ([`OrderError::InvalidPrice`]).
    pub fn new(
        sku: Sku,
        product_id: ProductId,
        title: String,
        quantity: Quantity,
        unit_price: Money,
        currency: Currency,
    ) -> Result<OrderLine, OrderError> {
        if unit_price.currency() != currency {
            return Err(OrderError::CurrencyMismatch {
                sku,
                order: currency,
                price: unit_price.currency(),
            });
        }
        let unit_price = match Money::price(unit_price.amount(), currency) {
            Ok(price) => price,
            Err(reason) => return Err(OrderError::InvalidPrice { sku, reason }),
        };
        let line_total = match unit_price.checked_times(quantity) {
            Ok(total) => total,
            Err(reason) => return Err(OrderError::InvalidPrice { sku, reason }),
        };
        Ok(OrderLine {
            sku,
            product_id,
            title,
            quantity,
            unit_price,
            line_total,
        })
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn product_id(&self) -> ProductId {
        self.product_id
    }

    /// The title shown when the order was placed.
    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn quantity(&self) -> Quantity {
        self.quantity
    }

    pub fn unit_price(&self) -> Money {
        self.unit_price
    }

    /// `unit_price × quantity`, exact.
    pub fn line_total(&self) -> Money {
        self.line_total
    }
}

/// The stored shape of an [`OrderLine`], checked on the way in.
#[derive(Deserialize)]
struct OrderLineFields {
    sku: Sku,
    product_id: ProductId,
    title: String,
    quantity: Quantity,
    unit_price: Money,
    line_total: Money,
}

impl TryFrom<OrderLineFields> for OrderLine {
    type Error = String;

    fn try_from(fields: OrderLineFields) -> Result<Self, Self::Error> {
        let currency = fields.unit_price.currency();
        let line = OrderLine::new(
            fields.sku,
            fields.product_id,
            fields.title,
            fields.quantity,
            fields.unit_price,
            currency,
        )
        .map_err(|error| error.to_string())?;
        if line.line_total != fields.line_total || fields.line_total.currency() != currency {
            return Err(format!(
                "line_total {} is not unit_price × quantity ({})",
                fields.line_total, line.line_total
            ));
        }
        Ok(line)
    }
}

/// How a paid order was shipped: a carrier's name and its tracking number, each trimmed, not
/// empty, at most [`MAX_FULFILLMENT_CHARS`] and free of control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FulfillmentFields")]
pub struct Fulfillment {
    carrier: String,
    tracking_number: String,
}

impl Fulfillment {
    pub fn new(carrier: &str, tracking_number: &str) -> Result<Fulfillment, OrderError> {
        Ok(Fulfillment {
            carrier: fulfillment_text("carrier", carrier)?,
            tracking_number: fulfillment_text("tracking_number", tracking_number)?,
        })
    }

    /// Rebuilds a fulfilment from an `OrderFulfilled` event, which was validated when it was
    /// decided; replaying history must not fail.
    pub(crate) fn recorded(carrier: String, tracking_number: String) -> Fulfillment {
        Fulfillment {
            carrier,
            tracking_number,
        }
    }

    pub fn carrier(&self) -> &str {
        &self.carrier
    }

    pub fn tracking_number(&self) -> &str {
        &self.tracking_number
    }
}

fn fulfillment_text(field: &'static str, raw: &str) -> Result<String, OrderError> {
    let invalid = |reason: String| OrderError::InvalidFulfillment { field, reason };
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid("must not be empty".to_owned()));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters".to_owned()));
    }
    if text.chars().count() > MAX_FULFILLMENT_CHARS {
        return Err(invalid(format!(
            "must be at most {MAX_FULFILLMENT_CHARS} characters"
        )));
    }
    Ok(text.to_owned())
}

#[derive(Deserialize)]
struct FulfillmentFields {
    carrier: String,
    tracking_number: String,
}

impl TryFrom<FulfillmentFields> for Fulfillment {
    type Error = OrderError;

    fn try_from(fields: FulfillmentFields) -> Result<Self, Self::Error> {
        Fulfillment::new(&fields.carrier, &fields.tracking_number)
    }
}

/// Why an order was cancelled, for staff and the shopper: trimmed, not empty, at most
/// [`MAX_REASON_CHARS`]. Line breaks are allowed; it is prose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CancellationReason(String);

impl CancellationReason {
    pub fn parse(raw: &str) -> Result<CancellationReason, OrderError> {
        let reason = raw.trim();
        if reason.is_empty() {
            return Err(OrderError::InvalidReason {
                reason: "must not be empty".to_owned(),
            });
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(OrderError::InvalidReason {
                reason: format!("must be at most {MAX_REASON_CHARS} characters"),
            });
        }
        Ok(CancellationReason(reason.to_owned()))
    }

    /// Rebuilds a reason from an `OrderCancelled` event, which was validated when it was
    /// decided; replaying history must not fail.
    pub(crate) fn recorded(reason: String) -> CancellationReason {
        CancellationReason(reason)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CancellationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CancellationReason {
    type Error = OrderError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        CancellationReason::parse(&raw)
    }
}

impl From<CancellationReason> for String {
    fn from(reason: CancellationReason) -> Self {
        reason.0
    }
}

#[cfg(test)]
mod tests;
