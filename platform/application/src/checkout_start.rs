//! Starting a checkout, a use case across carts, payments and checkout: lock the cart (taking
//! over a lock whose checkout was never recorded), keep the payment method token, copy the
//! lines, price the cart's code and shipping method once more, and record the checkout;
//! unlock the cart again if the checkout cannot start. The cart is priced by
//! [`CartTotals`], exactly as the storefront was shown it: code, shipping and tax.
//!
//! The checkout ships to the cart's address when it has one (ADR 0037): the request may then
//! leave the address out, and a request naming another address is refused before anything is
//! locked. The cart's shipping method is quoted again for that address; one no longer offered
//! refuses the start.
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

use crate::cart_promotions::PromotionCodeError;
use crate::cart_shipping::CartShippingError;
use crate::cart_totals::{CartPromotion, CartTax, CartTotals, CartTotalsError, PricedCart};
use checkout::AppliedShipping;
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
    /// Where to ship; `None` ships to the cart's address (refused when it has none).
    pub shipping: Option<PostalAddress>,
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
    /// The request names an address other than the one the cart ships to (and was priced
    /// for). Nothing was locked.
    #[error("the checkout's shipping address differs from the cart's; change the cart's address or leave it out")]
    ShippingAddressMismatch,
    /// Neither the request nor the cart gives an address.
    #[error("the checkout needs a shipping address: set the cart's or send one")]
    ShippingAddressRequired,
    /// The cart's shipping method is no longer offered where it ships (the option was deleted
    /// or lost its price). Nothing was locked for long: the cart is open again.
    #[error("shipping option {option_id} is no longer offered for this cart going to {country}; choose another")]
    ShippingMethodNotOffered {
        option_id: uuid::Uuid,
        country: String,
    },
    /// The cart cannot be taxed where it ships (`code` says why: no rate there, its
    /// currency not configured). Nothing was locked for long: the cart is open again.
    #[error("{message}")]
    TaxUnavailable { code: &'static str, message: String },
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
    pub totals: Arc<CartTotals>,
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
        destination(&loaded.aggregate, shipping.as_ref())?;
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
        // Checked again on the locked cart: its address may have moved since it was loaded.
        let shipping = match destination(&cart, shipping.as_ref()) {
            Ok(address) => address,
            Err(error) => {
                self.carts
                    .execute(&cart_key, unlock, None, meta)
                    .await
                    .map_err(from_cart)?;
                return Err(error);
            }
        };
        let priced = match self.priced(&cart).await {
            Ok(priced) => priced,
            Err(error) => {
                self.carts
                    .execute(&cart_key, unlock, None, meta)
                    .await
                    .map_err(from_cart)?;
                return Err(error);
            }
        };
        let shipping_method = priced.shipping.as_ref().map(|quote| AppliedShipping {
            option_id: quote.option_id.as_uuid(),
            name: quote.name.to_string(),
            price: quote.price,
        });
        let tax = priced.tax.applied();
        let promotion = match priced.promotion {
            CartPromotion::Applied(applied) => Some(applied),
            _ => None,
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
            shipping_method,
            tax,
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

    /// The locked cart priced as the checkout will charge it, or why it cannot be charged:
    /// its method no longer offered where it ships, its code not usable on it, or no tax
    /// that can be calculated for it.
    async fn priced(&self, cart: &Cart) -> Result<PricedCart, StartCheckoutError> {
        let priced = match self.totals.price(cart).await {
            Ok(Some(priced)) => priced,
            Ok(None) => return Err(StartCheckoutError::CartNotFound),
            Err(CartTotalsError::Shipping(CartShippingError::Cart(error))) => {
                return Err(from_cart(error))
            }
            Err(CartTotalsError::Promotion(PromotionCodeError::Refused(refusal))) => {
                return Err(StartCheckoutError::Promotion(refusal))
            }
            Err(other) => return Err(unavailable(other)),
        };
        if let (Some(option_id), None) = (cart.shipping_option(), &priced.shipping) {
            return Err(StartCheckoutError::ShippingMethodNotOffered {
                option_id,
                country: cart
                    .shipping_address()
                    .map(|address| address.country().to_owned())
                    .unwrap_or_default(),
            });
        }
        if let CartPromotion::Inapplicable { refusal, .. } = &priced.promotion {
            return Err(StartCheckoutError::Promotion(refusal.clone()));
        }
        if let CartTax::Unavailable { code, message } = &priced.tax {
            return Err(StartCheckoutError::TaxUnavailable {
                code,
                message: message.clone(),
            });
        }
        Ok(priced)
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

/// Where the checkout ships: the cart's address, which a request may repeat but not
/// contradict, or the request's when the cart has none.
fn destination(
    cart: &Cart,
    requested: Option<&PostalAddress>,
) -> Result<PostalAddress, StartCheckoutError> {
    match (cart.shipping_address(), requested) {
        (Some(cart_address), Some(requested)) if cart_address.data() != requested.data() => {
            Err(StartCheckoutError::ShippingAddressMismatch)
        }
        (Some(address), _) | (None, Some(address)) => Ok(address.clone()),
        (None, None) => Err(StartCheckoutError::ShippingAddressRequired),
    }
}
