//! The `Return` aggregate: a shopper sends goods back, staff approve it, the goods arrive,
//! and the units received are refunded, restocking those that can be sold again.
//!
//! A return goes requested → approved → received → refunded (or rejected, or refund failed).
//! The refund starts on receipt, not on approval: restocking on approval would sell goods that
//! are still in the post. Its refund has the return's id, so the refund saga finds which
//! received units are resellable here.
//!
//! | status          | Approve | Reject   | Receive  | RecordRefundRequested | RecordRefundRefused | RecordRefunded | RecordRefundFailed |
//! |-----------------|---------|----------|----------|-----------------------|---------------------|----------------|--------------------|
//! | -               | NotFound | NotFound | NotFound | NotFound             | NotFound            | NotFound       | NotFound           |
//! | Requested       | Approved | Rejected | NotAllowed | NotAllowed          | NotAllowed          | NotAllowed     | NotAllowed         |
//! | Approved        | no-op   | NotAllowed | Received | NotAllowed          | NotAllowed          | NotAllowed     | NotAllowed         |
//! | Rejected        | NotAllowed | no-op | NotAllowed | NotAllowed          | NotAllowed          | NotAllowed     | NotAllowed         |
//! | Received        | no-op   | NotAllowed | same: no-op | Refunding        | RefundFailed        | NotAllowed     | NotAllowed         |
//! | Refunding       | no-op   | NotAllowed | same: no-op | no-op            | NotAllowed          | Refunded       | RefundFailed       |
//! | Refunded        | no-op   | NotAllowed | same: no-op | no-op            | NotAllowed          | no-op          | NotAllowed         |
//! | RefundFailed    | no-op   | NotAllowed | same: no-op | NotAllowed       | no-op               | NotAllowed     | no-op              |

use std::fmt;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use shared_kernel::{OrderId, Quantity, RefundId, Sku};

use crate::values::MAX_REASON_CHARS;

/// Most lines one return may name (an order has at most 100).
pub const MAX_RETURN_LINES: usize = 100;

/// Identifies a return; its refund has the same UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReturnId(uuid::Uuid);

impl ReturnId {
    pub const fn from_uuid(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }

    pub const fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }

    pub fn parse(text: &str) -> Option<Self> {
        uuid::Uuid::parse_str(text).ok().map(Self)
    }

    /// The refund that pays this return back.
    pub fn refund_id(&self) -> RefundId {
        RefundId::from_uuid(self.0)
    }
}

impl fmt::Display for ReturnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Where a return stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnStatus {
    /// The shopper asked; staff decide.
    Requested,
    /// Staff agreed; the goods are on their way back.
    Approved,
    Rejected,
    /// The goods arrived; their refund is being asked for.
    Received,
    /// The order set the refund aside; the refund saga gives the money back.
    Refunding,
    Refunded,
    /// The refund was refused or failed; staff must look at it.
    RefundFailed,
}

impl fmt::Display for ReturnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// Units of one line a shopper sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// What arrived of one line: units received, and how many of them can be sold again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedLine {
    pub sku: Sku,
    pub received: u32,
    pub resellable: u32,
}

/// A line as the return's events record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLineData {
    pub sku: String,
    pub quantity: u32,
}

/// What arrived of a line, as `ReturnReceived` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedLineData {
    pub sku: String,
    pub received: u32,
    pub resellable: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnCommand {
    /// Opens a return of `lines` of `order_id`. The application checks them against the
    /// order; the order's refund decides for good on receipt.
    RequestReturn {
        return_id: ReturnId,
        order_id: OrderId,
        lines: Vec<ReturnLine>,
        reason: String,
        requested_at: DateTime<Utc>,
    },
    ApproveReturn,
    RejectReturn {
        reason: String,
    },
    /// Records what arrived. Repeating the same receipt is a no-op.
    ReceiveReturn {
        lines: Vec<ReceivedLine>,
    },
    /// The order set the refund aside.
    RecordRefundRequested,
    /// The order refused the refund (it no longer fits what is left to refund).
    RecordRefundRefused {
        reason: String,
    },
    RecordRefunded,
    RecordRefundFailed {
        reason: String,
    },
}

impl ReturnCommand {
    pub fn name(&self) -> &'static str {
        match self {
            ReturnCommand::RequestReturn { .. } => "RequestReturn",
            ReturnCommand::ApproveReturn => "ApproveReturn",
            ReturnCommand::RejectReturn { .. } => "RejectReturn",
            ReturnCommand::ReceiveReturn { .. } => "ReceiveReturn",
            ReturnCommand::RecordRefundRequested => "RecordRefundRequested",
            ReturnCommand::RecordRefundRefused { .. } => "RecordRefundRefused",
            ReturnCommand::RecordRefunded => "RecordRefunded",
            ReturnCommand::RecordRefundFailed { .. } => "RecordRefundFailed",
        }
    }
}

