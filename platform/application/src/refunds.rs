//! The refund saga's definition for the saga runner ([`crate::saga`]), and the use case that
//! requests a refund.
//!
//! A refund is requested on its order (ADR 0018), which sets the amount and units aside or
//! refuses; the `OrderRefundRequested` event then starts the saga, from the feed or at once
//! from the request that caused it. Each step of `refunds::saga` is performed here on the
//! payments, inventory and orders contexts, with ids derived from the refund, so a repeat is a
//! no-op for every participant.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inventory::{StockCommand, StockItem};
use orders::{
    Order, OrderCommand, OrderError, OrderEvent, RefundItems, RefundOrigin, ShippingRefund,
};
use payments::{Payment, PaymentCommand, PaymentError};
use refunds::{
    after_payment_trouble, next_steps, AfterTrouble, PaymentTrouble, Refund, RefundCommand,
    RefundStatus, RestockLine, Return, ReturnCommand, ReturnError, ReturnId, ReturnLine,
    ReturnStep, SagaStep,
};
use runtime::causation::{self, Cause};
use runtime::{CommandError, CommandExecutor, CommandMetadata, FeedEvent};
use shared_kernel::{Clock, OrderId, Quantity, RefundId, Sku};

use crate::saga::{Performed, SagaDefinition, SagaRunner, StepFailure};

/// The refund saga's runner.
pub type RefundSagaRunner = SagaRunner<RefundSaga>;

/// The refund saga, for the runner: the contexts it works on.
pub struct RefundSaga {
    pub refunds: Arc<dyn CommandExecutor<Refund>>,
    /// A return's refund restocks only the units its return found resellable.
    pub returns: Arc<dyn CommandExecutor<Return>>,
    pub orders: Arc<dyn CommandExecutor<Order>>,
    pub payments: Arc<dyn CommandExecutor<Payment>>,
    pub inventory: Arc<dyn CommandExecutor<StockItem>>,
    pub clock: Arc<dyn Clock>,
}

fn metadata() -> CommandMetadata {
    CommandMetadata::new("refund-saga")
}

/// Records `command`, its boundaries named after it (`before:RecordRestocked`, ...): the
/// outcomes the saga's list names, which the crash tests kill the process at.
fn record(command: RefundCommand) -> Performed<RefundCommand> {
    Performed::Record {
        boundary: command.name(),
        command,
    }
}

fn unavailable(error: impl std::fmt::Display) -> StepFailure {
    StepFailure(error.to_string())
}

fn origin(origin: RefundOrigin) -> refunds::RefundOrigin {
    match origin {
        RefundOrigin::Admin => refunds::RefundOrigin::Admin,
        RefundOrigin::Return => refunds::RefundOrigin::Return,
        RefundOrigin::Cancellation => refunds::RefundOrigin::Cancellation,
    }
}

impl RefundSaga {
    /// Starts refund `refund_id` of order `order_id` from what the order set aside for it.
    /// `None` when the order has no such refund (nothing to start). Repeating it is harmless.
    pub async fn start(
        &self,
        order_id: OrderId,
        refund_id: RefundId,
    ) -> Result<Option<RefundId>, StepFailure> {
        let loaded = self
            .orders
            .load(&order_id.to_string())
            .await
            .map_err(unavailable)?;
        let order = loaded.aggregate;
        let (Some(refund), Some(payment_id)) = (order.refund(refund_id), order.payment_id()) else {
            tracing::error!(order = %order_id, refund = %refund_id, "no such refund to start");
            return Ok(None);
        };
        let restock = if !refund.restock() {
            Vec::new()
        } else if refund.origin() == RefundOrigin::Return {
            // A return refunds every unit that arrived but restocks only the resellable ones;
            // its refund has the return's id.
            let ret = self
                .returns
                .load(&refund_id.to_string())
                .await
                .map_err(unavailable)?;
            ret.aggregate
                .received()
                .iter()
                .filter_map(|line| {
                    Some(RestockLine {
                        sku: Sku::parse(&line.sku).ok()?,
                        quantity: Quantity::new(line.resellable).ok()?,
                    })
                })
                .collect()
        } else {
            refund
                .lines()
                .iter()
                .filter_map(|line| {
                    Some(RestockLine {
                        sku: line.sku().clone(),
                        quantity: Quantity::new(line.quantity()).ok()?,
                    })
                })
                .collect()
        };
        let command = RefundCommand::StartRefund {
            refund_id,
            order_id,
            payment_id,
            amount: refund.amount(),
            restock,
            origin: origin(refund.origin()),
            started_at: self.clock.now(),
        };
        match self
            .refunds
            .execute(&refund_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(Some(refund_id)),
            Err(CommandError::Rejected(error)) => {
                // The order's record of the refund is the only source, so a different start
                // under the same id cannot happen; say so loudly rather than guess.
                tracing::error!(refund = %refund_id, %error, "refund could not start");
                Ok(None)
            }
            Err(other) => Err(unavailable(other)),
        }
    }

