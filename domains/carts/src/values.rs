//! Value types and limits of the carts context.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::{deterministic_uuid, CartId, Grams, LineId, Money, ProductId, Quantity};

/// Smallest quantity of a line.
pub const MIN_LINE_QUANTITY: u32 = 1;
/// Largest quantity of a line: keeps typos like 10000 out of carts.
pub const MAX_LINE_QUANTITY: u32 = 999;
/// Most lines one cart may have.
pub const MAX_LINES: usize = 100;

/// Lifecycle of a created cart. A cart that does not exist yet has no status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CartStatus {
    Open,
    /// Locked by a running checkout: no changes until it checks the cart out or releases it.
    CheckingOut,
    CheckedOut,
    /// Being merged into a customer's cart (ADR 0027): no changes until the merge completes
    /// or is cancelled.
    Merging,
    /// Its lines were merged into another cart; it never changes again.
    Merged,
}

impl fmt::Display for CartStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CartStatus::Open => "open",
            CartStatus::CheckingOut => "checking_out",
            CartStatus::CheckedOut => "checked_out",
            CartStatus::Merging => "merging",
            CartStatus::Merged => "merged",
        })
    }
}

/// The id of the line holding `sku` in cart `cart_id`. Deterministic, so a retried `AddItem`
/// and any client can compute it; `sku` must be the normalized SKU.
pub fn line_id_for(cart_id: CartId, sku: &str) -> LineId {
    LineId::from_uuid(deterministic_uuid(
        "cart-line",
        &[&cart_id.to_string(), sku],
    ))
}

/// One SKU in a cart, with the unit price, unit weight and tax class captured when it was
/// first added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    line_id: LineId,
    sku: String,
    product_id: ProductId,
    title: String,
    quantity: Quantity,
    unit_price: Money,
    // Defaults keep snapshots taken before lines captured weights and tax classes readable.
    #[serde(default)]
    weight: Option<Grams>,
    #[serde(default)]
    tax_class: Option<String>,
}

impl CartLine {
    pub(crate) fn new(
        line_id: LineId,
        sku: String,
        product_id: ProductId,
        title: String,
        quantity: Quantity,
        unit_price: Money,
    ) -> Self {
        Self {
            line_id,
            sku,
            product_id,
            title,
            quantity,
            unit_price,
            weight: None,
            tax_class: None,
        }
    }

    /// The line with the unit weight and tax class captured with its price.
    pub(crate) fn with_attributes(self, weight: Option<Grams>, tax_class: Option<String>) -> Self {
        Self {
            weight,
            tax_class,
            ..self
        }
    }

    pub fn line_id(&self) -> LineId {
        self.line_id
    }

    /// Normalized SKU.
    pub fn sku(&self) -> &str {
        &self.sku
    }

    pub fn product_id(&self) -> ProductId {
        self.product_id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn quantity(&self) -> Quantity {
        self.quantity
    }

    pub fn unit_price(&self) -> Money {
        self.unit_price
    }

    /// Weight of one unit, captured when the line was added; `None` when unknown.
    pub fn weight_grams(&self) -> Option<Grams> {
        self.weight
    }

    /// The product's tax class captured when the line was added; `None`: the standard rate.
    pub fn tax_class(&self) -> Option<&str> {
        self.tax_class.as_deref()
    }

    /// Unit price × quantity, unrounded (exact, since unit prices have minor-unit precision).
    pub fn line_total(&self) -> Money {
        self.unit_price.times(self.quantity)
    }

    pub(crate) fn set_quantity(&mut self, quantity: Quantity) {
        self.quantity = quantity;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ids_are_stable_per_cart_and_sku() {
        let cart = CartId::from_uuid(uuid::Uuid::from_u128(1));
        let other = CartId::from_uuid(uuid::Uuid::from_u128(2));
        assert_eq!(line_id_for(cart, "TEE-S"), line_id_for(cart, "TEE-S"));
        assert_ne!(line_id_for(cart, "TEE-S"), line_id_for(cart, "TEE-M"));
        assert_ne!(line_id_for(cart, "TEE-S"), line_id_for(other, "TEE-S"));
    }

    #[test]
    fn line_total_is_price_times_quantity() {
        let line = CartLine::new(
            LineId::new(),
            "TEE-S".into(),
            ProductId::new(),
            "Tee".into(),
            Quantity::new(3).unwrap(),
            Money::parse("19.99", "EUR").unwrap(),
        );
        assert_eq!(line.line_total(), Money::parse("59.97", "EUR").unwrap());
    }

    #[test]
    fn status_serializes_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&CartStatus::CheckedOut).unwrap(),
            "\"checked_out\""
        );
        assert_eq!(
            serde_json::to_string(&CartStatus::CheckingOut).unwrap(),
            "\"checking_out\""
        );
    }

    #[test]
    fn status_displays_as_it_serializes() {
        for status in [
            CartStatus::Open,
            CartStatus::CheckingOut,
            CartStatus::CheckedOut,
            CartStatus::Merging,
            CartStatus::Merged,
        ] {
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
    }
}
