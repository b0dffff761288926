//! The `Checkout` aggregate: the saga's memory of which steps are done.
//!
//! It never calls anything. [`crate::saga::next_steps`] reads it and says what to do next; the
//! runner does it and records the outcome with a `Record*` command. Each row below is one
//! command, each column a status (`-` = not started: `StartCheckout` starts it, everything
//! else is `NotFound`). "no-op" succeeds without events; "NA" is `NotAllowed`. A command
//! naming a SKU that is on no line is `UnknownLine` in every status. `StartCheckout` on a
//! started checkout is a no-op if it says the same (its time aside), else `AlreadyExists`.
//!
//! | command \ status         | Reserving                       | Authorizing                    | PlacingOrder   | Finalizing          | Completed      | Compensating                                           | Failed                                  |
//! |--------------------------|---------------------------------|--------------------------------|----------------|---------------------|----------------|--------------------------------------------------------|-----------------------------------------|
//! | RecordStockReserved      | StockReserved (+ReservationsCompleted when all are) | no-op      | no-op          | no-op               | no-op          | not yet reserved: StockReserved (late; will be released) | no-op (late; the runner releases it) |
//! | RecordStockUnavailable   | StockUnavailable; reserved SKU: NA | NA                          | NA             | NA                  | NA             | no-op                                                  | no-op                                   |
//! | RecordPaymentAuthorized  | NA                              | PaymentAuthorized              | no-op          | no-op               | no-op          | timed out, not voided: PaymentAuthorized; authorized or voided: no-op; else NA | authorized or timed out: no-op; else NA |
//! | RecordPaymentDeclined    | NA                              | PaymentDeclined                | NA             | NA                  | NA             | declined or timed out: no-op; else NA                  | as Compensating                         |
//! | RecordPaymentOutcomeUnknown | NA                           | PaymentOutcomeUnknown; already unknown: no-op | no-op | no-op        | no-op          | payment asked for: no-op; else NA                      | as Compensating                         |
//! | RecordPaymentDeadlinePassed | no-op                        | unknown: PaymentTimedOut; else no-op | no-op    | no-op               | no-op          | no-op                                                  | no-op                                   |
//! | RecordOrderPlaced        | NA                              | NA                             | OrderPlaced    | same order: no-op; else NA | as Finalizing | NA                                               | NA                                      |
//! | RecordOrderRejected      | NA                              | NA                             | OrderRejected  | NA                  | NA             | rejected: no-op; else NA                               | as Compensating                         |
//! | RecordPaymentCaptured, RecordReservationCommitted, RecordCartCheckedOut | NA | NA          | NA             | event once (+CheckoutCompleted when all are) | no-op | NA                                       | NA                                      |
//! | RecordStockReleased      | NA                              | NA                             | NA             | NA                  | NA             | StockReleased once per line (+CheckoutFailed)          | released: no-op; else NA      |
//! | RecordPaymentVoided      | NA                              | NA                             | NA             | NA                  | NA             | hold possible: PaymentVoided once (+CheckoutFailed); else NA | voided: no-op; else NA            |
//! | RecordCartReleased       | NA                              | NA                             | NA             | NA                  | NA             | CartReleased once (+CheckoutFailed)                    | no-op                                   |
//! | RecordPromotionRedeemed  | PromotionRedeemed once          | no-op                          | no-op          | no-op               | no-op          | not yet answered: PromotionRedeemed (late; released); refused: NA | no-op; refused: NA         |
//! | RecordPromotionRefused   | not yet answered: PromotionRefused; redeemed: NA | refused: no-op; else NA | NA | NA              | NA             | refused: no-op; else NA                                | refused: no-op; else NA                 |
//! | RecordRedemptionConfirmed | NA                             | NA                             | NA             | RedemptionConfirmed once (+CheckoutCompleted when all are) | no-op | NA                              | NA                                      |
//! | RecordRedemptionReleased | NA                              | NA                             | NA             | NA                  | NA             | a use may be held: RedemptionReleased (+CheckoutFailed); refused or released: no-op | no-op; confirmed: NA |
//!
//! The three promotion rows apply to a checkout with a code; without one every promotion
//! outcome is NA. With a code, the reserving phase waits for the redemption before any stock
//! is asked for, so a refused code fails the checkout with nothing but the cart to release.
//!
//! Transitions: `ReservationsCompleted` → Authorizing; `PaymentAuthorized` → PlacingOrder (from
//! Authorizing only); `OrderPlaced` → Finalizing; `CheckoutCompleted` → Completed;
//! `StockUnavailable`, `PaymentDeclined`, `PaymentTimedOut`, `OrderRejected` → Compensating,
//! recording the [`FailureReason`]; `CheckoutFailed` → Failed.
//!
//! Why the no-ops: the runner delivers outcomes at least once and may be slower than the
//! checkout (a reservation answered after another line came back unavailable; an authorization
//! answered after its deadline). A late outcome must never fail, or the runner would retry it
//! forever; where it still matters it is recorded (a late reservation is released, a late
//! authorization is voided). An outcome of a step the checkout never asked for, or one that
//! contradicts what is recorded (an order placed for a checkout that is compensating), is a
//! bug somewhere and is refused.
//!
//! A reservation answered only after the checkout failed is a no-op here (a failed checkout is
//! final); the runner releases it as soon as it is recorded, and inventory's reservation
//! expiry is the backstop.
//!
//! After the pivot, `RecordOrderPaid` (only once captured) and `RecordStepRefused` (a
//! participant's refusal for good: `CheckoutNeedsAttention`, status NeedsAttention, nothing
//! more runs) complete the table; the checkout completes once captured, marked paid on the
//! order, committed and checked out.
//!
//! The follow-up events (`ReservationsCompleted`, `CheckoutCompleted`, `CheckoutFailed`) are
//! written by the same command that completes their condition, so no separate command can be
//! lost between them.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{
    CartId, CheckoutId, Currency, CustomerId, EmailAddress, Money, OrderId, PostalAddress, Sku,
};