    async fn refund_payment(
        &self,
        refund: &Refund,
        payment_id: shared_kernel::PaymentId,
        refund_id: RefundId,
        amount: shared_kernel::Money,
    ) -> Result<Performed<RefundCommand>, StepFailure> {
        let command = PaymentCommand::RefundPayment { refund_id, amount };
        let error = match self
            .payments
            .execute(&payment_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => return Ok(record(RefundCommand::RecordPaymentRefunded)),
            Err(CommandError::Rejected(error)) => error,
            Err(other) => return Err(unavailable(other)),
        };
        let trouble = match &error {
            PaymentError::GatewayOutcomeUnknown(_) => PaymentTrouble::OutcomeUnknown,
            PaymentError::GatewayUnavailable(_) | PaymentError::TokensUnavailable(_) => {
                PaymentTrouble::Unavailable
            }
            _ => PaymentTrouble::Refused,
        };
        let started_at = refund.started_at().unwrap_or_else(|| self.clock.now());
        match after_payment_trouble(trouble, started_at, self.clock.now()) {
            // Asked again under the same key, which is how the provider is asked what it
            // did: an unknown outcome is never guessed.
            AfterTrouble::AskAgain => Err(unavailable(error)),
            AfterTrouble::GiveUp => Ok(record(RefundCommand::RecordPaymentRefundRefused {
                reason: error.to_string(),
            })),
        }
    }

    async fn restock(
        &self,
        sku: Sku,
        return_id: uuid::Uuid,
        quantity: Quantity,
    ) -> Result<Performed<RefundCommand>, StepFailure> {
        let command = StockCommand::ReturnStock {
            sku: sku.clone(),
            return_id,
            quantity,
        };
        match self
            .inventory
            .execute(&StockItem::aggregate_id(&sku), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(record(RefundCommand::RecordRestocked { sku })),
            Err(CommandError::Rejected(error)) => {
                // After the money went back the refund only moves forward: a refusal here
                // needs staff (the stock limit, say), and is retried until it passes.
                tracing::error!(%sku, %error, "restock refused; retried");
                Err(unavailable(error))
            }
            Err(other) => Err(unavailable(other)),
        }
    }

    async fn on_order(
        &self,
        order_id: OrderId,
        command: OrderCommand,
        recorded: RefundCommand,
    ) -> Result<Performed<RefundCommand>, StepFailure> {
        match self
            .orders
            .execute(&order_id.to_string(), command, None, &metadata())
            .await
        {
            Ok(_) => Ok(record(recorded)),
            Err(CommandError::Rejected(error)) => {
                tracing::error!(order = %order_id, %error, "the order refused to settle a refund");
                Err(unavailable(error))
            }
            Err(other) => Err(unavailable(other)),
        }
    }
}

#[async_trait]
impl SagaDefinition for RefundSaga {
    type Aggregate = Refund;
    type Id = RefundId;
    type Step = SagaStep;

    const NAME: &'static str = "refund";

    fn parse_id(text: &str) -> Option<RefundId> {
        RefundId::parse(text).ok()
    }

    fn stripe(id: RefundId) -> u128 {
        id.as_uuid().as_u128()
    }

    fn next_steps(refund: &Refund) -> Vec<SagaStep> {
        next_steps(refund)
    }

    fn step_name(step: &SagaStep) -> &'static str {
        match step {
            SagaStep::RefundPayment { .. } => "refund_payment",
            SagaStep::Restock { .. } => "restock",
            SagaStep::RecordOnOrder { .. } => "record_on_order",
            SagaStep::ReleaseOnOrder { .. } => "release_on_order",
        }
    }

    async fn perform(
        &self,
        _id: RefundId,
        refund: &Refund,
        step: SagaStep,
    ) -> Result<Performed<RefundCommand>, StepFailure> {
        match step {
            SagaStep::RefundPayment {
                payment_id,
                refund_id,
                amount,
            } => {
                self.refund_payment(refund, payment_id, refund_id, amount)
                    .await
            }
            SagaStep::Restock {
                sku,
                restock_id,
                quantity,
            } => self.restock(sku, restock_id, quantity).await,
            SagaStep::RecordOnOrder {
                order_id,
                refund_id,
            } => {
                self.on_order(
                    order_id,
                    OrderCommand::RecordRefund { refund_id },
                    RefundCommand::RecordOrderRefunded,
                )
                .await
            }
            SagaStep::ReleaseOnOrder {
                order_id,
                refund_id,
                reason,
            } => {
                self.on_order(
                    order_id,
                    OrderCommand::ReleaseRefund { refund_id, reason },
                    RefundCommand::RecordOrderReleased,
                )
                .await
            }
        }
    }

    async fn started_by(&self, event: &FeedEvent) -> Result<Option<RefundId>, StepFailure> {
        let Some(decoded) = event.decode::<Order>() else {
            return Ok(None);
        };
        let Ok(OrderEvent::OrderRefundRequested { refund_id, .. }) = decoded else {
            return Ok(None);
        };
        let Ok(order_id) = OrderId::parse(&event.aggregate_id) else {
            return Ok(None);
        };
        // The refund continues the flow of the request that asked for it.
        let metadata = event.metadata();
        let cause = Cause {
            correlation_id: metadata.correlation_id.unwrap_or(event.event_id),
            causation_id: event.event_id,
        };
        causation::within(cause, self.start(order_id, refund_id)).await
    }
}

