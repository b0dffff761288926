//! Weights, for shipping by weight: whole grams, never floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

/// A weight in whole grams. Any count is a weight; contexts bound what they accept (the catalog
/// a variant's weight, shipping its bands). An item without a weight weighs [`Grams::ZERO`] for
/// shipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grams(u64);

impl Grams {
    pub const ZERO: Grams = Grams(0);

    pub const fn new(grams: u64) -> Grams {
        Grams(grams)
    }

    pub const fn get(&self) -> u64 {
        self.0
    }

    /// The weight of lines: each line's unit weight times its quantity, a line without a
    /// weight counting zero. Saturates at `u64::MAX` grams instead of wrapping: no real
    /// basket comes near (the catalog weighs a unit at most 10^9 g, a cart holds at most 100
    /// lines of 999 units), and a saturated total is still heavier than every weight band.
    pub fn total_of(lines: impl IntoIterator<Item = (Option<Grams>, Quantity)>) -> Grams {
        lines
            .into_iter()
            .fold(Grams::ZERO, |total, (unit, quantity)| {
                let line = unit
                    .unwrap_or(Grams::ZERO)
                    .0
                    .saturating_mul(u64::from(quantity.get()));
                Grams(total.0.saturating_add(line))
            })
    }
}

impl fmt::Display for Grams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} g", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_weigh_their_unit_weight_times_quantity_lines_without_weight_counting_zero() {
        let qty = |n| Quantity::new(n).unwrap();
        let total = Grams::total_of([
            (Some(Grams::new(250)), qty(3)),
            (None, qty(7)),
            (Some(Grams::new(1_000)), qty(1)),
        ]);
        assert_eq!(total, Grams::new(1_750));
        assert_eq!(Grams::total_of([]), Grams::ZERO);
    }

    #[test]
    fn a_total_beyond_u64_grams_saturates_instead_of_wrapping() {
        let qty = |n| Quantity::new(n).unwrap();
        let max = Grams::new(u64::MAX);
        assert_eq!(Grams::total_of([(Some(max), qty(2))]), max);
        assert_eq!(
            Grams::total_of([(Some(max), qty(1)), (Some(Grams::new(1)), qty(1))]),
            max
        );
    }

    #[test]
    fn grams_are_stored_as_a_bare_number() {
        assert_eq!(serde_json::to_string(&Grams::new(600)).unwrap(), "600");
        assert_eq!(Grams::new(600).to_string(), "600 g");
    }
}
