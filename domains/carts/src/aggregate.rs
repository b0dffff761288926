//! The `Cart` aggregate.
//!
//! State machine (`-` = not created; "same" = the checkout id the cart records, "other" = any
//! other checkout id):
//!
//! | status      | CreateCart    | AddItem / ChangeItemQuantity / RemoveItem | BeginCheckout(id)                         | ReleaseCheckout(id)                 | MarkCheckedOut(id)                        |
//! |-------------|---------------|-------------------------------------------|-------------------------------------------|-------------------------------------|-------------------------------------------|
//! | -           | Created       | NotFound                                  | NotFound                                  | NotFound                            | NotFound                                  |
//! | Open        | AlreadyExists | per invariants                            | CheckingOut (EmptyCart if no lines)       | no-op                               | CheckedOut (EmptyCart if no lines)        |
//! | CheckingOut | NotAllowed    | NotAllowed                                | same: no-op; other: CheckoutInProgress    | same: Open again; other: no-op      | same: CheckedOut; other: CheckoutInProgress |
//! | CheckedOut  | AlreadyExists | NotAllowed                                | NotAllowed                                | same: NotAllowed; other: no-op      | same: no-op; other: NotAllowed            |
//!
//! A guest cart taken over at login (ADR 0027): `AssignCustomer` makes an `Open` cart the
//! customer's (a no-op if it is already; `OwnedByAnotherCustomer` if it is someone else's).
//! Merging it into the customer's open cart runs in three steps, each safe to repeat:
//!
//! | status  | BeginMerge(into)                      | CompleteMerge(into)        | CancelMerge(into)           | MergeIn(source) (on the target)      |
//! |---------|---------------------------------------|----------------------------|-----------------------------|--------------------------------------|
//! | Open    | Merging                               | NotAllowed                 | no-op                       | lines added (no-op if merged before) |
//! | Merging | same: no-op; other: MergeInProgress   | same: Merged               | same: Open again            | NotAllowed                           |
//! | Merged  | same: no-op; other: NotAllowed        | same: no-op                | same: NotAllowed            | NotAllowed                           |
//!
//! `ApplyPromotionCode` / `RemovePromotionCode` change an `Open` cart only (`NotAllowed`
//! otherwise): one code per cart, a new code replaces the old, repeats are no-ops.
//!
//! `SetShippingAddress` / `ChooseShippingMethod` change an `Open` cart only (`NotAllowed`
//! otherwise); a method needs an address (`ShippingAddressRequired`); repeats are no-ops.
//! Which options a zone offers is the application's to check (ADR 0037): the cart records the
//! choice, and drops it when told that its new address is not served by it.
//!
//! `Merging` locks the guest cart like `CheckingOut` does, so the lines copied are exactly
//! the lines closed; `Merged` is final, so a merged cart can never be checked out.
//!
//! `CheckingOut` is the pending state of a checkout saga (as in FTGO's order sagas): the saga
//! locks the cart when it starts, so what it reserves, charges and orders is exactly what the
//! shopper saw, then either checks the cart out (success) or releases it (compensation) with
//! its lines intact. The no-ops make every saga step safe to redeliver; a release is a no-op
//! rather than an error whenever the caller does not hold the lock, because a late compensation
//! must neither fail forever nor unlock a cart that another checkout now holds. Releasing a
//! cart that the same checkout already checked out is refused: the saga went past its pivot.
//! `MarkCheckedOut` on an open cart keeps working for callers that check out without a lock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{CartId, Currency, CustomerId, Grams, LineId, Money, PostalAddress, Quantity};

use crate::commands::CartCommand;
use crate::errors::CartError;
use crate::events::CartEvent;
use crate::ports::PriceList;
use crate::values::{
    line_id_for, CartLine, CartStatus, MAX_LINES, MAX_LINE_QUANTITY, MIN_LINE_QUANTITY,
};

/// What the cart needs from outside to decide.
#[derive(Clone)]
pub struct CartServices {
    pub prices: Arc<dyn PriceList>,
}

