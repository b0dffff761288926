//! What happened to carts. Event type strings and version "1" are part of the stored format:
//! never rename them; add an upcaster and a new version instead.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{
    AddressData, CartId, Currency, CustomerId, Grams, LineId, Money, ProductId, Quantity,
};

/// Events of the [`Cart`](crate::Cart) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CartEvent {
    CartCreated {
        cart_id: CartId,
        currency: Currency,
        customer_id: Option<CustomerId>,
    },
    /// A new line, with the unit price, the unit weight and the tax class captured now.
    ItemAdded {
        line_id: LineId,
        sku: String,
        product_id: ProductId,
        title: String,
        quantity: Quantity,
        unit_price: Money,
        /// Weight of one unit; absent when the catalog did not know it (and in every event
        /// written before carts captured weights).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight_grams: Option<Grams>,
        /// The product's tax class; absent: the standard rate (and in every event written
        /// before carts captured tax classes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tax_class: Option<String>,
    },
    /// The line's quantity is now `quantity` (absolute, not a delta).
    ItemQuantityChanged {
        line_id: LineId,
        quantity: Quantity,
    },
    ItemRemoved {
        line_id: LineId,
    },
    CartCheckedOut {
        checkout_id: uuid::Uuid,
    },
    /// Checkout `checkout_id` locked the cart at `at`.
    CheckoutBegan {
        checkout_id: uuid::Uuid,
        at: DateTime<Utc>,
    },
    /// Checkout `checkout_id` failed and gave the cart back, lines unchanged.
    CheckoutReleased {
        checkout_id: uuid::Uuid,
    },
    /// The logged-in customer took this guest cart over: it is theirs from now on.
    CustomerAssigned {
        customer_id: CustomerId,
    },
    /// A merge into the customer's cart `into_cart_id` locked this cart, lines unchanged.
    MergeBegan {
        into_cart_id: CartId,
    },
    /// The merge into `into_cart_id` could not go on; the cart is open again, lines unchanged.
    MergeCancelled {
        into_cart_id: CartId,
    },
    /// Every line of this cart is now in `into_cart_id`; this cart never changes again.
    CartMerged {
        into_cart_id: CartId,
    },
    /// The lines of cart `source_cart_id` were added to this one (by the `ItemAdded` and
    /// `ItemQuantityChanged` events just before, in the same commit).
    CartMergedIn {
        source_cart_id: CartId,
    },
    /// The cart holds promotion `code` (normalized), replacing any code it held.
    PromotionCodeApplied {
        code: String,
    },
    /// The cart no longer holds `code`.
    PromotionCodeRemoved {
        code: String,
    },
    /// The cart ships to `address` (personal data: sealed when stored, ADR 0026 and 0036).
    /// `customer_id` names whose data it is when the cart is a customer's, so that it is
    /// sealed with the customer's key; a guest's is sealed with the cart's own key.
    ShippingAddressSet {
        address: AddressData,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
    },
    /// The cart ships with option `option_id` of the zone serving its address.
    ShippingMethodChosen {
        option_id: uuid::Uuid,
    },
    /// The cart no longer has a shipping method: option `option_id` is not offered for the
    /// address it was moved to.
    ShippingMethodCleared {
        option_id: uuid::Uuid,
    },
}

impl DomainEvent for CartEvent {
    fn event_type(&self) -> String {
        match self {
            CartEvent::CartCreated { .. } => "CartCreated",
            CartEvent::ItemAdded { .. } => "ItemAdded",
            CartEvent::ItemQuantityChanged { .. } => "ItemQuantityChanged",
            CartEvent::ItemRemoved { .. } => "ItemRemoved",
            CartEvent::CartCheckedOut { .. } => "CartCheckedOut",
            CartEvent::CheckoutBegan { .. } => "CheckoutBegan",
            CartEvent::CheckoutReleased { .. } => "CheckoutReleased",
            CartEvent::CustomerAssigned { .. } => "CustomerAssigned",
            CartEvent::MergeBegan { .. } => "MergeBegan",
            CartEvent::MergeCancelled { .. } => "MergeCancelled",
            CartEvent::CartMerged { .. } => "CartMerged",
            CartEvent::CartMergedIn { .. } => "CartMergedIn",
            CartEvent::PromotionCodeApplied { .. } => "PromotionCodeApplied",
            CartEvent::PromotionCodeRemoved { .. } => "PromotionCodeRemoved",
            CartEvent::ShippingAddressSet { .. } => "ShippingAddressSet",
            CartEvent::ShippingMethodChosen { .. } => "ShippingMethodChosen",
            CartEvent::ShippingMethodCleared { .. } => "ShippingMethodCleared",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
