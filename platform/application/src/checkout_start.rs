//! Starting a checkout, a use case across carts, payments and checkout: lock the cart (taking
//! over a lock whose checkout was never recorded), keep the payment method token, copy the
//! lines, and record the checkout; unlock the cart again if the checkout cannot start.
//!
//! Two appends, on two streams: the cart's lock and the checkout. A process that dies between
//! them leaves a lock no checkout owns; it is taken over once it is older than
//! [`ORPHANED_LOCK_GRACE`]. A request that took longer than [`LOCK_TO_START_LIMIT`] between
//! the two gives up and unlocks instead, so a stalled request can never record a checkout for
//! a lock someone else has since taken over. Time comes from the injected clock.

use std::sync::Arc;

use carts::{Cart, CartCommand, CartError, CartStatus};
use checkout::{Checkout, CheckoutCommand, CheckoutError, CheckoutLine};
use chrono::Duration;
use coupons::PromotionCode;

use crate::cart_promotions::{CartPromotions, PromotionCodeError};
use payments::PaymentMethodTokens;
use runtime::{CommandError, CommandExecutor, CommandMetadata, Executed};
use shared_kernel::{CartId, CheckoutId, Clock, EmailAddress, PostalAddress, Sku};

/// A lock whose checkout was never recorded is taken over after this long.
pub const ORPHANED_LOCK_GRACE: Duration = Duration::minutes(10);

/// Longest time between locking the cart and recording the checkout; beyond it the request
/// unlocks and gives up. Far shorter than the grace above.
pub const LOCK_TO_START_LIMIT: Duration = Duration::seconds(30);

