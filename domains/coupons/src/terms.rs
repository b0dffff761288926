//! What a promotion gives and on which conditions: its [`Terms`]. Staff set them when they
//! create a promotion and may change them later (see the [aggregate](crate::aggregate) for
//! which changes are allowed once the code was redeemed).
//!
//! The serialized form of these types is the stored form of `PromotionCreated` and
//! `PromotionUpdated`: every tag is a literal `rename`, so renaming a Rust variant changes
//! nothing stored; the event tests pin the JSON.

use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Money, Sku};

use crate::errors::Refusal;
use crate::values::{CurrencyAmounts, Limit, Percentage, Schedule, SkuSet};

/// What the code takes off.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Offer {
    /// A percentage of the eligible lines' total.
    #[serde(rename = "percent_off")]
    PercentOff {
        #[serde(rename = "basis_points")]
        percent: Percentage,
    },
    /// A fixed amount off the eligible lines' total, once per order, in each currency the
    /// code can be used in; never more than that total.
    #[serde(rename = "amount_off")]
    AmountOff { amounts: CurrencyAmounts },
    /// The whole shipping charge.
    #[serde(rename = "free_shipping")]
    FreeShipping,
}

/// Which lines the discount is taken from. A free-shipping offer limited to SKUs applies when
/// the basket holds at least one of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum AppliesTo {
    /// Every line of the order.
    #[serde(rename = "order")]
    Order,
    /// Only lines of these SKUs.
    #[serde(rename = "skus")]
    Skus { skus: SkuSet },
}

impl AppliesTo {
    pub fn covers(&self, sku: &Sku) -> bool {
        match self {
            AppliesTo::Order => true,
            AppliesTo::Skus { skus } => skus.contains(sku),
        }
    }
}

/// A promotion's rules. Each part is valid by construction, and no rule spans two parts, so
/// any combination is valid terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Terms {
    pub offer: Offer,
    pub applies_to: AppliesTo,
    /// The least merchandise subtotal (every line, before discounts, without shipping) per
    /// currency. When set, the code can only be used in the currencies it lists.
    pub minimum_subtotal: Option<CurrencyAmounts>,
    pub schedule: Schedule,
    /// How many checkouts may hold or have spent a use at once, over everyone.
    pub usage_limit: Option<Limit>,
    /// How many uses one signed-in customer may hold or have spent. Guests cannot use a code
    /// that has one (see the crate docs for why).
    pub per_customer_limit: Option<Limit>,
}

impl Terms {
    /// Terms with no condition at all: `offer` on `applies_to`, any time, any number of times.
    pub fn new(offer: Offer, applies_to: AppliesTo) -> Terms {
        Terms {
            offer,
            applies_to,
            minimum_subtotal: None,
            schedule: Schedule::always(),
            usage_limit: None,
            per_customer_limit: None,
        }
    }

    /// Whether the code can be used for a purchase in `currency`: a fixed amount off needs an
    /// amount in it, and a minimum subtotal, when set, needs a minimum in it.
    pub fn check_currency(&self, currency: Currency) -> Result<(), Refusal> {
        let refused = Err(Refusal::CurrencyNotSupported { currency });
        if let Offer::AmountOff { amounts } = &self.offer {
            if amounts.get(currency).is_none() {
                return refused;
            }
        }
        match &self.minimum_subtotal {
            Some(minimum) if minimum.get(currency).is_none() => refused,
            _ => Ok(()),
        }
    }

    /// Whether `subtotal` reaches the minimum in its currency (at least it: equal is enough).
    /// Assumes [`Terms::check_currency`] passed.
    pub fn check_minimum(&self, subtotal: Money) -> Result<(), Refusal> {
        let minimum = self
            .minimum_subtotal
            .as_ref()
            .and_then(|minimum| minimum.get(subtotal.currency()));
        match minimum {
            Some(minimum) if subtotal.amount() < minimum.amount() => {
                Err(Refusal::BelowMinimum { minimum })
            }
            _ => Ok(()),
        }
    }
}