/// A shopping cart. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    id: Option<CartId>,
    /// `None` until `CartCreated`.
    status: Option<CartStatus>,
    currency: Option<Currency>,
    customer_id: Option<CustomerId>,
    lines: Vec<CartLine>,
    checkout_id: Option<uuid::Uuid>,
    // Defaults keep snapshots taken before checkouts could lock a cart readable.
    #[serde(default)]
    checkout_in_progress: Option<uuid::Uuid>,
    #[serde(default)]
    checkout_began_at: Option<DateTime<Utc>>,
    /// The cart a merge in progress (`Merging`) or done (`Merged`) moves the lines to.
    #[serde(default)]
    merge_target: Option<CartId>,
    /// Carts whose lines were merged into this one, so that a repeated merge adds nothing.
    #[serde(default)]
    merged_from: Vec<CartId>,
    /// The promotion code the checkout will redeem (normalized).
    #[serde(default)]
    promotion_code: Option<String>,
    /// Where the cart ships, as recorded (checked when it was set).
    #[serde(default)]
    shipping_address: Option<PostalAddress>,
    /// The shipping option chosen for that address.
    #[serde(default)]
    shipping_option: Option<uuid::Uuid>,
}

impl Cart {
    pub fn id(&self) -> Option<CartId> {
        self.id
    }

    /// `None` if the cart has not been created.
    pub fn status(&self) -> Option<CartStatus> {
        self.status
    }

    pub fn currency(&self) -> Option<Currency> {
        self.currency
    }

    pub fn customer_id(&self) -> Option<CustomerId> {
        self.customer_id
    }

    /// Lines in the order they were added.
    pub fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    pub fn line(&self, line_id: LineId) -> Option<&CartLine> {
        self.lines.iter().find(|line| line.line_id() == line_id)
    }

    /// Sum of line totals in the cart currency (zero when empty); `None` before creation.
    pub fn subtotal(&self) -> Option<Money> {
        let currency = self.currency?;
        let total = self
            .lines
            .iter()
            .try_fold(Money::zero(currency), |sum, line| {
                sum.checked_add(&line.line_total())
            })
            // Lines are in the cart currency and prices are capped at Money::MAX_PRICE, so
            // 100 lines × 999 units stay far inside the decimal range.
            .expect("cart lines share the cart currency and cannot overflow");
        Some(total)
    }

    /// What the lines weigh: each line's unit weight times its quantity, a line without a
    /// weight counting 0 g (see [`Grams::total_of`]).
    pub fn total_weight(&self) -> Grams {
        Grams::total_of(
            self.lines
                .iter()
                .map(|line| (line.weight_grams(), line.quantity())),
        )
    }

    /// Number of units across all lines.
    pub fn item_count(&self) -> u32 {
        self.lines.iter().map(|line| line.quantity().get()).sum()
    }

    /// The promotion code the cart holds for its checkout, if any.
    pub fn promotion_code(&self) -> Option<&str> {
        self.promotion_code.as_deref()
    }

    /// Where the cart ships, once set.
    pub fn shipping_address(&self) -> Option<&PostalAddress> {
        self.shipping_address.as_ref()
    }

    /// The shipping option chosen for the cart's address, if any.
    pub fn shipping_option(&self) -> Option<uuid::Uuid> {
        self.shipping_option
    }

    /// The checkout that froze this cart, once checked out.
    pub fn checkout_id(&self) -> Option<uuid::Uuid> {
        self.checkout_id
    }

    /// The checkout holding the cart while its status is `CheckingOut`.
    pub fn checkout_in_progress(&self) -> Option<uuid::Uuid> {
        self.checkout_in_progress
    }

    /// When the checkout in progress locked the cart (lets the platform spot stuck checkouts).
    pub fn checkout_began_at(&self) -> Option<DateTime<Utc>> {
        self.checkout_began_at
    }

    /// The cart this one's lines are being merged, or were merged, into.
    pub fn merge_target(&self) -> Option<CartId> {
        self.merge_target
    }

    /// Whether the lines of `source` were merged into this cart.
    pub fn has_merged_from(&self, source: CartId) -> bool {
        self.merged_from.contains(&source)
    }

