//! The checkout saga's definition for the saga runner ([`crate::saga`]): how each step of
//! `checkout::saga` is performed on the participating contexts, and which feed events start a
//! checkout. The runner records each outcome on the `Checkout` aggregate.
//!
//! Every step carries an id derived from the checkout, and every participant treats a repeat
//! as a no-op, so at-least-once delivery gives exactly-once effects (ADR 0013).

use std::sync::Arc;

use async_trait::async_trait;
use checkout::ports::{
    AuthorizationOutcome, CartLocks, OrderPlacement, OrderRequest, PaymentAuthorizations,
    PromotionRedemptions, StepError, StockReservations,
};
use checkout::saga::{next_steps, SagaStep};
use checkout::{Checkout, CheckoutCommand, CheckoutStatus, FailureReason};
use chrono::Duration;
use runtime::{Deadlines, FeedEvent};
use shared_kernel::{CheckoutId, Clock};

use crate::saga::{Performed, RetrySettings, SagaDefinition, SagaRunner, StepFailure};

/// The checkout saga's runner.
pub type CheckoutSagaRunner = SagaRunner<CheckoutSaga>;

#[derive(Debug, Clone, Copy)]
pub struct SagaSettings {
    /// How long an authorization may stay unanswered before the checkout is compensated.
    pub payment_timeout: Duration,
    /// How long a reservation holds stock if the saga never finishes with it.
    pub reservation_ttl: Duration,
    /// Pauses before retrying a step that failed transiently.
    pub retry: RetrySettings,
}

impl Default for SagaSettings {
    fn default() -> Self {
        Self {
            payment_timeout: Duration::seconds(30),
            reservation_ttl: Duration::minutes(15),
            retry: RetrySettings::default(),
        }
    }
}

/// The participants, as the checkout context's ports.
#[derive(Clone)]
pub struct Participants {
    pub stock: Arc<dyn StockReservations>,
    pub payments: Arc<dyn PaymentAuthorizations>,
    pub orders: Arc<dyn OrderPlacement>,
    pub carts: Arc<dyn CartLocks>,
    pub promotions: Arc<dyn PromotionRedemptions>,
}

/// The checkout saga, for the runner.
pub struct CheckoutSaga {
    participants: Participants,
    deadlines: Arc<dyn Deadlines>,
    clock: Arc<dyn Clock>,
    settings: SagaSettings,
}

fn payment_key(id: CheckoutId) -> String {
    format!("{}:{id}:payment", CheckoutSaga::NAME)
}

fn unavailable(error: StepError) -> StepFailure {
    match error {
        StepError::Unavailable(reason) => StepFailure(reason),
    }
}

impl CheckoutSaga {
    pub fn new(
        participants: Participants,
        deadlines: Arc<dyn Deadlines>,
        clock: Arc<dyn Clock>,
        settings: SagaSettings,
    ) -> Self {
        Self {
            participants,
            deadlines,
            clock,
            settings,
        }
    }