use crate::commands::CheckoutCommand;
use crate::errors::CheckoutError;
use crate::events::CheckoutEvent;
use crate::values::{
    AppliedPromotion, AppliedShipping, AppliedTax, CheckoutLine, CheckoutStatus, FailureReason,
    PaymentProgress, MAX_LINES,
};

/// What `StartCheckout` fixed for the checkout's whole life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Terms {
    checkout_id: CheckoutId,
    cart_id: CartId,
    customer_id: Option<CustomerId>,
    email: EmailAddress,
    shipping: PostalAddress,
    currency: Currency,
    lines: Vec<CheckoutLine>,
    total: Money,
    started_at: DateTime<Utc>,
    #[serde(default)]
    promotion: Option<AppliedPromotion>,
    #[serde(default)]
    shipping_method: Option<AppliedShipping>,
    #[serde(default)]
    tax: Option<AppliedTax>,
}

/// One checkout: a cart on its way to becoming an order. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkout {
    /// `None` until `CheckoutStarted`.
    terms: Option<Terms>,
    status: Option<CheckoutStatus>,
    reserved: BTreeSet<Sku>,
    payment: PaymentProgress,
    payment_deadline: Option<DateTime<Utc>>,
    order_id: Option<OrderId>,
    payment_captured: bool,
    committed: BTreeSet<Sku>,
    cart_checked_out: bool,
    released: BTreeSet<Sku>,
    payment_voided: bool,
    cart_released: bool,
    failure: Option<FailureReason>,
    #[serde(default)]
    order_paid: bool,
    /// The step refused after the pivot, and why.
    #[serde(default)]
    attention: Option<(String, String)>,
    /// Where the redemption of the checkout's code stands (nothing without a code).
    #[serde(default)]
    redemption: RedemptionProgress,
}

/// Where the redemption of a checkout's promotion code stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionProgress {
    /// Not asked for yet (or the checkout has no code).
    #[default]
    Pending,
    /// The promotion holds a use for the checkout.
    Redeemed,
    /// The promotion refused: nothing is held.
    Refused,
    /// The use is spent (after the pivot).
    Confirmed,
    /// The use, if one was held, is given back.
    Released,
}

impl Checkout {
    pub fn id(&self) -> Option<CheckoutId> {
        self.terms.as_ref().map(|t| t.checkout_id)
    }

    /// `None` if the checkout has not started.
    pub fn status(&self) -> Option<CheckoutStatus> {
        self.status
    }

    pub fn cart_id(&self) -> Option<CartId> {
        self.terms.as_ref().map(|t| t.cart_id)
    }

    /// `None` for guests (and before the start).
    pub fn customer_id(&self) -> Option<CustomerId> {
        self.terms.as_ref().and_then(|t| t.customer_id)
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        self.terms.as_ref().map(|t| &t.email)
    }

    /// Where the order ships: the address the checkout was accepted with.
    pub fn shipping(&self) -> Option<&PostalAddress> {
        self.terms.as_ref().map(|t| &t.shipping)
    }

    pub fn currency(&self) -> Option<Currency> {
        self.terms.as_ref().map(|t| t.currency)
    }

    /// Lines in the order the cart had them; empty before the start.
    pub fn lines(&self) -> &[CheckoutLine] {
        self.terms.as_ref().map_or(&[], |t| t.lines.as_slice())
    }

    pub fn line(&self, sku: &Sku) -> Option<&CheckoutLine> {
        self.lines().iter().find(|line| &line.sku == sku)
    }

    /// What the payment authorizes and captures: the sum of the line totals, less the
    /// promotion's discount, plus the shipping method's price, plus the tax when prices do
    /// not include it.
    pub fn total(&self) -> Option<Money> {
        self.terms.as_ref().map(|t| t.total)
    }

    /// The code the checkout redeems and what it takes off, if it has one.
    pub fn promotion(&self) -> Option<&AppliedPromotion> {
        self.terms.as_ref().and_then(|t| t.promotion.as_ref())
    }

    /// The shipping method the checkout charges, if the cart chose one.
    pub fn shipping_method(&self) -> Option<&AppliedShipping> {
        self.terms.as_ref().and_then(|t| t.shipping_method.as_ref())
    }

    /// The tax the checkout charges, if the shop charges tax.
    pub fn tax(&self) -> Option<&AppliedTax> {
        self.terms.as_ref().and_then(|t| t.tax.as_ref())
    }