    async fn decide(
        &self,
        command: CartCommand,
        services: &CartServices,
    ) -> Result<Vec<CartEvent>, CartError> {
        use CartCommand as C;
        use CartStatus::{CheckedOut, CheckingOut, Merged, Merging, Open};
        let locked_by = self.checkout_in_progress;
        let checked_out_by = self.checkout_id;
        // Only the cart's own customer may take it over or merge it; a guest cart is anyone's
        // who holds its token.
        let claimed_by_another = match &command {
            C::AssignCustomer { customer_id } | C::BeginMerge { customer_id, .. } => {
                self.customer_id.is_some_and(|owner| owner != *customer_id)
            }
            _ => false,
        };
        match (self.status, command) {
            (
                None,
                C::CreateCart {
                    cart_id,
                    currency,
                    customer_id,
                },
            ) => Ok(vec![CartEvent::CartCreated {
                cart_id,
                currency,
                customer_id,
            }]),
            (Some(status @ CheckingOut), command @ C::CreateCart { .. }) => {
                Err(CartError::NotAllowed {
                    status,
                    command: command.name(),
                })
            }
            (Some(_), C::CreateCart { .. }) => Err(CartError::AlreadyExists),
            (None, _) => Err(CartError::NotFound),
            (Some(Open), C::AddItem { sku, quantity }) => {
                self.add_item(&sku, quantity, services).await
            }
            (Some(Open), C::ChangeItemQuantity { line_id, quantity }) => {
                self.change_quantity(line_id, quantity)
            }
            (Some(Open), C::RemoveItem { line_id }) => {
                self.existing_line(line_id)?;
                Ok(vec![CartEvent::ItemRemoved { line_id }])
            }
            (Some(Open), C::BeginCheckout { checkout_id, at }) => {
                self.non_empty()?;
                Ok(vec![CartEvent::CheckoutBegan { checkout_id, at }])
            }
            (Some(CheckingOut), C::BeginCheckout { checkout_id, .. })
                if locked_by == Some(checkout_id) =>
            {
                Ok(vec![])
            }
            (Some(CheckingOut), C::MarkCheckedOut { checkout_id })
                if locked_by == Some(checkout_id) =>
            {
                Ok(vec![CartEvent::CartCheckedOut { checkout_id }])
            }
            (Some(CheckingOut), C::BeginCheckout { .. } | C::MarkCheckedOut { .. }) => {
                Err(self.in_progress())
            }
            (Some(CheckingOut), C::ReleaseCheckout { checkout_id })
                if locked_by == Some(checkout_id) =>
            {
                Ok(vec![CartEvent::CheckoutReleased { checkout_id }])
            }
            (Some(status @ CheckedOut), command @ C::ReleaseCheckout { checkout_id })
                if checked_out_by == Some(checkout_id) =>
            {
                Err(CartError::NotAllowed {
                    status,
                    command: command.name(),
                })
            }
            (Some(_), C::ReleaseCheckout { .. }) => Ok(vec![]),
            (Some(Open), C::MarkCheckedOut { checkout_id }) => {
                self.non_empty()?;
                Ok(vec![CartEvent::CartCheckedOut { checkout_id }])
            }
            (Some(CheckedOut), C::MarkCheckedOut { checkout_id })
                if checked_out_by == Some(checkout_id) =>
            {
                Ok(vec![])
            }
            (Some(Open | CheckingOut), C::AssignCustomer { customer_id })
                if self.customer_id == Some(customer_id) =>
            {
                Ok(vec![])
            }
            (Some(_), C::AssignCustomer { .. } | C::BeginMerge { .. }) if claimed_by_another => {
                Err(CartError::OwnedByAnotherCustomer)
            }
            (Some(Open), C::AssignCustomer { customer_id }) => {
                Ok(vec![CartEvent::CustomerAssigned { customer_id }])
            }
            (Some(status @ Open), command @ C::BeginMerge { into_cart_id, .. })
                if Some(into_cart_id) == self.id =>
            {
                Err(CartError::NotAllowed {
                    status,
                    command: command.name(),
                })
            }
            (Some(Open), C::BeginMerge { into_cart_id, .. }) => {
                Ok(vec![CartEvent::MergeBegan { into_cart_id }])
            }
            (Some(Merging | Merged), C::BeginMerge { into_cart_id, .. })
                if self.merge_target == Some(into_cart_id) =>
            {
                Ok(vec![])
            }
            (Some(Merging), C::BeginMerge { .. }) => Err(self.merge_in_progress()),
            (Some(Merging), C::CompleteMerge { into_cart_id })
                if self.merge_target == Some(into_cart_id) =>
            {
                Ok(vec![CartEvent::CartMerged { into_cart_id }])
            }
            (Some(Merged), C::CompleteMerge { into_cart_id })
                if self.merge_target == Some(into_cart_id) =>
            {
                Ok(vec![])
            }
            (Some(Merging), C::CancelMerge { into_cart_id })
                if self.merge_target == Some(into_cart_id) =>
            {
                Ok(vec![CartEvent::MergeCancelled { into_cart_id }])
            }
            (Some(status @ Merged), command @ C::CancelMerge { into_cart_id })
                if self.merge_target == Some(into_cart_id) =>
            {
                Err(CartError::NotAllowed {
                    status,
                    command: command.name(),
                })
            }
            (Some(_), C::CancelMerge { .. }) => Ok(vec![]),
            (Some(Open), C::MergeIn { source_cart_id, .. })
                if self.merged_from.contains(&source_cart_id) =>
            {
                Ok(vec![])
            }
            (
                Some(Open),
                C::MergeIn {
                    source_cart_id,
                    customer_id,
                    lines,
                },
            ) => self.merge_in(source_cart_id, customer_id, &lines),
            (Some(Open), C::ApplyPromotionCode { code })
                if self.promotion_code.as_deref() == Some(code.as_str()) =>
            {
                Ok(vec![])
            }
            (Some(Open), C::ApplyPromotionCode { code }) => {
                Ok(vec![CartEvent::PromotionCodeApplied { code }])
            }
            (Some(Open), C::RemovePromotionCode) => Ok(self
                .promotion_code
                .clone()
                .map(|code| CartEvent::PromotionCodeRemoved { code })
                .into_iter()
                .collect()),
            (
                Some(Open),
                C::SetShippingAddress {
                    address,
                    clear_method,
                },
            ) => Ok(self.set_shipping_address(address, clear_method)),
            (Some(Open), C::ChooseShippingMethod { .. }) if self.shipping_address.is_none() => {
                Err(CartError::ShippingAddressRequired)
            }
            (Some(Open), C::ChooseShippingMethod { option_id })
                if self.shipping_option == Some(option_id) =>
            {
                Ok(vec![])
            }
            (Some(Open), C::ChooseShippingMethod { option_id }) => {
                Ok(vec![CartEvent::ShippingMethodChosen { option_id }])
            }
            (Some(status), command) => Err(CartError::NotAllowed {
                status,
                command: command.name(),
            }),
        }
    }

