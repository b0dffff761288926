//! The checkout saga's ports, implemented over the other contexts' aggregates.
//!
//! Each adapter turns a context's answers into the saga's outcomes: a business refusal the
//! saga can act on becomes an outcome (out of stock, declined, rejected), a refusal that means
//! "already done" becomes success, and anything that may pass becomes `StepError::Retryable`.

use std::sync::Arc;

use async_trait::async_trait;
use carts::{Cart, CartCommand, CartError};
use checkout::ports::{
    AuthorizationOutcome, CartLocks, OrderPlacement, OrderRequest, PaymentAuthorizations,
    PlacementOutcome, PromotionRedemptions, RedemptionOutcome, ReservationOutcome, Settled,
    StepError, StockReservations,
};
use chrono::{DateTime, Duration, Utc};
use coupons::{Promotion, PromotionCode, PromotionCommand, PromotionError};
use inventory::{InventoryError, StockCommand, StockItem};
use orders::{NewOrderLine, Order, OrderCommand, OrderError};
use payments::{Payment, PaymentCommand, PaymentError, PaymentMethodTokens, PaymentStatus};
use runtime::{CommandError, CommandExecutor, CommandMetadata, Deadlines};
use shared_kernel::{
    CartId, CheckoutId, Clock, CustomerId, Money, OrderId, PaymentId, Quantity, ReservationId, Sku,
};

fn metadata() -> CommandMetadata {
    CommandMetadata::new("checkout-saga")
}

fn retry<E: std::fmt::Display>(error: E) -> StepError {
    StepError::Unavailable(error.to_string())
}

fn infrastructure<E: std::error::Error>(error: CommandError<E>) -> StepError {
    retry(error)
}

pub struct InventoryReservations {
    pub inventory: Arc<dyn CommandExecutor<StockItem>>,
    pub clock: Arc<dyn Clock>,
    /// How long a reservation holds stock if its checkout never finishes with it.
    pub lifetime: Duration,
    /// Where each reservation's expiry waits ([`crate::expiry`]).
    pub deadlines: Arc<dyn Deadlines>,
}

#[async_trait]
impl StockReservations for InventoryReservations {
    async fn reserve(
        &self,
        sku: &Sku,
        reservation_id: ReservationId,
        quantity: Quantity,
    ) -> Result<ReservationOutcome, StepError> {
        let expires_at = self.clock.now() + self.lifetime;
        // The expiry first: a deadline for a reservation never made expires nothing, while a
        // reservation without one would hold its stock until someone noticed.
        crate::expiry::schedule(self.deadlines.as_ref(), sku, reservation_id, expires_at)
            .await
            .map_err(retry)?;
        let command = StockCommand::ReserveStock {
            sku: sku.clone(),
            reservation_id,
            quantity,
            expires_at,
        };
        match self
            .inventory
            .execute(&StockItem::aggregate_id(sku), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(ReservationOutcome::Reserved),
            Err(CommandError::Rejected(InventoryError::OutOfStock { .. })) => {
                Ok(ReservationOutcome::Unavailable)
            }
            Err(CommandError::Rejected(other)) => {
                tracing::error!(%sku, %other, "reservation refused for another reason");
                Ok(ReservationOutcome::Unavailable)
            }
            Err(other) => Err(infrastructure(other)),
        }
    }

    async fn release(&self, sku: &Sku, reservation_id: ReservationId) -> Result<(), StepError> {
        let command = StockCommand::ReleaseReservation { reservation_id };
        match self
            .inventory
            .execute(&StockItem::aggregate_id(sku), command, None, &metadata())
            .await
        {
            Ok(_) | Err(CommandError::Rejected(InventoryError::UnknownReservation { .. })) => {
                Ok(())
            }
            Err(CommandError::Rejected(other)) => {
                tracing::error!(%sku, %other, "reservation could not be released");
                Ok(())
            }
            Err(other) => Err(infrastructure(other)),
        }
    }

