//! The `Refund` aggregate: one refund's progress through the refund saga ([`crate::saga`]).
//!
//! State machine (`-` = not started; "same" = a repeat of what is recorded, a no-op):
//!
//! | status           | StartRefund | RecordPaymentRefunded | RecordPaymentRefundRefused | RecordRestocked | RecordOrderRefunded | RecordOrderReleased |
//! |------------------|-------------|-----------------------|----------------------------|-----------------|---------------------|---------------------|
//! | -                | RefundingPayment, or Finalizing when the amount is zero | NotFound | NotFound | NotFound | NotFound | NotFound |
//! | RefundingPayment | same: no-op | Finalizing            | Releasing                  | NotAllowed      | NotAllowed          | NotAllowed          |
//! | Finalizing       | same: no-op | no-op                 | NotAllowed                 | records the line; Completed with the last step | Completed with the last step | NotAllowed |
//! | Releasing        | same: no-op | NotAllowed            | no-op                      | NotAllowed      | NotAllowed          | Failed              |
//! | Completed        | same: no-op | no-op                 | NotAllowed                 | no-op           | no-op               | NotAllowed          |
//! | Failed           | same: no-op | NotAllowed            | no-op                      | NotAllowed      | NotAllowed          | no-op               |
//!
//! The no-ops let the runner record an outcome more than once (a redelivery, a crash after
//! the participant answered but before the outcome was recorded). Recording the opposite of
//! what happened is refused: a refund whose money went back can never be released, and one
//! that was refused can never restock.

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{Money, OrderId, PaymentId, RefundId, Sku};

use crate::commands::RefundCommand;
use crate::errors::RefundError;
use crate::events::{RefundEvent, RestockLineData};
use crate::values::{RefundOrigin, RefundStatus, RestockLine, MAX_REASON_CHARS};

/// A line to restock and whether it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Restock {
    sku: Sku,
    quantity: u32,
    done: bool,
}

/// One refund. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    id: Option<RefundId>,
    status: Option<RefundStatus>,
    order_id: Option<OrderId>,
    payment_id: Option<PaymentId>,
    amount: Option<Money>,
    restock: Vec<Restock>,
    origin: Option<RefundOrigin>,
    started_at: Option<DateTime<Utc>>,
    order_recorded: bool,
    failure_reason: Option<String>,
}

impl Refund {
    pub fn id(&self) -> Option<RefundId> {
        self.id
    }

    /// `None` before the refund started.
    pub fn status(&self) -> Option<RefundStatus> {
        self.status
    }

    pub fn order_id(&self) -> Option<OrderId> {
        self.order_id
    }

    pub fn payment_id(&self) -> Option<PaymentId> {
        self.payment_id
    }

    pub fn amount(&self) -> Option<Money> {
        self.amount
    }

    pub fn origin(&self) -> Option<RefundOrigin> {
        self.origin
    }

    pub fn started_at(&self) -> Option<DateTime<Utc>> {
        self.started_at
    }

    /// The lines to put back into stock, each with whether it was.
    pub fn restock_lines(&self) -> impl Iterator<Item = (&Sku, u32, bool)> {
        self.restock.iter().map(|r| (&r.sku, r.quantity, r.done))
    }

    /// Whether the order recorded the refund (after the money went back) or released what it
    /// set aside (after the provider refused).
    pub fn order_settled(&self) -> bool {
        self.order_recorded
    }

    /// The provider's reason, once it refused.
    pub fn failure_reason(&self) -> Option<&str> {
        self.failure_reason.as_deref()
    }

    fn decide(&self, command: RefundCommand) -> Result<Vec<RefundEvent>, RefundError> {
        use RefundCommand as C;
        use RefundStatus::{Completed, Failed, Finalizing, RefundingPayment, Releasing};
        let Some(status) = self.status else {
            return match command {
                C::StartRefund {
                    refund_id,
                    order_id,
                    payment_id,
                    amount,
                    restock,
                    origin,
                    started_at,
                } => start(
                    refund_id, order_id, payment_id, amount, restock, origin, started_at,
                ),
                _ => Err(RefundError::NotFound),
            };
        };
        match (status, command) {
            (_, command @ C::StartRefund { .. }) => self.restart(command),
            (RefundingPayment, C::RecordPaymentRefunded) => {
                Ok(vec![RefundEvent::PaymentRefunded {
                    amount: self.amount.ok_or(RefundError::NotFound)?,
                }])
            }
            (Finalizing | Completed, C::RecordPaymentRefunded) => Ok(vec![]),
            (RefundingPayment, C::RecordPaymentRefundRefused { reason }) => {
                Ok(vec![RefundEvent::PaymentRefundRefused {
                    reason: failure_reason(&reason),
                }])
            }
            (Releasing | Failed, C::RecordPaymentRefundRefused { .. }) => Ok(vec![]),
            (Finalizing | Completed, C::RecordRestocked { sku }) => {
                let Some(line) = self.restock.iter().find(|r| r.sku == sku) else {
                    return Err(RefundError::UnknownLine { sku });
                };
                if line.done {
                    return Ok(vec![]);
                }
                let mut events = vec![RefundEvent::Restocked {
                    sku: sku.as_str().to_owned(),
                    quantity: line.quantity,
                }];
                let rest_done = self.restock.iter().all(|r| r.done || r.sku == sku);
                if rest_done && self.order_recorded {
                    events.push(RefundEvent::RefundCompleted {});
                }
                Ok(events)
            }
            (Finalizing, C::RecordOrderRefunded) => {
                if self.order_recorded {
                    return Ok(vec![]);
                }
                let mut events = vec![RefundEvent::OrderRefunded {}];
                if self.restock.iter().all(|r| r.done) {
                    events.push(RefundEvent::RefundCompleted {});
                }
                Ok(events)
            }
            (Completed, C::RecordOrderRefunded) => Ok(vec![]),
            (Releasing, C::RecordOrderReleased) => Ok(vec![
                RefundEvent::OrderReleased {},
                RefundEvent::RefundFailed {
                    reason: self
                        .failure_reason
                        .clone()
                        .unwrap_or_else(|| "refused by the payment provider".to_owned()),
                },
            ]),
            (Failed, C::RecordOrderReleased) => Ok(vec![]),
            (status, command) => Err(RefundError::NotAllowed {
                status,
                command: command.name(),
            }),
        }
    }

