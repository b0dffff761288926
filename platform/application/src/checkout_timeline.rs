//! A checkout's timeline, for an operator asking "why is this checkout stuck?": what the
//! saga recorded, step by step, with when each outcome happened and who recorded it, and what
//! it would do next.
//!
//! Everything comes from the event streams, read as the executor reads them (sealed fields
//! opened through the vault, old versions upcast); nothing is stored for it. The checkout's
//! own stream is the saga's memory (ADR 0013): each of its events records one step's outcome.
//! Beside it come the events of the order and the payment the checkout drives, both
//! reachable by ids derived from the checkout: those of the checkout's flow (its correlation
//! id), so that a participant's effect that the checkout has not recorded yet (a payment
//! authorized just before a crash) shows too. Stock items are left out: a best seller's stream
//! holds every checkout's reservations, and the checkout records each line's outcome anyway.
//!
//! The pending steps are what [`checkout::next_steps`] decides for the state the same events
//! build: what the runner would do next, so a stuck checkout shows what it waits for.
//!
//! No personal data appears: the shopper's email and address are read (they are part of the
//! events) but never put into a timeline; details name SKUs, amounts and reasons only.

use std::sync::Arc;

use checkout::{next_steps, Checkout, CheckoutEvent, CheckoutStatus, FailureReason, SagaStep};
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use orders::{Order, OrderEvent};
use payments::{Payment, PaymentEvent};
use runtime::{EventMetadata, Recorded, StreamHistory};
use shared_kernel::{CheckoutId, OrderId, PaymentId};
use uuid::Uuid;

/// How a step's attempt ended, as the event that records it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Succeeded,
    Failed,
    /// The provider's answer was lost: the runner asks again until the deadline.
    Unknown,
    /// The deadline passed with the answer still unknown.
    TimedOut,
    /// A compensation undid an earlier step.
    Compensated,
    /// A participant refused a step after the pivot for good: staff must resolve it.
    Refused,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Succeeded => "succeeded",
            StepOutcome::Failed => "failed",
            StepOutcome::Unknown => "unknown",
            StepOutcome::TimedOut => "timed_out",
            StepOutcome::Compensated => "compensated",
            StepOutcome::Refused => "refused",
        }
    }
}

/// One recorded event of the checkout, its order or its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// The event's place in its own stream.
    pub sequence: u64,
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub event_type: String,
    /// `None` for events of the first release, which did not record it.
    pub occurred_at: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    /// The saga step (a name of [`checkout::STEPS`]) whose outcome the event records; `None`
    /// for events that record no step's outcome (the start, a phase's end, a participant's own
    /// events).
    pub step: Option<&'static str>,
    pub outcome: Option<StepOutcome>,
    /// A short, non-personal description: SKUs and quantities, amounts, reasons.
    pub detail: Option<String>,
}

/// A step the saga would run next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingStep {
    /// A name of [`checkout::STEPS`].
    pub step: &'static str,
    pub detail: Option<String>,
}

/// Why a checkout failed, for staff: its stable code and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineFailure {
    pub code: &'static str,
    /// The shopper's sentence, or for a rejected order the orders context's own reason.
    pub message: String,
}

/// A checkout's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutTimeline {
    pub checkout_id: CheckoutId,
    pub status: CheckoutStatus,
    pub failure: Option<TimelineFailure>,
    /// The step refused after the pivot, and why, once the checkout needs attention.
    pub attention: Option<(String, String)>,
    /// The flow the checkout runs in, as its first event recorded it.
    pub correlation_id: Option<Uuid>,
    pub order_id: Option<OrderId>,
    pub payment_id: PaymentId,
    /// Every event, in the order it happened (events without a time first, in stream order).
    pub entries: Vec<TimelineEntry>,
    pub pending_steps: Vec<PendingStep>,
    pub first_event_at: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
}

impl CheckoutTimeline {
    /// From the first event to the last, if both recorded their time.
    pub fn elapsed(&self) -> Option<chrono::Duration> {
        Some(self.last_event_at? - self.first_event_at?)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("no such checkout")]
    UnknownCheckout,
    #[error("infrastructure failure: {0}")]
    Unavailable(String),
}

impl From<runtime::StoreError> for TimelineError {
    fn from(error: runtime::StoreError) -> Self {
        TimelineError::Unavailable(error.to_string())
    }
}

