//! Shipping on carts: where a cart ships, which options it is offered there, and which one
//! it ships with (ADR 0037).
//!
//! The cart records an address and an option id; which options exist, where and at what
//! price is the shipping context's, read from the `shipping_zones` read model through
//! [`ShippingZones::quote`]. So this use case checks what the cart cannot: that a chosen
//! option is offered for the cart's address, and that a method still fits when the address
//! moves (if not, the move drops it in the same commit). The price is never stored on the
//! cart: it is quoted each time the cart is read, and once more when a checkout starts.
//!
//! Weight: a cart is quoted at [`Cart::total_weight`], the unit weights its lines captured
//! from the catalog times their quantities; a line whose variant has no weight counts 0 g.

use std::sync::Arc;

use carts::{Cart, CartCommand, CartError};
use runtime::{CommandError, CommandExecutor, CommandMetadata, Executed};
use shared_kernel::{CountryCode, PostalAddress};
use shipping::ShippingQuote;
use uuid::Uuid;

use crate::shipping::{ShippingReadError, ShippingZones};

/// Why a cart's shipping could not be quoted or changed.
#[derive(Debug, thiserror::Error)]
pub enum CartShippingError {
    /// The cart refused the command (or was not found, or moved on meanwhile).
    #[error(transparent)]
    Cart(CommandError<CartError>),
    /// `option_id` is not offered for the cart's address (no zone serves `country`, the zone
    /// has no such option, or the option has no price for this cart).
    #[error("shipping option {option_id} is not offered for this cart going to {country}")]
    NotOffered { option_id: Uuid, country: String },
    #[error("shipping cannot be quoted now: {0}")]
    Unavailable(String),
}

impl From<ShippingReadError> for CartShippingError {
    fn from(error: ShippingReadError) -> Self {
        CartShippingError::Unavailable(error.to_string())
    }
}

fn refused(error: CartError) -> CartShippingError {
    CartShippingError::Cart(CommandError::Rejected(error))
}

/// Quotes, sets and chooses shipping for carts.
pub struct CartShipping {
    pub carts: Arc<dyn CommandExecutor<Cart>>,
    pub zones: Arc<ShippingZones>,
}

impl CartShipping {
    /// The options offered to `cart` where it ships now, cheapest first; empty when no zone
    /// serves its country (or its address was erased). Refused without an address.
    pub async fn quotes(&self, cart: &Cart) -> Result<Vec<ShippingQuote>, CartShippingError> {
        let address = cart
            .shipping_address()
            .ok_or(refused(CartError::ShippingAddressRequired))?;
        self.quotes_to(cart, address).await
    }

    /// The cart's chosen method as quoted now: `None` without one, or when it is not offered
    /// where the cart ships any more (the option was deleted or lost its price).
    pub async fn chosen(&self, cart: &Cart) -> Result<Option<ShippingQuote>, CartShippingError> {
        let (Some(option_id), Some(address)) = (cart.shipping_option(), cart.shipping_address())
        else {
            return Ok(None);
        };
        Ok(self
            .quotes_to(cart, address)
            .await?
            .into_iter()
            .find(|quote| quote.option_id.as_uuid() == option_id))
    }

    async fn quotes_to(
        &self,
        cart: &Cart,
        address: &PostalAddress,
    ) -> Result<Vec<ShippingQuote>, CartShippingError> {
        let (Some(currency), Some(subtotal)) = (cart.currency(), cart.subtotal()) else {
            return Err(refused(CartError::NotFound));
        };
        // A recorded address whose person was erased reads `[erased]`: nothing ships there.
        let Ok(country) = CountryCode::parse(address.country()) else {
            return Ok(Vec::new());
        };
        Ok(self
            .zones
            .quote(country, currency, subtotal.amount(), cart.total_weight())
            .await?)
    }

    /// Ships the cart to `address`; a chosen method not offered there is dropped with it.
    pub async fn set_address(
        &self,
        cart_key: &str,
        address: PostalAddress,
        expected: Option<u64>,
        meta: &CommandMetadata,
    ) -> Result<Executed<Cart>, CartShippingError> {
        self.decide_and_send(cart_key, expected, meta, |cart| {
            let address = address.clone();
            async move {
                let clear_method = match cart.shipping_option() {
                    None => false,
                    Some(option_id) => !self
                        .quotes_to(&cart, &address)
                        .await?
                        .iter()
                        .any(|quote| quote.option_id.as_uuid() == option_id),
                };
                Ok(CartCommand::SetShippingAddress {
                    address,
                    clear_method,
                })
            }
        })
        .await
    }

    /// Ships the cart with `option_id`, once it is found offered for the cart's address.
    pub async fn choose(
        &self,
        cart_key: &str,
        option_id: Uuid,
        expected: Option<u64>,
        meta: &CommandMetadata,
    ) -> Result<Executed<Cart>, CartShippingError> {
        self.decide_and_send(cart_key, expected, meta, |cart| async move {
            let offered = self.quotes(&cart).await?;
            if !offered
                .iter()
                .any(|quote| quote.option_id.as_uuid() == option_id)
            {
                return Err(CartShippingError::NotOffered {
                    option_id,
                    country: cart
                        .shipping_address()
                        .map(|address| address.country().to_owned())
                        .unwrap_or_default(),
                });
            }
            Ok(CartCommand::ChooseShippingMethod { option_id })
        })
        .await
    }

    /// Decides a command on the cart as loaded and sends it pinned to that version, since
    /// the decision (which options the cart's address is offered) holds for that state only.
    /// Without a caller's version, a cart changed meanwhile is decided again, a few times.
    async fn decide_and_send<F, Fut>(
        &self,
        cart_key: &str,
        expected: Option<u64>,
        meta: &CommandMetadata,
        decide: F,
    ) -> Result<Executed<Cart>, CartShippingError>
    where
        F: Fn(Cart) -> Fut,
        Fut: std::future::Future<Output = Result<CartCommand, CartShippingError>>,
    {
        const ATTEMPTS: usize = 4;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let loaded = self
                .carts
                .load(cart_key)
                .await
                .map_err(CartShippingError::Cart)?;
            if loaded.version == 0 {
                return Err(refused(CartError::NotFound));
            }
            let pinned = expected.unwrap_or(loaded.version);
            let command = decide(loaded.aggregate).await?;
            match self
                .carts
                .execute(cart_key, command, Some(pinned), meta)
                .await
            {
                Err(CommandError::PreconditionFailed { .. }) if expected.is_none() => {
                    if attempt == ATTEMPTS {
                        return Err(CartShippingError::Cart(CommandError::Conflict));
                    }
                }
                outcome => return outcome.map_err(CartShippingError::Cart),
            }
        }
    }
}