    /// The sum of the line totals, before any discount.
    pub fn subtotal(&self) -> Option<Money> {
        let terms = self.terms.as_ref()?;
        let sum = terms
            .lines
            .iter()
            .map(|line| line.line_total().amount())
            .sum();
        Some(Money::new(sum, terms.currency))
    }

    /// Where the redemption of the checkout's code stands.
    pub fn redemption(&self) -> RedemptionProgress {
        self.redemption
    }

    /// Whether the reserving phase still waits for the code: it has one, and the promotion
    /// has not answered yet.
    pub fn awaits_redemption(&self) -> bool {
        self.promotion().is_some() && self.redemption == RedemptionProgress::Pending
    }

    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.terms.as_ref().map(|t| t.started_at)
    }

    /// Whether inventory holds (or held, before release or commit) the line of `sku`.
    pub fn is_reserved(&self, sku: &Sku) -> bool {
        self.reserved.contains(sku)
    }

    pub fn is_committed(&self, sku: &Sku) -> bool {
        self.committed.contains(sku)
    }

    pub fn is_released(&self, sku: &Sku) -> bool {
        self.released.contains(sku)
    }

    /// Whether every line is reserved.
    pub fn all_reserved(&self) -> bool {
        self.lines().iter().all(|line| self.is_reserved(&line.sku))
    }

    pub fn payment(&self) -> PaymentProgress {
        self.payment
    }

    /// Until when the runner waits for an authorization whose outcome is unknown; kept after
    /// the outcome is known.
    pub fn payment_deadline(&self) -> Option<DateTime<Utc>> {
        self.payment_deadline
    }

    /// Whether the provider may hold money for this checkout: authorized, or never answered.
    pub fn payment_may_be_held(&self) -> bool {
        matches!(
            self.payment,
            PaymentProgress::Authorized | PaymentProgress::Unknown | PaymentProgress::TimedOut
        )
    }

    pub fn payment_captured(&self) -> bool {
        self.payment_captured
    }

    /// Whether no hold remains after compensation (voided, or found to be no hold at all).
    pub fn payment_voided(&self) -> bool {
        self.payment_voided
    }

    /// The order, once placed.
    pub fn order_id(&self) -> Option<OrderId> {
        self.order_id
    }

    /// Whether the order recorded the captured payment.
    pub fn order_paid(&self) -> bool {
        self.order_paid
    }

    /// The step a participant refused after the pivot, and why, once it did.
    pub fn attention(&self) -> Option<(&str, &str)> {
        self.attention
            .as_ref()
            .map(|(step, reason)| (step.as_str(), reason.as_str()))
    }

    pub fn cart_checked_out(&self) -> bool {
        self.cart_checked_out
    }

    pub fn cart_released(&self) -> bool {
        self.cart_released
    }

    /// What went wrong, from the moment compensation starts.
    pub fn failure(&self) -> Option<&FailureReason> {
        self.failure.as_ref()
    }

    /// Decides which events `command` produces, without changing anything.
    fn decide(&self, command: CheckoutCommand) -> Result<Vec<CheckoutEvent>, CheckoutError> {
        use CheckoutCommand as C;
        let Some(status) = self.status else {
            return match command {
                C::StartCheckout { .. } => Ok(vec![started(command)?]),
                _ => Err(CheckoutError::NotFound),
            };
        };
        let refused = CheckoutError::NotAllowed {
            status,
            command: command.name(),
        };
        let events = match command {
            C::StartCheckout { .. } => return self.restart(command),
            C::RecordStockReserved { sku } => {
                self.known_line(&sku)?;
                self.stock_reserved(status, &sku)
            }
            C::RecordStockUnavailable { sku } => {
                self.known_line(&sku)?;
                self.stock_unavailable(status, &sku).ok_or(refused)?
            }
            C::RecordPaymentAuthorized => self.payment_authorized(status).ok_or(refused)?,
            C::RecordPaymentDeclined { message } => {
                self.payment_declined(status, message).ok_or(refused)?
            }
            C::RecordPaymentOutcomeUnknown { deadline } => {
                self.outcome_unknown(status, deadline).ok_or(refused)?
            }
            C::RecordPaymentDeadlinePassed => {
                if (status, self.payment) == (CheckoutStatus::Authorizing, PaymentProgress::Unknown)
                {
                    vec![CheckoutEvent::PaymentTimedOut {}]
                } else {
                    vec![]
                }
            }
            C::RecordOrderPlaced { order_id } => {
                self.order_placed(status, order_id).ok_or(refused)?
            }
            C::RecordOrderRejected { reason } => {
                self.order_rejected(status, reason).ok_or(refused)?
            }
            C::RecordPaymentCaptured => self
                .finalizing(
                    status,
                    self.payment_captured,
                    CheckoutEvent::PaymentCaptured {},
                )
                .ok_or(refused)?,
            C::RecordOrderPaid => {
                if matches!(
                    status,
                    CheckoutStatus::Finalizing | CheckoutStatus::NeedsAttention
                ) && !self.payment_captured
                {
                    return Err(refused);
                }
                self.finalizing(status, self.order_paid, CheckoutEvent::OrderMarkedPaid {})
                    .ok_or(refused)?
            }
            C::RecordPromotionRedeemed => self.promotion_redeemed(status).ok_or(refused)?,
            C::RecordPromotionRefused { refusal, message } => self
                .promotion_refused(status, refusal, message)
                .ok_or(refused)?,
            C::RecordRedemptionConfirmed => {
                if self.promotion().is_none() {
                    return Err(refused);
                }
                let done = self.redemption == RedemptionProgress::Confirmed;
                self.finalizing(status, done, CheckoutEvent::RedemptionConfirmed {})
                    .ok_or(refused)?
            }
            C::RecordRedemptionReleased => self.redemption_released(status).ok_or(refused)?,
            C::RecordStepRefused { step, reason } => match status {
                CheckoutStatus::Finalizing => {
                    vec![CheckoutEvent::CheckoutNeedsAttention { step, reason }]
                }
                CheckoutStatus::NeedsAttention => vec![],
                _ => return Err(refused),
            },
            C::RecordReservationCommitted { sku } => {
                self.known_line(&sku)?;
                let done = self.is_committed(&sku);
                let event = CheckoutEvent::ReservationCommitted {
                    sku: sku.as_str().to_owned(),
                };
                self.finalizing(status, done, event).ok_or(refused)?
            }
            C::RecordCartCheckedOut => self
                .finalizing(
                    status,
                    self.cart_checked_out,
                    CheckoutEvent::CartCheckedOut {},
                )
                .ok_or(refused)?,
            C::RecordStockReleased { sku } => {
                self.known_line(&sku)?;
                self.stock_released(status, &sku).ok_or(refused)?
            }
            C::RecordPaymentVoided => self.payment_voided_now(status).ok_or(refused)?,
            C::RecordCartReleased => match status {
                CheckoutStatus::Compensating if !self.cart_released => {
                    vec![CheckoutEvent::CartReleased {}]
                }
                CheckoutStatus::Compensating | CheckoutStatus::Failed => vec![],
                _ => return Err(refused),
            },
        };
        Ok(self.with_follow_up(events))
    }

    /// A repeated `StartCheckout`: a no-op if it says what the first one said.
    fn restart(&self, command: CheckoutCommand) -> Result<Vec<CheckoutEvent>, CheckoutError> {
        match (started(command), &self.terms) {
            (Ok(event), Some(terms)) if terms.same_as(&event) => Ok(vec![]),
            _ => Err(CheckoutError::AlreadyExists),
        }
    }

    fn known_line(&self, sku: &Sku) -> Result<&CheckoutLine, CheckoutError> {
        self.line(sku)
            .ok_or_else(|| CheckoutError::UnknownLine { sku: sku.clone() })
    }

    fn stock_reserved(&self, status: CheckoutStatus, sku: &Sku) -> Vec<CheckoutEvent> {
        use CheckoutStatus::{Compensating, Reserving};
        match status {
            Reserving | Compensating if !self.is_reserved(sku) => {
                vec![CheckoutEvent::StockReserved {
                    sku: sku.as_str().to_owned(),
                }]
            }
            // A repeat; or, once failed, an answer too late for the saga to release.
            _ => vec![],
        }
    }

    fn stock_unavailable(&self, status: CheckoutStatus, sku: &Sku) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Compensating, Failed, Reserving};
        match status {
            Reserving if !self.is_reserved(sku) => Some(vec![CheckoutEvent::StockUnavailable {
                sku: sku.as_str().to_owned(),
            }]),
            // Already failing: the first failure stands.
            Compensating | Failed => Some(vec![]),
            _ => None,
        }
    }

    fn payment_authorized(&self, status: CheckoutStatus) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Authorizing, Compensating, Failed};
        use PaymentProgress::{Authorized, Pending, TimedOut, Unknown};
        match (status, self.payment) {
            (Authorizing, Pending | Unknown) => Some(vec![CheckoutEvent::PaymentAuthorized {}]),
            // Too late to use, not too late to void: record it so the hold is released.
            (Compensating, TimedOut) if !self.payment_voided => {
                Some(vec![CheckoutEvent::PaymentAuthorized {}])
            }
            (_, Authorized) => Some(vec![]),
            // The void already asked the provider and released whatever it held.
            (Compensating | Failed, TimedOut) => Some(vec![]),
            _ => None,
        }
    }

    fn payment_declined(
        &self,
        status: CheckoutStatus,
        message: String,
    ) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Authorizing, Compensating, Failed};
        use PaymentProgress::{Declined, Pending, TimedOut, Unknown};
        match (status, self.payment) {
            (Authorizing, Pending | Unknown) => {
                Some(vec![CheckoutEvent::PaymentDeclined { message }])
            }
            (Compensating | Failed, Declined | TimedOut) => Some(vec![]),
            _ => None,
        }
    }

    fn outcome_unknown(
        &self,
        status: CheckoutStatus,
        deadline: DateTime<Utc>,
    ) -> Option<Vec<CheckoutEvent>> {
        match (status, self.payment) {
            (CheckoutStatus::Authorizing, PaymentProgress::Pending) => {
                Some(vec![CheckoutEvent::PaymentOutcomeUnknown { deadline }])
            }
            (_, PaymentProgress::NotRequested) => None,
            // Already unknown (the first deadline stands, or redelivery would extend it), or the
            // outcome is known by now.
            _ => Some(vec![]),
        }
    }

    fn order_placed(
        &self,
        status: CheckoutStatus,
        order_id: OrderId,
    ) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Completed, Finalizing, PlacingOrder};
        match status {
            PlacingOrder => Some(vec![CheckoutEvent::OrderPlaced { order_id }]),
            Finalizing | Completed if self.order_id == Some(order_id) => Some(vec![]),
            _ => None,
        }
    }

    fn order_rejected(&self, status: CheckoutStatus, reason: String) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Compensating, Failed, PlacingOrder};
        match status {
            PlacingOrder => Some(vec![CheckoutEvent::OrderRejected { reason }]),
            Compensating | Failed
                if matches!(self.failure, Some(FailureReason::OrderRejected { .. })) =>
            {
                Some(vec![])
            }
            _ => None,
        }
    }

    /// A step after the pivot: recorded once while finalizing, a repeat once completed. Once
    /// the checkout needs attention, a step that still went through (it ran beside the one
    /// refused) is recorded all the same: the stream keeps every effect that happened.
    fn finalizing(
        &self,
        status: CheckoutStatus,
        done: bool,
        event: CheckoutEvent,
    ) -> Option<Vec<CheckoutEvent>> {
        match status {
            CheckoutStatus::Finalizing | CheckoutStatus::NeedsAttention if !done => {
                Some(vec![event])
            }
            CheckoutStatus::Finalizing
            | CheckoutStatus::Completed
            | CheckoutStatus::NeedsAttention => Some(vec![]),
            _ => None,
        }
    }

    fn stock_released(&self, status: CheckoutStatus, sku: &Sku) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Compensating, Failed};
        match status {
            Compensating | Failed if self.is_released(sku) => Some(vec![]),
            // Every line is released, not only those recorded as reserved: a reservation made
            // just before a crash, or whose answer was lost, exists without being recorded.
            Compensating => Some(vec![CheckoutEvent::StockReleased {
                sku: sku.as_str().to_owned(),
            }]),
            _ => None,
        }
    }

    fn promotion_redeemed(&self, status: CheckoutStatus) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Compensating, Failed, Reserving};
        use RedemptionProgress::Pending;
        self.promotion()?;
        match (status, self.redemption) {
            // Late, once compensating: recorded all the same; the release gives it back.
            (Reserving | Compensating, Pending) => Some(vec![CheckoutEvent::PromotionRedeemed {}]),
            (Reserving | Compensating | Failed, RedemptionProgress::Refused) => None,
            // A repeat, or an answer after the checkout moved on.
            _ => Some(vec![]),
        }
    }

    fn promotion_refused(
        &self,
        status: CheckoutStatus,
        refusal: String,
        message: String,
    ) -> Option<Vec<CheckoutEvent>> {
        use RedemptionProgress::{Pending, Refused};
        self.promotion()?;
        match (status, self.redemption) {
            (CheckoutStatus::Reserving, Pending) => {
                Some(vec![CheckoutEvent::PromotionRefused { refusal, message }])
            }
            (_, Refused) => Some(vec![]),
            _ => None,
        }
    }

    fn redemption_released(&self, status: CheckoutStatus) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Compensating, Failed};
        use RedemptionProgress::{Confirmed, Refused, Released};
        self.promotion()?;
        match (status, self.redemption) {
            (Compensating | Failed, Released | Refused) => Some(vec![]),
            (_, Confirmed) => None,
            (Compensating, _) => Some(vec![CheckoutEvent::RedemptionReleased {}]),
            _ => None,
        }
    }

    fn payment_voided_now(&self, status: CheckoutStatus) -> Option<Vec<CheckoutEvent>> {
        use CheckoutStatus::{Compensating, Failed};
        match status {
            Compensating | Failed if self.payment_voided => Some(vec![]),
            Compensating if self.payment_may_be_held() => {
                Some(vec![CheckoutEvent::PaymentVoided {}])
            }
            _ => None,
        }
    }

    /// `events`, plus the event that closes a phase if they complete it.
    fn with_follow_up(&self, mut events: Vec<CheckoutEvent>) -> Vec<CheckoutEvent> {
        if events.is_empty() {
            return events;
        }
        let mut next = self.clone();
        for event in &events {
            next.apply(event.clone());
        }
        if let Some(follow_up) = next.phase_end() {
            events.push(follow_up);
        }
        events
    }

    /// The event that ends the current phase, if everything it waits for is done.
    fn phase_end(&self) -> Option<CheckoutEvent> {
        match self.status? {
            CheckoutStatus::Reserving if self.all_reserved() && !self.awaits_redemption() => {
                Some(CheckoutEvent::ReservationsCompleted {})
            }
            CheckoutStatus::Finalizing
                if self.payment_captured
                    && self.order_paid
                    && self.cart_checked_out
                    && (self.promotion().is_none()
                        || self.redemption == RedemptionProgress::Confirmed)
                    && self.lines().iter().all(|line| self.is_committed(&line.sku)) =>
            {
                Some(CheckoutEvent::CheckoutCompleted {
                    order_id: self.order_id?,
                })
            }
            CheckoutStatus::Compensating
                if self.cart_released
                    && !self.holds_redemption()
                    && (self.payment_voided || !self.payment_may_be_held())
                    && (!self.stock_requested()
                        || self.lines().iter().all(|line| self.is_released(&line.sku))) =>
            {
                Some(CheckoutEvent::CheckoutFailed {
                    reason: self.failure.clone()?,
                })
            }
            _ => None,
        }
    }

    /// Whether any stock may have been asked for: not when the code was refused, since the
    /// saga reserves only once the code is redeemed.
    pub fn stock_requested(&self) -> bool {
        !(self.promotion().is_some() && self.redemption == RedemptionProgress::Refused)
    }

    /// Whether the promotion may hold a use that compensation must give back.
    pub fn holds_redemption(&self) -> bool {
        use RedemptionProgress::{Pending, Redeemed};
        self.promotion().is_some() && matches!(self.redemption, Pending | Redeemed)
    }

    /// Enters compensation for `reason`.
    fn fail(&mut self, reason: FailureReason) {
        self.status = Some(CheckoutStatus::Compensating);
        self.failure = Some(reason);
    }
}