/// Builds checkout timelines from the streams of checkouts, orders and payments.
pub struct CheckoutTimelines {
    checkouts: Arc<dyn StreamHistory<Checkout>>,
    orders: Arc<dyn StreamHistory<Order>>,
    payments: Arc<dyn StreamHistory<Payment>>,
}

impl CheckoutTimelines {
    pub fn new(
        checkouts: Arc<dyn StreamHistory<Checkout>>,
        orders: Arc<dyn StreamHistory<Order>>,
        payments: Arc<dyn StreamHistory<Payment>>,
    ) -> Self {
        Self {
            checkouts,
            orders,
            payments,
        }
    }

    pub async fn timeline(
        &self,
        checkout_id: CheckoutId,
    ) -> Result<CheckoutTimeline, TimelineError> {
        let id = checkout_id.to_string();
        let recorded = self.checkouts.history(&id).await?;
        let mut checkout = Checkout::default();
        for event in &recorded {
            checkout.apply(event.event.clone());
        }
        let Some(status) = checkout.status() else {
            return Err(TimelineError::UnknownCheckout);
        };
        let correlation_id = recorded.first().and_then(|e| e.metadata.correlation_id);
        let in_flow = |metadata: &EventMetadata| match (correlation_id, metadata.correlation_id) {
            (Some(flow), Some(of_event)) => flow == of_event,
            // An event that does not say which flow it belongs to is shown rather than hidden.
            _ => true,
        };

        let mut entries: Vec<TimelineEntry> = recorded
            .iter()
            .map(|event| {
                let (step, outcome, detail) = checkout_entry(&checkout, &event.event);
                entry(Checkout::TYPE, &id, event, step, outcome, detail)
            })
            .collect();

        // The payment exists once the saga asked for it; reading it earlier finds nothing.
        let payment_id = checkout::payment_id(checkout_id);
        if checkout.payment() != checkout::PaymentProgress::NotRequested {
            let payment = payment_id.to_string();
            for event in self.payments.history(&payment).await? {
                if in_flow(&event.metadata) {
                    let detail = payment_detail(&event.event);
                    entries.push(entry(Payment::TYPE, &payment, &event, None, None, detail));
                }
            }
        }
        // The order, once placed, or while being placed (placed but not yet recorded).
        let order_id = checkout.order_id().or_else(|| {
            (checkout.payment() == checkout::PaymentProgress::Authorized)
                .then(|| checkout::order_id(checkout_id))
        });
        if let Some(order_id) = order_id {
            let order = order_id.to_string();
            for event in self.orders.history(&order).await? {
                if in_flow(&event.metadata) {
                    let detail = order_detail(&event.event);
                    entries.push(entry(Order::TYPE, &order, &event, None, None, detail));
                }
            }
        }
        // Stable: events of one stream stay in their order, and those without a time (the
        // first release's) come first, as they are older than any that has one.
        entries.sort_by_key(|entry| entry.occurred_at);

        let first_event_at = entries.iter().find_map(|e| e.occurred_at);
        let last_event_at = entries.iter().rev().find_map(|e| e.occurred_at);
        Ok(CheckoutTimeline {
            checkout_id,
            status,
            failure: checkout.failure().map(failure),
            attention: checkout
                .attention()
                .map(|(step, reason)| (step.to_owned(), reason.to_owned())),
            correlation_id,
            order_id: checkout.order_id(),
            payment_id,
            pending_steps: next_steps(&checkout).iter().map(pending).collect(),
            entries,
            first_event_at,
            last_event_at,
        })
    }
}

fn entry<E>(
    aggregate_type: &'static str,
    aggregate_id: &str,
    recorded: &Recorded<E>,
    step: Option<&'static str>,
    outcome: Option<StepOutcome>,
    detail: Option<String>,
) -> TimelineEntry {
    TimelineEntry {
        sequence: recorded.sequence,
        aggregate_type,
        aggregate_id: aggregate_id.to_owned(),
        event_type: recorded.event_type.clone(),
        occurred_at: recorded.metadata.occurred_at,
        actor: recorded.metadata.actor.clone(),
        step,
        outcome,
        detail,
    }
}

fn failure(reason: &FailureReason) -> TimelineFailure {
    let message = match reason {
        FailureReason::OrderRejected { reason } => reason.clone(),
        other => other.shopper_message(),
    };
    TimelineFailure {
        code: reason.code(),
        message,
    }
}