/// Why a refund request was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RequestRefundError {
    #[error(transparent)]
    Refused(#[from] OrderError),
    #[error("order store: {0}")]
    Store(String),
}

/// What staff ask a refund to give back.
#[derive(Debug, Clone)]
pub struct AdminRefund {
    /// Units of lines (possibly none, for shipping alone), or an amount.
    pub items: RefundItems,
    /// The shipping given back beside the lines; none unless asked.
    pub shipping: ShippingRefund,
    /// Whether the units given back go back into stock.
    pub restock: bool,
    pub reason: String,
}

/// Requests `refund` of order `order_id` under `refund_id`: the order sets it aside or
/// refuses (over-refund, unknown lines, an unpaid order...). The saga does the rest.
pub async fn request_refund(
    orders: &dyn CommandExecutor<Order>,
    order_id: OrderId,
    refund_id: RefundId,
    refund: AdminRefund,
    metadata: &CommandMetadata,
) -> Result<(), RequestRefundError> {
    let command = OrderCommand::RequestRefund {
        refund_id,
        items: refund.items,
        shipping: refund.shipping,
        restock: refund.restock,
        reason: refund.reason,
        origin: RefundOrigin::Admin,
    };
    match orders
        .execute(&order_id.to_string(), command, None, metadata)
        .await
    {
        Ok(_) => Ok(()),
        Err(CommandError::Rejected(error)) => Err(RequestRefundError::Refused(error)),
        Err(other) => Err(RequestRefundError::Store(other.to_string())),
    }
}

/// The return saga's runner.
pub type ReturnSagaRunner = SagaRunner<ReturnSaga>;

/// The return saga, for the runner: after receipt it asks the order for the refund, then
/// records how the refund ended (`refunds::RETURN_STEPS`).
pub struct ReturnSaga {
    pub returns: Arc<dyn CommandExecutor<Return>>,
    pub orders: Arc<dyn CommandExecutor<Order>>,
    pub refunds: Arc<dyn CommandExecutor<Refund>>,
}

/// Records a return's `command`, its boundaries named after it.
fn record_return(command: ReturnCommand) -> Performed<ReturnCommand> {
    Performed::Record {
        boundary: command.name(),
        command,
    }
}

#[async_trait]
impl SagaDefinition for ReturnSaga {
    type Aggregate = Return;
    type Id = ReturnId;
    type Step = ReturnStep;

    const NAME: &'static str = "return";

    fn parse_id(text: &str) -> Option<ReturnId> {
        ReturnId::parse(text)
    }

    fn stripe(id: ReturnId) -> u128 {
        id.as_uuid().as_u128()
    }

    fn next_steps(ret: &Return) -> Vec<ReturnStep> {
        refunds::returns::next_steps(ret)
    }

