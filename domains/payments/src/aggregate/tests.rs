//! Given/when/then specifications of the payment.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use shared_kernel::{Currency, Money, PaymentId, RefundId};
use uuid::Uuid;

use super::{Payment, PaymentServices};
use crate::commands::PaymentCommand;
use crate::errors::PaymentError;
use crate::events::PaymentEvent;
use crate::ports::InMemoryPaymentMethodTokens;
use crate::ports::{
    Authorization, AuthorizeRequest, CaptureReceipt, CaptureRequest, GatewayError, PaymentGateway,
    RefundReceipt, RefundRequest, VoidRequest,
};
use crate::values::{Capture, Decline, DeclineCode, PaymentStatus, Refund};

/// One request the payment sent to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Authorize(AuthorizeRequest),
    Capture(CaptureRequest),
    Void(VoidRequest),
    Refund(RefundRequest),
}

impl Call {
    fn idempotency_key(&self) -> &str {
        match self {
            Call::Authorize(r) => &r.idempotency_key,
            Call::Capture(r) => &r.idempotency_key,
            Call::Void(r) => &r.idempotency_key,
            Call::Refund(r) => &r.idempotency_key,
        }
    }
}

/// Answers each operation from its own queue of scripted results, in order, and records every
/// request. A call nobody scripted fails the test.
#[derive(Default)]
struct ScriptedGateway {
    authorizations: Mutex<VecDeque<Result<Authorization, GatewayError>>>,
    captures: Mutex<VecDeque<Result<CaptureReceipt, GatewayError>>>,
    voids: Mutex<VecDeque<Result<(), GatewayError>>>,
    refunds: Mutex<VecDeque<Result<RefundReceipt, GatewayError>>>,
    calls: Mutex<Vec<Call>>,
}

impl ScriptedGateway {
    fn authorizes(self, answer: Result<Authorization, GatewayError>) -> Self {
        self.authorizations.lock().unwrap().push_back(answer);
        self
    }

    fn captures(self, answer: Result<CaptureReceipt, GatewayError>) -> Self {
        self.captures.lock().unwrap().push_back(answer);
        self
    }

    fn voids(self, answer: Result<(), GatewayError>) -> Self {
        self.voids.lock().unwrap().push_back(answer);
        self
    }

    fn refunds(self, answer: Result<RefundReceipt, GatewayError>) -> Self {
        self.refunds.lock().unwrap().push_back(answer);
        self
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn keys(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|call| call.idempotency_key().to_owned())
            .collect()
    }

    fn answer<T>(
        &self,
        call: Call,
        queue: &Mutex<VecDeque<Result<T, GatewayError>>>,
    ) -> Result<T, GatewayError> {
        let answer = queue.lock().unwrap().pop_front();
        let answer = answer.unwrap_or_else(|| panic!("unscripted gateway call: {call:?}"));
        self.calls.lock().unwrap().push(call);
        answer
    }
}

#[async_trait]
impl PaymentGateway for ScriptedGateway {
    async fn authorize(&self, request: AuthorizeRequest) -> Result<Authorization, GatewayError> {
        self.answer(Call::Authorize(request), &self.authorizations)
    }

    async fn capture(&self, request: CaptureRequest) -> Result<CaptureReceipt, GatewayError> {
        self.answer(Call::Capture(request), &self.captures)
    }