    /// Performs one step; returns the command recording its outcome, `None` when the step
    /// only waits. The runner's boundaries are named after the command (the saga's list).
    async fn perform_step(
        &self,
        id: CheckoutId,
        step: SagaStep,
    ) -> Result<Option<CheckoutCommand>, StepError> {
        let p = &self.participants;
        let now = self.clock.now();
        Ok(Some(match step {
            SagaStep::ReserveStock {
                sku,
                reservation_id,
                quantity,
            } => {
                let outcome = p.stock.reserve(&sku, reservation_id, quantity).await?;
                outcome.into_command(sku)
            }
            SagaStep::AuthorizePayment { payment_id, amount } => {
                let outcome = p.payments.authorize(payment_id, amount).await?;
                let deadline = now + self.settings.payment_timeout;
                if outcome == AuthorizationOutcome::Unknown {
                    self.deadlines
                        .schedule(&payment_key(id), deadline)
                        .await
                        .map_err(|e| StepError::Unavailable(e.to_string()))?;
                }
                outcome.into_command(deadline)
            }
            SagaStep::ReconcilePayment {
                payment_id,
                deadline,
            } => {
                if now >= deadline {
                    return Ok(Some(CheckoutCommand::RecordPaymentDeadlinePassed));
                }
                // The deadline brings the checkout back even if every retry below is slower.
                self.deadlines
                    .schedule(&payment_key(id), deadline)
                    .await
                    .map_err(|e| StepError::Unavailable(e.to_string()))?;
                match p.payments.reconcile(payment_id).await? {
                    AuthorizationOutcome::Unknown => {
                        return Err(StepError::Unavailable(
                            "the provider cannot say yet what became of the authorization"
                                .to_owned(),
                        ))
                    }
                    outcome => outcome.into_command(deadline),
                }
            }
            SagaStep::PlaceOrder {
                order_id,
                checkout_id,
                cart_id,
                customer_id,
                email,
                shipping,
                currency,
                lines,
                promotion,
                shipping_method,
                tax,
            } => {
                let request = OrderRequest {
                    promotion,
                    shipping_method,
                    tax,
                    order_id,
                    checkout_id,
                    cart_id,
                    customer_id,
                    email,
                    shipping,
                    currency,
                    lines,
                };
                p.orders.place(request).await?.into_command()
            }
            SagaStep::CapturePayment { payment_id } => p
                .payments
                .capture(payment_id)
                .await?
                .into_command("capture_payment", CheckoutCommand::RecordPaymentCaptured),
            SagaStep::MarkOrderPaid {
                order_id,
                payment_id,
                amount,
            } => p
                .orders
                .mark_paid(order_id, payment_id, amount)
                .await?
                .into_command("mark_order_paid", CheckoutCommand::RecordOrderPaid),
            SagaStep::CommitReservation {
                sku,
                reservation_id,
            } => p.stock.commit(&sku, reservation_id).await?.into_command(
                &format!("commit_stock:{sku}"),
                CheckoutCommand::RecordReservationCommitted { sku },
            ),
            SagaStep::MarkCartCheckedOut {
                cart_id,
                checkout_id,
            } => p
                .carts
                .check_out(cart_id, checkout_id)
                .await?
                .into_command("check_out_cart", CheckoutCommand::RecordCartCheckedOut),
            SagaStep::ReleaseReservation {
                sku,
                reservation_id,
            } => {
                p.stock.release(&sku, reservation_id).await?;
                CheckoutCommand::RecordStockReleased { sku }
            }
            SagaStep::VoidPayment { payment_id } => {
                p.payments.void(payment_id).await?;
                CheckoutCommand::RecordPaymentVoided
            }
            SagaStep::ReleaseCart {
                cart_id,
                checkout_id,
            } => {
                p.carts.release(cart_id, checkout_id).await?;
                CheckoutCommand::RecordCartReleased
            }
            SagaStep::RedeemPromotion {
                code,
                checkout_id,
                customer_id,
                subtotal,
                at,
            } => p
                .promotions
                .redeem(&code, checkout_id, customer_id, subtotal, at)
                .await?
                .into_command(),
            SagaStep::ConfirmRedemption { code, checkout_id } => p
                .promotions
                .confirm(&code, checkout_id)
                .await?
                .into_command(
                    "confirm_promotion",
                    CheckoutCommand::RecordRedemptionConfirmed,
                ),
            SagaStep::ReleaseRedemption { code, checkout_id } => {
                p.promotions.release(&code, checkout_id).await?;
                CheckoutCommand::RecordRedemptionReleased
            }
        }))
    }
}

#[async_trait]
impl SagaDefinition for CheckoutSaga {
    type Aggregate = Checkout;
    type Id = CheckoutId;
    type Step = SagaStep;

    const NAME: &'static str = "checkout";

    fn parse_id(text: &str) -> Option<CheckoutId> {
        CheckoutId::parse(text).ok()
    }

    fn stripe(id: CheckoutId) -> u128 {
        id.as_uuid().as_u128()
    }

