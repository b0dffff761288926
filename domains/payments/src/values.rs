//! Value types of the payments context, and the idempotency keys a payment sends.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::{Money, PaymentId, RefundId};

/// Lifecycle of a payment. A payment that does not exist yet has no status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The provider holds the amount on the shopper's payment method; nothing is taken yet.
    Authorized,
    /// The provider refused the authorization. Final.
    Declined,
    /// The authorization request timed out: the provider may or may not hold the amount.
    /// Resolved by `ReconcileAuthorization` (or by `VoidPayment`, which reconciles first).
    AuthorizationUnknown,
    /// Some or all of the authorized amount has been taken; refunds happen from here.
    Captured,
    /// The authorization was released before anything was captured. Final.
    Voided,
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Declined => "declined",
            PaymentStatus::AuthorizationUnknown => "authorization_unknown",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Voided => "voided",
        })
    }
}

/// Why a provider declined, in the categories a storefront can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineCode {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    /// Any other reason the provider gave; its message says more.
    Other,
}

impl fmt::Display for DeclineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeclineCode::CardDeclined => "card_declined",
            DeclineCode::InsufficientFunds => "insufficient_funds",
            DeclineCode::ExpiredCard => "expired_card",
            DeclineCode::Other => "other",
        })
    }
}

/// A recorded decline: its category and a message a shopper can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decline {
    pub code: DeclineCode,
    pub message: String,
}

/// One capture as the provider confirmed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// The provider's id of the capture.
    pub capture_id: String,
    pub amount: Money,
}

/// One refund as the provider confirmed it, under the id the caller chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: RefundId,
    pub amount: Money,
}

/// Idempotency key of the authorization of `payment_id`: the payment id itself, so that a
/// repeated or reconciling authorization reaches the provider as the same request.
pub fn authorization_key(payment_id: PaymentId) -> String {
    payment_id.to_string()
}

/// Idempotency key of the `number`-th capture (1-based) of `payment_id`. A capture whose
/// outcome is unknown records nothing, so its retry gets the same number and the same key.
pub fn capture_key(payment_id: PaymentId, number: usize) -> String {
    format!("{payment_id}:capture:{number}")
}

/// Idempotency key of the void of `payment_id` (a payment is voided at most once).
pub fn void_key(payment_id: PaymentId) -> String {
    format!("{payment_id}:void")
}

/// Idempotency key of refund `refund_id` of `payment_id`: scoped to the payment, so a refund
/// id reused on another payment reaches the provider as a different request.
pub fn refund_key(payment_id: PaymentId, refund_id: RefundId) -> String {
    format!("{payment_id}:refund:{refund_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn payment_id() -> PaymentId {
        PaymentId::from_uuid(Uuid::from_u128(0xAB))
    }

    #[test]
    fn keys_are_derived_from_the_ids_the_payment_already_has() {
        let id = "00000000-0000-0000-0000-0000000000ab";
        assert_eq!(authorization_key(payment_id()), id);
        assert_eq!(capture_key(payment_id(), 2), format!("{id}:capture:2"));
        assert_eq!(void_key(payment_id()), format!("{id}:void"));
        let refund = RefundId::from_uuid(Uuid::from_u128(0xCD));
        assert_eq!(
            refund_key(payment_id(), refund),
            format!("{id}:refund:00000000-0000-0000-0000-0000000000cd")
        );
    }

    #[test]
    fn statuses_and_decline_codes_serialize_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&PaymentStatus::AuthorizationUnknown).unwrap(),
            "\"authorization_unknown\""
        );
        assert_eq!(
            serde_json::to_string(&DeclineCode::InsufficientFunds).unwrap(),
            "\"insufficient_funds\""
        );
    }

    #[test]
    fn display_matches_the_serialized_form() {
        let statuses = [
            PaymentStatus::Authorized,
            PaymentStatus::Declined,
            PaymentStatus::AuthorizationUnknown,
            PaymentStatus::Captured,
            PaymentStatus::Voided,
        ];
        for status in statuses {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
        }
        let codes = [
            DeclineCode::CardDeclined,
            DeclineCode::InsufficientFunds,
            DeclineCode::ExpiredCard,
            DeclineCode::Other,
        ];
        for code in codes {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
        }
    }
}