    fn step_name(step: &ReturnStep) -> &'static str {
        match step {
            ReturnStep::RequestRefund { .. } => "request_refund",
            ReturnStep::AwaitRefund { .. } => "await_refund",
        }
    }

    async fn perform(
        &self,
        _id: ReturnId,
        _ret: &Return,
        step: ReturnStep,
    ) -> Result<Performed<ReturnCommand>, StepFailure> {
        match step {
            ReturnStep::RequestRefund {
                order_id,
                refund_id,
                lines,
                restock,
                reason,
            } => {
                let items = RefundItems::Lines(
                    lines
                        .into_iter()
                        .map(|line| orders::RefundLineRequest {
                            sku: line.sku,
                            quantity: line.quantity,
                        })
                        .collect(),
                );
                let command = OrderCommand::RequestRefund {
                    refund_id,
                    items,
                    // A return gives back what arrived, never the shipping; staff refund that
                    // on its own when they choose to.
                    shipping: ShippingRefund::None,
                    restock,
                    reason,
                    origin: RefundOrigin::Return,
                };
                match self
                    .orders
                    .execute(&order_id.to_string(), command, None, &metadata())
                    .await
                {
                    Ok(_) => Ok(record_return(ReturnCommand::RecordRefundRequested)),
                    Err(CommandError::Rejected(error)) => {
                        Ok(record_return(ReturnCommand::RecordRefundRefused {
                            reason: format!("{}: {error}", error.code()),
                        }))
                    }
                    Err(other) => Err(unavailable(other)),
                }
            }
            ReturnStep::AwaitRefund { refund_id } => {
                let refund = self
                    .refunds
                    .load(&refund_id.to_string())
                    .await
                    .map_err(unavailable)?;
                Ok(match refund.aggregate.status() {
                    Some(RefundStatus::Completed) => record_return(ReturnCommand::RecordRefunded),
                    Some(RefundStatus::Failed) => {
                        record_return(ReturnCommand::RecordRefundFailed {
                            reason: refund
                                .aggregate
                                .failure_reason()
                                .unwrap_or("the refund failed")
                                .to_owned(),
                        })
                    }
                    // Still running: its end brings the return back (`started_by`).
                    _ => Performed::Wait,
                })
            }
        }
    }

    /// Receipts start the refund; a refund's end brings its return back.
    async fn started_by(&self, event: &FeedEvent) -> Result<Option<ReturnId>, StepFailure> {
        let returned = event.aggregate_type == <Return as cqrs_es::Aggregate>::TYPE
            && event.event_type == "ReturnReceived";
        let refund_ended = event.aggregate_type == <Refund as cqrs_es::Aggregate>::TYPE
            && matches!(
                event.event_type.as_str(),
                "RefundCompleted" | "RefundFailed"
            );
        if !(returned || refund_ended) {
            return Ok(None);
        }
        Ok(ReturnId::parse(&event.aggregate_id))
    }
}

/// Why a return request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReturnRequestError {
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Return(#[from] ReturnError),
    #[error("store: {0}")]
    Store(String),
}

/// A shopper's return request.
#[derive(Debug, Clone)]
pub struct NewReturn {
    pub order_id: OrderId,
    pub return_id: ReturnId,
    pub lines: Vec<ReturnLine>,
    pub reason: String,
    pub now: DateTime<Utc>,
}

/// Opens a return of some lines of an order: the order must be paid and not cancelled, and
/// hold the units (not yet refunded). The refund on receipt decides for good.
pub async fn request_return(
    orders: &dyn CommandExecutor<Order>,
    returns: &dyn CommandExecutor<Return>,
    request: NewReturn,
    metadata: &CommandMetadata,
) -> Result<Return, ReturnRequestError> {
    let NewReturn {
        order_id,
        return_id,
        lines,
        reason,
        now,
    } = request;
    let order = orders
        .load(&order_id.to_string())
        .await
        .map_err(|e| ReturnRequestError::Store(e.to_string()))?
        .aggregate;
    match order.status() {
        None => return Err(OrderError::NotFound.into()),
        Some(orders::OrderStatus::Placed) => return Err(OrderError::NotPaid.into()),
        Some(status @ orders::OrderStatus::Cancelled) => {
            return Err(OrderError::NotAllowed {
                status,
                command: "RequestReturn",
            }
            .into())
        }
        _ => {}
    }
    for line in &lines {
        let Some(bought) = order.lines().iter().find(|l| *l.sku() == line.sku) else {
            return Err(OrderError::UnknownLine {
                sku: line.sku.clone(),
            }
            .into());
        };
        let refunded: u32 = order
            .refunds()
            .iter()
            .filter(|r| r.state() != orders::OrderRefundState::Released)
            .flat_map(|r| r.lines())
            .filter(|l| l.sku() == &line.sku)
            .map(|l| l.quantity())
            .sum();
        let left = bought.quantity().get().saturating_sub(refunded);
        if line.quantity.get() > left {
            return Err(OrderError::TooManyUnits {
                sku: line.sku.clone(),
                requested: line.quantity.get(),
                refundable: left,
            }
            .into());
        }
    }
    let command = ReturnCommand::RequestReturn {
        return_id,
        order_id,
        lines,
        reason,
        requested_at: now,
    };
    match returns
        .execute(&return_id.to_string(), command, None, metadata)
        .await
    {
        Ok(executed) => Ok(executed.state),
        Err(CommandError::Rejected(error)) => Err(error.into()),
        Err(other) => Err(ReturnRequestError::Store(other.to_string())),
    }
}
