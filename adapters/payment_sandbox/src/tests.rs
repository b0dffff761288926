//! Every documented token and every refusal of the sandbox provider.

use payments::{
    Authorization, AuthorizeRequest, CaptureReceipt, CaptureRequest, DeclineCode, GatewayError,
    PaymentGateway, RefundRequest, VoidRequest,
};
use shared_kernel::Money;

use std::collections::HashMap;

use async_trait::async_trait;
use runtime::LedgerKey;

use super::*;

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn authorize_request(key: &str, token: &str, amount: &str) -> AuthorizeRequest {
    AuthorizeRequest {
        idempotency_key: key.into(),
        amount: eur(amount),
        payment_method_token: token.into(),
    }
}

async fn authorize(
    gateway: &SandboxGateway,
    key: &str,
    token: &str,
) -> Result<Authorization, GatewayError> {
    gateway
        .authorize(authorize_request(key, token, "50.00"))
        .await
}

/// An authorization of 50.00 EUR, with its id.
async fn held(gateway: &SandboxGateway, key: &str) -> String {
    authorize(gateway, key, TOK_VISA)
        .await
        .unwrap()
        .authorization_id
}

async fn capture(
    gateway: &SandboxGateway,
    key: &str,
    id: &str,
    amount: &str,
) -> Result<CaptureReceipt, GatewayError> {
    gateway
        .capture(CaptureRequest {
            idempotency_key: key.into(),
            authorization_id: id.into(),
            amount: eur(amount),
        })
        .await
}

async fn void(gateway: &SandboxGateway, key: &str, id: &str) -> Result<(), GatewayError> {
    gateway
        .void(VoidRequest {
            idempotency_key: key.into(),
            authorization_id: id.into(),
        })
        .await
}

async fn refund(
    gateway: &SandboxGateway,
    key: &str,
    id: &str,
    amount: &str,
) -> Result<String, GatewayError> {
    gateway
        .refund(RefundRequest {
            idempotency_key: key.into(),
            authorization_id: id.into(),
            amount: eur(amount),
        })
        .await
        .map(|receipt| receipt.refund_id)
}

fn declined(code: DeclineCode, message: &str) -> GatewayError {
    GatewayError::Declined {
        code,
        message: message.into(),
    }
}

fn assert_rejected<T: std::fmt::Debug>(result: Result<T, GatewayError>, expected: &str) {
    match result {
        Err(GatewayError::Rejected(reason)) => {
            assert!(reason.contains(expected), "{reason:?} lacks {expected:?}")
        }
        other => panic!("expected a refusal containing {expected:?}, got {other:?}"),
    }
}

// --- Tokens ---

#[test]
fn the_documented_tokens_are_distinct() {
    let mut tokens = TEST_TOKENS.to_vec();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), TEST_TOKENS.len());
}

#[tokio::test]
async fn tok_visa_authorizes_and_the_provider_holds_the_amount() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    assert!(id.starts_with("auth_"), "{id}");
    assert_eq!(
        gateway.authorization(&id),
        Some(AuthorizationSnapshot {
            authorization_id: id.clone(),
            amount: eur("50.00"),
            captured: eur("0"),
            refunded: eur("0"),
            voided: false,
        })
    );
}

#[tokio::test]
async fn tok_declined_is_declined_with_a_message_for_the_shopper() {
    let gateway = SandboxGateway::new();
    assert_eq!(
        authorize(&gateway, "k1", TOK_DECLINED).await,
        Err(declined(
            DeclineCode::CardDeclined,
            "Your card was declined."
        ))
    );
    assert_eq!(gateway.authorization_for_key("k1"), None);
}

#[tokio::test]
async fn tok_insufficient_funds_is_declined_for_insufficient_funds() {
    let gateway = SandboxGateway::new();
    assert_eq!(
        authorize(&gateway, "k1", TOK_INSUFFICIENT_FUNDS).await,
        Err(declined(
            DeclineCode::InsufficientFunds,
            "Your card has insufficient funds."
        ))
    );
}

