//! Outcomes the coupons context refuses. It does no I/O, so there is no infrastructure
//! variant; store failures are reported by cqrs-es around these.
//!
//! Three kinds, for three audiences:
//! - [`Refusal`]: why a shopper cannot use a code. Its `Display` is a sentence to show them,
//!   its [`Refusal::code`] a stable identifier for the storefront.
//! - [`PromotionError`]: why a command was refused: a [`Refusal`] when a redemption is, or a
//!   mistake in what staff asked for, or a saga step that contradicts what is recorded.
//! - [`BasketError`]: the lines handed to [`discount`](crate::discount) are not a basket (a
//!   bug in the caller, never the shopper's doing).

use chrono::{DateTime, Utc};
use shared_kernel::{CheckoutId, Currency, Money};

use crate::values::PromotionStatus;

/// Why a shopper cannot use a code, in words they can read.
///
/// New reasons may be added; a released [`Refusal::code`] never changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this code does not exist")]
    UnknownCode,
    #[error("this code is no longer valid")]
    Inactive,
    #[error("this code can be used from {starts_at}")]
    NotStarted { starts_at: DateTime<Utc> },
    #[error("this code expired at {ends_at}")]
    Expired { ends_at: DateTime<Utc> },
    #[error("this code has been used as many times as it can be")]
    UsedUp,
    #[error("you have already used this code as many times as you can")]
    CustomerLimitReached,
    #[error("sign in to use this code")]
    SignInRequired,
    #[error("this code cannot be used for a purchase in {currency}")]
    CurrencyNotSupported { currency: Currency },
    #[error("spend at least {minimum} to use this code")]
    BelowMinimum { minimum: Money },
    #[error("none of the items in your cart qualify for this code")]
    NoEligibleItems,
}

impl Refusal {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownCode => "promotion_code_unknown",
            Refusal::Inactive => "promotion_inactive",
            Refusal::NotStarted { .. } => "promotion_not_started",
            Refusal::Expired { .. } => "promotion_expired",
            Refusal::UsedUp => "promotion_used_up",
            Refusal::CustomerLimitReached => "promotion_customer_limit_reached",
            Refusal::SignInRequired => "promotion_sign_in_required",
            Refusal::CurrencyNotSupported { .. } => "promotion_currency_not_supported",
            Refusal::BelowMinimum { .. } => "promotion_below_minimum_subtotal",
            Refusal::NoEligibleItems => "promotion_no_eligible_items",
        }
    }
}

/// Why a promotion command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromotionError {
    /// A redemption the shopper cannot have.
    #[error(transparent)]
    Refused(Refusal),
    #[error("promotion not found")]
    NotFound,
    #[error("the code {code} is taken")]
    CodeTaken { code: String },
    #[error("{command} is not allowed while the promotion is {status}")]
    NotAllowed {
        status: PromotionStatus,
        command: &'static str,
    },
    #[error("'{code}' is not a valid promotion code: {reason}")]
    InvalidCode { code: String, reason: &'static str },
    #[error("invalid percentage: {reason}")]
    InvalidPercentage { reason: String },
    #[error("invalid amounts: {reason}")]
    InvalidAmounts { reason: String },
    #[error("invalid SKU list: {reason}")]
    InvalidSkus { reason: String },
    #[error("a promotion must end after it starts")]
    InvalidSchedule,
    #[error("the promotion would already have ended at {ends_at}")]
    AlreadyEnded { ends_at: DateTime<Utc> },
    #[error("a usage limit must be at least 1")]
    InvalidLimit,
    /// The discount or what it applies to may not change once the code was redeemed.
    #[error("the code has been redeemed, so its discount and what it applies to are fixed")]
    TermsLocked,
    #[error("the usage limit of {limit} is below the {uses} uses already made")]
    UsageLimitBelowUses { limit: u32, uses: u32 },
    #[error("the per-customer limit of {limit} is below the {uses} uses a customer already made")]
    CustomerLimitBelowUses { limit: u32, uses: u32 },
    #[error("invalid subtotal {subtotal}: {reason}")]
    InvalidSubtotal {
        subtotal: Money,
        reason: &'static str,
    },
    #[error("the code was never redeemed for checkout {checkout_id}")]
    UnknownRedemption { checkout_id: CheckoutId },
    #[error("the redemption for checkout {checkout_id} was released and cannot be confirmed")]
    RedemptionReleased { checkout_id: CheckoutId },
    #[error("the redemption for checkout {checkout_id} was confirmed and cannot be released")]
    RedemptionConfirmed { checkout_id: CheckoutId },
}