impl Terms {
    /// Whether a `CheckoutStarted` for the same checkout says the same thing. The start time
    /// is left out: a retried request is stamped anew.
    fn same_as(&self, event: &CheckoutEvent) -> bool {
        let CheckoutEvent::CheckoutStarted {
            checkout_id,
            cart_id,
            customer_id,
            email,
            shipping,
            currency,
            lines,
            total,
            started_at: _,
            promotion,
            shipping_method,
            tax,
        } = event
        else {
            return false;
        };
        self.checkout_id == *checkout_id
            && self.cart_id == *cart_id
            && self.customer_id == *customer_id
            && self.email.as_str() == email
            && self.shipping.data() == shipping
            && self.currency == *currency
            && self
                .lines
                .iter()
                .map(CheckoutLine::data)
                .eq(lines.iter().cloned())
            && self.total == *total
            && self.promotion == *promotion
            && self.shipping_method == *shipping_method
            && self.tax == *tax
    }
}

/// The `CheckoutStarted` a `StartCheckout` produces, or the first reason it cannot.
fn started(command: CheckoutCommand) -> Result<CheckoutEvent, CheckoutError> {
    let CheckoutCommand::StartCheckout {
        checkout_id,
        cart_id,
        customer_id,
        email,
        shipping,
        currency,
        lines,
        started_at,
        promotion,
        shipping_method,
        tax,
    } = command
    else {
        return Err(CheckoutError::NotFound);
    };
    let lines = checked_lines(lines, currency)?;
    let subtotal = subtotal(&lines, currency)?;
    let discount = match &promotion {
        Some(promotion) => checked_promotion(promotion, &lines, currency)?,
        None => Money::zero(currency),
    };
    let shipping_price = match &shipping_method {
        Some(method) => checked_shipping(method, currency)?,
        None => Money::zero(currency),
    };
    // A free-shipping code takes the shipping price off, never more.
    let shipping_discount = match promotion.as_ref().and_then(|p| p.shipping_discount) {
        Some(off) => {
            if off.currency() != currency
                || off.is_negative()
                || !off.has_at_most_minor_unit_precision()
                || off.amount() > shipping_price.amount()
            {
                return Err(CheckoutError::InvalidPromotion {
                    reason: format!(
                        "{off} off shipping does not fit a shipping price of {shipping_price}"
                    ),
                });
            }
            off
        }
        None => Money::zero(currency),
    };
    let total = subtotal
        .checked_sub(&discount)
        .map_err(|error| CheckoutError::InvalidPromotion {
            reason: error.to_string(),
        })?
        .checked_add(&shipping_price)
        .and_then(|total| total.checked_sub(&shipping_discount))
        .map_err(|error| CheckoutError::InvalidShipping {
            reason: error.to_string(),
        })?
        .round_to_minor_units();
    let total = match &tax {
        Some(tax) => {
            let shipping_charge = Money::new(
                shipping_price.amount() - shipping_discount.amount(),
                currency,
            );
            let tax_total = checked_tax(tax, &lines, promotion.as_ref(), shipping_charge)?;
            if tax.prices_include_tax {
                total
            } else {
                total
                    .checked_add(&tax_total)
                    .map_err(|error| CheckoutError::InvalidTax {
                        reason: error.to_string(),
                    })?
            }
        }
        None => total,
    };
    if total.is_zero() || total.is_negative() {
        return Err(CheckoutError::NothingToPay);
    }
    Ok(CheckoutEvent::CheckoutStarted {
        checkout_id,
        cart_id,
        customer_id,
        email: email.into(),
        shipping: shipping.into(),
        currency,
        lines: lines.iter().map(CheckoutLine::data).collect(),
        total,
        started_at,
        promotion,
        shipping_method,
        tax,
    })
}