    fn set_shipping_address(&self, address: PostalAddress, clear_method: bool) -> Vec<CartEvent> {
        let mut events = Vec::new();
        if self.shipping_address.as_ref() != Some(&address) {
            events.push(CartEvent::ShippingAddressSet {
                address: address.data().clone(),
                customer_id: self.customer_id,
            });
        }
        if let (true, Some(option_id)) = (clear_method, self.shipping_option) {
            events.push(CartEvent::ShippingMethodCleared { option_id });
        }
        events
    }

    fn merge_in_progress(&self) -> CartError {
        match self.merge_target {
            Some(into_cart_id) => CartError::MergeInProgress { into_cart_id },
            None => CartError::NotAllowed {
                status: CartStatus::Merging,
                command: "BeginMerge",
            },
        }
    }

    /// The events that add `lines` of `source` to this cart, all of them or none.
    fn merge_in(
        &self,
        source: CartId,
        customer_id: CustomerId,
        lines: &[CartLine],
    ) -> Result<Vec<CartEvent>, CartError> {
        let (Some(cart_id), Some(currency)) = (self.id, self.currency) else {
            return Err(CartError::NotFound);
        };
        if self.customer_id != Some(customer_id) {
            return Err(CartError::OwnedByAnotherCustomer);
        }
        if Some(source) == self.id {
            return Err(CartError::NotAllowed {
                status: CartStatus::Open,
                command: "MergeIn",
            });
        }
        let mut merged = self.clone();
        let mut events = Vec::new();
        for line in lines {
            let price = line.unit_price();
            if price.currency() != currency {
                return Err(CartError::CurrencyMismatch {
                    cart: currency,
                    price: price.currency(),
                });
            }
            let line_id = line_id_for(cart_id, line.sku());
            let event = match merged.line(line_id) {
                Some(existing) => CartEvent::ItemQuantityChanged {
                    line_id,
                    quantity: line_quantity(existing.quantity().get() + line.quantity().get())?,
                },
                None if merged.lines.len() >= MAX_LINES => {
                    return Err(CartError::TooManyLines { max: MAX_LINES })
                }
                None => CartEvent::ItemAdded {
                    line_id,
                    sku: line.sku().to_owned(),
                    product_id: line.product_id(),
                    title: line.title().to_owned(),
                    quantity: line_quantity(line.quantity().get())?,
                    unit_price: price,
                    weight_grams: line.weight_grams(),
                    tax_class: line.tax_class().map(str::to_owned),
                },
            };
            merged.apply(event.clone());
            events.push(event);
        }
        events.push(CartEvent::CartMergedIn {
            source_cart_id: source,
        });
        Ok(events)
    }