impl PromotionError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            PromotionError::Refused(refusal) => refusal.code(),
            PromotionError::NotFound => "promotion_not_found",
            PromotionError::CodeTaken { .. } => "promotion_code_taken",
            PromotionError::NotAllowed { .. } => "not_allowed",
            PromotionError::InvalidCode { .. } => "invalid_promotion_code",
            PromotionError::InvalidPercentage { .. } => "invalid_percentage",
            PromotionError::InvalidAmounts { .. } => "invalid_amounts",
            PromotionError::InvalidSkus { .. } => "invalid_skus",
            PromotionError::InvalidSchedule => "invalid_schedule",
            PromotionError::AlreadyEnded { .. } => "promotion_already_ended",
            PromotionError::InvalidLimit => "invalid_usage_limit",
            PromotionError::TermsLocked => "promotion_terms_locked",
            PromotionError::UsageLimitBelowUses { .. } => "usage_limit_below_uses",
            PromotionError::CustomerLimitBelowUses { .. } => "customer_limit_below_uses",
            PromotionError::InvalidSubtotal { .. } => "invalid_subtotal",
            PromotionError::UnknownRedemption { .. } => "unknown_redemption",
            PromotionError::RedemptionReleased { .. } => "redemption_released",
            PromotionError::RedemptionConfirmed { .. } => "redemption_confirmed",
        }
    }
}

impl From<Refusal> for PromotionError {
    fn from(refusal: Refusal) -> Self {
        PromotionError::Refused(refusal)
    }
}

/// Why lines and shipping are not a basket to price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BasketError {
    #[error("the basket is in {basket}, an amount is in {found}")]
    CurrencyMismatch { basket: Currency, found: Currency },
    #[error("amounts in a basket must not be negative")]
    Negative,
    #[error("{currency} amounts have at most {minor_units} decimal places")]
    NotWholeMinorUnits {
        currency: Currency,
        minor_units: u32,
    },
    #[error("the basket's subtotal or shipping exceeds the maximum of {max}")]
    TooLarge { max: rust_decimal::Decimal },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_reads_as_a_sentence_and_has_a_distinct_code() {
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let refusals = [
            Refusal::UnknownCode,
            Refusal::Inactive,
            Refusal::NotStarted { starts_at: at },
            Refusal::Expired { ends_at: at },
            Refusal::UsedUp,
            Refusal::CustomerLimitReached,
            Refusal::SignInRequired,
            Refusal::CurrencyNotSupported {
                currency: Currency::JPY,
            },
            Refusal::BelowMinimum {
                minimum: Money::parse("50.00", "EUR").unwrap(),
            },
            Refusal::NoEligibleItems,
        ];
        let mut codes: Vec<&str> = refusals.iter().map(Refusal::code).collect();
        assert!(codes
            .iter()
            .all(|code| code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), refusals.len());
        assert_eq!(
            Refusal::BelowMinimum {
                minimum: Money::parse("50.00", "EUR").unwrap()
            }
            .to_string(),
            "spend at least 50.00 EUR to use this code"
        );
    }

    #[test]
    fn a_refused_redemption_reports_the_refusal_code() {
        let error = PromotionError::from(Refusal::UsedUp);
        assert_eq!(error.code(), "promotion_used_up");
        assert_eq!(
            error.to_string(),
            "this code has been used as many times as it can be"
        );
    }
}