    async fn commit(&self, sku: &Sku, reservation_id: ReservationId) -> Result<Settled, StepError> {
        let command = StockCommand::CommitReservation { reservation_id };
        match self
            .inventory
            .execute(&StockItem::aggregate_id(sku), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(Settled::Done),
            // The reservation expired or was released before the order could take it: the
            // units may be sold to someone else, which staff must resolve. Recorded as such,
            // never as a commit that did not happen.
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%sku, %error, "reservation could not be committed");
                Ok(Settled::Refused {
                    reason: error.to_string(),
                })
            }
            Err(other) => Err(infrastructure(other)),
        }
    }
}

pub struct GatewayPayments {
    pub payments: Arc<dyn CommandExecutor<Payment>>,
    /// Where the shopper's token waits while the checkout runs (never in an event).
    pub tokens: Arc<dyn PaymentMethodTokens>,
}

#[async_trait]
impl PaymentAuthorizations for GatewayPayments {
    async fn authorize(
        &self,
        payment_id: PaymentId,
        amount: Money,
    ) -> Result<AuthorizationOutcome, StepError> {
        let Some(payment_method_token) = self.tokens.token(payment_id).await.map_err(retry)? else {
            // Kept too long and purged: asking the shopper again is the only honest answer.
            tracing::warn!(%payment_id, "no payment method token kept for the checkout");
            return Ok(AuthorizationOutcome::Declined {
                message: "Your payment details expired. Please check out again.".to_owned(),
            });
        };
        let command = PaymentCommand::AuthorizePayment {
            payment_id,
            amount,
            payment_method_token,
        };
        self.outcome(payment_id, command).await
    }

    async fn forget_payment_method(&self, payment_id: PaymentId) -> Result<(), StepError> {
        self.tokens.forget(payment_id).await.map_err(retry)
    }

    async fn reconcile(&self, payment_id: PaymentId) -> Result<AuthorizationOutcome, StepError> {
        self.outcome(payment_id, PaymentCommand::ReconcileAuthorization)
            .await
    }

    async fn capture(&self, payment_id: PaymentId) -> Result<Settled, StepError> {
        self.capture_all(payment_id).await
    }

    async fn void(&self, payment_id: PaymentId) -> Result<(), StepError> {
        self.void_hold(payment_id).await
    }
}

impl GatewayPayments {
    /// Runs an authorizing command and reads the payment's state as the saga's outcome.
    async fn outcome(
        &self,
        payment_id: PaymentId,
        command: PaymentCommand,
    ) -> Result<AuthorizationOutcome, StepError> {
        let payment = match self
            .payments
            .execute(&payment_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(executed) => executed.state,
            Err(CommandError::Rejected(error)) if error.is_retryable() => return Err(retry(error)),
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%payment_id, %error, "authorization refused");
                return Ok(AuthorizationOutcome::Declined {
                    message: "Your payment could not be processed.".to_owned(),
                });
            }
            Err(other) => return Err(infrastructure(other)),
        };
        Ok(match payment.status() {
            Some(PaymentStatus::Authorized | PaymentStatus::Captured) => {
                AuthorizationOutcome::Authorized
            }
            Some(PaymentStatus::AuthorizationUnknown) => AuthorizationOutcome::Unknown,
            Some(PaymentStatus::Declined) => AuthorizationOutcome::Declined {
                message: payment
                    .decline()
                    .map(|d| d.message.clone())
                    .unwrap_or_else(|| "Your payment was declined.".to_owned()),
            },
            Some(PaymentStatus::Voided) | None => AuthorizationOutcome::Declined {
                message: "Your payment could not be processed.".to_owned(),
            },
        })
    }

    async fn capture_all(&self, payment_id: PaymentId) -> Result<Settled, StepError> {
        let command = PaymentCommand::CapturePayment { amount: None };
        match self
            .payments
            .execute(&payment_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(Settled::Done),
            // No answer, or none for now: asked again under the same key.
            Err(CommandError::Rejected(error)) if error.is_retryable() => Err(retry(error)),
            // Refused for good after the order was placed: an operator must resolve it, so it
            // is recorded as such instead of being retried forever.
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%payment_id, %error, "capture refused after the order was placed");
                Ok(Settled::Refused {
                    reason: error.to_string(),
                })
            }
            Err(other) => Err(infrastructure(other)),
        }
    }

    async fn void_hold(&self, payment_id: PaymentId) -> Result<(), StepError> {
        match self
            .payments
            .execute(
                &payment_id.to_string(),
                PaymentCommand::VoidPayment,
                None,
                &metadata(),
            )
            .await
        {
            Ok(_) | Err(CommandError::Rejected(PaymentError::NotFound)) => Ok(()),
            Err(CommandError::Rejected(error)) if error.is_retryable() => Err(retry(error)),
            // Declined or already voided: nothing is held.
            Err(CommandError::Rejected(
                error @ PaymentError::NotAllowed {
                    status: PaymentStatus::Declined | PaymentStatus::Voided,
                    ..
                },
            )) => {
                tracing::debug!(%payment_id, %error, "nothing to void");
                Ok(())
            }
            // Anything else (the provider refused the void) may leave money held: never
            // taken as done. Loud, and retried.
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%payment_id, %error, "void refused; a hold may remain");
                Err(retry(error))
            }
            Err(other) => Err(infrastructure(other)),
        }
    }
}