#[tokio::test]
async fn tok_expired_card_is_declined_as_expired() {
    let gateway = SandboxGateway::new();
    assert_eq!(
        authorize(&gateway, "k1", TOK_EXPIRED_CARD).await,
        Err(declined(DeclineCode::ExpiredCard, "Your card has expired."))
    );
}

#[tokio::test]
async fn an_unknown_token_is_declined() {
    let gateway = SandboxGateway::new();
    assert_eq!(
        authorize(&gateway, "k1", "tok_made_up").await,
        Err(declined(
            DeclineCode::CardDeclined,
            "Your card was declined."
        ))
    );
}

#[tokio::test]
async fn tok_transient_fails_once_per_key_with_nothing_done_then_authorizes() {
    let gateway = SandboxGateway::new();
    let first = authorize(&gateway, "k1", TOK_TRANSIENT).await;
    assert!(
        matches!(first, Err(GatewayError::Transient(_))),
        "{first:?}"
    );
    assert_eq!(gateway.authorization_for_key("k1"), None);

    let retried = authorize(&gateway, "k1", TOK_TRANSIENT).await.unwrap();
    assert_eq!(
        gateway
            .authorization_for_key("k1")
            .unwrap()
            .authorization_id,
        retried.authorization_id
    );
    assert_eq!(authorize(&gateway, "k1", TOK_TRANSIENT).await, Ok(retried));
}

#[tokio::test]
async fn tok_transient_fails_once_for_every_new_key() {
    let gateway = SandboxGateway::new();
    authorize(&gateway, "k1", TOK_TRANSIENT).await.unwrap_err();
    authorize(&gateway, "k1", TOK_TRANSIENT).await.unwrap();
    let other = authorize(&gateway, "k2", TOK_TRANSIENT).await;
    assert!(
        matches!(other, Err(GatewayError::Transient(_))),
        "{other:?}"
    );
}

#[tokio::test]
async fn tok_timeout_is_unknown_at_first_although_the_authorization_exists() {
    let gateway = SandboxGateway::new();
    let first = authorize(&gateway, "k1", TOK_TIMEOUT).await;
    assert!(matches!(first, Err(GatewayError::Unknown(_))), "{first:?}");
    let hold = gateway.authorization_for_key("k1").unwrap();
    assert_eq!(hold.amount, eur("50.00"));

    let reconciled = authorize(&gateway, "k1", TOK_TIMEOUT).await.unwrap();
    assert_eq!(reconciled.authorization_id, hold.authorization_id);
}

#[tokio::test]
async fn tok_timeout_declined_is_unknown_at_first_then_declined() {
    let gateway = SandboxGateway::new();
    let first = authorize(&gateway, "k1", TOK_TIMEOUT_DECLINED).await;
    assert!(matches!(first, Err(GatewayError::Unknown(_))), "{first:?}");
    assert_eq!(
        authorize(&gateway, "k1", TOK_TIMEOUT_DECLINED).await,
        Err(declined(
            DeclineCode::CardDeclined,
            "Your card was declined."
        ))
    );
    assert_eq!(gateway.authorization_for_key("k1"), None);
}

// --- Idempotency ---

#[tokio::test]
async fn the_same_key_returns_the_original_authorization_without_a_second_hold() {
    let gateway = SandboxGateway::new();
    let first = held(&gateway, "k1").await;
    let again = held(&gateway, "k1").await;
    assert_eq!(first, again);
    assert_ne!(held(&gateway, "k2").await, first);
}

#[tokio::test]
async fn the_same_key_returns_the_original_decline() {
    let gateway = SandboxGateway::new();
    let first = authorize(&gateway, "k1", TOK_INSUFFICIENT_FUNDS).await;
    assert_eq!(
        authorize(&gateway, "k1", TOK_INSUFFICIENT_FUNDS).await,
        first
    );
}