/// What a shopper's checkout request carries, already validated.
#[derive(Debug, Clone)]
pub struct StartCheckout {
    pub cart_id: CartId,
    /// Derived by the caller from the request's idempotency key, so a retry finds it.
    pub checkout_id: CheckoutId,
    pub email: EmailAddress,
    pub shipping: PostalAddress,
    pub payment_method_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartCheckoutError {
    #[error("cart not found")]
    CartNotFound,
    #[error(transparent)]
    Cart(#[from] CartError),
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error("the checkout took too long to start; nothing was charged")]
    TooSlow,
    /// The cart's code cannot be used on what the cart holds now (its minimum, currency or
    /// eligible lines): the shopper removes it or changes the cart. Nothing was locked.
    #[error(transparent)]
    Promotion(coupons::Refusal),
    #[error("{0}")]
    Unavailable(String),
}

fn unavailable<E: std::fmt::Display>(error: E) -> StartCheckoutError {
    StartCheckoutError::Unavailable(error.to_string())
}

fn from_cart(error: CommandError<CartError>) -> StartCheckoutError {
    match error {
        CommandError::Rejected(error) => StartCheckoutError::Cart(error),
        other => unavailable(other),
    }
}

/// Starts checkouts.
pub struct CheckoutStarter {
    pub carts: Arc<dyn CommandExecutor<Cart>>,
    pub checkouts: Arc<dyn CommandExecutor<Checkout>>,
    pub tokens: Arc<dyn PaymentMethodTokens>,
    pub clock: Arc<dyn Clock>,
    pub promotions: Arc<CartPromotions>,
}

impl CheckoutStarter {
    /// Locks the cart and records the checkout; the saga does the rest.
    pub async fn start(
        &self,
        request: StartCheckout,
        meta: &CommandMetadata,
    ) -> Result<Executed<Checkout>, StartCheckoutError> {
        let StartCheckout {
            cart_id,
            checkout_id,
            email,
            shipping,
            payment_method_token,
        } = request;
        let cart_key = cart_id.to_string();
        let loaded = self.carts.load(&cart_key).await.map_err(from_cart)?;
        if loaded.version == 0 {
            return Err(StartCheckoutError::CartNotFound);
        }
        if let (Some(CartStatus::CheckingOut), Some(running)) = (
            loaded.aggregate.status(),
            loaded.aggregate.checkout_in_progress(),
        ) {
            if running != checkout_id.as_uuid() {
                self.release_orphaned_lock(&loaded.aggregate, running, meta)
                    .await?;
            }
        }
        // The token waits outside the event stream until the payment is authorized (ADR
        // 0016). Kept before the cart is locked and the checkout recorded, so a recorded
        // checkout always finds it and a failure here leaves nothing to undo.
        self.tokens
            .keep(
                checkout::payment_id(checkout_id),
                payment_method_token.trim(),
            )
            .await
            .map_err(unavailable)?;
        let now = self.clock.now();
        let locked = self
            .carts
            .execute(
                &cart_key,
                CartCommand::BeginCheckout {
                    checkout_id: checkout_id.as_uuid(),
                    at: now,
                },
                None,
                meta,
            )
            .await
            .map_err(from_cart)?;
        let cart = locked.state;
        let currency = cart.currency().ok_or(StartCheckoutError::CartNotFound)?;
        let lines = cart
            .lines()
            .iter()
            .map(|line| {
                Ok(CheckoutLine {
                    sku: Sku::parse(line.sku()).map_err(unavailable)?,
                    product_id: line.product_id(),
                    title: line.title().to_owned(),
                    quantity: line.quantity(),
                    unit_price: line.unit_price(),
                })
            })
            .collect::<Result<Vec<_>, StartCheckoutError>>()?;
        let unlock = CartCommand::ReleaseCheckout {
            checkout_id: checkout_id.as_uuid(),
        };
        let promotion = match cart.promotion_code() {
            None => None,
            Some(code) => {
                let code = PromotionCode::recorded(code.to_owned());
                match self.promotions.price(&code, &cart, false).await {
                    Ok(promotion) => Some(promotion),
                    Err(error) => {
                        self.carts
                            .execute(&cart_key, unlock, None, meta)
                            .await
                            .map_err(from_cart)?;
                        return Err(match error {
                            PromotionCodeError::Refused(refusal) => {
                                StartCheckoutError::Promotion(refusal)
                            }
                            other => unavailable(other),
                        });
                    }
                }
            }
        };
        let command = CheckoutCommand::StartCheckout {
            checkout_id,
            cart_id,
            customer_id: cart.customer_id(),
            email,
            shipping,
            currency,
            lines,
            started_at: now,
            promotion,
        };
        if self.clock.now() - now > LOCK_TO_START_LIMIT {
            self.carts
                .execute(&cart_key, unlock, None, meta)
                .await
                .map_err(from_cart)?;
            return Err(StartCheckoutError::TooSlow);
        }
        match self
            .checkouts
            .execute(&checkout_id.to_string(), command, None, meta)
            .await
        {
            Ok(started) => Ok(started),
            Err(CommandError::Rejected(error)) => {
                // A checkout that was refused must not leave the cart locked.
                self.carts
                    .execute(&cart_key, unlock, None, meta)
                    .await
                    .map_err(from_cart)?;
                Err(StartCheckoutError::Checkout(error))
            }
            Err(other) => Err(unavailable(other)),
        }
    }

    /// A cart stays locked by a checkout that is running. A lock whose checkout was never
    /// recorded is released once it is old enough; anything else is refused.
    async fn release_orphaned_lock(
        &self,
        cart: &Cart,
        running: uuid::Uuid,
        meta: &CommandMetadata,
    ) -> Result<(), StartCheckoutError> {
        let recorded = self
            .checkouts
            .load(&running.to_string())
            .await
            .map_err(unavailable)?;
        let orphaned = recorded.version == 0
            && cart
                .checkout_began_at()
                .is_some_and(|at| self.clock.now() - at > ORPHANED_LOCK_GRACE);
        if !orphaned {
            return Err(CartError::CheckoutInProgress {
                checkout_id: running,
            }
            .into());
        }
        let cart_id = cart.id().map(|id| id.to_string()).unwrap_or_default();
        tracing::warn!(%cart_id, checkout = %running, "releasing a cart lock whose checkout was never recorded");
        self.carts
            .execute(
                &cart_id,
                CartCommand::ReleaseCheckout {
                    checkout_id: running,
                },
                None,
                meta,
            )
            .await
            .map_err(from_cart)?;
        Ok(())
    }
}