    async fn void(&self, request: VoidRequest) -> Result<(), GatewayError> {
        self.answer(Call::Void(request), &self.voids)
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundReceipt, GatewayError> {
        self.answer(Call::Refund(request), &self.refunds)
    }
}

const PAYMENT: &str = "00000000-0000-0000-0000-0000000000a1";
const AUTH: &str = "auth_1";
const TOKEN: &str = "tok_visa";

fn payment_id() -> PaymentId {
    PaymentId::parse(PAYMENT).unwrap()
}

fn refund_id(n: u128) -> RefundId {
    RefundId::from_uuid(Uuid::from_u128(n))
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn gateway() -> ScriptedGateway {
    ScriptedGateway::default()
}

/// The token store as the checkout leaves it: the shopper's token kept for the payment.
fn kept_tokens() -> Arc<InMemoryPaymentMethodTokens> {
    Arc::new(InMemoryPaymentMethodTokens::default().with(payment_id(), TOKEN))
}

fn payment_test(gateway: &Arc<ScriptedGateway>) -> TestFramework<Payment> {
    TestFramework::with(PaymentServices::new(gateway.clone(), kept_tokens()))
}

fn authorization(id: &str) -> Result<Authorization, GatewayError> {
    Ok(Authorization {
        authorization_id: id.into(),
    })
}

fn capture_receipt(id: &str) -> Result<CaptureReceipt, GatewayError> {
    Ok(CaptureReceipt {
        capture_id: id.into(),
    })
}

fn refund_receipt(id: &str) -> Result<RefundReceipt, GatewayError> {
    Ok(RefundReceipt {
        refund_id: id.into(),
    })
}

fn declined() -> GatewayError {
    GatewayError::Declined {
        code: DeclineCode::CardDeclined,
        message: "Your card was declined.".into(),
    }
}

fn authorize(amount: &str) -> PaymentCommand {
    PaymentCommand::AuthorizePayment {
        payment_id: payment_id(),
        amount: eur(amount),
        payment_method_token: TOKEN.into(),
    }
}

fn capture(amount: Option<&str>) -> PaymentCommand {
    PaymentCommand::CapturePayment {
        amount: amount.map(eur),
    }
}

fn refund(id: u128, amount: &str) -> PaymentCommand {
    PaymentCommand::RefundPayment {
        refund_id: refund_id(id),
        amount: eur(amount),
    }
}

fn authorize_request(amount: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        idempotency_key: PAYMENT.into(),
        amount: eur(amount),
        payment_method_token: TOKEN.into(),
    }
}

fn authorized() -> PaymentEvent {
    PaymentEvent::PaymentAuthorized {
        payment_id: payment_id(),
        amount: eur("50.00"),
        authorization_id: AUTH.into(),
    }
}

fn payment_declined() -> PaymentEvent {
    PaymentEvent::PaymentDeclined {
        payment_id: payment_id(),
        amount: eur("50.00"),
        code: DeclineCode::CardDeclined,
        message: "Your card was declined.".into(),
    }
}

fn authorization_unknown() -> PaymentEvent {
    PaymentEvent::PaymentAuthorizationUnknown {
        payment_id: payment_id(),
        amount: eur("50.00"),
        reason: "timed out".into(),
    }
}

fn captured(amount: &str, capture_id: &str, total: &str) -> PaymentEvent {
    PaymentEvent::PaymentCaptured {
        amount: eur(amount),
        capture_id: capture_id.into(),
        total_captured: eur(total),
    }
}

fn refunded(id: u128, amount: &str, total: &str) -> PaymentEvent {
    PaymentEvent::PaymentRefunded {
        refund_id: refund_id(id),
        amount: eur(amount),
        total_refunded: eur(total),
    }
}

fn not_allowed(status: PaymentStatus, command: &'static str) -> PaymentError {
    PaymentError::NotAllowed { status, command }
}

fn replay(events: Vec<PaymentEvent>) -> Payment {
    let mut payment = Payment::default();
    for event in events {
        payment.apply(event);
    }
    payment
}

// --- AuthorizePayment ---

#[test]
fn authorizing_a_new_payment_records_the_hold_sent_under_the_payment_id() {
    let gateway = Arc::new(gateway().authorizes(authorization(AUTH)));
    payment_test(&gateway)
        .given_no_previous_events()
        .when(authorize("50"))
        .then_expect_events(vec![authorized()]);
    assert_eq!(
        gateway.calls(),
        vec![Call::Authorize(authorize_request("50.00"))]
    );
}

#[test]
fn a_declined_authorization_is_recorded_and_the_command_succeeds() {
    let gateway = Arc::new(gateway().authorizes(Err(declined())));
    payment_test(&gateway)
        .given_no_previous_events()
        .when(authorize("50.00"))
        .then_expect_events(vec![payment_declined()]);
}

#[test]
fn an_authorization_timeout_records_that_the_outcome_is_unknown() {
    let gateway = Arc::new(gateway().authorizes(Err(GatewayError::Unknown("timed out".into()))));
    payment_test(&gateway)
        .given_no_previous_events()
        .when(authorize("50.00"))
        .then_expect_events(vec![authorization_unknown()]);
}

#[test]
fn an_unknown_outcome_keeps_the_token_for_reconciliation_outside_the_event() {
    let gateway = Arc::new(gateway().authorizes(Err(GatewayError::Unknown("timed out".into()))));
    let tokens = Arc::new(InMemoryPaymentMethodTokens::default());
    let events = TestFramework::<Payment>::with(PaymentServices::new(gateway, tokens.clone()))
        .given_no_previous_events()
        .when(authorize("50.00"))
        .inspect_result()
        .unwrap();
    assert_eq!(events, vec![authorization_unknown()]);
    let stored = serde_json::to_string(&events).unwrap();
    assert!(!stored.contains(TOKEN), "{stored}");
    assert_eq!(tokens.kept(payment_id()).as_deref(), Some(TOKEN));
}

#[test]
fn reconciling_without_a_kept_token_stays_unknown_and_sends_nothing() {
    let gateway = Arc::new(gateway().authorizes(authorization(AUTH)));
    let tokens = Arc::new(InMemoryPaymentMethodTokens::default());
    let error = TestFramework::<Payment>::with(PaymentServices::new(gateway.clone(), tokens))
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::ReconcileAuthorization)
        .inspect_result()
        .unwrap_err();
    assert!(
        matches!(error, PaymentError::GatewayOutcomeUnknown(_)),
        "{error}"
    );
    assert_eq!(gateway.calls(), vec![]);
}

