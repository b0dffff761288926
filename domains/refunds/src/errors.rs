//! Outcomes the refunds context refuses. It does no I/O, so there is no infrastructure
//! variant; store failures are reported by cqrs-es around these.

use shared_kernel::{RefundId, Sku};

use crate::values::RefundStatus;

/// Why a refund command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("refund not found")]
    NotFound,
    #[error("refund {refund_id} was started with different content")]
    AlreadyStarted { refund_id: RefundId },
    #[error("{command} is not allowed while the refund is {status}")]
    NotAllowed {
        status: RefundStatus,
        command: &'static str,
    },
    #[error("invalid refund amount: {reason}")]
    InvalidAmount { reason: String },
    #[error("{sku} is listed more than once")]
    DuplicateLine { sku: Sku },
    #[error("the refund does not restock {sku}")]
    UnknownLine { sku: Sku },
}

impl RefundError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            RefundError::NotFound => "refund_not_found",
            RefundError::AlreadyStarted { .. } => "refund_already_started",
            RefundError::NotAllowed { .. } => "not_allowed",
            RefundError::InvalidAmount { .. } => "invalid_refund_amount",
            RefundError::DuplicateLine { .. } => "duplicate_line",
            RefundError::UnknownLine { .. } => "unknown_line",
        }
    }
}
