//! Money as contracts carry it: a decimal string and an ISO 4217 code, never a float.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use shared_kernel::Money;

/// An amount in one currency, e.g. `{"amount": "19.90", "currency": "EUR"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MoneyV1 {
    /// A plain decimal in the currency's major unit; never an exponent, never a float.
    #[schemars(regex(pattern = r"^-?[0-9]+(\.[0-9]+)?$"))]
    pub amount: String,
    /// ISO 4217 alphabetic code.
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
}

impl From<Money> for MoneyV1 {
    fn from(money: Money) -> Self {
        Self {
            amount: money.amount().to_string(),
            currency: money.currency().code().to_owned(),
        }
    }
}
