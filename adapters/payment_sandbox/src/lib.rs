//! A deterministic, in-process payment gateway: [`SandboxGateway`] implements the payments
//! context's [`PaymentGateway`] port with no network, no randomness and no sleeping, so local
//! runs, demos and tests can exercise every path a real provider can take.
//!
//! The outcome is chosen by the payment method token:
//!
//! | token                    | `authorize` answers                                                          |
//! |--------------------------|------------------------------------------------------------------------------|
//! | `tok_visa`               | an authorization                                                             |
//! | `tok_declined`           | `Declined` `CardDeclined`: "Your card was declined."                        |
//! | `tok_insufficient_funds` | `Declined` `InsufficientFunds`: "Your card has insufficient funds."         |
//! | `tok_expired_card`       | `Declined` `ExpiredCard`: "Your card has expired."                          |
//! | `tok_transient`          | `Transient` on the first call with a key (nothing happens), then an authorization for that key |
//! | `tok_timeout`            | `Unknown` on the first call with a key, but the authorization *is* created; later calls with that key return it |
//! | `tok_timeout_declined`   | `Unknown` on the first call with a key; later calls with that key are `Declined` `CardDeclined` |
//! | `tok_capture_refused`    | an authorization whose every capture is `Rejected` (the issuer refuses it)  |
//! | anything else            | `Declined` `CardDeclined`                                                   |
//!
//! Like a real provider it honours idempotency keys: a key it has acted on returns the
//! original outcome (the documented first-call behaviours aside), and a key reused for a
//! different request is `Rejected`. It also keeps each authorization's amount, captured,
//! refunded and voided state and refuses, with `Rejected`, what a provider refuses: capturing
//! more than remains (including any capture under a new key once all is captured), capturing
//! or refunding a voided authorization, voiding after a capture or twice, refunding more than
//! was captured, amounts that are not positive or in another currency, unknown authorization
//! ids. [`SandboxGateway::authorization`] shows that state to tests.
//!
//! Invariant: the same sequence of calls always gives the same answers and the same ids
//! (ids are derived from idempotency keys).
//!
//! Where the ledger lives: in process memory ([`SandboxGateway::new`]), optionally journalled
//! to a file ([`SandboxGateway::persistent`], for the embedded store that one process serves),
//! or in a store every instance shares ([`SandboxGateway::shared`], ADR 0041), so that a
//! capture one instance asks for finds the authorization another placed. In a shared ledger
//! each request locks the records it touches (its key's answer, the authorization's hold)
//! across instances, then runs the same decisions as in memory on just those records.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use async_trait::async_trait;
use payments::{
    Authorization, AuthorizeRequest, CaptureReceipt, CaptureRequest, DeclineCode, GatewayError,
    PaymentGateway, RefundReceipt, RefundRequest, VoidRequest,
};
use runtime::{LedgerKey, ProviderLedger};
use shared_kernel::{deterministic_uuid, Money};

/// Authorizes.
pub const TOK_VISA: &str = "tok_visa";
/// Declined: `CardDeclined`.
pub const TOK_DECLINED: &str = "tok_declined";
/// Declined: `InsufficientFunds`.
pub const TOK_INSUFFICIENT_FUNDS: &str = "tok_insufficient_funds";
/// Declined: `ExpiredCard`.
pub const TOK_EXPIRED_CARD: &str = "tok_expired_card";
/// `Transient` on the first call per idempotency key, then authorizes.
pub const TOK_TRANSIENT: &str = "tok_transient";
/// `Unknown` on the first call per idempotency key although it authorized; then authorized.
pub const TOK_TIMEOUT: &str = "tok_timeout";
/// `Unknown` on the first call per idempotency key; then declined (`CardDeclined`).
pub const TOK_TIMEOUT_DECLINED: &str = "tok_timeout_declined";

/// Authorizes, but every capture of that authorization is `Rejected`.
pub const TOK_CAPTURE_REFUSED: &str = "tok_capture_refused";