/// `sku × quantity`, with the quantity of the checkout's line of that SKU.
fn line(checkout: &Checkout, sku: &str) -> String {
    match checkout
        .lines()
        .iter()
        .find(|line| line.sku.as_str() == sku)
    {
        Some(line) => format!("{sku} × {}", line.quantity),
        None => sku.to_owned(),
    }
}

/// Which step a checkout event records the outcome of, how it ended, and what it was about.
fn checkout_entry(
    checkout: &Checkout,
    event: &CheckoutEvent,
) -> (Option<&'static str>, Option<StepOutcome>, Option<String>) {
    use CheckoutEvent as E;
    use StepOutcome::{Compensated, Failed, Refused, Succeeded, TimedOut, Unknown};
    let step = |name: &'static str, outcome: StepOutcome, detail: Option<String>| {
        (Some(name), Some(outcome), detail)
    };
    match event {
        // The shopper's email and address are in this event: never in the timeline.
        E::CheckoutStarted { lines, total, .. } => {
            let count = lines.len();
            let plural = if count == 1 { "" } else { "s" };
            (
                None,
                None,
                Some(format!("{count} line{plural}, total {total}")),
            )
        }
        E::StockReserved { sku } => step("reserve_stock", Succeeded, Some(line(checkout, sku))),
        E::ReservationsCompleted {} => (None, None, Some("every line reserved".to_owned())),
        E::StockUnavailable { sku } => step(
            "reserve_stock",
            Failed,
            Some(format!("{}: not enough stock", line(checkout, sku))),
        ),
        E::PaymentAuthorized {} => step(
            "authorize_payment",
            Succeeded,
            checkout.total().map(|total| format!("{total} held")),
        ),
        E::PaymentDeclined { message } => step(
            "authorize_payment",
            Failed,
            Some(format!("declined: {message}")),
        ),
        E::PaymentOutcomeUnknown { deadline } => step(
            "authorize_payment",
            Unknown,
            Some(format!(
                "the provider's answer was lost; asking again until {}",
                rfc3339(*deadline)
            )),
        ),
        E::PaymentTimedOut {} => step(
            "authorize_payment",
            TimedOut,
            Some("no answer from the provider before the deadline".to_owned()),
        ),
        E::OrderPlaced { order_id } => {
            step("place_order", Succeeded, Some(format!("order {order_id}")))
        }
        E::OrderRejected { reason } => step("place_order", Failed, Some(reason.clone())),
        E::PaymentCaptured {} => step(
            "capture_payment",
            Succeeded,
            checkout.total().map(|total| format!("{total} captured")),
        ),
        E::OrderMarkedPaid {} => step("mark_order_paid", Succeeded, None),
        E::CheckoutNeedsAttention {
            step: refused,
            reason,
        } => {
            // Recorded as `capture_payment`, `mark_order_paid`, `commit_stock:<sku>`, ...
            let (name, sku) = refused.split_once(':').unwrap_or((refused.as_str(), ""));
            let detail = if sku.is_empty() {
                reason.clone()
            } else {
                format!("{}: {reason}", line(checkout, sku))
            };
            (step_named(name), Some(Refused), Some(detail))
        }
        E::ReservationCommitted { sku } => {
            step("commit_stock", Succeeded, Some(line(checkout, sku)))
        }
        E::CartCheckedOut {} => step("check_out_cart", Succeeded, None),
        E::CheckoutCompleted { order_id } => (None, None, Some(format!("order {order_id}"))),
        E::StockReleased { sku } => step("release_stock", Compensated, Some(line(checkout, sku))),
        E::PaymentVoided {} => step(
            "void_payment",
            Compensated,
            Some("no hold remains".to_owned()),
        ),
        E::CartReleased {} => step(
            "release_cart",
            Compensated,
            Some("the shopper can change the cart and try again".to_owned()),
        ),
        E::CheckoutFailed { reason } => (None, None, Some(reason.code().to_owned())),
        E::PromotionRedeemed {} => step(
            "redeem_promotion",
            Succeeded,
            checkout
                .promotion()
                .map(|p| format!("{}: {} off", p.code, p.discount)),
        ),
        E::PromotionRefused { refusal, message } => step(
            "redeem_promotion",
            Failed,
            Some(format!("{refusal}: {message}")),
        ),
        E::RedemptionConfirmed {} => step("confirm_promotion", Succeeded, None),
        E::RedemptionReleased {} => step(
            "release_promotion",
            Compensated,
            Some("the use is given back".to_owned()),
        ),
    }
}

