//! What can be asked of a cart.

use chrono::{DateTime, Utc};
use shared_kernel::{CartId, Currency, CustomerId, LineId, PostalAddress};

use crate::values::CartLine;

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
    /// Locks the cart for checkout `checkout_id` while that checkout runs. Repeating it with the
    /// same id is a no-op; another checkout is refused until this one ends.
    BeginCheckout {
        checkout_id: uuid::Uuid,
        /// When the checkout began, from the application's clock.
        at: DateTime<Utc>,
    },
    /// Unlocks the cart after checkout `checkout_id` failed (the saga's compensation). Succeeds
    /// without effect when that checkout does not hold the lock, so a late or repeated release
    /// never fails and never unlocks another checkout.
    ReleaseCheckout {
        checkout_id: uuid::Uuid,
    },
    /// Freezes the cart for checkout `checkout_id`: the checkout that locked it, or directly an
    /// open cart. Repeating it with the same id is a no-op.
    MarkCheckedOut {
        checkout_id: uuid::Uuid,
    },
    /// Makes an open guest cart the logged-in customer's. A no-op if it is theirs already;
    /// refused if it is another customer's.
    AssignCustomer {
        customer_id: CustomerId,
    },
    /// Locks this open cart while its lines are merged into `into_cart_id`, the cart of
    /// `customer_id` (who must not be another customer than this cart's). Repeating it with
    /// the same target is a no-op.
    BeginMerge {
        into_cart_id: CartId,
        customer_id: CustomerId,
    },
    /// Closes the cart once its lines are in `into_cart_id`. A no-op if already closed so.
    CompleteMerge {
        into_cart_id: CartId,
    },
    /// Unlocks the cart when the merge into `into_cart_id` cannot go on. A no-op unless that
    /// merge holds the lock.
    CancelMerge {
        into_cart_id: CartId,
    },
    /// Adds every line of cart `source_cart_id` to this open cart of `customer_id`: a SKU
    /// already here grows by the source's quantity and keeps the price captured here; a new
    /// SKU keeps the price the source captured. All or nothing; a no-op if this cart merged
    /// that source before.
    MergeIn {
        source_cart_id: CartId,
        customer_id: CustomerId,
        lines: Vec<CartLine>,
    },
    /// Holds promotion `code` (normalized by the caller, who checked that the code can be
    /// used on this cart) for the checkout to redeem. Replaces the cart's code, if any: one
    /// code per cart. The same code again: no-op. Only while the cart is open.
    ApplyPromotionCode {
        code: String,
    },
    /// Drops the cart's code; no-op without one. Only while the cart is open.
    RemovePromotionCode,
    /// Ships the cart to `address`, replacing any address it had. `clear_method`: the caller
    /// found the chosen shipping method not offered for this address (the cart does not know
    /// the zones), so it is dropped in the same commit. The same address with nothing to
    /// clear: no-op. Only while the cart is open.
    SetShippingAddress {
        address: PostalAddress,
        clear_method: bool,
    },
    /// Chooses shipping option `option_id` (the caller checked that it is offered for the
    /// cart's address). Needs an address; the same option again: no-op. Only while the cart
    /// is open.
    ChooseShippingMethod {
        option_id: uuid::Uuid,
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
            CartCommand::BeginCheckout { .. } => "BeginCheckout",
            CartCommand::ReleaseCheckout { .. } => "ReleaseCheckout",
            CartCommand::MarkCheckedOut { .. } => "MarkCheckedOut",
            CartCommand::AssignCustomer { .. } => "AssignCustomer",
            CartCommand::BeginMerge { .. } => "BeginMerge",
            CartCommand::CompleteMerge { .. } => "CompleteMerge",
            CartCommand::CancelMerge { .. } => "CancelMerge",
            CartCommand::MergeIn { .. } => "MergeIn",
            CartCommand::ApplyPromotionCode { .. } => "ApplyPromotionCode",
            CartCommand::RemovePromotionCode => "RemovePromotionCode",
            CartCommand::SetShippingAddress { .. } => "SetShippingAddress",
            CartCommand::ChooseShippingMethod { .. } => "ChooseShippingMethod",
        }
    }
}
