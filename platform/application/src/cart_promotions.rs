//! Promotion codes on carts: which code a cart may hold, and what it takes off the cart's
//! lines, priced with the coupons context's rules on the code's own stream (never a read
//! model, so a code created a moment ago applies at once).
//!
//! Applying a code checks everything a shopper can be told before paying (the code exists
//! and is live, its schedule, currency, minimum and eligible lines, the usage limits as they
//! stand); the checkout then redeems it as a saga step, which alone holds a use (ADR 0031).

use std::sync::Arc;

use carts::{Cart, CartCommand, CartError};
use checkout::AppliedPromotion;
use coupons::{discount, Basket, Promotion, PromotionCode, PromotionError, Refusal};
use runtime::{CommandError, CommandExecutor, CommandMetadata, Executed};
use shared_kernel::{Clock, Money, Sku};

/// Why a code cannot be applied, or priced.
#[derive(Debug, thiserror::Error)]
pub enum PromotionCodeError {
    /// Not a code at all (too short, characters a code never has).
    #[error(transparent)]
    Invalid(PromotionError),
    /// A code the shopper cannot use on this cart, in words they can read.
    #[error(transparent)]
    Refused(Refusal),
    #[error(transparent)]
    Cart(CartError),
    #[error("{0}")]
    Unavailable(String),
}

fn unavailable<E: std::fmt::Display>(error: E) -> PromotionCodeError {
    PromotionCodeError::Unavailable(error.to_string())
}

/// Prices and applies promotion codes.
pub struct CartPromotions {
    pub promotions: Arc<dyn CommandExecutor<Promotion>>,
    pub carts: Arc<dyn CommandExecutor<Cart>>,
    pub clock: Arc<dyn Clock>,
}

impl CartPromotions {
    /// What `code` takes off each of `cart`'s lines, or why it cannot be used on it now.
    /// `check_limits` also asks whether a use is left (applying a code does; the checkout's
    /// start does not, so that its saga refuses a code used up meanwhile with a reason the
    /// shopper reads on the checkout).
    pub async fn price(
        &self,
        code: &PromotionCode,
        cart: &Cart,
        check_limits: bool,
        shipping: Option<Money>,
    ) -> Result<AppliedPromotion, PromotionCodeError> {
        let loaded = self
            .promotions
            .load(&Promotion::aggregate_id(code))
            .await
            .map_err(unavailable)?;
        let promotion = loaded.aggregate;
        let terms = promotion
            .terms()
            .ok_or(PromotionCodeError::Refused(Refusal::UnknownCode))?;
        let currency = cart
            .currency()
            .ok_or(PromotionCodeError::Cart(CartError::NotFound))?;
        let lines = cart
            .lines()
            .iter()
            .map(|line| {
                Ok((
                    Sku::parse(line.sku()).map_err(unavailable)?,
                    line.line_total(),
                ))
            })
            .collect::<Result<Vec<_>, PromotionCodeError>>()?;
        let shipping = shipping.unwrap_or_else(|| Money::zero(currency).round_to_minor_units());
        let basket = Basket::new(lines, shipping).map_err(unavailable)?;
        if check_limits {
            promotion
                .check_redemption(cart.customer_id(), basket.subtotal(), self.clock.now())
                .map_err(PromotionCodeError::Refused)?;
        }
        let discount = discount(terms, &basket).map_err(PromotionCodeError::Refused)?;
        // What comes off the lines; a free-shipping code takes nothing off them, and the
        // shipping charge instead.
        let off_lines = discount.lines().iter().fold(
            Money::zero(currency).round_to_minor_units(),
            |sum, share| Money::new(sum.amount() + share.amount(), currency),
        );
        Ok(AppliedPromotion {
            code: code.as_str().to_owned(),
            discount: off_lines,
            line_discounts: discount.lines().to_vec(),
            shipping_discount: Some(discount.shipping()).filter(|off| !off.is_zero()),
        })
    }

    /// Holds `raw` (any case) on the cart for its checkout, once it is found usable on it.
    pub async fn apply(
        &self,
        cart_key: &str,
        raw: &str,
        meta: &CommandMetadata,
    ) -> Result<Executed<Cart>, PromotionCodeError> {
        let code = PromotionCode::parse(raw).map_err(PromotionCodeError::Invalid)?;
        let loaded = self.carts.load(cart_key).await.map_err(unavailable)?;
        if loaded.version == 0 {
            return Err(PromotionCodeError::Cart(CartError::NotFound));
        }
        self.price(&code, &loaded.aggregate, true, None).await?;
        let command = CartCommand::ApplyPromotionCode {
            code: code.as_str().to_owned(),
        };
        self.carts
            .execute(cart_key, command, None, meta)
            .await
            .map_err(from_cart)
    }

    /// Drops the cart's code.
    pub async fn remove(
        &self,
        cart_key: &str,
        meta: &CommandMetadata,
    ) -> Result<Executed<Cart>, PromotionCodeError> {
        self.carts
            .execute(cart_key, CartCommand::RemovePromotionCode, None, meta)
            .await
            .map_err(from_cart)
    }
}

fn from_cart(error: CommandError<CartError>) -> PromotionCodeError {
    match error {
        CommandError::Rejected(error) => PromotionCodeError::Cart(error),
        other => unavailable(other),
    }
}