#[test]
fn a_transient_authorization_failure_records_nothing_and_may_be_retried() {
    let gateway = Arc::new(gateway().authorizes(Err(GatewayError::Transient("503".into()))));
    let error = payment_test(&gateway)
        .given_no_previous_events()
        .when(authorize("50.00"))
        .inspect_result()
        .unwrap_err();
    assert_eq!(error, PaymentError::GatewayUnavailable("503".into()));
    assert!(error.is_retryable());
}

#[test]
fn an_authorization_the_provider_rejects_records_nothing() {
    let gateway = Arc::new(gateway().authorizes(Err(GatewayError::Rejected("bad key".into()))));
    payment_test(&gateway)
        .given_no_previous_events()
        .when(authorize("50.00"))
        .then_expect_error(PaymentError::GatewayRejected("bad key".into()));
}

#[test]
fn rejects_authorizing_an_amount_that_is_not_positive_in_whole_minor_units() {
    for amount in ["0", "-1.00", "10.005"] {
        let gateway = Arc::new(gateway());
        payment_test(&gateway)
            .given_no_previous_events()
            .when(authorize(amount))
            .then_expect_error(PaymentError::InvalidAmount {
                amount: eur(amount),
            });
        assert!(gateway.calls().is_empty(), "{amount}");
    }
}

#[test]
fn repeating_an_authorization_with_the_same_amount_changes_nothing_whatever_the_state() {
    let histories = [
        vec![authorized()],
        vec![payment_declined()],
        vec![authorization_unknown()],
        vec![authorized(), captured("50.00", "cap_1", "50.00")],
        vec![authorized(), PaymentEvent::PaymentVoided {}],
    ];
    for history in histories {
        let gateway = Arc::new(gateway());
        payment_test(&gateway)
            .given(history)
            .when(authorize("50"))
            .then_expect_events(vec![]);
        assert!(gateway.calls().is_empty());
    }
}

#[test]
fn rejects_repeating_an_authorization_with_another_amount() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(authorize("60.00"))
        .then_expect_error(PaymentError::AmountMismatch {
            recorded: eur("50.00"),
            requested: eur("60.00"),
        });
}

#[test]
fn rejects_every_other_command_on_a_payment_that_does_not_exist() {
    let commands = [
        PaymentCommand::ReconcileAuthorization,
        capture(None),
        PaymentCommand::VoidPayment,
        refund(1, "1.00"),
    ];
    for command in commands {
        let gateway = Arc::new(gateway());
        payment_test(&gateway)
            .given_no_previous_events()
            .when(command)
            .then_expect_error(PaymentError::NotFound);
        assert!(gateway.calls().is_empty());
    }
}

