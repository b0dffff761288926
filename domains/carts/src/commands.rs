//! What can be asked of a cart.

use shared_kernel::{CartId, Currency, CustomerId, LineId};

/// Commands for the [`Cart`](crate::Cart) aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartCommand {
    /// Opens an empty cart in `currency`, optionally for a known customer.
    CreateCart {
        cart_id: CartId,
        currency: Currency,
        customer_id: Option<CustomerId>,
    },
    /// Adds `quantity` of `sku` at its current price, or grows the SKU's existing line.
    AddItem {
        sku: String,
        quantity: u32,
    },
    /// Sets a line's quantity (1..=999; use `RemoveItem` to drop it).
    ChangeItemQuantity {
        line_id: LineId,
        quantity: u32,
    },
    RemoveItem {
        line_id: LineId,
    },
    /// Freezes the cart for checkout `checkout_id`. Repeating it with the same id is a no-op.
    MarkCheckedOut {
        checkout_id: uuid::Uuid,
    },
}

impl CartCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            CartCommand::CreateCart { .. } => "CreateCart",
            CartCommand::AddItem { .. } => "AddItem",
            CartCommand::ChangeItemQuantity { .. } => "ChangeItemQuantity",
            CartCommand::RemoveItem { .. } => "RemoveItem",
            CartCommand::MarkCheckedOut { .. } => "MarkCheckedOut",
        }
    }
}