pub struct OrdersPlacement {
    pub orders: Arc<dyn CommandExecutor<Order>>,
    pub clock: Arc<dyn Clock>,
    /// Gives the order its short number; a repeated placement gets the same one.
    pub numbers: Arc<dyn orders::OrderNumbers>,
}

#[async_trait]
impl OrderPlacement for OrdersPlacement {
    async fn place(&self, order: OrderRequest) -> Result<PlacementOutcome, StepError> {
        let rejected = |error: OrderError| PlacementOutcome::Rejected {
            reason: error.to_string(),
        };
        let number = self
            .numbers
            .number_for(order.order_id)
            .await
            .map_err(retry)?;
        // What the shopper pays for shipping: the method's price less what a free-shipping
        // code takes off it.
        let shipping_total = order.shipping_method.as_ref().map(|method| {
            let off = order
                .promotion
                .as_ref()
                .and_then(|promotion| promotion.shipping_discount)
                .map_or(rust_decimal::Decimal::ZERO, |off| off.amount());
            Money::new(method.price.amount() - off, method.price.currency())
        });
        // The email and address were checked when the checkout was accepted; they reach the
        // order as the same typed values.
        let command = OrderCommand::PlaceOrder {
            number: Some(number),
            order_id: order.order_id,
            checkout_id: Some(order.checkout_id),
            customer_id: order.customer_id,
            email: order.email,
            shipping_address: order.shipping,
            currency: order.currency,
            lines: order
                .lines
                .into_iter()
                .enumerate()
                .map(|(at, line)| NewOrderLine {
                    discount: order
                        .promotion
                        .as_ref()
                        .and_then(|promotion| promotion.line_discounts.get(at).copied())
                        .unwrap_or_else(|| Money::zero(order.currency).round_to_minor_units()),
                    sku: line.sku,
                    product_id: line.product_id,
                    title: line.title,
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                })
                .collect(),
            placed_at: self.clock.now(),
            promotion_code: order.promotion.map(|promotion| promotion.code),
            shipping_total,
            tax: order.tax.map(|tax| orders::OrderTax {
                prices_include_tax: tax.prices_include_tax,
                lines: tax.lines.into_iter().map(order_tax_part).collect(),
                shipping: order_tax_part(tax.shipping),
            }),
        };
        match self
            .orders
            .execute(&order.order_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(PlacementOutcome::Placed {
                order_id: order.order_id,
            }),
            Err(CommandError::Rejected(error)) => Ok(rejected(error)),
            Err(other) => Err(infrastructure(other)),
        }
    }

    async fn mark_paid(
        &self,
        order_id: OrderId,
        payment_id: PaymentId,
        amount: Money,
    ) -> Result<Settled, StepError> {
        let command = OrderCommand::MarkPaid { payment_id, amount };
        match self
            .orders
            .execute(&order_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(Settled::Done),
            // Staff may have cancelled the order meanwhile: the money is captured and a
            // refund is theirs to decide, so the checkout needs them.
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%order_id, %error, "order could not be marked paid");
                Ok(Settled::Refused {
                    reason: error.to_string(),
                })
            }
            Err(other) => Err(infrastructure(other)),
        }
    }
}