// --- ReconcileAuthorization ---

#[test]
fn reconciling_resends_the_identical_request_and_records_the_hold_the_provider_placed() {
    let gateway = Arc::new(gateway().authorizes(authorization(AUTH)));
    payment_test(&gateway)
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::ReconcileAuthorization)
        .then_expect_events(vec![authorized()]);
    assert_eq!(
        gateway.calls(),
        vec![Call::Authorize(authorize_request("50.00"))]
    );
}

#[test]
fn reconciling_can_learn_that_the_authorization_was_declined() {
    let gateway = Arc::new(gateway().authorizes(Err(declined())));
    payment_test(&gateway)
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::ReconcileAuthorization)
        .then_expect_events(vec![payment_declined()]);
}

#[test]
fn reconciling_while_the_outcome_is_still_unknown_records_nothing() {
    let gateway = Arc::new(gateway().authorizes(Err(GatewayError::Unknown("again".into()))));
    payment_test(&gateway)
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::ReconcileAuthorization)
        .then_expect_events(vec![]);
}

#[test]
fn reconciling_through_a_transient_failure_fails_as_unavailable() {
    let gateway = Arc::new(gateway().authorizes(Err(GatewayError::Transient("503".into()))));
    payment_test(&gateway)
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::ReconcileAuthorization)
        .then_expect_error(PaymentError::GatewayUnavailable("503".into()));
}

#[test]
fn reconciling_a_payment_whose_outcome_is_known_changes_nothing() {
    let histories = [
        vec![authorized()],
        vec![payment_declined()],
        vec![authorization_unknown(), authorized()],
        vec![authorized(), PaymentEvent::PaymentVoided {}],
    ];
    for history in histories {
        let gateway = Arc::new(gateway());
        payment_test(&gateway)
            .given(history)
            .when(PaymentCommand::ReconcileAuthorization)
            .then_expect_events(vec![]);
        assert!(gateway.calls().is_empty());
    }
}

// --- CapturePayment ---

#[test]
fn capturing_without_an_amount_takes_the_whole_authorization() {
    let gateway = Arc::new(gateway().captures(capture_receipt("cap_1")));
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(capture(None))
        .then_expect_events(vec![captured("50.00", "cap_1", "50.00")]);
    assert_eq!(
        gateway.calls(),
        vec![Call::Capture(CaptureRequest {
            idempotency_key: format!("{PAYMENT}:capture:1"),
            authorization_id: AUTH.into(),
            amount: eur("50.00"),
        })]
    );
}

#[test]
fn a_partial_capture_takes_only_the_amount_asked_for() {
    let gateway = Arc::new(gateway().captures(capture_receipt("cap_1")));
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(capture(Some("30")))
        .then_expect_events(vec![captured("30.00", "cap_1", "30.00")]);
}

#[test]
fn a_second_capture_takes_the_rest_under_the_next_key() {
    let gateway = Arc::new(gateway().captures(capture_receipt("cap_2")));
    payment_test(&gateway)
        .given(vec![authorized(), captured("30.00", "cap_1", "30.00")])
        .when(capture(None))
        .then_expect_events(vec![captured("20.00", "cap_2", "50.00")]);
    assert_eq!(gateway.keys(), vec![format!("{PAYMENT}:capture:2")]);
}

#[test]
fn capturing_the_rest_of_a_fully_captured_payment_changes_nothing() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized(), captured("50.00", "cap_1", "50.00")])
        .when(capture(None))
        .then_expect_events(vec![]);
    assert!(gateway.calls().is_empty());
}

#[test]
fn rejects_capturing_more_than_was_authorized() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized(), captured("30.00", "cap_1", "30.00")])
        .when(capture(Some("20.01")))
        .then_expect_error(PaymentError::OverCapture {
            authorized: eur("50.00"),
            captured: eur("30.00"),
            requested: eur("20.01"),
        });
    assert!(gateway.calls().is_empty());
}