/// Every documented test token.
pub const TEST_TOKENS: [&str; 8] = [
    TOK_VISA,
    TOK_DECLINED,
    TOK_INSUFFICIENT_FUNDS,
    TOK_EXPIRED_CARD,
    TOK_TRANSIENT,
    TOK_TIMEOUT,
    TOK_TIMEOUT_DECLINED,
    TOK_CAPTURE_REFUSED,
];

/// What the sandbox provider holds for one authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationSnapshot {
    pub authorization_id: String,
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    pub voided: bool,
}

/// The sandbox provider. Cheap to create; share one behind an `Arc` per process.
#[derive(Default)]
pub struct SandboxGateway {
    ledger: Mutex<Ledger>,
    /// Set when the ledger lives in a shared store; `ledger` is then unused.
    shared: Option<Arc<dyn ProviderLedger>>,
}

impl SandboxGateway {
    /// A sandbox that forgets everything when the process ends.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sandbox whose ledger lives in `store`, shared by every instance on it: any instance
    /// captures, voids or refunds what any other authorized, and two acting on one
    /// authorization at once are decided one after the other.
    pub fn shared(store: Arc<dyn ProviderLedger>) -> Self {
        Self {
            ledger: Mutex::default(),
            shared: Some(store),
        }
    }

    /// A sandbox that survives restarts, like a real provider: every request is appended to
    /// the journal at `path` (and flushed to disk) before it is acted on, and the journal is
    /// replayed when the sandbox is opened.
    pub fn persistent(path: &std::path::Path) -> std::io::Result<Self> {
        use std::io::BufRead;
        let gateway = Self::default();
        {
            let mut ledger = gateway.ledger();
            if path.exists() {
                let reader = std::io::BufReader::new(std::fs::File::open(path)?);
                for line in reader.lines() {
                    let line = line?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    // A line cut short by a crash mid-write was never acted on: skip it.
                    if let Ok(entry) = serde_json::from_str::<JournalEntry>(&line) {
                        entry.apply(&mut ledger);
                    }
                }
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            ledger.journal = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            );
        }
        Ok(gateway)
    }

    /// The provider's view of an authorization, wherever its ledger lives.
    pub async fn find_authorization(
        &self,
        authorization_id: &str,
    ) -> Result<Option<AuthorizationSnapshot>, GatewayError> {
        let Some(store) = &self.shared else {
            return Ok(self.authorization(authorization_id));
        };
        let keys = [LedgerKey::new(HOLD, authorization_id)];
        let entry = store.open(&keys).await.map_err(unavailable)?;
        // Dropped without a commit: read only.
        let ledger = Ledger::from_records(entry.records())?;
        Ok(ledger
            .holds
            .get(authorization_id)
            .map(|hold| hold.snapshot(authorization_id)))
    }

    /// The provider's view of an authorization, if it exists, in a ledger kept in this process
    /// (always `None` for a shared one: see [`Self::find_authorization`]).
    pub fn authorization(&self, authorization_id: &str) -> Option<AuthorizationSnapshot> {
        self.ledger()
            .holds
            .get(authorization_id)
            .map(|hold| hold.snapshot(authorization_id))
    }