/// Events of the [`Return`] aggregate. Type strings are stored: never change them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnEvent {
    ReturnRequested {
        return_id: ReturnId,
        order_id: OrderId,
        lines: Vec<ReturnLineData>,
        reason: String,
        requested_at: DateTime<Utc>,
    },
    ReturnApproved {},
    ReturnRejected {
        reason: String,
    },
    /// The goods arrived: the refund of the `received` units starts.
    ReturnReceived {
        lines: Vec<ReceivedLineData>,
    },
    ReturnRefundRequested {},
    /// The refund could not be asked for or did not go through; `reason` says why.
    ReturnRefundFailed {
        reason: String,
    },
    ReturnRefunded {},
}

impl DomainEvent for ReturnEvent {
    fn event_type(&self) -> String {
        match self {
            ReturnEvent::ReturnRequested { .. } => "ReturnRequested",
            ReturnEvent::ReturnApproved {} => "ReturnApproved",
            ReturnEvent::ReturnRejected { .. } => "ReturnRejected",
            ReturnEvent::ReturnReceived { .. } => "ReturnReceived",
            ReturnEvent::ReturnRefundRequested {} => "ReturnRefundRequested",
            ReturnEvent::ReturnRefundFailed { .. } => "ReturnRefundFailed",
            ReturnEvent::ReturnRefunded {} => "ReturnRefunded",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}

/// Why a return command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error("return not found")]
    NotFound,
    #[error("return {return_id} was requested with different content")]
    AlreadyRequested { return_id: ReturnId },
    #[error("{command} is not allowed while the return is {status}")]
    NotAllowed {
        status: ReturnStatus,
        command: &'static str,
    },
    #[error("a return needs 1 to {MAX_RETURN_LINES} lines")]
    InvalidLines,
    #[error("{sku} is listed more than once")]
    DuplicateLine { sku: Sku },
    #[error("the return has no line {sku}")]
    UnknownLine { sku: Sku },
    #[error("{sku}: {received} received of {expected} sent, {resellable} resellable")]
    InvalidReceipt {
        sku: Sku,
        expected: u32,
        received: u32,
        resellable: u32,
    },
    #[error("nothing was received; reject the return instead")]
    NothingReceived,
    #[error("invalid reason: {reason}")]
    InvalidReason { reason: String },
}

impl ReturnError {
    /// Stable, snake_case identifier for problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            ReturnError::NotFound => "return_not_found",
            ReturnError::AlreadyRequested { .. } => "return_already_requested",
            ReturnError::NotAllowed { .. } => "not_allowed",
            ReturnError::InvalidLines => "invalid_lines",
            ReturnError::DuplicateLine { .. } => "duplicate_line",
            ReturnError::UnknownLine { .. } => "unknown_line",
            ReturnError::InvalidReceipt { .. } => "invalid_receipt",
            ReturnError::NothingReceived => "nothing_received",
            ReturnError::InvalidReason { .. } => "invalid_reason",
        }
    }
}

fn reason(raw: &str) -> Result<String, ReturnError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ReturnError::InvalidReason {
            reason: "must not be empty".to_owned(),
        });
    }
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(ReturnError::InvalidReason {
            reason: format!("must be at most {MAX_REASON_CHARS} characters"),
        });
    }
    Ok(text.to_owned())
}

/// A return. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Return {
    id: Option<ReturnId>,
    status: Option<ReturnStatus>,
    order_id: Option<OrderId>,
    lines: Vec<ReturnLineData>,
    reason: Option<String>,
    requested_at: Option<DateTime<Utc>>,
    received: Vec<ReceivedLineData>,
    rejection: Option<String>,
    failure: Option<String>,
}

impl Return {
    pub fn id(&self) -> Option<ReturnId> {
        self.id
    }

    pub fn status(&self) -> Option<ReturnStatus> {
        self.status
    }

    pub fn order_id(&self) -> Option<OrderId> {
        self.order_id
    }

    /// The units the shopper said they send back.
    pub fn lines(&self) -> &[ReturnLineData] {
        &self.lines
    }

    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    pub fn requested_at(&self) -> Option<DateTime<Utc>> {
        self.requested_at
    }

    /// What arrived, once received.
    pub fn received(&self) -> &[ReceivedLineData] {
        &self.received
    }

