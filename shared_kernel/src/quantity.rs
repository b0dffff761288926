//! Positive counts of things.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a number is not a valid [`Quantity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantity must be at least 1")]
    Zero,
    #[error("quantity overflows")]
    Overflow,
}

/// A count of at least one. Contexts add their own upper bounds on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    /// The smallest quantity.
    pub const ONE: Quantity = Quantity(1);

    /// Accepts any positive number; zero is [`QuantityError::Zero`].
    pub fn new(value: u32) -> Result<Self, QuantityError> {
        if value == 0 {
            Err(QuantityError::Zero)
        } else {
            Ok(Self(value))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Sum of two quantities; [`QuantityError::Overflow`] past `u32::MAX`.
    pub fn checked_add(self, other: Quantity) -> Result<Quantity, QuantityError> {
        self.0
            .checked_add(other.0)
            .map(Quantity)
            .ok_or(QuantityError::Overflow)
    }
}

impl TryFrom<u32> for Quantity {
    type Error = QuantityError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Quantity::new(value)
    }
}

impl From<Quantity> for u32 {
    fn from(quantity: Quantity) -> Self {
        quantity.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_rejected() {
        assert_eq!(Quantity::new(0), Err(QuantityError::Zero));
    }

    #[test]
    fn positive_numbers_are_accepted() {
        assert_eq!(Quantity::new(3).unwrap().get(), 3);
    }

    #[test]
    fn adding_sums_and_detects_overflow() {
        let two = Quantity::new(2).unwrap();
        assert_eq!(two.checked_add(Quantity::ONE).unwrap().get(), 3);
        let max = Quantity::new(u32::MAX).unwrap();
        assert_eq!(max.checked_add(Quantity::ONE), Err(QuantityError::Overflow));
    }

    #[test]
    fn serializes_as_a_plain_number() {
        let json = serde_json::to_string(&Quantity::new(7).unwrap()).unwrap();
        assert_eq!(json, "7");
    }

    #[test]
    fn deserialization_rejects_zero_and_negative() {
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(serde_json::from_str::<Quantity>("-1").is_err());
        assert_eq!(serde_json::from_str::<Quantity>("5").unwrap().get(), 5);
    }
}