    /// The authorization created under `idempotency_key`, if any: lets tests see that a timed
    /// out authorization exists although its caller never learnt its id.
    pub fn authorization_for_key(&self, idempotency_key: &str) -> Option<AuthorizationSnapshot> {
        self.authorization(&id_for("auth", "sandbox-authorization", idempotency_key))
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // Every update completes before the guard is dropped, so a panic elsewhere cannot
        // leave the ledger half-written.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SandboxGateway {
    fn authorize_now(
        ledger: &mut Ledger,
        request: AuthorizeRequest,
    ) -> Result<Authorization, GatewayError> {
        let key = request.idempotency_key.clone();
        let token = request.payment_method_token.as_str();
        if let Some(replayed) = replay(&ledger.authorizations, &key, &request) {
            tracing::debug!(key, "sandbox: replaying authorization");
            return replayed;
        }
        if token == TOK_TRANSIENT && ledger.failed_once.insert(key.clone()) {
            tracing::info!(key, "sandbox: simulated outage, nothing authorized");
            return Err(GatewayError::Transient(
                "sandbox: simulated outage; retry with the same idempotency key".into(),
            ));
        }
        let outcome = match payable(&request.amount) {
            Err(reason) => Err(reason),
            Ok(()) => match token {
                TOK_VISA | TOK_TRANSIENT | TOK_TIMEOUT => {
                    Ok(ledger.place_hold(&key, request.amount, false))
                }
                TOK_CAPTURE_REFUSED => Ok(ledger.place_hold(&key, request.amount, true)),
                TOK_INSUFFICIENT_FUNDS => Err(decline(
                    DeclineCode::InsufficientFunds,
                    "Your card has insufficient funds.",
                )),
                TOK_EXPIRED_CARD => {
                    Err(decline(DeclineCode::ExpiredCard, "Your card has expired."))
                }
                // tok_declined, tok_timeout_declined and every token the sandbox does not know.
                _ => Err(decline(
                    DeclineCode::CardDeclined,
                    "Your card was declined.",
                )),
            },
        };
        // Never the token: payment method tokens stay out of logs like out of events.
        tracing::debug!(key, ?outcome, "sandbox: authorization");
        ledger.authorizations.insert(
            key.clone(),
            Recorded {
                request: request.clone(),
                outcome: outcome.clone(),
            },
        );
        if matches!(token, TOK_TIMEOUT | TOK_TIMEOUT_DECLINED) {
            tracing::info!(key, "sandbox: simulated timeout after the provider acted");
            return Err(GatewayError::Unknown(
                "sandbox: simulated timeout; ask again with the same idempotency key".into(),
            ));
        }
        outcome
    }

    fn capture_now(
        ledger: &mut Ledger,
        request: CaptureRequest,
    ) -> Result<CaptureReceipt, GatewayError> {
        let key = request.idempotency_key.clone();
        if let Some(replayed) = replay(&ledger.captures, &key, &request) {
            return replayed;
        }
        let outcome = ledger.capture(&request);
        tracing::debug!(key, ?outcome, "sandbox: capture");
        ledger.captures.insert(
            key,
            Recorded {
                request,
                outcome: outcome.clone(),
            },
        );
        outcome
    }

    fn void_now(ledger: &mut Ledger, request: VoidRequest) -> Result<(), GatewayError> {
        let key = request.idempotency_key.clone();
        if let Some(replayed) = replay(&ledger.voids, &key, &request) {
            return replayed;
        }
        let outcome = ledger.void(&request.authorization_id);
        tracing::debug!(key, ?outcome, "sandbox: void");
        ledger.voids.insert(
            key,
            Recorded {
                request,
                outcome: outcome.clone(),
            },
        );
        outcome
    }

    fn refund_now(
        ledger: &mut Ledger,
        request: RefundRequest,
    ) -> Result<RefundReceipt, GatewayError> {
        let key = request.idempotency_key.clone();
        if let Some(replayed) = replay(&ledger.refunds, &key, &request) {
            return replayed;
        }
        let outcome = ledger.refund(&request);
        tracing::debug!(key, ?outcome, "sandbox: refund");
        ledger.refunds.insert(
            key,
            Recorded {
                request,
                outcome: outcome.clone(),
            },
        );
        outcome
    }
}

/// One request as the persistent sandbox journals it. Replaying the journal through the same
/// deterministic logic rebuilds the provider's state after a restart, as a real provider would
/// still know what it authorized.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum JournalEntry {
    Authorize {
        key: String,
        amount: Money,
        token: String,
    },
    Capture {
        key: String,
        authorization_id: String,
        amount: Money,
    },
    Void {
        key: String,
        authorization_id: String,
    },
    Refund {
        key: String,
        authorization_id: String,
        amount: Money,
    },
}