#[test]
fn rejects_an_explicit_amount_once_everything_is_captured() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized(), captured("50.00", "cap_1", "50.00")])
        .when(capture(Some("1.00")))
        .then_expect_error(PaymentError::OverCapture {
            authorized: eur("50.00"),
            captured: eur("50.00"),
            requested: eur("1.00"),
        });
}

#[test]
fn rejects_capturing_zero() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(capture(Some("0.00")))
        .then_expect_error(PaymentError::InvalidAmount {
            amount: eur("0.00"),
        });
}

#[test]
fn rejects_capturing_in_another_currency() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(PaymentCommand::CapturePayment {
            amount: Some(Money::parse("10.00", "USD").unwrap()),
        })
        .then_expect_error(PaymentError::CurrencyMismatch {
            payment: Currency::EUR,
            requested: Currency::USD,
        });
}

#[test]
fn a_capture_with_an_unknown_outcome_records_nothing_and_its_retry_reuses_the_key() {
    let gateway = Arc::new(
        gateway()
            .captures(Err(GatewayError::Unknown("timed out".into())))
            .captures(capture_receipt("cap_1")),
    );
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(capture(None))
        .then_expect_error(PaymentError::GatewayOutcomeUnknown("timed out".into()));
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(capture(None))
        .then_expect_events(vec![captured("50.00", "cap_1", "50.00")]);
    let key = format!("{PAYMENT}:capture:1");
    assert_eq!(gateway.keys(), vec![key.clone(), key]);
}

#[test]
fn a_transient_capture_failure_fails_as_unavailable() {
    let gateway = Arc::new(gateway().captures(Err(GatewayError::Transient("503".into()))));
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(capture(None))
        .then_expect_error(PaymentError::GatewayUnavailable("503".into()));
}

#[test]
fn a_capture_the_provider_refuses_fails_as_rejected() {
    let gateway = Arc::new(gateway().captures(Err(GatewayError::Rejected("captured".into()))));
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(capture(None))
        .then_expect_error(PaymentError::GatewayRejected("captured".into()));
}

#[test]
fn rejects_capturing_a_payment_that_holds_nothing_known() {
    let cases = [
        (vec![payment_declined()], PaymentStatus::Declined),
        (
            vec![authorization_unknown()],
            PaymentStatus::AuthorizationUnknown,
        ),
        (
            vec![authorized(), PaymentEvent::PaymentVoided {}],
            PaymentStatus::Voided,
        ),
    ];
    for (history, status) in cases {
        let gateway = Arc::new(gateway());
        payment_test(&gateway)
            .given(history)
            .when(capture(None))
            .then_expect_error(not_allowed(status, "CapturePayment"));
    }
}

// --- VoidPayment ---

#[test]
fn voiding_an_authorized_payment_releases_the_hold() {
    let gateway = Arc::new(gateway().voids(Ok(())));
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(PaymentCommand::VoidPayment)
        .then_expect_events(vec![PaymentEvent::PaymentVoided {}]);
    assert_eq!(
        gateway.calls(),
        vec![Call::Void(VoidRequest {
            idempotency_key: format!("{PAYMENT}:void"),
            authorization_id: AUTH.into(),
        })]
    );
}

#[test]
fn voiding_a_voided_payment_changes_nothing() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized(), PaymentEvent::PaymentVoided {}])
        .when(PaymentCommand::VoidPayment)
        .then_expect_events(vec![]);
    assert!(gateway.calls().is_empty());
}

#[test]
fn rejects_voiding_after_a_capture() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![authorized(), captured("10.00", "cap_1", "10.00")])
        .when(PaymentCommand::VoidPayment)
        .then_expect_error(not_allowed(PaymentStatus::Captured, "VoidPayment"));
}

#[test]
fn rejects_voiding_a_declined_payment() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![payment_declined()])
        .when(PaymentCommand::VoidPayment)
        .then_expect_error(not_allowed(PaymentStatus::Declined, "VoidPayment"));
}