pub struct CartCheckoutLocks {
    pub carts: Arc<dyn CommandExecutor<Cart>>,
}

#[async_trait]
impl CartLocks for CartCheckoutLocks {
    async fn check_out(
        &self,
        cart_id: CartId,
        checkout_id: CheckoutId,
    ) -> Result<Settled, StepError> {
        let command = CartCommand::MarkCheckedOut {
            checkout_id: checkout_id.as_uuid(),
        };
        match self
            .carts
            .execute(&cart_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(Settled::Done),
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%cart_id, %error, "cart could not be marked checked out");
                Ok(Settled::Refused {
                    reason: error.to_string(),
                })
            }
            Err(other) => Err(infrastructure(other)),
        }
    }

    async fn release(&self, cart_id: CartId, checkout_id: CheckoutId) -> Result<(), StepError> {
        let command = CartCommand::ReleaseCheckout {
            checkout_id: checkout_id.as_uuid(),
        };
        match self
            .carts
            .execute(&cart_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(()),
            Err(CommandError::Rejected(CartError::NotFound)) => Ok(()),
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%cart_id, %error, "cart could not be released");
                Ok(())
            }
            Err(other) => Err(infrastructure(other)),
        }
    }
}

/// Redemptions of promotion codes, on the code's `Promotion` stream (ADR 0031).
pub struct CouponRedemptions {
    pub promotions: Arc<dyn CommandExecutor<Promotion>>,
}

impl CouponRedemptions {
    async fn send(
        &self,
        code: &str,
        command: PromotionCommand,
    ) -> Result<(), CommandError<PromotionError>> {
        // The checkout recorded the code as the cart held it: normalized when applied.
        let id = Promotion::aggregate_id(&PromotionCode::recorded(code.to_owned()));
        self.promotions
            .execute(&id, command, None, &metadata())
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl PromotionRedemptions for CouponRedemptions {
    async fn redeem(
        &self,
        code: &str,
        checkout_id: CheckoutId,
        customer_id: Option<CustomerId>,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<RedemptionOutcome, StepError> {
        let command = PromotionCommand::RedeemPromotion {
            checkout_id,
            customer_id,
            subtotal,
            at,
        };
        match self.send(code, command).await {
            Ok(()) => Ok(RedemptionOutcome::Redeemed),
            Err(CommandError::Rejected(PromotionError::Refused(refusal))) => {
                Ok(RedemptionOutcome::Refused {
                    refusal: refusal.code().to_owned(),
                    message: refusal.to_string(),
                })
            }
            // Any other refusal is a checkout the code cannot serve either; the shopper reads
            // that the code could not be used, staff read why in the log.
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%checkout_id, code, %error, "promotion redemption refused");
                Ok(RedemptionOutcome::Refused {
                    refusal: error.code().to_owned(),
                    message: "this code cannot be used for this purchase".to_owned(),
                })
            }
            Err(other) => Err(infrastructure(other)),
        }
    }

    async fn confirm(&self, code: &str, checkout_id: CheckoutId) -> Result<Settled, StepError> {
        let command = PromotionCommand::ConfirmRedemption { checkout_id };
        match self.send(code, command).await {
            Ok(()) => Ok(Settled::Done),
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%checkout_id, code, %error, "promotion use could not be confirmed");
                Ok(Settled::Refused {
                    reason: error.to_string(),
                })
            }
            Err(other) => Err(infrastructure(other)),
        }
    }

    async fn release(&self, code: &str, checkout_id: CheckoutId) -> Result<(), StepError> {
        let command = PromotionCommand::ReleaseRedemption { checkout_id };
        match self.send(code, command).await {
            Ok(()) => Ok(()),
            // Nothing to give back (the code is unknown) or spent for good: either way the
            // compensation cannot do more, and retrying would never end.
            Err(CommandError::Rejected(error)) => {
                tracing::error!(%checkout_id, code, %error, "promotion use could not be released");
                Ok(())
            }
            Err(other) => Err(infrastructure(other)),
        }
    }
}

/// A checkout's tax part as the orders context takes it.
fn order_tax_part(part: checkout::TaxPart) -> orders::TaxPart {
    orders::TaxPart {
        rate: part.rate,
        amount: part.amount,
    }
}