    pub fn rejection(&self) -> Option<&str> {
        self.rejection.as_deref()
    }

    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    fn decide(&self, command: ReturnCommand) -> Result<Vec<ReturnEvent>, ReturnError> {
        use ReturnCommand as C;
        use ReturnStatus::{
            Approved, Received, RefundFailed, Refunded, Refunding, Rejected, Requested,
        };
        let Some(status) = self.status else {
            return match command {
                C::RequestReturn {
                    return_id,
                    order_id,
                    lines,
                    reason: why,
                    requested_at,
                } => request(return_id, order_id, lines, &why, requested_at),
                _ => Err(ReturnError::NotFound),
            };
        };
        match (status, command) {
            (
                _,
                C::RequestReturn {
                    return_id,
                    order_id,
                    lines,
                    reason: why,
                    ..
                },
            ) => {
                let same = Some(return_id) == self.id
                    && Some(order_id) == self.order_id
                    && self.reason.as_deref() == Some(why.trim())
                    && lines.len() == self.lines.len()
                    && lines.iter().all(|line| {
                        self.lines.iter().any(|l| {
                            l.sku == line.sku.as_str() && l.quantity == line.quantity.get()
                        })
                    });
                if same {
                    Ok(vec![])
                } else {
                    Err(ReturnError::AlreadyRequested { return_id })
                }
            }
            (Requested, C::ApproveReturn) => Ok(vec![ReturnEvent::ReturnApproved {}]),
            (Approved | Received | Refunding | Refunded | RefundFailed, C::ApproveReturn) => {
                Ok(vec![])
            }
            (Requested, C::RejectReturn { reason: why }) => Ok(vec![ReturnEvent::ReturnRejected {
                reason: reason(&why)?,
            }]),
            (Rejected, C::RejectReturn { .. }) => Ok(vec![]),
            (Approved, C::ReceiveReturn { lines }) => self.receive(lines),
            (Received | Refunding | Refunded | RefundFailed, C::ReceiveReturn { lines }) => {
                let again = self.receive(lines)?;
                match again.first() {
                    Some(ReturnEvent::ReturnReceived { lines }) if *lines == self.received => {
                        Ok(vec![])
                    }
                    _ => Err(ReturnError::NotAllowed {
                        status,
                        command: "ReceiveReturn",
                    }),
                }
            }
            (Received, C::RecordRefundRequested) => Ok(vec![ReturnEvent::ReturnRefundRequested {}]),
            (Refunding | Refunded, C::RecordRefundRequested) => Ok(vec![]),
            (Received, C::RecordRefundRefused { reason: why })
            | (Refunding, C::RecordRefundFailed { reason: why }) => {
                Ok(vec![ReturnEvent::ReturnRefundFailed {
                    reason: reason(&why).unwrap_or_else(|_| "the refund failed".to_owned()),
                }])
            }
            (RefundFailed, C::RecordRefundRefused { .. } | C::RecordRefundFailed { .. }) => {
                Ok(vec![])
            }
            (Refunding, C::RecordRefunded) => Ok(vec![ReturnEvent::ReturnRefunded {}]),
            (Refunded, C::RecordRefunded) => Ok(vec![]),
            (status, command) => Err(ReturnError::NotAllowed {
                status,
                command: command.name(),
            }),
        }
    }

    fn receive(&self, lines: Vec<ReceivedLine>) -> Result<Vec<ReturnEvent>, ReturnError> {
        let mut received = Vec::with_capacity(lines.len());
        for line in &lines {
            if received
                .iter()
                .any(|r: &ReceivedLineData| r.sku == line.sku.as_str())
            {
                return Err(ReturnError::DuplicateLine {
                    sku: line.sku.clone(),
                });
            }
            let Some(sent) = self.lines.iter().find(|l| l.sku == line.sku.as_str()) else {
                return Err(ReturnError::UnknownLine {
                    sku: line.sku.clone(),
                });
            };
            if line.received > sent.quantity || line.resellable > line.received {
                return Err(ReturnError::InvalidReceipt {
                    sku: line.sku.clone(),
                    expected: sent.quantity,
                    received: line.received,
                    resellable: line.resellable,
                });
            }
            if line.received > 0 {
                received.push(ReceivedLineData {
                    sku: line.sku.as_str().to_owned(),
                    received: line.received,
                    resellable: line.resellable,
                });
            }
        }
        if received.is_empty() {
            return Err(ReturnError::NothingReceived);
        }
        Ok(vec![ReturnEvent::ReturnReceived { lines: received }])
    }
}