impl JournalEntry {
    fn apply(self, ledger: &mut Ledger) {
        // Outcomes are recorded in the ledger as a side effect; the return values were
        // already sent to the caller before the restart.
        match self {
            Self::Authorize { key, amount, token } => {
                let _ = SandboxGateway::authorize_now(
                    ledger,
                    AuthorizeRequest {
                        idempotency_key: key,
                        amount,
                        payment_method_token: token,
                    },
                );
            }
            Self::Capture {
                key,
                authorization_id,
                amount,
            } => {
                let _ = SandboxGateway::capture_now(
                    ledger,
                    CaptureRequest {
                        idempotency_key: key,
                        authorization_id,
                        amount,
                    },
                );
            }
            Self::Void {
                key,
                authorization_id,
            } => {
                let _ = SandboxGateway::void_now(
                    ledger,
                    VoidRequest {
                        idempotency_key: key,
                        authorization_id,
                    },
                );
            }
            Self::Refund {
                key,
                authorization_id,
                amount,
            } => {
                let _ = SandboxGateway::refund_now(
                    ledger,
                    RefundRequest {
                        idempotency_key: key,
                        authorization_id,
                        amount,
                    },
                );
            }
        }
    }
}

impl Ledger {
    /// Writes `entry` durably before the request is acted on. A sandbox that cannot journal
    /// answers as an unavailable provider would: nothing happened, retry later.
    fn journal(&mut self, entry: &JournalEntry) -> Result<(), GatewayError> {
        use std::io::Write;
        let Some(file) = self.journal.as_mut() else {
            return Ok(());
        };
        let unavailable = |e: std::io::Error| {
            GatewayError::Transient(format!("sandbox: journal unavailable: {e}"))
        };
        let mut line = serde_json::to_vec(entry)
            .map_err(|e| GatewayError::Transient(format!("sandbox: journal: {e}")))?;
        line.push(b'\n');
        file.write_all(&line).map_err(unavailable)?;
        file.sync_data().map_err(unavailable)
    }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn authorize(&self, request: AuthorizeRequest) -> Result<Authorization, GatewayError> {
        if let Some(store) = &self.shared {
            let key = &request.idempotency_key;
            let keys = [
                LedgerKey::new(AUTHORIZE, key.clone()),
                LedgerKey::new(OUTAGE, key.clone()),
                LedgerKey::new(HOLD, id_for("auth", "sandbox-authorization", key)),
            ];
            return in_store(store.as_ref(), &keys, |ledger| {
                Self::authorize_now(ledger, request)
            })
            .await;
        }
        let mut ledger = self.ledger();
        ledger.journal(&JournalEntry::Authorize {
            key: request.idempotency_key.clone(),
            amount: request.amount,
            token: request.payment_method_token.clone(),
        })?;
        Self::authorize_now(&mut ledger, request)
    }

    async fn capture(&self, request: CaptureRequest) -> Result<CaptureReceipt, GatewayError> {
        if let Some(store) = &self.shared {
            let keys = [
                LedgerKey::new(CAPTURE, request.idempotency_key.clone()),
                LedgerKey::new(HOLD, request.authorization_id.clone()),
            ];
            return in_store(store.as_ref(), &keys, |ledger| {
                Self::capture_now(ledger, request)
            })
            .await;
        }
        let mut ledger = self.ledger();
        ledger.journal(&JournalEntry::Capture {
            key: request.idempotency_key.clone(),
            authorization_id: request.authorization_id.clone(),
            amount: request.amount,
        })?;
        Self::capture_now(&mut ledger, request)
    }

    async fn void(&self, request: VoidRequest) -> Result<(), GatewayError> {
        if let Some(store) = &self.shared {
            let keys = [
                LedgerKey::new(VOID, request.idempotency_key.clone()),
                LedgerKey::new(HOLD, request.authorization_id.clone()),
            ];
            return in_store(store.as_ref(), &keys, |ledger| {
                Self::void_now(ledger, request)
            })
            .await;
        }
        let mut ledger = self.ledger();
        ledger.journal(&JournalEntry::Void {
            key: request.idempotency_key.clone(),
            authorization_id: request.authorization_id.clone(),
        })?;
        Self::void_now(&mut ledger, request)
    }