    /// `StartRefund` on a started refund: a repeat of the same start is a no-op.
    fn restart(&self, command: RefundCommand) -> Result<Vec<RefundEvent>, RefundError> {
        let RefundCommand::StartRefund {
            refund_id,
            order_id,
            payment_id,
            amount,
            restock,
            origin,
            ..
        } = command
        else {
            return Ok(vec![]);
        };
        let same_lines = restock.len() == self.restock.len()
            && restock.iter().all(|line| {
                self.restock
                    .iter()
                    .any(|r| r.sku == line.sku && r.quantity == line.quantity.get())
            });
        let same = Some(refund_id) == self.id
            && Some(order_id) == self.order_id
            && Some(payment_id) == self.payment_id
            && Some(amount) == self.amount
            && Some(origin) == self.origin
            && same_lines;
        if same {
            Ok(vec![])
        } else {
            Err(RefundError::AlreadyStarted { refund_id })
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn start(
    refund_id: RefundId,
    order_id: OrderId,
    payment_id: PaymentId,
    amount: Money,
    restock: Vec<RestockLine>,
    origin: RefundOrigin,
    started_at: DateTime<Utc>,
) -> Result<Vec<RefundEvent>, RefundError> {
    if amount.is_negative() {
        return Err(RefundError::InvalidAmount {
            reason: "must not be negative".to_owned(),
        });
    }
    if !amount.has_at_most_minor_unit_precision() {
        let currency = amount.currency();
        return Err(RefundError::InvalidAmount {
            reason: format!(
                "{currency} amounts have at most {} decimal places",
                currency.minor_units()
            ),
        });
    }
    let mut lines: Vec<RestockLineData> = Vec::with_capacity(restock.len());
    for RestockLine { sku, quantity } in restock {
        if lines.iter().any(|line| line.sku == sku.as_str()) {
            return Err(RefundError::DuplicateLine { sku });
        }
        lines.push(RestockLineData {
            sku: sku.as_str().to_owned(),
            quantity: quantity.get(),
        });
    }
    Ok(vec![RefundEvent::RefundStarted {
        refund_id,
        order_id,
        payment_id,
        amount: amount.round_to_minor_units(),
        restock: lines,
        origin,
        started_at,
    }])
}

/// The provider's reason as recorded: trimmed, at most [`MAX_REASON_CHARS`], never empty.
fn failure_reason(raw: &str) -> String {
    let reason: String = raw.trim().chars().take(MAX_REASON_CHARS).collect();
    if reason.is_empty() {
        "refused by the payment provider".to_owned()
    } else {
        reason
    }
}

impl Aggregate for Refund {
    const TYPE: &'static str = "refund";
    type Command = RefundCommand;
    type Event = RefundEvent;
    type Error = RefundError;
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
            RefundEvent::RefundStarted {
                refund_id,
                order_id,
                payment_id,
                amount,
                restock,
                origin,
                started_at,
            } => {
                self.id = Some(refund_id);
                self.order_id = Some(order_id);
                self.payment_id = Some(payment_id);
                self.amount = Some(amount);
                self.restock = restock
                    .into_iter()
                    .map(|line| Restock {
                        sku: Sku::recorded(line.sku),
                        quantity: line.quantity,
                        done: false,
                    })
                    .collect();
                self.origin = Some(origin);
                self.started_at = Some(started_at);
                // Nothing to give back: the payment step is skipped.
                self.status = Some(if amount.is_zero() {
                    RefundStatus::Finalizing
                } else {
                    RefundStatus::RefundingPayment
                });
            }
            RefundEvent::PaymentRefunded { .. } => self.status = Some(RefundStatus::Finalizing),
            RefundEvent::PaymentRefundRefused { reason } => {
                self.status = Some(RefundStatus::Releasing);
                self.failure_reason = Some(reason);
            }
            RefundEvent::Restocked { sku, .. } => {
                if let Some(line) = self.restock.iter_mut().find(|r| r.sku.as_str() == sku) {
                    line.done = true;
                }
            }
            RefundEvent::OrderRefunded {} | RefundEvent::OrderReleased {} => {
                self.order_recorded = true;
            }
            RefundEvent::RefundCompleted {} => self.status = Some(RefundStatus::Completed),
            RefundEvent::RefundFailed { .. } => self.status = Some(RefundStatus::Failed),
        }
    }
}

#[cfg(test)]
mod tests;