#[test]
fn voiding_an_unknown_authorization_asks_for_it_first_then_releases_it() {
    let gateway = Arc::new(gateway().authorizes(authorization(AUTH)).voids(Ok(())));
    payment_test(&gateway)
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::VoidPayment)
        .then_expect_events(vec![authorized(), PaymentEvent::PaymentVoided {}]);
    assert_eq!(
        gateway.calls(),
        vec![
            Call::Authorize(authorize_request("50.00")),
            Call::Void(VoidRequest {
                idempotency_key: format!("{PAYMENT}:void"),
                authorization_id: AUTH.into(),
            }),
        ]
    );
}

#[test]
fn voiding_an_unknown_authorization_that_was_declined_records_the_decline() {
    let gateway = Arc::new(gateway().authorizes(Err(declined())));
    payment_test(&gateway)
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::VoidPayment)
        .then_expect_events(vec![payment_declined()]);
    assert_eq!(gateway.keys(), vec![PAYMENT.to_owned()]);
}

#[test]
fn voiding_an_authorization_that_is_still_unknown_fails_and_may_be_retried() {
    let gateway = Arc::new(gateway().authorizes(Err(GatewayError::Unknown("again".into()))));
    let error = payment_test(&gateway)
        .given(vec![authorization_unknown()])
        .when(PaymentCommand::VoidPayment)
        .inspect_result()
        .unwrap_err();
    assert_eq!(error.code(), "gateway_outcome_unknown");
    assert!(error.is_retryable());
}

#[test]
fn a_void_with_an_unknown_outcome_records_nothing() {
    let gateway = Arc::new(gateway().voids(Err(GatewayError::Unknown("timed out".into()))));
    payment_test(&gateway)
        .given(vec![authorized()])
        .when(PaymentCommand::VoidPayment)
        .then_expect_error(PaymentError::GatewayOutcomeUnknown("timed out".into()));
}

// --- RefundPayment ---

#[test]
fn refunding_part_of_a_capture_is_sent_under_a_key_scoped_to_the_payment() {
    let gateway = Arc::new(gateway().refunds(refund_receipt("re_1")));
    payment_test(&gateway)
        .given(vec![authorized(), captured("50.00", "cap_1", "50.00")])
        .when(refund(1, "20"))
        .then_expect_events(vec![refunded(1, "20.00", "20.00")]);
    assert_eq!(
        gateway.calls(),
        vec![Call::Refund(RefundRequest {
            idempotency_key: crate::values::refund_key(payment_id(), refund_id(1)),
            authorization_id: AUTH.into(),
            amount: eur("20.00"),
        })]
    );
}

#[test]
fn several_partial_refunds_add_up_to_the_capture() {
    let gateway = Arc::new(gateway().refunds(refund_receipt("re_2")));
    payment_test(&gateway)
        .given(vec![
            authorized(),
            captured("50.00", "cap_1", "50.00"),
            refunded(1, "20.00", "20.00"),
        ])
        .when(refund(2, "30.00"))
        .then_expect_events(vec![refunded(2, "30.00", "50.00")]);
}

#[test]
fn repeating_a_refund_with_the_same_id_and_amount_changes_nothing() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![
            authorized(),
            captured("50.00", "cap_1", "50.00"),
            refunded(1, "20.00", "20.00"),
        ])
        .when(refund(1, "20"))
        .then_expect_events(vec![]);
    assert!(gateway.calls().is_empty());
}

#[test]
fn rejects_reusing_a_refund_id_for_another_amount() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![
            authorized(),
            captured("50.00", "cap_1", "50.00"),
            refunded(1, "20.00", "20.00"),
        ])
        .when(refund(1, "25.00"))
        .then_expect_error(PaymentError::RefundMismatch {
            refund_id: refund_id(1),
            recorded: eur("20.00"),
            requested: eur("25.00"),
        });
}

#[test]
fn rejects_refunding_more_than_was_captured() {
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(vec![
            authorized(),
            captured("30.00", "cap_1", "30.00"),
            refunded(1, "20.00", "20.00"),
        ])
        .when(refund(2, "10.01"))
        .then_expect_error(PaymentError::OverRefund {
            captured: eur("30.00"),
            refunded: eur("20.00"),
            requested: eur("10.01"),
        });
    assert!(gateway.calls().is_empty());
}

