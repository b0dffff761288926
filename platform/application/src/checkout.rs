//! The checkout saga runner: turns the pure decisions of `checkout::saga` into calls on the
//! participating contexts, and records each outcome on the `Checkout` aggregate.
//!
//! It is driven two ways. The global feed, from a durable checkpoint, delivers every checkout
//! event, so a process that died between any two steps resumes where it stopped; deadlines
//! bring a checkout back when it must be retried or a payment has waited too long. Every step
//! carries an id derived from the checkout, and every participant treats a repeat as a no-op,
//! so at-least-once delivery gives exactly-once effects (ADR 0013).
//!
//! Every step runs in the flow of the checkout (ADR 0014): its commands carry the correlation
//! id of the request that started the checkout, read back from the checkout's own events, and
//! name as their cause the checkout event the step was decided from. So one checkout's events
//! in every context share one correlation id, whichever instance or process runs the step.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use checkout::ports::{
    AuthorizationOutcome, CartLocks, OrderPlacement, OrderRequest, PaymentAuthorizations,
    PlacementOutcome, ReservationOutcome, StepError, StockReservations,
};
use checkout::saga::{next_steps, SagaStep};
use checkout::{Checkout, CheckoutCommand};
use chrono::Duration;
use runtime::causation::{self, Cause};
use runtime::{
    event_id, CommandError, CommandExecutor, CommandMetadata, CommitOutcome, Cursor, Deadline,
    Deadlines, EventFeed, Loaded, ProjectionStore, StoreError,
};
use shared_kernel::{CheckoutId, Clock};
use tokio::sync::watch;

/// The name of the saga's feed checkpoint.
pub const SAGA_CHECKPOINT: &str = "checkout_saga";