/// The shipping method's price, once it is found to fit: a named option, in the checkout's
/// currency, in whole minor units, not negative (zero ships free).
fn checked_shipping(method: &AppliedShipping, currency: Currency) -> Result<Money, CheckoutError> {
    let invalid = |reason: String| CheckoutError::InvalidShipping { reason };
    if method.name.trim().is_empty() {
        return Err(invalid("the shipping method has no name".to_owned()));
    }
    let price = method.price;
    if price.currency() != currency {
        return Err(invalid(format!("{price} is not in {currency}")));
    }
    if price.is_negative() || !price.has_at_most_minor_unit_precision() {
        return Err(invalid(format!(
            "{price} is not a price in whole minor units"
        )));
    }
    Ok(price)
}

/// The tax's total, once its parts are found to fit: one part per line, each in whole minor
/// units of the checkout's currency, not negative, and (when prices include tax) not more
/// than what the line or the shipping charge comes to; the parts sum to the total. The tax is
/// computed by the tax context; a part that does not fit is a bug there, refused here before
/// anything is held or charged.
fn checked_tax(
    tax: &AppliedTax,
    lines: &[CheckoutLine],
    promotion: Option<&AppliedPromotion>,
    shipping_charge: Money,
) -> Result<Money, CheckoutError> {
    let invalid = |reason: String| CheckoutError::InvalidTax { reason };
    let currency = shipping_charge.currency();
    if tax.lines.len() != lines.len() {
        return Err(invalid(format!(
            "{} taxed lines for {} lines",
            tax.lines.len(),
            lines.len()
        )));
    }
    let charged = lines.iter().enumerate().map(|(index, line)| {
        let discount = promotion
            .and_then(|promotion| promotion.line_discounts.get(index))
            .map_or(rust_decimal::Decimal::ZERO, Money::amount);
        (line.sku.as_str(), line.line_total().amount() - discount)
    });
    let parts = tax
        .lines
        .iter()
        .zip(charged)
        .chain([(&tax.shipping, ("shipping", shipping_charge.amount()))]);
    let mut sum = Money::zero(currency);
    for (part, (what, charged)) in parts {
        let amount = part.amount;
        if amount.currency() != currency
            || amount.is_negative()
            || !amount.has_at_most_minor_unit_precision()
            || part.rate.is_sign_negative()
            || (tax.prices_include_tax && amount.amount() > charged)
        {
            return Err(invalid(format!("{amount} does not fit {what}")));
        }
        sum = sum
            .checked_add(&amount)
            .map_err(|error| invalid(error.to_string()))?;
    }
    if sum != tax.total {
        return Err(invalid(format!(
            "the parts sum to {sum}, the total is {}",
            tax.total
        )));
    }
    Ok(sum)
}