#[test]
fn rejects_refunding_zero_or_in_another_currency() {
    let history = || vec![authorized(), captured("50.00", "cap_1", "50.00")];
    let gateway = Arc::new(gateway());
    payment_test(&gateway)
        .given(history())
        .when(refund(1, "0"))
        .then_expect_error(PaymentError::InvalidAmount { amount: eur("0") });
    payment_test(&gateway)
        .given(history())
        .when(PaymentCommand::RefundPayment {
            refund_id: refund_id(1),
            amount: Money::parse("5", "GBP").unwrap(),
        })
        .then_expect_error(PaymentError::CurrencyMismatch {
            payment: Currency::EUR,
            requested: Currency::GBP,
        });
}

#[test]
fn a_refund_whose_outcome_is_unknown_records_nothing_and_its_retry_reuses_the_key() {
    let gateway = Arc::new(
        gateway()
            .refunds(Err(GatewayError::Unknown("timed out".into())))
            .refunds(refund_receipt("re_1")),
    );
    let history = || vec![authorized(), captured("50.00", "cap_1", "50.00")];
    payment_test(&gateway)
        .given(history())
        .when(refund(1, "20.00"))
        .then_expect_error(PaymentError::GatewayOutcomeUnknown("timed out".into()));
    payment_test(&gateway)
        .given(history())
        .when(refund(1, "20.00"))
        .then_expect_events(vec![refunded(1, "20.00", "20.00")]);
    let key = crate::values::refund_key(payment_id(), refund_id(1));
    assert_eq!(gateway.keys(), vec![key.clone(), key]);
}

#[test]
fn a_refund_the_provider_declines_fails_as_rejected() {
    let gateway = Arc::new(gateway().refunds(Err(declined())));
    payment_test(&gateway)
        .given(vec![authorized(), captured("50.00", "cap_1", "50.00")])
        .when(refund(1, "20.00"))
        .then_expect_error(PaymentError::GatewayRejected(
            "declined (card_declined): Your card was declined.".into(),
        ));
}

#[test]
fn rejects_refunding_a_payment_with_nothing_captured() {
    let cases = [
        (vec![authorized()], PaymentStatus::Authorized),
        (vec![payment_declined()], PaymentStatus::Declined),
        (
            vec![authorization_unknown()],
            PaymentStatus::AuthorizationUnknown,
        ),
        (
            vec![authorized(), PaymentEvent::PaymentVoided {}],
            PaymentStatus::Voided,
        ),
    ];
    for (history, status) in cases {
        let gateway = Arc::new(gateway());
        payment_test(&gateway)
            .given(history)
            .when(refund(1, "1.00"))
            .then_expect_error(not_allowed(status, "RefundPayment"));
    }
}

// --- State and accessors ---

#[test]
fn a_payment_that_does_not_exist_has_no_status_or_amounts() {
    let payment = Payment::default();
    assert_eq!(payment.id(), None);
    assert_eq!(payment.status(), None);
    assert_eq!(payment.amount(), None);
    assert_eq!(payment.captured(), None);
    assert_eq!(payment.capturable(), None);
}

#[test]
fn an_authorized_payment_can_capture_its_whole_amount() {
    let payment = replay(vec![authorized()]);
    assert_eq!(payment.id(), Some(payment_id()));
    assert_eq!(payment.status(), Some(PaymentStatus::Authorized));
    assert_eq!(payment.amount(), Some(eur("50.00")));
    assert_eq!(payment.captured(), Some(eur("0")));
    assert_eq!(payment.refunded(), Some(eur("0")));
    assert_eq!(payment.capturable(), Some(eur("50.00")));
    assert_eq!(payment.authorization_id(), Some(AUTH));
    assert_eq!(payment.decline(), None);
}

#[test]
fn a_declined_payment_keeps_the_reason_and_can_capture_nothing() {
    let payment = replay(vec![payment_declined()]);
    assert_eq!(payment.status(), Some(PaymentStatus::Declined));
    assert_eq!(
        payment.decline(),
        Some(&Decline {
            code: DeclineCode::CardDeclined,
            message: "Your card was declined.".into(),
        })
    );
    assert_eq!(payment.capturable(), Some(eur("0")));
    assert_eq!(payment.authorization_id(), None);
}