    async fn refund(&self, request: RefundRequest) -> Result<RefundReceipt, GatewayError> {
        if let Some(store) = &self.shared {
            let keys = [
                LedgerKey::new(REFUND, request.idempotency_key.clone()),
                LedgerKey::new(HOLD, request.authorization_id.clone()),
            ];
            return in_store(store.as_ref(), &keys, |ledger| {
                Self::refund_now(ledger, request)
            })
            .await;
        }
        let mut ledger = self.ledger();
        ledger.journal(&JournalEntry::Refund {
            key: request.idempotency_key.clone(),
            authorization_id: request.authorization_id.clone(),
            amount: request.amount,
        })?;
        Self::refund_now(&mut ledger, request)
    }
}

// The kinds of record in a shared ledger.
const AUTHORIZE: &str = "authorize";
const OUTAGE: &str = "outage";
const HOLD: &str = "hold";
const CAPTURE: &str = "capture";
const VOID: &str = "void";
const REFUND: &str = "refund";

/// Runs `act` on the records `keys` of a shared ledger, locked against every instance, and
/// writes back the records it changed, whatever it answered (a simulated outage or timeout is
/// remembered like a success). A store that cannot be read is an unavailable provider
/// (nothing happened); one that fails while writing leaves the outcome unknown.
async fn in_store<T>(
    store: &dyn ProviderLedger,
    keys: &[LedgerKey],
    act: impl FnOnce(&mut Ledger) -> Result<T, GatewayError>,
) -> Result<T, GatewayError> {
    let entry = store.open(keys).await.map_err(unavailable)?;
    let before = entry.records().to_vec();
    let mut ledger = Ledger::from_records(&before)?;
    let outcome = act(&mut ledger);
    let writes: Vec<(LedgerKey, String)> = ledger
        .to_records(keys)?
        .into_iter()
        .filter(|record| !unchanged(&before, record))
        .collect();
    entry.commit(writes).await.map_err(|error| {
        GatewayError::Unknown(format!(
            "sandbox: ledger write failed: {error}; ask again with the same idempotency key"
        ))
    })?;
    outcome
}

/// Whether `record` is among `before` (a store may reformat the JSON it keeps).
fn unchanged(before: &[(LedgerKey, String)], (key, record): &(LedgerKey, String)) -> bool {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    before
        .iter()
        .any(|(read, text)| read == key && parse(text).is_some() && parse(text) == parse(record))
}

fn unavailable(error: runtime::StoreError) -> GatewayError {
    GatewayError::Transient(format!("sandbox: ledger unavailable: {error}"))
}

fn unreadable(error: serde_json::Error) -> GatewayError {
    GatewayError::Transient(format!("sandbox: ledger record unreadable: {error}"))
}