    fn next_steps(checkout: &Checkout) -> Vec<SagaStep> {
        next_steps(checkout)
    }

    fn step_name(step: &SagaStep) -> &'static str {
        match step {
            SagaStep::ReserveStock { .. } => "reserve_stock",
            SagaStep::AuthorizePayment { .. } => "authorize_payment",
            SagaStep::ReconcilePayment { .. } => "reconcile_payment",
            SagaStep::PlaceOrder { .. } => "place_order",
            SagaStep::CapturePayment { .. } => "capture_payment",
            SagaStep::MarkOrderPaid { .. } => "mark_order_paid",
            SagaStep::CommitReservation { .. } => "commit_reservation",
            SagaStep::MarkCartCheckedOut { .. } => "mark_cart_checked_out",
            SagaStep::ReleaseReservation { .. } => "release_reservation",
            SagaStep::VoidPayment { .. } => "void_payment",
            SagaStep::ReleaseCart { .. } => "release_cart",
            SagaStep::RedeemPromotion { .. } => "redeem_promotion",
            SagaStep::ConfirmRedemption { .. } => "confirm_promotion",
            SagaStep::ReleaseRedemption { .. } => "release_promotion",
        }
    }

    async fn perform(
        &self,
        id: CheckoutId,
        _checkout: &Checkout,
        step: SagaStep,
    ) -> Result<Performed<CheckoutCommand>, StepFailure> {
        Ok(
            match self.perform_step(id, step).await.map_err(unavailable)? {
                Some(command) => Performed::Record {
                    boundary: command.name(),
                    command,
                },
                None => Performed::Wait,
            },
        )
    }

    async fn started_by(&self, event: &FeedEvent) -> Result<Option<CheckoutId>, StepFailure> {
        let starts = event.aggregate_type == <Checkout as cqrs_es::Aggregate>::TYPE
            && event.event_type == "CheckoutStarted";
        Ok(starts
            .then(|| CheckoutId::parse(&event.aggregate_id).ok())
            .flatten())
    }

    /// A reservation answered after its checkout failed is released at once: the compensation
    /// that released the checkout's lines ran before it existed, and nothing else would free
    /// it before it expired.
    async fn recorded(
        &self,
        id: CheckoutId,
        command: &CheckoutCommand,
        checkout: &Checkout,
    ) -> Result<(), StepFailure> {
        let CheckoutCommand::RecordStockReserved { sku } = command else {
            return Ok(());
        };
        if checkout.status() != Some(checkout::CheckoutStatus::Failed) {
            return Ok(());
        }
        tracing::info!(checkout = %id, %sku, "a reservation came after the checkout failed; released");
        self.participants
            .stock
            .release(sku, checkout::reservation_id(id, sku))
            .await
            .map_err(unavailable)
    }

    /// The payment deadline and the payment method token of a finished checkout are no longer
    /// needed; a token left by a crash is purged.
    async fn finished(&self, id: CheckoutId, checkout: &Checkout) {
        match checkout.status() {
            Some(CheckoutStatus::Completed) => runtime::metrics().checkout("completed", ""),
            Some(CheckoutStatus::Failed) => runtime::metrics().checkout(
                "failed",
                checkout.failure().map_or("unknown", FailureReason::code),
            ),
            _ => {}
        }
        // Only a checkout that recorded an unknown payment outcome has a payment deadline (one
        // scheduled just before a crash that kept the outcome from being recorded fires once,
        // finds nothing to do, and is cleared).
        if checkout.payment_deadline().is_some() {
            if let Err(error) = self.deadlines.cancel(&payment_key(id)).await {
                tracing::warn!(checkout = %id, %error, "payment deadline left to fire harmlessly");
            }
        }
        if let Err(error) = self
            .participants
            .payments
            .forget_payment_method(checkout::payment_id(id))
            .await
        {
            tracing::warn!(checkout = %id, %error, "payment method token left to the purge");
        }
    }
}
