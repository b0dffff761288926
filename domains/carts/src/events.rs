//! What happened to carts. Event type strings and version "1" are part of the stored format:
//! never rename them; add an upcaster and a new version instead.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{CartId, Currency, CustomerId, LineId, Money, ProductId, Quantity};

/// Events of the [`Cart`](crate::Cart) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CartEvent {
    CartCreated {
        cart_id: CartId,
        currency: Currency,
        customer_id: Option<CustomerId>,
    },
    /// A new line, with the unit price captured now.
    ItemAdded {
        line_id: LineId,
        sku: String,
        product_id: ProductId,
        title: String,
        quantity: Quantity,
        unit_price: Money,
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
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