/// A request and its answer as a shared ledger keeps them.
#[derive(Debug, Serialize, Deserialize)]
struct StoredAnswer {
    request: JournalEntry,
    outcome: StoredOutcome,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum StoredOutcome {
    /// The id the provider gave (none for a void).
    Done {
        id: Option<String>,
    },
    Declined {
        code: DeclineCode,
        message: String,
    },
    Transient {
        reason: String,
    },
    Unknown {
        reason: String,
    },
    Rejected {
        reason: String,
    },
}

/// A request kind the ledger answers, in its stored form.
trait LedgerRequest: Sized + Clone + PartialEq {
    type Answer: Clone;
    fn entry(&self) -> JournalEntry;
    fn from_entry(entry: JournalEntry) -> Option<Self>;
    fn id(answer: &Self::Answer) -> Option<String>;
    fn from_id(id: Option<String>) -> Option<Self::Answer>;
}

impl LedgerRequest for AuthorizeRequest {
    type Answer = Authorization;
    fn entry(&self) -> JournalEntry {
        JournalEntry::Authorize {
            key: self.idempotency_key.clone(),
            amount: self.amount,
            token: self.payment_method_token.clone(),
        }
    }
    fn from_entry(entry: JournalEntry) -> Option<Self> {
        match entry {
            JournalEntry::Authorize { key, amount, token } => Some(Self {
                idempotency_key: key,
                amount,
                payment_method_token: token,
            }),
            _ => None,
        }
    }
    fn id(answer: &Authorization) -> Option<String> {
        Some(answer.authorization_id.clone())
    }
    fn from_id(id: Option<String>) -> Option<Authorization> {
        id.map(|authorization_id| Authorization { authorization_id })
    }
}

impl LedgerRequest for CaptureRequest {
    type Answer = CaptureReceipt;
    fn entry(&self) -> JournalEntry {
        JournalEntry::Capture {
            key: self.idempotency_key.clone(),
            authorization_id: self.authorization_id.clone(),
            amount: self.amount,
        }
    }
    fn from_entry(entry: JournalEntry) -> Option<Self> {
        match entry {
            JournalEntry::Capture {
                key,
                authorization_id,
                amount,
            } => Some(Self {
                idempotency_key: key,
                authorization_id,
                amount,
            }),
            _ => None,
        }
    }
    fn id(answer: &CaptureReceipt) -> Option<String> {
        Some(answer.capture_id.clone())
    }
    fn from_id(id: Option<String>) -> Option<CaptureReceipt> {
        id.map(|capture_id| CaptureReceipt { capture_id })
    }
}

impl LedgerRequest for VoidRequest {
    type Answer = ();
    fn entry(&self) -> JournalEntry {
        JournalEntry::Void {
            key: self.idempotency_key.clone(),
            authorization_id: self.authorization_id.clone(),
        }
    }
    fn from_entry(entry: JournalEntry) -> Option<Self> {
        match entry {
            JournalEntry::Void {
                key,
                authorization_id,
            } => Some(Self {
                idempotency_key: key,
                authorization_id,
            }),
            _ => None,
        }
    }
    fn id((): &()) -> Option<String> {
        None
    }
    fn from_id(_id: Option<String>) -> Option<()> {
        Some(())
    }
}

impl LedgerRequest for RefundRequest {
    type Answer = RefundReceipt;
    fn entry(&self) -> JournalEntry {
        JournalEntry::Refund {
            key: self.idempotency_key.clone(),
            authorization_id: self.authorization_id.clone(),
            amount: self.amount,
        }
    }
    fn from_entry(entry: JournalEntry) -> Option<Self> {
        match entry {
            JournalEntry::Refund {
                key,
                authorization_id,
                amount,
            } => Some(Self {
                idempotency_key: key,
                authorization_id,
                amount,
            }),
            _ => None,
        }
    }
    fn id(answer: &RefundReceipt) -> Option<String> {
        Some(answer.refund_id.clone())
    }
    fn from_id(id: Option<String>) -> Option<RefundReceipt> {
        id.map(|refund_id| RefundReceipt { refund_id })
    }
}

fn encode<R: LedgerRequest>(recorded: &Recorded<R, R::Answer>) -> Result<String, GatewayError> {
    let outcome = match &recorded.outcome {
        Ok(answer) => StoredOutcome::Done { id: R::id(answer) },
        Err(GatewayError::Declined { code, message }) => StoredOutcome::Declined {
            code: *code,
            message: message.clone(),
        },
        Err(GatewayError::Transient(reason)) => StoredOutcome::Transient {
            reason: reason.clone(),
        },
        Err(GatewayError::Unknown(reason)) => StoredOutcome::Unknown {
            reason: reason.clone(),
        },
        Err(GatewayError::Rejected(reason)) => StoredOutcome::Rejected {
            reason: reason.clone(),
        },
    };
    serde_json::to_string(&StoredAnswer {
        request: recorded.request.entry(),
        outcome,
    })
    .map_err(unreadable)
}

fn decode<R: LedgerRequest>(text: &str) -> Result<Recorded<R, R::Answer>, GatewayError> {
    let stored: StoredAnswer = serde_json::from_str(text).map_err(unreadable)?;
    let wrong = || GatewayError::Transient("sandbox: ledger record of another kind".into());
    let request = R::from_entry(stored.request).ok_or_else(wrong)?;
    let outcome = match stored.outcome {
        StoredOutcome::Done { id } => Ok(R::from_id(id).ok_or_else(wrong)?),
        StoredOutcome::Declined { code, message } => Err(GatewayError::Declined { code, message }),
        StoredOutcome::Transient { reason } => Err(GatewayError::Transient(reason)),
        StoredOutcome::Unknown { reason } => Err(GatewayError::Unknown(reason)),
        StoredOutcome::Rejected { reason } => Err(GatewayError::Rejected(reason)),
    };
    Ok(Recorded { request, outcome })
}

impl Ledger {
    /// The part of a ledger that `records` (read from a shared store) hold.
    fn from_records(records: &[(LedgerKey, String)]) -> Result<Self, GatewayError> {
        let mut ledger = Self::default();
        for (key, record) in records {
            let name = key.key.clone();
            match key.kind {
                AUTHORIZE => {
                    ledger.authorizations.insert(name, decode(record)?);
                }
                OUTAGE => {
                    ledger.failed_once.insert(name);
                }
                HOLD => {
                    let hold = serde_json::from_str(record).map_err(unreadable)?;
                    ledger.holds.insert(name, hold);
                }
                CAPTURE => {
                    ledger.captures.insert(name, decode(record)?);
                }
                VOID => {
                    ledger.voids.insert(name, decode(record)?);
                }
                REFUND => {
                    ledger.refunds.insert(name, decode(record)?);
                }
                _ => {}
            }
        }
        Ok(ledger)
    }