/// The promotion's whole discount, once its shares are found to fit the lines: one share per
/// line, in whole minor units of the checkout's currency, none negative or above its line's
/// total, summing to the discount. The shares are computed by the coupons context; a share
/// that does not fit is a bug there, refused here before anything is held or charged.
fn checked_promotion(
    promotion: &AppliedPromotion,
    lines: &[CheckoutLine],
    currency: Currency,
) -> Result<Money, CheckoutError> {
    let invalid = |reason: String| CheckoutError::InvalidPromotion { reason };
    if promotion.code.trim().is_empty() {
        return Err(invalid("the code is empty".to_owned()));
    }
    if promotion.line_discounts.len() != lines.len() {
        return Err(invalid(format!(
            "{} shares for {} lines",
            promotion.line_discounts.len(),
            lines.len()
        )));
    }
    let mut sum = Money::zero(currency);
    for (share, line) in promotion.line_discounts.iter().zip(lines) {
        if share.currency() != currency
            || share.is_negative()
            || !share.has_at_most_minor_unit_precision()
            || share.amount() > line.line_total().amount()
        {
            return Err(invalid(format!(
                "{share} does not fit the line of {}",
                line.sku
            )));
        }
        sum = sum
            .checked_add(share)
            .map_err(|error| invalid(error.to_string()))?;
    }
    if sum != promotion.discount {
        return Err(invalid(format!(
            "the shares sum to {sum}, the discount is {}",
            promotion.discount
        )));
    }
    Ok(sum)
}