#[tokio::test]
async fn ids_are_derived_from_keys_so_every_sandbox_gives_the_same_ones() {
    let one = SandboxGateway::new();
    let other = SandboxGateway::new();
    let id = held(&one, "k1").await;
    assert_eq!(held(&other, "k1").await, id);
    let capture_id = capture(&one, "c1", &id, "10.00").await.unwrap().capture_id;
    assert!(capture_id.starts_with("cap_"), "{capture_id}");
}

#[tokio::test]
async fn rejects_a_key_reused_for_a_different_authorization() {
    let gateway = SandboxGateway::new();
    held(&gateway, "k1").await;
    assert_rejected(
        gateway
            .authorize(authorize_request("k1", TOK_VISA, "60.00"))
            .await,
        "already used for a different request",
    );
}

#[tokio::test]
async fn rejects_authorizing_an_amount_that_is_not_positive() {
    let gateway = SandboxGateway::new();
    for amount in ["0", "-5.00", "1.001"] {
        assert_rejected(
            gateway
                .authorize(authorize_request(amount, TOK_VISA, amount))
                .await,
            "not a positive amount",
        );
    }
}

// --- Capture ---

#[tokio::test]
async fn partial_captures_add_up_to_the_authorization() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "30.00").await.unwrap();
    capture(&gateway, "c2", &id, "20.00").await.unwrap();
    assert_eq!(gateway.authorization(&id).unwrap().captured, eur("50.00"));
}

#[tokio::test]
async fn a_repeated_capture_key_returns_the_original_receipt_and_captures_once() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    let first = capture(&gateway, "c1", &id, "30.00").await.unwrap();
    let again = capture(&gateway, "c1", &id, "30.00").await.unwrap();
    assert_eq!(first, again);
    assert_eq!(gateway.authorization(&id).unwrap().captured, eur("30.00"));
}

#[tokio::test]
async fn rejects_capturing_more_than_remains() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "30.00").await.unwrap();
    assert_rejected(
        capture(&gateway, "c2", &id, "20.01").await,
        "only 20.00 EUR",
    );
    assert_eq!(gateway.authorization(&id).unwrap().captured, eur("30.00"));
}

#[tokio::test]
async fn rejects_a_second_capture_under_a_new_key_once_all_is_captured() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "50.00").await.unwrap();
    assert_rejected(
        capture(&gateway, "c2", &id, "50.00").await,
        "already fully captured",
    );
}

#[tokio::test]
async fn rejects_capturing_a_voided_authorization() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    void(&gateway, "v1", &id).await.unwrap();
    assert_rejected(capture(&gateway, "c1", &id, "10.00").await, "was voided");
}

#[tokio::test]
async fn rejects_capturing_an_authorization_that_does_not_exist() {
    let gateway = SandboxGateway::new();
    assert_rejected(
        capture(&gateway, "c1", "auth_nope", "10.00").await,
        "no authorization",
    );
}

#[tokio::test]
async fn rejects_capturing_in_another_currency_or_nothing() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    let dollars = CaptureRequest {
        idempotency_key: "c1".into(),
        authorization_id: id.clone(),
        amount: Money::parse("10.00", "USD").unwrap(),
    };
    assert_rejected(gateway.capture(dollars).await, "cannot combine");
    assert_rejected(
        capture(&gateway, "c2", &id, "0").await,
        "not a positive amount",
    );
}

#[tokio::test]
async fn rejects_a_capture_key_reused_for_another_amount() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "10.00").await.unwrap();
    assert_rejected(
        capture(&gateway, "c1", &id, "20.00").await,
        "already used for a different request",
    );
}

// --- Void ---

#[tokio::test]
async fn voiding_releases_the_authorization_and_a_repeated_key_answers_the_same() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    void(&gateway, "v1", &id).await.unwrap();
    assert!(gateway.authorization(&id).unwrap().voided);
    assert_eq!(void(&gateway, "v1", &id).await, Ok(()));
}

#[tokio::test]
async fn rejects_voiding_after_a_capture() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "10.00").await.unwrap();
    assert_rejected(void(&gateway, "v1", &id).await, "was captured");
    assert!(!gateway.authorization(&id).unwrap().voided);
}