    fn non_empty(&self) -> Result<(), CartError> {
        if self.lines.is_empty() {
            return Err(CartError::EmptyCart);
        }
        Ok(())
    }

    /// The refusal for a command that needs the lock another checkout holds.
    fn in_progress(&self) -> CartError {
        match self.checkout_in_progress {
            Some(checkout_id) => CartError::CheckoutInProgress { checkout_id },
            // Unreachable while `apply` keeps status and lock together; refuse rather than panic.
            None => CartError::NotAllowed {
                status: CartStatus::CheckingOut,
                command: "BeginCheckout",
            },
        }
    }

    async fn add_item(
        &self,
        sku: &str,
        quantity: u32,
        services: &CartServices,
    ) -> Result<Vec<CartEvent>, CartError> {
        let quantity = line_quantity(quantity)?;
        let (Some(cart_id), Some(currency)) = (self.id, self.currency) else {
            return Err(CartError::NotFound);
        };
        let priced = services.prices.price(sku.trim(), currency).await?;
        let unit_price = priced.unit_price;
        if unit_price.currency() != currency {
            return Err(CartError::CurrencyMismatch {
                cart: currency,
                price: unit_price.currency(),
            });
        }
        // The port promises a valid price; re-checking keeps a broken adapter from putting
        // negative or fractional-cent prices into carts.
        let unit_price = Money::price(unit_price.amount(), currency).map_err(|reason| {
            CartError::PricingUnavailable(format!(
                "price list returned an invalid price for {}: {reason}",
                priced.sku
            ))
        })?;

        let line_id = line_id_for(cart_id, &priced.sku);
        if let Some(line) = self.line(line_id) {
            // Same SKU again: grow the line, keep the price captured first.
            let total = line_quantity(line.quantity().get() + quantity.get())?;
            return Ok(vec![CartEvent::ItemQuantityChanged {
                line_id,
                quantity: total,
            }]);
        }
        if self.lines.len() >= MAX_LINES {
            return Err(CartError::TooManyLines { max: MAX_LINES });
        }
        Ok(vec![CartEvent::ItemAdded {
            line_id,
            sku: priced.sku,
            product_id: priced.product_id,
            title: priced.title,
            quantity,
            unit_price,
            weight_grams: priced.weight,
            tax_class: priced.tax_class,
        }])
    }