    /// The records among `keys` this ledger holds, in their stored form.
    fn to_records(&self, keys: &[LedgerKey]) -> Result<Vec<(LedgerKey, String)>, GatewayError> {
        let mut records = Vec::new();
        for key in keys {
            let name = key.key.as_str();
            let record = match key.kind {
                AUTHORIZE => self.authorizations.get(name).map(encode).transpose()?,
                OUTAGE => self.failed_once.contains(name).then(|| "true".to_owned()),
                HOLD => self
                    .holds
                    .get(name)
                    .map(|hold| serde_json::to_string(hold).map_err(unreadable))
                    .transpose()?,
                CAPTURE => self.captures.get(name).map(encode).transpose()?,
                VOID => self.voids.get(name).map(encode).transpose()?,
                REFUND => self.refunds.get(name).map(encode).transpose()?,
                _ => None,
            };
            if let Some(record) = record {
                records.push((key.clone(), record));
            }
        }
        Ok(records)
    }
}

/// A request the provider acted on, and what it answered.
struct Recorded<R, T> {
    request: R,
    outcome: Result<T, GatewayError>,
}

type Outcomes<R, T> = HashMap<String, Recorded<R, T>>;

#[derive(Default)]
struct Ledger {
    /// Where requests are written ahead of being acted on, if the sandbox is persistent.
    journal: Option<std::fs::File>,
    authorizations: Outcomes<AuthorizeRequest, Authorization>,
    captures: Outcomes<CaptureRequest, CaptureReceipt>,
    voids: Outcomes<VoidRequest, ()>,
    refunds: Outcomes<RefundRequest, RefundReceipt>,
    /// Keys of `tok_transient` authorizations whose first call already failed.
    failed_once: HashSet<String>,
    /// Authorizations by id.
    holds: HashMap<String, Hold>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Hold {
    amount: Money,
    captured: Money,
    refunded: Money,
    voided: bool,
    /// `tok_capture_refused`: the issuer refuses every capture.
    refuses_capture: bool,
}

impl Hold {
    fn snapshot(&self, authorization_id: &str) -> AuthorizationSnapshot {
        AuthorizationSnapshot {
            authorization_id: authorization_id.to_owned(),
            amount: self.amount,
            captured: self.captured,
            refunded: self.refunded,
            voided: self.voided,
        }
    }
}

impl Ledger {
    fn place_hold(&mut self, key: &str, amount: Money, refuses_capture: bool) -> Authorization {
        let authorization_id = id_for("auth", "sandbox-authorization", key);
        self.holds.insert(
            authorization_id.clone(),
            Hold {
                amount,
                captured: Money::zero(amount.currency()),
                refunded: Money::zero(amount.currency()),
                voided: false,
                refuses_capture,
            },
        );
        Authorization { authorization_id }
    }