/// The saga's own name for a step, if it is one.
fn step_named(name: &str) -> Option<&'static str> {
    checkout::STEPS
        .iter()
        .map(|spec| spec.name)
        .find(|known| *known == name)
}

fn pending(step: &SagaStep) -> PendingStep {
    let (step, detail) = match step {
        SagaStep::ReserveStock { sku, quantity, .. } => {
            ("reserve_stock", Some(format!("{sku} × {quantity}")))
        }
        SagaStep::AuthorizePayment { amount, .. } => {
            ("authorize_payment", Some(format!("hold {amount}")))
        }
        SagaStep::ReconcilePayment { deadline, .. } => (
            "authorize_payment",
            Some(format!(
                "ask the provider again for its lost answer, until {}",
                rfc3339(*deadline)
            )),
        ),
        SagaStep::PlaceOrder { order_id, .. } => ("place_order", Some(format!("order {order_id}"))),
        SagaStep::CapturePayment { .. } => ("capture_payment", None),
        SagaStep::MarkOrderPaid { amount, .. } => {
            ("mark_order_paid", Some(format!("{amount} paid")))
        }
        SagaStep::CommitReservation { sku, .. } => ("commit_stock", Some(sku.to_string())),
        SagaStep::MarkCartCheckedOut { .. } => ("check_out_cart", None),
        SagaStep::ReleaseReservation { sku, .. } => ("release_stock", Some(sku.to_string())),
        SagaStep::VoidPayment { .. } => ("void_payment", None),
        SagaStep::ReleaseCart { .. } => ("release_cart", None),
        SagaStep::RedeemPromotion { code, .. } => ("redeem_promotion", Some(code.clone())),
        SagaStep::ConfirmRedemption { code, .. } => ("confirm_promotion", Some(code.clone())),
        SagaStep::ReleaseRedemption { code, .. } => ("release_promotion", Some(code.clone())),
    };
    PendingStep { step, detail }
}

/// What a payment event says, without the payment method (which no event holds anyway).
fn payment_detail(event: &PaymentEvent) -> Option<String> {
    Some(match event {
        PaymentEvent::PaymentAuthorized { amount, .. } => format!("{amount} authorized"),
        PaymentEvent::PaymentDeclined {
            amount,
            code,
            message,
            ..
        } => format!("{amount} declined ({code}): {message}"),
        PaymentEvent::PaymentAuthorizationUnknown { amount, reason, .. } => {
            format!("{amount}: no answer ({reason})")
        }
        PaymentEvent::PaymentCaptured { amount, .. } => format!("{amount} captured"),
        PaymentEvent::PaymentVoided {} => return None,
        PaymentEvent::PaymentRefunded { amount, .. } => format!("{amount} refunded"),
    })
}