    fn change_quantity(&self, line_id: LineId, quantity: u32) -> Result<Vec<CartEvent>, CartError> {
        let quantity = line_quantity(quantity)?;
        let line = self.existing_line(line_id)?;
        if line.quantity() == quantity {
            return Ok(vec![]);
        }
        Ok(vec![CartEvent::ItemQuantityChanged { line_id, quantity }])
    }

    fn existing_line(&self, line_id: LineId) -> Result<&CartLine, CartError> {
        self.line(line_id)
            .ok_or(CartError::LineNotFound { line_id })
    }
}

/// A quantity a line may hold, or why not.
fn line_quantity(requested: u32) -> Result<Quantity, CartError> {
    let out_of_range = CartError::QuantityOutOfRange {
        min: MIN_LINE_QUANTITY,
        max: MAX_LINE_QUANTITY,
        requested,
    };
    if requested > MAX_LINE_QUANTITY {
        return Err(out_of_range);
    }
    Quantity::new(requested).map_err(|_| out_of_range)
}

impl Aggregate for Cart {
    const TYPE: &'static str = "cart";
    type Command = CartCommand;
    type Event = CartEvent;
    type Error = CartError;
    type Services = CartServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services).await? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CartEvent::CartCreated {
                cart_id,
                currency,
                customer_id,
            } => {
                self.id = Some(cart_id);
                self.status = Some(CartStatus::Open);
                self.currency = Some(currency);
                self.customer_id = customer_id;
            }
            CartEvent::ItemAdded {
                line_id,
                sku,
                product_id,
                title,
                quantity,
                unit_price,
                weight_grams,
                tax_class,
            } => self.lines.push(
                CartLine::new(line_id, sku, product_id, title, quantity, unit_price)
                    .with_attributes(weight_grams, tax_class),
            ),
            CartEvent::ItemQuantityChanged { line_id, quantity } => {
                if let Some(line) = self.lines.iter_mut().find(|l| l.line_id() == line_id) {
                    line.set_quantity(quantity);
                }
            }
            CartEvent::ItemRemoved { line_id } => {
                self.lines.retain(|line| line.line_id() != line_id);
            }
            CartEvent::CartCheckedOut { checkout_id } => {
                self.status = Some(CartStatus::CheckedOut);
                self.checkout_id = Some(checkout_id);
                self.checkout_in_progress = None;
                self.checkout_began_at = None;
            }
            CartEvent::CheckoutBegan { checkout_id, at } => {
                self.status = Some(CartStatus::CheckingOut);
                self.checkout_in_progress = Some(checkout_id);
                self.checkout_began_at = Some(at);
            }
            CartEvent::CheckoutReleased { .. } => {
                self.status = Some(CartStatus::Open);
                self.checkout_in_progress = None;
                self.checkout_began_at = None;
            }
            CartEvent::CustomerAssigned { customer_id } => {
                self.customer_id = Some(customer_id);
            }
            CartEvent::MergeBegan { into_cart_id } => {
                self.status = Some(CartStatus::Merging);
                self.merge_target = Some(into_cart_id);
            }
            CartEvent::MergeCancelled { .. } => {
                self.status = Some(CartStatus::Open);
                self.merge_target = None;
            }
            CartEvent::CartMerged { into_cart_id } => {
                self.status = Some(CartStatus::Merged);
                self.merge_target = Some(into_cart_id);
            }
            CartEvent::CartMergedIn { source_cart_id } => {
                self.merged_from.push(source_cart_id);
            }
            CartEvent::PromotionCodeApplied { code } => self.promotion_code = Some(code),
            CartEvent::PromotionCodeRemoved { .. } => self.promotion_code = None,
            CartEvent::ShippingAddressSet { address, .. } => {
                self.shipping_address = Some(PostalAddress::recorded(address));
            }
            CartEvent::ShippingMethodChosen { option_id } => {
                self.shipping_option = Some(option_id);
            }
            CartEvent::ShippingMethodCleared { .. } => self.shipping_option = None,
        }
    }
}

#[cfg(test)]
mod tests;