/// The lines with their prices in minor units, or why they cannot be checked out.
fn checked_lines(
    lines: Vec<CheckoutLine>,
    currency: Currency,
) -> Result<Vec<CheckoutLine>, CheckoutError> {
    if lines.is_empty() {
        return Err(CheckoutError::NoLines);
    }
    if lines.len() > MAX_LINES {
        return Err(CheckoutError::TooManyLines {
            max: MAX_LINES,
            requested: lines.len(),
        });
    }
    let mut seen = BTreeSet::new();
    lines
        .into_iter()
        .map(|mut line| {
            // One reservation per SKU and checkout: two lines of one SKU would share its id.
            if !seen.insert(line.sku.clone()) {
                return Err(CheckoutError::DuplicateLine { sku: line.sku });
            }
            let price = line.unit_price;
            if price.currency() != currency {
                return Err(CheckoutError::CurrencyMismatch {
                    sku: line.sku,
                    checkout: currency,
                    price: price.currency(),
                });
            }
            line.unit_price = Money::price(price.amount(), currency).map_err(|reason| {
                CheckoutError::InvalidPrice {
                    sku: line.sku.clone(),
                    reason,
                }
            })?;
            Ok(line)
        })
        .collect()
}

fn subtotal(lines: &[CheckoutLine], currency: Currency) -> Result<Money, CheckoutError> {
    let sum = lines.iter().try_fold(Money::zero(currency), |sum, line| {
        line.unit_price
            .checked_times(line.quantity)
            .and_then(|line_total| sum.checked_add(&line_total))
            .map_err(|reason| CheckoutError::InvalidPrice {
                sku: line.sku.clone(),
                reason,
            })
    })?;
    Ok(sum.round_to_minor_units())
}