    fn hold(&mut self, authorization_id: &str) -> Result<&mut Hold, GatewayError> {
        self.holds
            .get_mut(authorization_id)
            .ok_or_else(|| rejected(format!("no authorization '{authorization_id}'")))
    }

    fn capture(&mut self, request: &CaptureRequest) -> Result<CaptureReceipt, GatewayError> {
        let id = &request.authorization_id;
        let hold = self.hold(id)?;
        payable(&request.amount)?;
        let remaining = difference(&hold.amount, &hold.captured)?;
        if hold.voided {
            return Err(rejected(format!("authorization '{id}' was voided")));
        }
        if hold.refuses_capture {
            return Err(rejected(format!(
                "the issuer refused to capture authorization '{id}'"
            )));
        }
        if remaining.is_zero() {
            return Err(rejected(format!(
                "authorization '{id}' is already fully captured"
            )));
        }
        let requested = &request.amount;
        if difference(&remaining, requested)?.is_negative() {
            return Err(rejected(format!(
                "cannot capture {requested}: only {remaining} of authorization '{id}' remains"
            )));
        }
        hold.captured = sum(&hold.captured, requested)?;
        Ok(CaptureReceipt {
            capture_id: id_for("cap", "sandbox-capture", &request.idempotency_key),
        })
    }

    fn void(&mut self, id: &str) -> Result<(), GatewayError> {
        let hold = self.hold(id)?;
        if hold.voided {
            return Err(rejected(format!("authorization '{id}' is already voided")));
        }
        if !hold.captured.is_zero() {
            return Err(rejected(format!(
                "cannot void authorization '{id}': {} was captured",
                hold.captured
            )));
        }
        hold.voided = true;
        Ok(())
    }

    fn refund(&mut self, request: &RefundRequest) -> Result<RefundReceipt, GatewayError> {
        let id = &request.authorization_id;
        let hold = self.hold(id)?;
        payable(&request.amount)?;
        let refundable = difference(&hold.captured, &hold.refunded)?;
        let requested = &request.amount;
        if difference(&refundable, requested)?.is_negative() {
            return Err(rejected(format!(
                "cannot refund {requested}: {refundable} of authorization '{id}' is refundable"
            )));
        }
        hold.refunded = sum(&hold.refunded, requested)?;
        Ok(RefundReceipt {
            refund_id: id_for("re", "sandbox-refund", &request.idempotency_key),
        })
    }
}

/// The recorded outcome of `key`, or a refusal if `key` was used for another request.
fn replay<R: PartialEq, T: Clone>(
    outcomes: &Outcomes<R, T>,
    key: &str,
    request: &R,
) -> Option<Result<T, GatewayError>> {
    let recorded = outcomes.get(key)?;
    if recorded.request == *request {
        Some(recorded.outcome.clone())
    } else {
        Some(Err(rejected(format!(
            "idempotency key '{key}' was already used for a different request"
        ))))
    }
}

/// A provider-style id (`auth_…`, `cap_…`, `re_…`) derived from the idempotency key.
fn id_for(prefix: &str, namespace: &str, key: &str) -> String {
    format!(
        "{prefix}_{}",
        deterministic_uuid(namespace, &[key]).simple()
    )
}

fn payable(amount: &Money) -> Result<(), GatewayError> {
    match Money::price(amount.amount(), amount.currency()) {
        Ok(valid) if !valid.is_zero() => Ok(()),
        _ => Err(rejected(format!(
            "{amount} is not a positive amount in whole minor units"
        ))),
    }
}

fn sum(left: &Money, right: &Money) -> Result<Money, GatewayError> {
    left.checked_add(right).map_err(|e| rejected(e.to_string()))
}

fn difference(left: &Money, right: &Money) -> Result<Money, GatewayError> {
    left.checked_sub(right).map_err(|e| rejected(e.to_string()))
}

fn decline(code: DeclineCode, message: &str) -> GatewayError {
    GatewayError::Declined {
        code,
        message: message.to_owned(),
    }
}

fn rejected(reason: impl Into<String>) -> GatewayError {
    GatewayError::Rejected(reason.into())
}

#[cfg(test)]
mod tests;
