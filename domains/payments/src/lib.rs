//! Payments context: money taken from a shopper through a payment provider.
//!
//! Owns: payments (one per checkout, id chosen by the caller), their lifecycle from
//! authorization through capture, void and refunds, the amounts authorized, captured and
//! refunded, and the idempotency keys sent to the provider, so that any retry reaches the
//! provider under the key of the original attempt.
//! Does not own: card data or payment methods (the shopper's client tokenizes them with the
//! provider; this crate only passes the token on), orders, what is being paid for, refund
//! policy (who may refund what and why belongs to a refunds context), or the provider itself,
//! reached through the [`ports::PaymentGateway`] port.
//!
//! Invariant: captured <= authorized and refunded <= captured, always in the authorization's
//! currency.
//! Invariant: every provider call carries an idempotency key derived from ids the payment
//! already has (see [`values`]), so a redelivered command can never charge twice.
//! Invariant: a provider answer that may or may not have taken effect (a timeout) is never
//! assumed to have failed or succeeded. For authorization it is recorded as
//! `AuthorizationUnknown` and reconciled by asking again under the same key; for capture, void
//! and refund nothing is recorded and the caller retries the same command.
//! Invariant: a decline is a fact, not a failure: `AuthorizePayment` succeeds and records it.

pub mod aggregate;
pub mod commands;
pub mod errors;
pub mod events;
pub mod ports;
pub mod values;
pub mod views;

pub use aggregate::{Payment, PaymentServices};
pub use commands::PaymentCommand;
pub use errors::PaymentError;
pub use events::PaymentEvent;
pub use ports::{
    Authorization, AuthorizeRequest, CaptureReceipt, CaptureRequest, GatewayError,
    InMemoryPaymentMethodTokens, PaymentGateway, PaymentMethodTokens, RefundReceipt, RefundRequest,
    TokenStoreError, VoidRequest,
};
pub use values::{
    authorization_key, capture_key, refund_key, void_key, Capture, Decline, DeclineCode,
    PaymentStatus, Refund,
};
pub use views::{apply_payment_event, PaymentView};