/// What an order event says, leaving out the shopper's email and address.
fn order_detail(event: &OrderEvent) -> Option<String> {
    Some(match event {
        OrderEvent::OrderPlaced { lines, total, .. } => {
            let count = lines.len();
            let plural = if count == 1 { "" } else { "s" };
            format!("{count} line{plural}, total {total}")
        }
        OrderEvent::OrderPaid { amount, .. } => format!("{amount} paid"),
        OrderEvent::OrderFulfilled { carrier, .. } => format!("handed to {carrier}"),
        OrderEvent::OrderCompleted {} => return None,
        OrderEvent::OrderCancelled { reason, .. } => format!("cancelled: {reason}"),
        OrderEvent::OrderRefundRequested { amount, .. } => format!("{amount} set aside for refund"),
        OrderEvent::OrderRefunded { amount, .. } => format!("{amount} refunded"),
        OrderEvent::OrderRefundReleased { reason, .. } => format!("refund released: {reason}"),
        OrderEvent::PersonalDataErased {} => "personal data erased".to_owned(),
    })
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use async_trait::async_trait;
    use checkout::CheckoutLineData;
    use chrono::TimeZone;
    use shared_kernel::{AddressData, CartId, Currency, Money, ProductId, Quantity};

    use super::*;

    /// Streams held in memory, as recorded.
    struct Streams<E>(HashMap<String, Vec<Recorded<E>>>);

    #[async_trait]
    impl<A> StreamHistory<A> for Streams<A::Event>
    where
        A: Aggregate,
        A::Event: Clone + Send + Sync,
    {
        async fn history(
            &self,
            aggregate_id: &str,
        ) -> Result<Vec<Recorded<A::Event>>, runtime::StoreError> {
            Ok(self.0.get(aggregate_id).cloned().unwrap_or_default())
        }
    }

    fn checkout_id() -> CheckoutId {
        CheckoutId::from_uuid(Uuid::from_u128(3))
    }

    fn flow() -> Uuid {
        Uuid::from_u128(42)
    }

    fn eur(amount: &str) -> Money {
        Money::parse(amount, "EUR").unwrap()
    }

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, second).unwrap()
    }

    /// `events` as recorded one second apart from `from`, in `correlation`.
    fn recorded<E: DomainEventName>(
        events: Vec<E>,
        from: u32,
        correlation: Uuid,
        actor: &str,
    ) -> Vec<Recorded<E>> {
        events
            .into_iter()
            .zip(1u64..)
            .map(|(event, sequence)| Recorded {
                sequence,
                event_type: event.name(),
                event,
                metadata: EventMetadata {
                    correlation_id: Some(correlation),
                    actor: Some(actor.to_owned()),
                    occurred_at: Some(at(from + sequence as u32 * 2)),
                    ..EventMetadata::default()
                },
            })
            .collect()
    }

    trait DomainEventName {
        fn name(&self) -> String;
    }

    impl<E: cqrs_es::DomainEvent> DomainEventName for E {
        fn name(&self) -> String {
            self.event_type()
        }
    }

    fn started() -> CheckoutEvent {
        CheckoutEvent::CheckoutStarted {
            checkout_id: checkout_id(),
            cart_id: CartId::from_uuid(Uuid::from_u128(4)),
            customer_id: None,
            email: "ada@example.com".into(),
            shipping: AddressData {
                name: "Ada Lovelace".into(),
                line1: "12 St James Sq".into(),
                city: "London".into(),
                postal_code: "SW1Y 4JH".into(),
                country: "GB".into(),
                ..AddressData::default()
            },
            currency: Currency::EUR,
            lines: vec![CheckoutLineData {
                sku: "TEE".into(),
                product_id: ProductId::from_uuid(Uuid::from_u128(1)),
                title: "Tee".into(),
                quantity: Quantity::new(2).unwrap(),
                unit_price: eur("10.00"),
            }],
            total: eur("20.00"),
            started_at: at(0),
            promotion: None,
            shipping_method: None,
            tax: None,
        }
    }

    fn timelines(
        checkout: Vec<CheckoutEvent>,
        payment: Vec<Recorded<PaymentEvent>>,
        order: Vec<Recorded<OrderEvent>>,
    ) -> CheckoutTimelines {
        let id = checkout_id();
        let checkouts = Streams(HashMap::from([(
            id.to_string(),
            recorded(checkout, 0, flow(), "checkout-saga"),
        )]));
        let payments = Streams(HashMap::from([(
            checkout::payment_id(id).to_string(),
            payment,
        )]));
        let orders = Streams(HashMap::from([(checkout::order_id(id).to_string(), order)]));
        CheckoutTimelines::new(Arc::new(checkouts), Arc::new(orders), Arc::new(payments))
    }

    fn steps(timeline: &CheckoutTimeline) -> Vec<(&str, Option<&str>, Option<&str>)> {
        timeline
            .entries
            .iter()
            .map(|e| {
                (
                    e.event_type.as_str(),
                    e.step,
                    e.outcome.map(StepOutcome::as_str),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn a_declined_checkout_shows_the_failed_authorization_and_its_compensation() {
        let payment_id = checkout::payment_id(checkout_id());
        let declined = PaymentEvent::PaymentDeclined {
            payment_id,
            amount: eur("20.00"),
            code: payments::DeclineCode::CardDeclined,
            message: "Your card was declined.".into(),
        };
        // The payment's answer lands between the checkout's sixth and eighth second.
        let payment = recorded(vec![declined], 5, flow(), "checkout-saga");
        let timeline = timelines(
            vec![
                started(),
                CheckoutEvent::StockReserved { sku: "TEE".into() },
                CheckoutEvent::ReservationsCompleted {},
                CheckoutEvent::PaymentDeclined {
                    message: "Your card was declined.".into(),
                },
                CheckoutEvent::StockReleased { sku: "TEE".into() },
                CheckoutEvent::CartReleased {},
                CheckoutEvent::CheckoutFailed {
                    reason: FailureReason::PaymentDeclined {
                        message: "Your card was declined.".into(),
                    },
                },
            ],
            payment,
            vec![],
        )
        .timeline(checkout_id())
        .await
        .unwrap();

        assert_eq!(timeline.status, CheckoutStatus::Failed);
        assert_eq!(
            timeline.failure,
            Some(TimelineFailure {
                code: "payment_declined",
                message: "Your card was declined.".into(),
            })
        );
        assert_eq!(timeline.correlation_id, Some(flow()));
        assert_eq!(
            steps(&timeline),
            [
                ("CheckoutStarted", None, None),
                ("StockReserved", Some("reserve_stock"), Some("succeeded")),
                ("ReservationsCompleted", None, None),
                ("PaymentDeclined", None, None),
                ("PaymentDeclined", Some("authorize_payment"), Some("failed")),
                ("StockReleased", Some("release_stock"), Some("compensated")),
                ("CartReleased", Some("release_cart"), Some("compensated")),
                ("CheckoutFailed", None, None),
            ]
        );
        assert_eq!(timeline.entries[3].aggregate_type, "payment");
        assert_eq!(timeline.entries[3].aggregate_id, payment_id.to_string());
        assert_eq!(
            timeline.entries[1].detail.as_deref(),
            Some("TEE × 2"),
            "the line reserved, with its quantity"
        );
        assert!(timeline.pending_steps.is_empty());
        assert_eq!(timeline.first_event_at, Some(at(2)));
        assert_eq!(timeline.last_event_at, Some(at(14)));
        assert_eq!(timeline.elapsed(), Some(chrono::Duration::seconds(12)));
        assert_eq!(timeline.entries[0].actor.as_deref(), Some("checkout-saga"));
        let everything = format!("{timeline:?}");
        for personal in ["ada@example.com", "Ada Lovelace", "St James"] {
            assert!(!everything.contains(personal), "{personal} in {everything}");
        }
    }

    #[tokio::test]
    async fn a_checkout_that_is_held_back_shows_the_steps_it_waits_for() {
        let timeline = timelines(vec![started()], vec![], vec![])
            .timeline(checkout_id())
            .await
            .unwrap();
        assert_eq!(timeline.status, CheckoutStatus::Reserving);
        assert_eq!(
            timeline.pending_steps,
            [PendingStep {
                step: "reserve_stock",
                detail: Some("TEE × 2".into()),
            }]
        );
        assert_eq!(timeline.elapsed(), Some(chrono::Duration::zero()));

        let authorizing = timelines(
            vec![
                started(),
                CheckoutEvent::StockReserved { sku: "TEE".into() },
                CheckoutEvent::ReservationsCompleted {},
            ],
            vec![],
            vec![],
        )
        .timeline(checkout_id())
        .await
        .unwrap();
        assert_eq!(authorizing.status, CheckoutStatus::Authorizing);
        assert_eq!(
            authorizing.pending_steps,
            [PendingStep {
                step: "authorize_payment",
                detail: Some("hold 20.00 EUR".into()),
            }]
        );
    }

    #[tokio::test]
    async fn an_order_placed_but_not_yet_recorded_shows_with_its_own_flow_only() {
        let order_id = checkout::order_id(checkout_id());
        let placed = OrderEvent::OrderPlaced {
            order_id,
            checkout_id: Some(checkout_id()),
            customer_id: None,
            email: "ada@example.com".into(),
            shipping_address: AddressData::default(),
            currency: Currency::EUR,
            lines: vec![],
            subtotal: eur("20.00"),
            shipping_total: eur("0.00"),
            total: eur("20.00"),
            placed_at: at(9),
            promotion_code: None,
            discount_total: None,
            number: None,
            shipping_tax: None,
            tax_total: None,
        };
        let mut order = recorded(vec![placed], 7, flow(), "checkout-saga");
        // A later flow on the same order (staff cancelling it) is not the checkout's.
        order.extend(recorded(
            vec![OrderEvent::OrderCancelled {
                reason: "fraud".into(),
                was_paid: false,
            }],
            20,
            Uuid::from_u128(7),
            "admin",
        ));
        let timeline = timelines(
            vec![
                started(),
                CheckoutEvent::StockReserved { sku: "TEE".into() },
                CheckoutEvent::ReservationsCompleted {},
                CheckoutEvent::PaymentAuthorized {},
            ],
            vec![],
            order,
        )
        .timeline(checkout_id())
        .await
        .unwrap();
        assert_eq!(timeline.status, CheckoutStatus::PlacingOrder);
        let last = timeline.entries.last().unwrap();
        assert_eq!(
            (last.aggregate_type, last.event_type.as_str()),
            ("order", "OrderPlaced"),
            "{timeline:?}"
        );
        assert_eq!(last.detail.as_deref(), Some("0 lines, total 20.00 EUR"));
        assert_eq!(timeline.entries.len(), 5);
        assert_eq!(timeline.pending_steps[0].step, "place_order");
        assert!(!format!("{timeline:?}").contains("ada@example.com"));
    }

    #[tokio::test]
    async fn a_checkout_nobody_started_has_no_timeline() {
        let unknown = timelines(vec![], vec![], vec![])
            .timeline(CheckoutId::from_uuid(Uuid::from_u128(99)))
            .await;
        assert!(matches!(unknown, Err(TimelineError::UnknownCheckout)));
    }

    #[test]
    fn every_step_a_timeline_names_is_a_step_of_the_saga() {
        let checkout = Checkout::default();
        let events = [
            CheckoutEvent::StockReserved { sku: "A".into() },
            CheckoutEvent::StockUnavailable { sku: "A".into() },
            CheckoutEvent::PaymentAuthorized {},
            CheckoutEvent::PaymentDeclined { message: "".into() },
            CheckoutEvent::PaymentOutcomeUnknown { deadline: at(0) },
            CheckoutEvent::PaymentTimedOut {},
            CheckoutEvent::OrderPlaced {
                order_id: OrderId::new(),
            },
            CheckoutEvent::OrderRejected { reason: "".into() },
            CheckoutEvent::PaymentCaptured {},
            CheckoutEvent::OrderMarkedPaid {},
            CheckoutEvent::CheckoutNeedsAttention {
                step: "commit_stock:A".into(),
                reason: "expired".into(),
            },
            CheckoutEvent::ReservationCommitted { sku: "A".into() },
            CheckoutEvent::CartCheckedOut {},
            CheckoutEvent::StockReleased { sku: "A".into() },
            CheckoutEvent::PaymentVoided {},
            CheckoutEvent::CartReleased {},
        ];
        for event in &events {
            let (step, outcome, _) = checkout_entry(&checkout, event);
            let step = step.unwrap_or_else(|| panic!("{event:?} records no step"));
            assert_eq!(step_named(step), Some(step), "{event:?}");
            assert!(outcome.is_some(), "{event:?}");
        }
        let sku = shared_kernel::Sku::parse("A").unwrap();
        let reservation_id = checkout::reservation_id(checkout_id(), &sku);
        let payment_id = checkout::payment_id(checkout_id());
        let cart_id = CartId::new();
        let saga_steps = [
            SagaStep::ReserveStock {
                sku: sku.clone(),
                reservation_id,
                quantity: Quantity::new(1).unwrap(),
            },
            SagaStep::AuthorizePayment {
                payment_id,
                amount: eur("1.00"),
            },
            SagaStep::ReconcilePayment {
                payment_id,
                deadline: at(0),
            },
            SagaStep::CapturePayment { payment_id },
            SagaStep::MarkOrderPaid {
                order_id: OrderId::new(),
                payment_id,
                amount: eur("1.00"),
            },
            SagaStep::CommitReservation {
                sku: sku.clone(),
                reservation_id,
            },
            SagaStep::MarkCartCheckedOut {
                cart_id,
                checkout_id: checkout_id(),
            },
            SagaStep::ReleaseReservation {
                sku,
                reservation_id,
            },
            SagaStep::VoidPayment { payment_id },
            SagaStep::ReleaseCart {
                cart_id,
                checkout_id: checkout_id(),
            },
        ];
        for saga_step in &saga_steps {
            let name = pending(saga_step).step;
            assert_eq!(step_named(name), Some(name), "{saga_step:?}");
        }
        assert_eq!(step_named("commit_stock:A"), None);
    }
}