#[tokio::test]
async fn rejects_voiding_twice_under_different_keys() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    void(&gateway, "v1", &id).await.unwrap();
    assert_rejected(void(&gateway, "v2", &id).await, "already voided");
}

#[tokio::test]
async fn rejects_voiding_an_authorization_that_does_not_exist() {
    let gateway = SandboxGateway::new();
    assert_rejected(void(&gateway, "v1", "auth_nope").await, "no authorization");
}

// --- Refund ---

#[tokio::test]
async fn partial_refunds_add_up_to_what_was_captured() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "40.00").await.unwrap();
    let first = refund(&gateway, "r1", &id, "15.00").await.unwrap();
    let second = refund(&gateway, "r2", &id, "25.00").await.unwrap();
    assert!(first.starts_with("re_"), "{first}");
    assert_ne!(first, second);
    assert_eq!(gateway.authorization(&id).unwrap().refunded, eur("40.00"));
}

#[tokio::test]
async fn a_repeated_refund_key_returns_the_original_receipt_and_refunds_once() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "40.00").await.unwrap();
    let first = refund(&gateway, "r1", &id, "15.00").await.unwrap();
    assert_eq!(refund(&gateway, "r1", &id, "15.00").await, Ok(first));
    assert_eq!(gateway.authorization(&id).unwrap().refunded, eur("15.00"));
}

#[tokio::test]
async fn rejects_refunding_more_than_was_captured() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    capture(&gateway, "c1", &id, "40.00").await.unwrap();
    refund(&gateway, "r1", &id, "30.00").await.unwrap();
    assert_rejected(
        refund(&gateway, "r2", &id, "10.01").await,
        "10.00 EUR of authorization",
    );
}

#[tokio::test]
async fn rejects_refunding_before_anything_was_captured() {
    let gateway = SandboxGateway::new();
    let id = held(&gateway, "k1").await;
    assert_rejected(refund(&gateway, "r1", &id, "1.00").await, "cannot refund");
}

#[tokio::test]
async fn rejects_refunding_an_authorization_that_does_not_exist() {
    let gateway = SandboxGateway::new();
    assert_rejected(
        refund(&gateway, "r1", "auth_nope", "1.00").await,
        "no authorization",
    );
}

// --- Through the port ---

#[tokio::test]
async fn works_behind_the_port_as_a_shared_trait_object() {
    let gateway: std::sync::Arc<dyn PaymentGateway> = std::sync::Arc::new(SandboxGateway::new());
    let id = gateway
        .authorize(authorize_request("k1", TOK_VISA, "12.34"))
        .await
        .unwrap()
        .authorization_id;
    let receipt = gateway
        .capture(CaptureRequest {
            idempotency_key: "c1".into(),
            authorization_id: id,
            amount: eur("12.34"),
        })
        .await;
    assert!(receipt.is_ok(), "{receipt:?}");
}

// --- A ledger shared by several instances ---

/// A store's ledger in memory: one lock for every record, held from `open` to commit.
#[derive(Default, Clone)]
struct MemoryStore {
    records: std::sync::Arc<tokio::sync::Mutex<HashMap<LedgerKey, String>>>,
}

struct MemoryEntry {
    guard: tokio::sync::OwnedMutexGuard<HashMap<LedgerKey, String>>,
    read: Vec<(LedgerKey, String)>,
}

#[async_trait]
impl runtime::LedgerEntry for MemoryEntry {
    fn records(&self) -> &[(LedgerKey, String)] {
        &self.read
    }

    async fn commit(
        mut self: Box<Self>,
        writes: Vec<(LedgerKey, String)>,
    ) -> Result<(), runtime::StoreError> {
        self.guard.extend(writes);
        Ok(())
    }
}

