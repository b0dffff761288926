//! Business outcomes the checkout context refuses. The context does no I/O, so there is no
//! infrastructure variant; store failures are reported by cqrs-es around these, and step
//! failures by the ports ([`crate::ports::StepError`]).

use shared_kernel::{Currency, MoneyError, Sku};

use crate::values::CheckoutStatus;

/// Why a checkout command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("checkout not found")]
    NotFound,
    /// The checkout id is taken by a checkout with other content.
    #[error("checkout already exists")]
    AlreadyExists,
    #[error("{command} is not allowed while the checkout is {status}")]
    NotAllowed {
        status: CheckoutStatus,
        command: &'static str,
    },
    #[error("a checkout needs at least one line")]
    NoLines,
    #[error("a checkout has at most {max} lines, {requested} were given")]
    TooManyLines { max: usize, requested: usize },
    #[error("SKU {sku} appears on more than one line")]
    DuplicateLine { sku: Sku },
    #[error("the checkout is in {checkout}, the price of {sku} is in {price}")]
    CurrencyMismatch {
        sku: Sku,
        checkout: Currency,
        price: Currency,
    },
    #[error("invalid price for {sku}: {reason}")]
    InvalidPrice { sku: Sku, reason: MoneyError },
    /// The lines add up to zero: there is no payment to authorize, so the saga cannot run.
    #[error("the checkout total is zero")]
    NothingToPay,
    /// The promotion's discounts do not fit the lines: `reason` says how. A bug in the caller,
    /// never the shopper's doing.
    #[error("the promotion does not fit the checkout: {reason}")]
    InvalidPromotion { reason: String },
    /// The shipping charge does not fit the checkout (currency, sign, minor units).
    #[error("the shipping does not fit the checkout: {reason}")]
    InvalidShipping { reason: String },
    /// The tax does not fit the checkout (one part per line, currency, sign, minor units,
    /// the parts summing to the total).
    #[error("the tax does not fit the checkout: {reason}")]
    InvalidTax { reason: String },
    /// A step outcome names a SKU that is on none of the checkout's lines.
    #[error("the checkout has no line for SKU {sku}")]
    UnknownLine { sku: Sku },
}

impl CheckoutError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            CheckoutError::NotFound => "checkout_not_found",
            CheckoutError::AlreadyExists => "checkout_already_exists",
            CheckoutError::NotAllowed { .. } => "not_allowed",
            CheckoutError::NoLines => "no_lines",
            CheckoutError::TooManyLines { .. } => "too_many_lines",
            CheckoutError::DuplicateLine { .. } => "duplicate_line",
            CheckoutError::CurrencyMismatch { .. } => "currency_mismatch",
            CheckoutError::InvalidPrice { .. } => "invalid_price",
            CheckoutError::NothingToPay => "nothing_to_pay",
            CheckoutError::UnknownLine { .. } => "unknown_line",
            CheckoutError::InvalidPromotion { .. } => "invalid_promotion",
            CheckoutError::InvalidShipping { .. } => "invalid_shipping",
            CheckoutError::InvalidTax { .. } => "invalid_tax",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_stable_code() {
        let sku = Sku::parse("TEE-S").unwrap();
        let cases = [
            (CheckoutError::NotFound, "checkout_not_found"),
            (CheckoutError::AlreadyExists, "checkout_already_exists"),
            (
                CheckoutError::NotAllowed {
                    status: CheckoutStatus::Failed,
                    command: "RecordOrderPlaced",
                },
                "not_allowed",
            ),
            (CheckoutError::NoLines, "no_lines"),
            (
                CheckoutError::TooManyLines {
                    max: 100,
                    requested: 101,
                },
                "too_many_lines",
            ),
            (
                CheckoutError::DuplicateLine { sku: sku.clone() },
                "duplicate_line",
            ),
            (
                CheckoutError::CurrencyMismatch {
                    sku: sku.clone(),
                    checkout: Currency::EUR,
                    price: Currency::USD,
                },
                "currency_mismatch",
            ),
            (
                CheckoutError::InvalidPrice {
                    sku: sku.clone(),
                    reason: MoneyError::NegativeAmount,
                },
                "invalid_price",
            ),
            (CheckoutError::NothingToPay, "nothing_to_pay"),
            (CheckoutError::UnknownLine { sku }, "unknown_line"),
            (
                CheckoutError::InvalidPromotion {
                    reason: String::new(),
                },
                "invalid_promotion",
            ),
            (
                CheckoutError::InvalidShipping {
                    reason: String::new(),
                },
                "invalid_shipping",
            ),
            (
                CheckoutError::InvalidTax {
                    reason: String::new(),
                },
                "invalid_tax",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn not_allowed_names_the_command_and_the_status() {
        let error = CheckoutError::NotAllowed {
            status: CheckoutStatus::PlacingOrder,
            command: "RecordStockUnavailable",
        };
        assert_eq!(
            error.to_string(),
            "RecordStockUnavailable is not allowed while the checkout is placing_order"
        );
    }
}
