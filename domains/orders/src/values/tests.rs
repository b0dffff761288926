//! Specifications of the orders context's value types.

use shared_kernel::MoneyError;

use super::*;

fn email_error(raw: &str) -> Option<String> {
    match EmailAddress::parse(raw) {
        Ok(_) => None,
        Err(OrderError::InvalidEmail { reason }) => Some(reason),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

fn address() -> NewAddress {
    NewAddress {
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
type Edit = fn(&mut NewAddress);
/// Puts a value into one field of a valid address.
type Set = fn(&mut NewAddress, String);

fn address_error(address: NewAddress) -> (&'static str, String) {
    match ShippingAddress::new(address) {
        Err(OrderError::InvalidAddress { field, reason }) => (field, reason),
        other => panic!("expected an invalid address, got {other:?}"),
    }
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn sku() -> Sku {
    Sku::parse("TEE-S").unwrap()
}

fn line(quantity: u32, unit_price: Money) -> Result<OrderLine, OrderError> {
    OrderLine::new(
        sku(),
        ProductId::from_uuid(uuid::Uuid::from_u128(1)),
        "Tee".into(),
        Quantity::new(quantity).unwrap(),
        unit_price,
        Currency::EUR,
    )
}

// --- EmailAddress ---

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
                Err(OrderError::InvalidAddress {
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

// --- ShippingAddress ---

#[test]
fn address_fields_are_trimmed() {
    let address = ShippingAddress::new(NewAddress {
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
    assert_eq!(address.country().as_str(), "GB");
    assert_eq!(address.phone(), Some("+44 20 7946 0000"));
}

#[test]
fn blank_optional_address_fields_are_absent() {
    let address = ShippingAddress::new(NewAddress {
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
    let address = ShippingAddress::new(NewAddress {
        line1: "é".repeat(200),
        ..address()
    });
    assert!(address.is_ok());
}

#[test]
fn postal_code_is_at_most_20_characters() {
    let ok = NewAddress {
        postal_code: "1".repeat(20),
        ..address()
    };
    assert!(ShippingAddress::new(ok).is_ok());
    let too_long = NewAddress {
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
    let input = NewAddress {
        line1: "1 Analytical Way\nLondon".into(),
        ..address()
    };
    assert_eq!(
        address_error(input),
        ("line1", "must not contain control characters".to_owned())
    );
    let input = NewAddress {
        phone: Some("+44\u{7}".into()),
        ..address()
    };
    assert_eq!(address_error(input).0, "phone");
}

#[test]
fn rejects_an_unknown_country_naming_the_country_field() {
    let input = NewAddress {
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
    let address = ShippingAddress::new(address()).unwrap();
    let json = serde_json::to_value(&address).unwrap();
    assert_eq!(json["country"], "GB");
    assert_eq!(json["line2"], serde_json::Value::Null);
    assert_eq!(
        serde_json::from_value::<ShippingAddress>(json.clone()).unwrap(),
        address
    );

    let mut tampered = json;
    tampered["city"] = serde_json::Value::String("  ".into());
    assert!(serde_json::from_value::<ShippingAddress>(tampered).is_err());
}

// --- OrderLine ---

#[test]
fn order_line_total_is_unit_price_times_quantity() {
    let line = line(3, eur("19.9")).unwrap();
    assert_eq!(line.unit_price().to_string(), "19.90 EUR");
    assert_eq!(line.line_total().to_string(), "59.70 EUR");
    assert_eq!(line.quantity().get(), 3);
    assert_eq!(line.sku(), &sku());
    assert_eq!(line.title(), "Tee");
}

#[test]
fn order_line_rejects_a_price_in_another_currency() {
    assert_eq!(
        line(1, Money::parse("1.00", "USD").unwrap()),
        Err(OrderError::CurrencyMismatch {
            sku: sku(),
            order: Currency::EUR,
            price: Currency::USD,
        })
    );
}

#[test]
fn order_line_rejects_a_negative_price() {
    assert_eq!(
        line(1, eur("-0.01")),
        Err(OrderError::InvalidPrice {
            sku: sku(),
            reason: MoneyError::NegativeAmount,
        })
    );
}

#[test]
fn order_line_accepts_a_free_item() {
    assert_eq!(line(2, eur("0")).unwrap().line_total(), eur("0.00"));
}

#[test]
fn order_line_deserializes_only_with_a_consistent_total() {
    let line = line(2, eur("5.00")).unwrap();
    let json = serde_json::to_value(&line).unwrap();
    assert_eq!(
        serde_json::from_value::<OrderLine>(json.clone()).unwrap(),
        line
    );
    let mut tampered = json;
    tampered["line_total"]["amount"] = serde_json::Value::String("1.00".into());
    assert!(serde_json::from_value::<OrderLine>(tampered).is_err());
}

// --- Fulfillment ---

#[test]
fn fulfillment_is_trimmed() {
    let fulfillment = Fulfillment::new(" DHL ", " JD014600003 ").unwrap();
    assert_eq!(fulfillment.carrier(), "DHL");
    assert_eq!(fulfillment.tracking_number(), "JD014600003");
}

#[test]
fn fulfillment_rejects_blank_fields_naming_them() {
    assert_eq!(
        Fulfillment::new(" ", "JD1"),
        Err(OrderError::InvalidFulfillment {
            field: "carrier",
            reason: "must not be empty".into(),
        })
    );
    assert_eq!(
        Fulfillment::new("DHL", ""),
        Err(OrderError::InvalidFulfillment {
            field: "tracking_number",
            reason: "must not be empty".into(),
        })
    );
}

#[test]
fn fulfillment_fields_are_at_most_100_characters() {
    assert!(Fulfillment::new(&"c".repeat(100), &"1".repeat(100)).is_ok());
    assert_eq!(
        Fulfillment::new("DHL", &"1".repeat(101)),
        Err(OrderError::InvalidFulfillment {
            field: "tracking_number",
            reason: "must be at most 100 characters".into(),
        })
    );
}

#[test]
fn fulfillment_rejects_control_characters() {
    assert_eq!(
        Fulfillment::new("DH\u{1b}L", "1"),
        Err(OrderError::InvalidFulfillment {
            field: "carrier",
            reason: "must not contain control characters".into(),
        })
    );
}

// --- CancellationReason ---

#[test]
fn cancellation_reason_is_trimmed_and_may_span_lines() {
    let reason = CancellationReason::parse("  Out of stock.\nSorry! ").unwrap();
    assert_eq!(reason.as_str(), "Out of stock.\nSorry!");
}

#[test]
fn cancellation_reason_must_not_be_blank() {
    assert_eq!(
        CancellationReason::parse(" \n "),
        Err(OrderError::InvalidReason {
            reason: "must not be empty".into(),
        })
    );
}

#[test]
fn cancellation_reason_is_at_most_500_characters() {
    assert!(CancellationReason::parse(&"é".repeat(500)).is_ok());
    assert_eq!(
        CancellationReason::parse(&"é".repeat(501)),
        Err(OrderError::InvalidReason {
            reason: "must be at most 500 characters".into(),
        })
    );
}

// --- OrderStatus ---

#[test]
fn status_serializes_and_displays_in_snake_case() {
    let cases = [
        (OrderStatus::Placed, "placed"),
        (OrderStatus::Paid, "paid"),
        (OrderStatus::Fulfilled, "fulfilled"),
        (OrderStatus::Completed, "completed"),
        (OrderStatus::Cancelled, "cancelled"),
    ];
    for (status, name) in cases {
        assert_eq!(status.to_string(), name);
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            format!("\"{name}\"")
        );
    }
}