#[async_trait]
impl ProviderLedger for MemoryStore {
    async fn open(
        &self,
        keys: &[LedgerKey],
    ) -> Result<Box<dyn runtime::LedgerEntry>, runtime::StoreError> {
        let guard = self.records.clone().lock_owned().await;
        let read = keys
            .iter()
            .filter_map(|key| guard.get(key).map(|record| (key.clone(), record.clone())))
            .collect();
        Ok(Box::new(MemoryEntry { guard, read }))
    }
}

/// Two instances' sandboxes on one store.
fn two_instances() -> (SandboxGateway, SandboxGateway) {
    let store = MemoryStore::default();
    (
        SandboxGateway::shared(std::sync::Arc::new(store.clone())),
        SandboxGateway::shared(std::sync::Arc::new(store)),
    )
}

#[tokio::test]
async fn one_instance_captures_what_another_authorized() {
    let (a, b) = two_instances();
    let id = held(&a, "k1").await;
    let receipt = capture(&b, "c1", &id, "50.00").await.unwrap();
    assert_eq!(capture(&a, "c1", &id, "50.00").await, Ok(receipt));
    let held = b.find_authorization(&id).await.unwrap().unwrap();
    assert_eq!(held.captured, eur("50.00"));
    assert_rejected(
        capture(&a, "c2", &id, "0.01").await,
        "already fully captured",
    );
}

#[tokio::test]
async fn a_shared_ledger_answers_the_special_tokens_as_one_in_memory_does() {
    let (a, b) = two_instances();
    // tok_transient fails once per key, whichever instance asks first and again.
    assert!(matches!(
        authorize(&a, "t1", TOK_TRANSIENT).await,
        Err(GatewayError::Transient(_))
    ));
    assert!(authorize(&b, "t1", TOK_TRANSIENT).await.is_ok());
    // tok_timeout authorizes although the first answer is unknown.
    assert!(matches!(
        authorize(&a, "o1", TOK_TIMEOUT).await,
        Err(GatewayError::Unknown(_))
    ));
    let id = authorize(&b, "o1", TOK_TIMEOUT)
        .await
        .unwrap()
        .authorization_id;
    assert!(a.find_authorization(&id).await.unwrap().is_some());
    // A decline is final for its key.
    let declined = authorize(&a, "d1", TOK_INSUFFICIENT_FUNDS).await;
    assert_eq!(authorize(&b, "d1", TOK_INSUFFICIENT_FUNDS).await, declined);
    // tok_capture_refused refuses every capture.
    let refused = authorize(&a, "r1", TOK_CAPTURE_REFUSED)
        .await
        .unwrap()
        .authorization_id;
    assert_rejected(capture(&b, "c1", &refused, "50.00").await, "refused");
    // A key reused for another request is refused.
    assert_rejected(
        b.authorize(authorize_request("t1", TOK_TRANSIENT, "49.00"))
            .await,
        "different request",
    );
}

#[tokio::test]
async fn voids_and_refunds_see_captures_made_by_another_instance() {
    let (a, b) = two_instances();
    let id = held(&a, "k1").await;
    capture(&b, "c1", &id, "40.00").await.unwrap();
    assert_rejected(void(&a, "v1", &id).await, "was captured");
    refund(&a, "r1", &id, "30.00").await.unwrap();
    assert_rejected(refund(&b, "r2", &id, "10.01").await, "refundable");
    let held = a.find_authorization(&id).await.unwrap().unwrap();
    assert_eq!((held.captured, held.refunded), (eur("40.00"), eur("30.00")));
}

#[tokio::test]
async fn concurrent_captures_from_two_instances_never_exceed_the_hold() {
    let (a, b) = two_instances();
    let id = held(&a, "k1").await;
    let (first, second) = tokio::join!(
        capture(&a, "c1", &id, "30.00"),
        capture(&b, "c2", &id, "30.00")
    );
    assert_eq!(
        usize::from(first.is_ok()) + usize::from(second.is_ok()),
        1,
        "{first:?} {second:?}"
    );
    let held = b.find_authorization(&id).await.unwrap().unwrap();
    assert_eq!(held.captured, eur("30.00"));
}