impl Aggregate for Checkout {
    const TYPE: &'static str = "checkout";
    type Command = CheckoutCommand;
    type Event = CheckoutEvent;
    type Error = CheckoutError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CheckoutEvent::CheckoutStarted {
                checkout_id,
                cart_id,
                customer_id,
                email,
                shipping,
                currency,
                lines,
                total,
                started_at,
                promotion,
                shipping_method,
                tax,
            } => {
                self.terms = Some(Terms {
                    checkout_id,
                    cart_id,
                    customer_id,
                    email: EmailAddress::recorded(email),
                    shipping: PostalAddress::recorded(shipping),
                    currency,
                    lines: lines.into_iter().map(CheckoutLine::recorded).collect(),
                    total,
                    started_at,
                    promotion,
                    shipping_method,
                    tax,
                });
                self.status = Some(CheckoutStatus::Reserving);
            }
            CheckoutEvent::StockReserved { sku } => {
                self.reserved.insert(Sku::recorded(sku));
            }
            CheckoutEvent::ReservationsCompleted {} => {
                self.status = Some(CheckoutStatus::Authorizing);
                self.payment = PaymentProgress::Pending;
            }
            CheckoutEvent::StockUnavailable { sku } => {
                let title = self
                    .line(&Sku::recorded(sku.clone()))
                    .map_or_else(|| sku.clone(), |line| line.title.clone());
                self.fail(FailureReason::OutOfStock { sku, title });
            }
            CheckoutEvent::PaymentAuthorized {} => {
                self.payment = PaymentProgress::Authorized;
                if self.status == Some(CheckoutStatus::Authorizing) {
                    self.status = Some(CheckoutStatus::PlacingOrder);
                }
            }
            CheckoutEvent::PaymentDeclined { message } => {
                self.payment = PaymentProgress::Declined;
                self.fail(FailureReason::PaymentDeclined { message });
            }
            CheckoutEvent::PaymentOutcomeUnknown { deadline } => {
                self.payment = PaymentProgress::Unknown;
                self.payment_deadline = Some(deadline);
            }
            CheckoutEvent::PaymentTimedOut {} => {
                self.payment = PaymentProgress::TimedOut;
                self.fail(FailureReason::PaymentTimedOut);
            }
            CheckoutEvent::OrderPlaced { order_id } => {
                self.order_id = Some(order_id);
                self.status = Some(CheckoutStatus::Finalizing);
            }
            CheckoutEvent::OrderRejected { reason } => {
                self.fail(FailureReason::OrderRejected { reason });
            }
            CheckoutEvent::PaymentCaptured {} => self.payment_captured = true,
            CheckoutEvent::OrderMarkedPaid {} => self.order_paid = true,
            CheckoutEvent::CheckoutNeedsAttention { step, reason } => {
                self.status = Some(CheckoutStatus::NeedsAttention);
                self.attention = Some((step, reason));
            }
            CheckoutEvent::ReservationCommitted { sku } => {
                self.committed.insert(Sku::recorded(sku));
            }
            CheckoutEvent::CartCheckedOut {} => self.cart_checked_out = true,
            CheckoutEvent::CheckoutCompleted { order_id } => {
                self.order_id = Some(order_id);
                self.status = Some(CheckoutStatus::Completed);
            }
            CheckoutEvent::StockReleased { sku } => {
                self.released.insert(Sku::recorded(sku));
            }
            CheckoutEvent::PaymentVoided {} => self.payment_voided = true,
            CheckoutEvent::CartReleased {} => self.cart_released = true,
            CheckoutEvent::CheckoutFailed { reason } => {
                self.status = Some(CheckoutStatus::Failed);
                self.failure = Some(reason);
            }
            CheckoutEvent::PromotionRedeemed {} => self.redemption = RedemptionProgress::Redeemed,
            CheckoutEvent::PromotionRefused { refusal, message } => {
                self.redemption = RedemptionProgress::Refused;
                let promotion_code = self
                    .promotion()
                    .map(|promotion| promotion.code.clone())
                    .unwrap_or_default();
                self.fail(FailureReason::PromotionRefused {
                    promotion_code,
                    refusal,
                    message,
                });
            }
            CheckoutEvent::RedemptionConfirmed {} => {
                self.redemption = RedemptionProgress::Confirmed;
            }
            CheckoutEvent::RedemptionReleased {} => {
                self.redemption = RedemptionProgress::Released;
            }
        }
    }
}

#[cfg(test)]
mod tests;