#[test]
fn captures_and_refunds_are_kept_in_order_with_their_totals() {
    let payment = replay(vec![
        authorized(),
        captured("30.00", "cap_1", "30.00"),
        captured("20.00", "cap_2", "50.00"),
        refunded(1, "5.00", "5.00"),
        refunded(2, "10.00", "15.00"),
    ]);
    assert_eq!(payment.status(), Some(PaymentStatus::Captured));
    assert_eq!(payment.captured(), Some(eur("50.00")));
    assert_eq!(payment.refunded(), Some(eur("15.00")));
    assert_eq!(payment.capturable(), Some(eur("0")));
    assert_eq!(payment.refundable(), Some(eur("35.00")));
    assert_eq!(
        payment.captures(),
        &[
            Capture {
                capture_id: "cap_1".into(),
                amount: eur("30.00"),
            },
            Capture {
                capture_id: "cap_2".into(),
                amount: eur("20.00"),
            },
        ]
    );
    assert_eq!(payment.refunds().len(), 2);
    assert_eq!(
        payment.refund(refund_id(2)),
        Some(&Refund {
            refund_id: refund_id(2),
            amount: eur("10.00"),
        })
    );
}

#[test]
fn the_aggregate_survives_a_snapshot_round_trip() {
    let payment = replay(vec![
        authorization_unknown(),
        authorized(),
        captured("50.00", "cap_1", "50.00"),
        refunded(1, "5.00", "5.00"),
    ]);
    let json = serde_json::to_string(&payment).unwrap();
    assert_eq!(serde_json::from_str::<Payment>(&json).unwrap(), payment);
}

#[test]
fn events_have_stable_type_names_and_version_two() {
    let cases = [
        (authorized(), "PaymentAuthorized"),
        (payment_declined(), "PaymentDeclined"),
        (authorization_unknown(), "PaymentAuthorizationUnknown"),
        (captured("1.00", "cap_1", "1.00"), "PaymentCaptured"),
        (PaymentEvent::PaymentVoided {}, "PaymentVoided"),
        (refunded(1, "1.00", "1.00"), "PaymentRefunded"),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
    }
}

#[test]
fn error_codes_are_stable() {
    let cases = [
        (PaymentError::NotFound, "payment_not_found"),
        (
            not_allowed(PaymentStatus::Voided, "CapturePayment"),
            "not_allowed",
        ),
        (
            PaymentError::AmountMismatch {
                recorded: eur("1"),
                requested: eur("2"),
            },
            "amount_mismatch",
        ),
        (
            PaymentError::InvalidAmount { amount: eur("0") },
            "invalid_amount",
        ),
        (
            PaymentError::CurrencyMismatch {
                payment: Currency::EUR,
                requested: Currency::USD,
            },
            "currency_mismatch",
        ),
        (
            PaymentError::OverCapture {
                authorized: eur("1"),
                captured: eur("1"),
                requested: eur("1"),
            },
            "over_capture",
        ),
        (
            PaymentError::OverRefund {
                captured: eur("1"),
                refunded: eur("1"),
                requested: eur("1"),
            },
            "over_refund",
        ),
        (
            PaymentError::RefundMismatch {
                refund_id: refund_id(1),
                recorded: eur("1"),
                requested: eur("2"),
            },
            "refund_mismatch",
        ),
        (
            PaymentError::GatewayUnavailable(String::new()),
            "gateway_unavailable",
        ),
        (
            PaymentError::GatewayOutcomeUnknown(String::new()),
            "gateway_outcome_unknown",
        ),
        (
            PaymentError::GatewayRejected(String::new()),
            "gateway_rejected",
        ),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error}");
    }
}

#[test]
fn not_allowed_names_the_status_and_the_command() {
    assert_eq!(
        not_allowed(PaymentStatus::Captured, "VoidPayment").to_string(),
        "VoidPayment is not allowed while the payment is captured"
    );
}