fn request(
    return_id: ReturnId,
    order_id: OrderId,
    lines: Vec<ReturnLine>,
    why: &str,
    requested_at: DateTime<Utc>,
) -> Result<Vec<ReturnEvent>, ReturnError> {
    if lines.is_empty() || lines.len() > MAX_RETURN_LINES {
        return Err(ReturnError::InvalidLines);
    }
    let mut data: Vec<ReturnLineData> = Vec::with_capacity(lines.len());
    for line in lines {
        if data.iter().any(|d| d.sku == line.sku.as_str()) {
            return Err(ReturnError::DuplicateLine { sku: line.sku });
        }
        data.push(ReturnLineData {
            sku: line.sku.as_str().to_owned(),
            quantity: line.quantity.get(),
        });
    }
    Ok(vec![ReturnEvent::ReturnRequested {
        return_id,
        order_id,
        lines: data,
        reason: reason(why)?,
        requested_at,
    }])
}

impl Aggregate for Return {
    const TYPE: &'static str = "return";
    type Command = ReturnCommand;
    type Event = ReturnEvent;
    type Error = ReturnError;
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
            ReturnEvent::ReturnRequested {
                return_id,
                order_id,
                lines,
                reason,
                requested_at,
            } => {
                self.id = Some(return_id);
                self.order_id = Some(order_id);
                self.lines = lines;
                self.reason = Some(reason);
                self.requested_at = Some(requested_at);
                self.status = Some(ReturnStatus::Requested);
            }
            ReturnEvent::ReturnApproved {} => self.status = Some(ReturnStatus::Approved),
            ReturnEvent::ReturnRejected { reason } => {
                self.rejection = Some(reason);
                self.status = Some(ReturnStatus::Rejected);
            }
            ReturnEvent::ReturnReceived { lines } => {
                self.received = lines;
                self.status = Some(ReturnStatus::Received);
            }
            ReturnEvent::ReturnRefundRequested {} => self.status = Some(ReturnStatus::Refunding),
            ReturnEvent::ReturnRefundFailed { reason } => {
                self.failure = Some(reason);
                self.status = Some(ReturnStatus::RefundFailed);
            }
            ReturnEvent::ReturnRefunded {} => self.status = Some(ReturnStatus::Refunded),
        }
    }
}

/// One thing the return saga should do for a return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnStep {
    /// Ask the order to refund the units received, under the return's refund id. Outcome:
    /// `RecordRefundRequested`, or `RecordRefundRefused` when the order refuses.
    RequestRefund {
        order_id: OrderId,
        refund_id: RefundId,
        lines: Vec<ReturnLine>,
        /// Whether any unit can be sold again (the refund saga restocks only those).
        restock: bool,
        reason: String,
    },
    /// Learn how the refund ended. Outcome: `RecordRefunded` or `RecordRefundFailed`; nothing
    /// while it runs (its end brings the return back).
    AwaitRefund { refund_id: RefundId },
}

/// The return saga, as a list: after receipt the order is asked for the refund (refused: the
/// return's refund failed), then the refund's end is recorded. Nothing to compensate: the
/// goods are back whatever happens to the money, and staff see a failed refund.
pub const RETURN_STEPS: [shared_kernel::saga::StepSpec; 2] = [
    shared_kernel::saga::StepSpec {
        name: "request_refund",
        kind: shared_kernel::saga::StepKind::Pivot,
        outcomes: &["RecordRefundRequested", "RecordRefundRefused"],
        compensation: None,
    },
    shared_kernel::saga::StepSpec {
        name: "await_refund",
        kind: shared_kernel::saga::StepKind::Retriable,
        outcomes: &["RecordRefunded", "RecordRefundFailed"],
        compensation: None,
    },
];

/// The steps a return needs now.
pub fn next_steps(ret: &Return) -> Vec<ReturnStep> {
    let (Some(status), Some(id), Some(order_id)) = (ret.status, ret.id, ret.order_id) else {
        return vec![];
    };
    match status {
        ReturnStatus::Received => {
            let lines = ret
                .received
                .iter()
                .filter_map(|line| {
                    Some(ReturnLine {
                        sku: Sku::recorded(line.sku.clone()),
                        quantity: Quantity::new(line.received).ok()?,
                    })
                })
                .collect();
            vec![ReturnStep::RequestRefund {
                order_id,
                refund_id: id.refund_id(),
                lines,
                restock: ret.received.iter().any(|line| line.resellable > 0),
                reason: format!(
                    "Return: {}",
                    ret.reason.as_deref().unwrap_or("goods sent back")
                ),
            }]
        }
        ReturnStatus::Refunding => vec![ReturnStep::AwaitRefund {
            refund_id: id.refund_id(),
        }],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests;