/// Called at every step boundary with its name; the fault-injection switch uses it to kill
/// the process exactly there. `None` in production.
pub type StepBoundaryHook = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct SagaSettings {
    /// How long an authorization may stay unanswered before the checkout is compensated.
    pub payment_timeout: Duration,
    /// How long a reservation holds stock if the saga never finishes with it.
    pub reservation_ttl: Duration,
    /// First pause before retrying a step that failed transiently; doubles up to `max_backoff`.
    pub retry_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for SagaSettings {
    fn default() -> Self {
        Self {
            payment_timeout: Duration::seconds(30),
            reservation_ttl: Duration::minutes(15),
            retry_backoff: Duration::milliseconds(200),
            max_backoff: Duration::seconds(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    #[error("checkout store: {0}")]
    Store(String),
}

impl From<StoreError> for SagaError {
    fn from(error: StoreError) -> Self {
        Self::Store(error.to_string())
    }
}

/// The participants, as the checkout context's ports.
#[derive(Clone)]
pub struct Participants {
    pub stock: Arc<dyn StockReservations>,
    pub payments: Arc<dyn PaymentAuthorizations>,
    pub orders: Arc<dyn OrderPlacement>,
    pub carts: Arc<dyn CartLocks>,
}

pub struct CheckoutSaga {
    checkouts: Arc<dyn CommandExecutor<Checkout>>,
    participants: Participants,
    deadlines: Arc<dyn Deadlines>,
    clock: Arc<dyn Clock>,
    settings: SagaSettings,
    boundary: Option<StepBoundaryHook>,
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Consecutive retries per checkout, for the backoff. In memory: after a restart a
    /// checkout starts again from the shortest pause, which is harmless.
    retries: std::sync::Mutex<std::collections::HashMap<CheckoutId, u32>>,
}

fn retry_key(id: CheckoutId) -> String {
    format!("checkout:{id}:retry")
}

fn payment_key(id: CheckoutId) -> String {
    format!("checkout:{id}:payment")
}

fn checkout_of(deadline: &Deadline) -> Option<CheckoutId> {
    let rest = deadline.key.strip_prefix("checkout:")?;
    CheckoutId::parse(rest.split(':').next()?).ok()
}

impl CheckoutSaga {
    pub fn new(
        checkouts: Arc<dyn CommandExecutor<Checkout>>,
        participants: Participants,
        deadlines: Arc<dyn Deadlines>,
        clock: Arc<dyn Clock>,
        settings: SagaSettings,
    ) -> Self {
        Self {
            checkouts,
            participants,
            deadlines,
            clock,
            settings,
            boundary: None,
            locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            retries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub fn with_boundary_hook(mut self, hook: StepBoundaryHook) -> Self {
        self.boundary = Some(hook);
        self
    }

    pub fn checkouts(&self) -> &Arc<dyn CommandExecutor<Checkout>> {
        &self.checkouts
    }

    fn reached(&self, boundary: &str) {
        if let Some(hook) = &self.boundary {
            hook(boundary);
        }
    }

    fn lock_for(&self, id: CheckoutId) -> &tokio::sync::Mutex<()> {
        let stripe = (id.as_uuid().as_u128() % self.locks.len() as u128) as usize;
        &self.locks[stripe]
    }

    /// Runs every step that can run now, recording each outcome, until the checkout is
    /// finished, waits for a deadline, or a step must be retried later.
    pub async fn advance(&self, id: CheckoutId) -> Result<(), SagaError> {
        let _one_at_a_time = self.lock_for(id).lock().await;
        let key = id.to_string();
        let mut failures: u32 = 0;
        let mut progressed = false;
        loop {
            let loaded = self.checkouts.load(&key).await.map_err(store)?;
            if loaded.version == 0 {
                return Ok(());
            }
            let steps = next_steps(&loaded.aggregate);
            if steps.is_empty() {
                // Timers and the payment method token of a checkout that finished here are no
                // longer needed; one that was already finished has none left worth a write (a
                // late timer is harmless, a token left by a crash is purged).
                self.retries
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&id);
                if progressed {
                    self.deadlines.cancel(&retry_key(id)).await?;
                    self.deadlines.cancel(&payment_key(id)).await?;
                    if let Err(error) = self
                        .participants
                        .payments
                        .forget_payment_method(checkout::payment_id(id))
                        .await
                    {
                        tracing::warn!(checkout = %id, %error, "payment method token left to the purge");
                    }
                }
                return Ok(());
            }
            let cause = cause_of(id, &loaded);
            let checkout = &loaded.aggregate;
            let outcomes = causation::within(
                cause,
                futures::future::join_all(
                    steps
                        .into_iter()
                        .map(|step| self.perform(id, checkout, step)),
                ),
            )
            .await;
            let mut recorded = false;
            let mut retry = None;
            for outcome in outcomes {
                match outcome {
                    Ok(Some((boundary, command))) => {
                        self.reached(&format!("before:{boundary}"));
                        causation::within(cause, self.record(&key, command)).await?;
                        self.reached(&format!("after:{boundary}"));
                        recorded = true;
                        progressed = true;
                    }
                    Ok(None) => {}
                    Err(StepError::Unavailable(reason)) => retry = Some(reason),
                }
            }
            if let Some(reason) = retry {
                failures = failures.saturating_add(1);
                if !recorded || failures > 3 {
                    let consecutive = {
                        let mut retries = self
                            .retries
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        let count = retries.entry(id).or_insert(0);
                        *count = count.saturating_add(1);
                        *count
                    };
                    let pause = self.backoff(consecutive);
                    tracing::info!(checkout = %id, %reason, ?pause, "checkout step will be retried");
                    self.deadlines
                        .schedule(&retry_key(id), self.clock.now() + pause)
                        .await?;
                    return Ok(());
                }
            }
            if !recorded {
                return Ok(());
            }
        }
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 1_i32 << failures.min(10);
        (self.settings.retry_backoff * factor).min(self.settings.max_backoff)
    }

    async fn record(&self, key: &str, command: CheckoutCommand) -> Result<(), SagaError> {
        let metadata = CommandMetadata::new("checkout-saga");
        match self.checkouts.execute(key, command, None, &metadata).await {
            Ok(_) => Ok(()),
            // A late or repeated outcome the checkout no longer needs: nothing to record.
            Err(CommandError::Rejected(error)) => {
                tracing::warn!(checkout = key, %error, "outcome not recorded");
                Ok(())
            }
            Err(other) => Err(store(other)),
        }
    }

    /// Performs one step; returns the outcome to record and the boundary's name, `None` when
    /// the step only waits.
    async fn perform(
        &self,
        id: CheckoutId,
        checkout: &Checkout,
        step: SagaStep,
    ) -> Result<Option<(&'static str, CheckoutCommand)>, StepError> {
        let p = &self.participants;
        let now = self.clock.now();
        Ok(Some(match step {
            SagaStep::ReserveStock {
                sku,
                reservation_id,
                quantity,
            } => {
                let outcome = p.stock.reserve(&sku, reservation_id, quantity).await?;
                let boundary = match outcome {
                    ReservationOutcome::Reserved => "stock_reserved",
                    ReservationOutcome::Unavailable => "stock_unavailable",
                };
                (boundary, outcome.into_command(sku))
            }
            SagaStep::AuthorizePayment { payment_id, amount } => {
                let outcome = p.payments.authorize(payment_id, amount).await?;
                let deadline = now + self.settings.payment_timeout;
                let boundary = match outcome {
                    AuthorizationOutcome::Authorized => "payment_authorized",
                    AuthorizationOutcome::Declined { .. } => "payment_declined",
                    AuthorizationOutcome::Unknown => {
                        self.deadlines
                            .schedule(&payment_key(id), deadline)
                            .await
                            .map_err(|e| StepError::Unavailable(e.to_string()))?;
                        "payment_unknown"
                    }
                };
                (boundary, outcome.into_command(deadline))
            }
            SagaStep::AwaitPaymentDeadline { deadline } => {
                if now < deadline {
                    self.deadlines
                        .schedule(&payment_key(id), deadline)
                        .await
                        .map_err(|e| StepError::Unavailable(e.to_string()))?;
                    return Ok(None);
                }
                (
                    "payment_timed_out",
                    CheckoutCommand::RecordPaymentDeadlinePassed,
                )
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
            } => {
                let request = OrderRequest {
                    order_id,
                    checkout_id,
                    cart_id,
                    customer_id,
                    email,
                    shipping,
                    currency,
                    lines,
                };
                let outcome = p.orders.place(request).await?;
                let boundary = match outcome {
                    PlacementOutcome::Placed { .. } => "order_placed",
                    PlacementOutcome::Rejected { .. } => "order_rejected",
                };
                (boundary, outcome.into_command())
            }
            SagaStep::CapturePayment { payment_id } => {
                p.payments.capture(payment_id).await?;
                // The order learns it is paid before the capture is recorded, so a completed
                // checkout always has a paid order; both calls are idempotent.
                if let Some(total) = checkout.total() {
                    p.orders
                        .mark_paid(checkout::order_id(id), payment_id, total)
                        .await?;
                }
                ("payment_captured", CheckoutCommand::RecordPaymentCaptured)
            }
            SagaStep::CommitReservation {
                sku,
                reservation_id,
            } => {
                p.stock.commit(&sku, reservation_id).await?;
                (
                    "reservation_committed",
                    CheckoutCommand::RecordReservationCommitted { sku },
                )
            }
            SagaStep::MarkCartCheckedOut {
                cart_id,
                checkout_id,
            } => {
                p.carts.check_out(cart_id, checkout_id).await?;
                ("cart_checked_out", CheckoutCommand::RecordCartCheckedOut)
            }
            SagaStep::ReleaseReservation {
                sku,
                reservation_id,
            } => {
                p.stock.release(&sku, reservation_id).await?;
                (
                    "stock_released",
                    CheckoutCommand::RecordStockReleased { sku },
                )
            }
            SagaStep::VoidPayment { payment_id } => {
                p.payments.void(payment_id).await?;
                ("payment_voided", CheckoutCommand::RecordPaymentVoided)
            }
            SagaStep::ReleaseCart {
                cart_id,
                checkout_id,
            } => {
                p.carts.release(cart_id, checkout_id).await?;
                ("cart_released", CheckoutCommand::RecordCartReleased)
            }
        }))
    }

    /// Starts every checkout that began after the saga's checkpoint, then moves the
    /// checkpoint. Returns how many feed events were consumed.
    ///
    /// Only `CheckoutStarted` needs the feed: `advance` runs a checkout until it finishes, waits
    /// on a durable deadline, or schedules a retry, and the checkpoint moves only after that.
    /// So a checkout behind the checkpoint is never left without something to bring it back,
    /// and the outcomes the runner records itself need no second look.
    pub async fn run_feed_once(
        &self,
        feed: &dyn EventFeed,
        checkpoints: &dyn ProjectionStore,
    ) -> Result<usize, SagaError> {
        let from = checkpoints.checkpoint(SAGA_CHECKPOINT).await?;
        let batch = feed.read_after(from, 500).await?;
        let Some(last) = batch.last() else {
            return Ok(0);
        };
        let to: Cursor = last.cursor;
        let mut ids: Vec<CheckoutId> = batch
            .iter()
            .filter(|e| e.aggregate_type == <Checkout as cqrs_es::Aggregate>::TYPE)
            .filter(|e| e.event_type == "CheckoutStarted")
            .filter_map(|e| CheckoutId::parse(&e.aggregate_id).ok())
            .collect();
        ids.sort();
        ids.dedup();
        self.advance_all(ids).await?;
        match checkpoints
            .commit(SAGA_CHECKPOINT, from, to, Vec::new())
            .await?
        {
            CommitOutcome::Committed => Ok(batch.len()),
            CommitOutcome::CheckpointMoved => Ok(0),
        }
    }

    /// Advances every checkout whose deadline has come. A deadline is cleared only after its
    /// checkout advanced, so a crash in between leaves it due; advancing may move it, and
    /// clearing leaves a moved deadline alone.
    pub async fn run_deadlines_once(&self) -> Result<usize, SagaError> {
        let due = self.deadlines.due(self.clock.now(), 200).await?;
        let count = due.len();
        let mut ids: Vec<CheckoutId> = due.iter().filter_map(checkout_of).collect();
        ids.sort();
        ids.dedup();
        self.advance_all(ids).await?;
        for deadline in &due {
            self.deadlines.clear(deadline).await?;
        }
        Ok(count)
    }

    async fn advance_all(&self, ids: Vec<CheckoutId>) -> Result<(), SagaError> {
        let results = futures::future::join_all(ids.iter().map(|id| self.advance(*id))).await;
        for (id, result) in ids.iter().zip(results) {
            if let Err(error) = result {
                // Never lose it: come back to it later, whatever the feed does.
                tracing::warn!(checkout = %id, %error, "checkout could not advance");
                self.deadlines
                    .schedule(
                        &retry_key(*id),
                        self.clock.now() + self.settings.retry_backoff,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// The runner loop: feed and deadlines, until `shutdown` turns true.
    pub async fn run(
        self: Arc<Self>,
        feed: Arc<dyn EventFeed>,
        checkpoints: Arc<dyn ProjectionStore>,
        mut wake: watch::Receiver<u64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let idle = StdDuration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                break;
            }
            let fed = match self
                .run_feed_once(feed.as_ref(), checkpoints.as_ref())
                .await
            {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(%error, "checkout saga: feed batch failed");
                    0
                }
            };
            if let Err(error) = self.run_deadlines_once().await {
                tracing::warn!(%error, "checkout saga: deadlines failed");
            }
            if fed > 0 {
                // Checkouts started in this process are advanced at once (the REST kick); the
                // feed only catches the rest, so it can wait for a few to accumulate.
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    woken = wake.changed() => {
                        if woken.is_err() {
                            tokio::time::sleep(idle).await;
                        }
                    }
                    stopped = shutdown.changed() => {
                        if stopped.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        tracing::info!("checkout saga stopped");
    }
}

/// The flow a step of checkout `id` belongs to: the correlation id its events carry (a fresh
/// one for a checkout recorded before correlation ids ran through), caused by the checkout
/// event the step is decided from.
fn cause_of(id: CheckoutId, loaded: &Loaded<Checkout>) -> Cause {
    let correlation_id = loaded
        .last_event
        .as_ref()
        .and_then(|metadata| metadata.correlation_id)
        .unwrap_or_else(|| id.as_uuid());
    Cause {
        correlation_id,
        causation_id: event_id(
            <Checkout as cqrs_es::Aggregate>::TYPE,
            &id.to_string(),
            loaded.version,
        ),
    }
}

fn store<E: std::error::Error>(error: CommandError<E>) -> SagaError {
    SagaError::Store(error.to_string())
}
