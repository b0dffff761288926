//! Personal data in events, sealed per person so that forgetting a person is deleting a key
//! (crypto-shredding, ADR 0026).
//!
//! Some events carry personal data (a shopper's email and address). Before such an event is
//! appended, its personal fields are taken out of the payload and sealed with the key of the
//! person they belong to: the customer, or for a guest the checkout that placed the order. The
//! stored row keeps everything else in clear, names the person (`subject`), and is stored as
//! [`SEALED_VERSION`] so that a release which cannot open it refuses it instead of misreading it.
//!
//! Every reader opens rows on the way in ([`Vault::open_rows`], [`Vault::open_feed`]): with the
//! key, the fields come back and the row reads as the plain version it was sealed from; without
//! it (the person was erased) each field reads as its erased placeholder. Nothing else in the
//! system sees the difference, which is why the executor and the feed do this and not the
//! domain.
//!
//! Keys live in the store's `personal_data_keys` table ([`PersonalDataKeys`]), never in events;
//! a backup of the events without the keys holds no personal data of a sealed row.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use serde_json::{Map, Value};

use crate::{Cursor, EventFeed, FeedEvent, StoreError};

/// The stored version of a row whose personal fields are sealed. It opens to
/// [`PLAIN_VERSION`].
pub const SEALED_VERSION: &str = "3";
/// The plain version a sealed row reads as once opened.
pub const PLAIN_VERSION: &str = "2";
/// The text an erased personal field reads as.
pub const ERASED: &str = "[erased]";

const SEALED_FIELD: &str = "sealed";
const KEY_LEN: usize = 32;
/// How long a key read from the store is trusted without asking again. Erasing on this
/// instance takes effect at once; another instance may still open a row for this long.
const KEY_TTL: Duration = Duration::from_secs(30);
const KEY_CACHE_CAPACITY: usize = 16_384;

/// A person's data key: 256 random bits.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey(pub [u8; KEY_LEN]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    pub fn generate() -> Result<DataKey, StoreError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::new(format!("no randomness for a data key: {e}")))?;
        Ok(DataKey(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Result<DataKey, StoreError> {
        <[u8; KEY_LEN]>::try_from(bytes)
            .map(DataKey)
            .map_err(|_| StoreError::new(format!("a stored data key has {} bytes", bytes.len())))
    }
}

/// Where data keys are kept. Implemented by each storage adapter (`personal_data_keys`).
#[async_trait]
pub trait PersonalDataKeys: Send + Sync {
    /// The key of `subject`, created with `candidate` if there is none. Two writers racing for
    /// a new subject agree on one key (the first one stored).
    async fn key_for_sealing(
        &self,
        subject: &str,
        candidate: &DataKey,
    ) -> Result<DataKey, StoreError>;

    /// The keys that exist among `subjects`.
    async fn keys(&self, subjects: &[String]) -> Result<HashMap<String, DataKey>, StoreError>;

    /// Deletes the keys of `subjects`; returns how many there were.
    async fn erase_keys(&self, subjects: &[String]) -> Result<u64, StoreError>;
}

/// Which fields of which event are personal, and what each reads as once erased.
#[derive(Debug, Clone)]
pub struct PersonalEvent {
    pub aggregate_type: &'static str,
    pub event_type: &'static str,
    pub fields: Vec<(&'static str, Value)>,
}

/// Who a sealed row's data belongs to: the customer when there is one, otherwise the guest's
/// checkout, otherwise the order.
pub fn subject_of(
    payload: &Map<String, Value>,
    aggregate_type: &str,
    aggregate_id: &str,
) -> String {
    let field = |name: &str| payload.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(customer) = field("customer_id") {
        return customer_subject(&customer);
    }
    if let Some(checkout) = field("checkout_id") {
        return checkout_subject(&checkout);
    }
    match aggregate_type {
        "checkout" => checkout_subject(aggregate_id),
        _ => format!("{aggregate_type}:{aggregate_id}"),
    }
}

pub fn customer_subject(customer_id: &str) -> String {
    format!("customer:{customer_id}")
}

pub fn checkout_subject(checkout_id: &str) -> String {
    format!("checkout:{checkout_id}")
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Malformed(String),
}

impl From<SealError> for StoreError {
    fn from(error: SealError) -> Self {
        match error {
            SealError::Store(store) => store,
            SealError::Malformed(text) => StoreError::new(text),
        }
    }
}

struct Cached {
    key: DataKey,
    at: Instant,
}

/// Seals and opens the personal fields of stored rows.
pub struct Vault {
    keys: Arc<dyn PersonalDataKeys>,
    events: Vec<PersonalEvent>,
    cache: Mutex<HashMap<String, Cached>>,
    /// Subjects erased by this process: a reader that fetched a key just before its erasure
    /// must not put it back into the cache, where it would outlive the erasure by `KEY_TTL`.
    erased: Mutex<HashSet<String>>,
}

impl Vault {
    pub fn new(keys: Arc<dyn PersonalDataKeys>, events: Vec<PersonalEvent>) -> Self {
        Self {
            keys,
            events,
            cache: Mutex::new(HashMap::new()),
            erased: Mutex::new(HashSet::new()),
        }
    }

    fn personal(&self, aggregate_type: &str, event_type: &str) -> Option<&PersonalEvent> {
        self.events
            .iter()
            .find(|e| e.aggregate_type == aggregate_type && e.event_type == event_type)
    }

    /// Whether rows of this event type are sealed when written.
    pub fn seals(&self, aggregate_type: &str, event_type: &str) -> bool {
        self.personal(aggregate_type, event_type).is_some()
    }

    fn cached(&self, subject: &str) -> Option<DataKey> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(subject)
            .filter(|c| c.at.elapsed() < KEY_TTL)
            .map(|c| c.key.clone())
    }

    fn remember(&self, subject: &str, key: &DataKey) {
        let erased = self.erased.lock().unwrap_or_else(PoisonError::into_inner);
        if erased.contains(subject) {
            return;
        }
        // Checked and inserted under both locks, in the order `erase` takes them.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= KEY_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(
            subject.to_owned(),
            Cached {
                key: key.clone(),
                at: Instant::now(),
            },
        );
    }

    /// Deletes the keys of `subjects`, here and in the store: every row sealed for them reads
    /// as erased from now on. Returns how many keys the store held.
    pub async fn erase(&self, subjects: &[String]) -> Result<u64, StoreError> {
        {
            let mut erased = self.erased.lock().unwrap_or_else(PoisonError::into_inner);
            if erased.len() >= KEY_CACHE_CAPACITY {
                // Old erasures are long past their racing readers; their keys are gone.
                erased.clear();
            }
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            for subject in subjects {
                erased.insert(subject.clone());
                cache.remove(subject);
            }
        }
        self.keys.erase_keys(subjects).await
    }

    /// Whether the store still holds a key for `subject`.
    pub async fn holds_key(&self, subject: &str) -> Result<bool, StoreError> {
        Ok(self
            .keys
            .keys(&[subject.to_owned()])
            .await?
            .contains_key(subject))
    }

    /// Seals the personal fields of a row about to be appended, in place: the fields leave the
    /// payload, a `sealed` object names the subject and carries them encrypted, and the row
    /// is stored as [`SEALED_VERSION`]. Rows of other event types are left as they are.
    pub async fn seal(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        event_type: &str,
        event_version: &mut String,
        payload: &mut Value,
    ) -> Result<(), SealError> {
        let Some(personal) = self.personal(aggregate_type, event_type) else {
            return Ok(());
        };
        if event_version != PLAIN_VERSION {
            return Err(SealError::Malformed(format!(
                "{aggregate_type}.{event_type} v{event_version}: only v{PLAIN_VERSION} is sealed"
            )));
        }
        let Value::Object(fields) = payload else {
            return Err(SealError::Malformed(format!(
                "{aggregate_type}.{event_type}: the payload is not an object"
            )));
        };
        let subject = subject_of(fields, aggregate_type, aggregate_id);
        let mut secret = Map::new();
        for (name, _) in &personal.fields {
            if let Some(value) = fields.remove(*name) {
                secret.insert((*name).to_owned(), value);
            }
        }
        let key = match self.cached(&subject) {
            Some(key) => key,
            None => {
                let key = self
                    .keys
                    .key_for_sealing(&subject, &DataKey::generate()?)
                    .await?;
                self.remember(&subject, &key);
                key
            }
        };
        let plaintext = serde_json::to_vec(&Value::Object(secret))
            .map_err(|e| SealError::Malformed(e.to_string()))?;
        let sealed = encrypt(
            &key,
            &aad(aggregate_type, aggregate_id, event_type),
            plaintext,
        )?;
        fields.insert(
            SEALED_FIELD.to_owned(),
            serde_json::json!({ "subject": subject, "data": sealed }),
        );
        *event_version = SEALED_VERSION.to_owned();
        Ok(())
    }

    /// Fetches, in one call to the store, the keys that `rows` need and are not cached.
    async fn keys_for<'a>(
        &self,
        subjects: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, DataKey>, StoreError> {
        let mut found = HashMap::new();
        let mut missing = HashSet::new();
        for subject in subjects {
            match self.cached(subject) {
                Some(key) => {
                    found.insert(subject.to_owned(), key);
                }
                None => {
                    missing.insert(subject.to_owned());
                }
            }
        }
        if !missing.is_empty() {
            let missing: Vec<String> = missing.into_iter().collect();
            for (subject, key) in self.keys.keys(&missing).await? {
                self.remember(&subject, &key);
                found.insert(subject, key);
            }
        }
        Ok(found)
    }

    /// Opens sealed rows in place, as (aggregate type, aggregate id, event type, version,
    /// payload) tuples: each reads as [`PLAIN_VERSION`] with its fields back, or erased.
    pub async fn open_rows<'r, I>(&self, rows: I) -> Result<(), SealError>
    where
        I: IntoIterator<Item = RowMut<'r>>,
    {
        let rows: Vec<RowMut<'r>> = rows
            .into_iter()
            .filter(|row| {
                *row.event_version == SEALED_VERSION
                    && self.seals(row.aggregate_type, row.event_type)
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let subjects: Vec<String> = rows
            .iter()
            .filter_map(|row| sealed_subject(row.payload))
            .collect();
        let keys = self.keys_for(subjects.iter().map(String::as_str)).await?;
        for row in rows {
            self.open_one(row, &keys)?;
        }
        Ok(())
    }

    fn open_one(&self, row: RowMut<'_>, keys: &HashMap<String, DataKey>) -> Result<(), SealError> {
        let malformed = |what: &str| {
            SealError::Malformed(format!(
                "{}.{} of {}: {what}",
                row.aggregate_type, row.event_type, row.aggregate_id
            ))
        };
        let personal = self
            .personal(row.aggregate_type, row.event_type)
            .ok_or_else(|| malformed("not a sealed event type"))?;
        let Value::Object(fields) = &mut *row.payload else {
            return Err(malformed("the payload is not an object"));
        };
        let Some(Value::Object(sealed)) = fields.remove(SEALED_FIELD) else {
            return Err(malformed("a sealed row without its sealed fields"));
        };
        let subject = sealed.get("subject").and_then(Value::as_str).unwrap_or("");
        let data = sealed.get("data").and_then(Value::as_str).unwrap_or("");
        let opened = match keys.get(subject) {
            Some(key) => {
                let aad = aad(row.aggregate_type, row.aggregate_id, row.event_type);
                let plaintext = decrypt(key, &aad, data).map_err(|e| malformed(&e))?;
                match serde_json::from_slice::<Value>(&plaintext) {
                    Ok(Value::Object(secret)) => secret,
                    _ => return Err(malformed("the sealed fields are not an object")),
                }
            }
            None => personal
                .fields
                .iter()
                .map(|(name, erased)| ((*name).to_owned(), erased.clone()))
                .collect(),
        };
        fields.extend(opened);
        *row.event_version = PLAIN_VERSION.to_owned();
        Ok(())
    }

    /// Opens the sealed events of a feed page in place.
    pub async fn open_feed(&self, events: &mut [FeedEvent]) -> Result<(), SealError> {
        // Only sealed rows are copied out of the shared tail; every other payload stays shared.
        let sealed = |event: &FeedEvent| {
            event.event_version == SEALED_VERSION
                && self.seals(&event.aggregate_type, &event.event_type)
        };
        let rows = events.iter_mut().filter(|e| sealed(e)).map(|event| {
            let payload = Arc::make_mut(&mut event.payload);
            RowMut {
                aggregate_type: &event.aggregate_type,
                aggregate_id: &event.aggregate_id,
                event_type: &event.event_type,
                event_version: &mut event.event_version,
                payload,
            }
        });
        self.open_rows(rows).await
    }
}

/// A feed whose sealed events arrive opened: what every reader of the feed in the process
/// follows, so that projections, contracts and deliveries see personal data, or its erasure,
/// exactly as the executor does.
pub struct OpeningFeed {
    inner: Arc<dyn EventFeed>,
    vault: Arc<Vault>,
}

impl OpeningFeed {
    pub fn new(inner: Arc<dyn EventFeed>, vault: Arc<Vault>) -> Self {
        Self { inner, vault }
    }
}

#[async_trait]
impl EventFeed for OpeningFeed {
    async fn read_after(&self, after: Cursor, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        let mut events = self.inner.read_after(after, limit).await?;
        self.vault.open_feed(&mut events).await?;
        Ok(events)
    }
}

/// A stored row, borrowed for opening in place.
pub struct RowMut<'r> {
    pub aggregate_type: &'r str,
    pub aggregate_id: &'r str,
    pub event_type: &'r str,
    pub event_version: &'r mut String,
    pub payload: &'r mut Value,
}

fn sealed_subject(payload: &Value) -> Option<String> {
    payload
        .get(SEALED_FIELD)?
        .get("subject")?
        .as_str()
        .map(str::to_owned)
}

/// The sealed fields are bound to their row: moved to another event, they do not open.
fn aad(aggregate_type: &str, aggregate_id: &str, event_type: &str) -> Vec<u8> {
    format!("{aggregate_type}\u{1f}{aggregate_id}\u{1f}{event_type}").into_bytes()
}

fn cipher(key: &DataKey) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&CHACHA20_POLY1305, &key.0)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Malformed("a data key of the wrong length".to_owned()))
}

/// Base64 of a random nonce followed by the ciphertext and its tag. A key seals only one
/// person's events, so random 96-bit nonces never come near a collision.
fn encrypt(key: &DataKey, aad: &[u8], mut plaintext: Vec<u8>) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| StoreError::new(format!("no randomness for a nonce: {e}")))?;
    cipher(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut plaintext,
        )
        .map_err(|_| SealError::Malformed("sealing failed".to_owned()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&plaintext);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

fn decrypt(key: &DataKey, aad: &[u8], data: &str) -> Result<Vec<u8>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("sealed data is not base64: {e}"))?;
    if bytes.len() < NONCE_LEN {
        return Err("sealed data is too short".to_owned());
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "a bad nonce".to_owned())?;
    let mut buffer = ciphertext.to_vec();
    let plain = cipher(key)
        .map_err(|e| e.to_string())?
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| "the sealed fields do not open with their subject's key".to_owned())?;
    Ok(plain.to_vec())
}

/// Keys kept in memory, for tests and tools that run without a store.
#[derive(Default)]
pub struct InMemoryPersonalDataKeys {
    keys: Mutex<HashMap<String, DataKey>>,
}

#[async_trait]
impl PersonalDataKeys for InMemoryPersonalDataKeys {
    async fn key_for_sealing(
        &self,
        subject: &str,
        candidate: &DataKey,
    ) -> Result<DataKey, StoreError> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(keys
            .entry(subject.to_owned())
            .or_insert_with(|| candidate.clone())
            .clone())
    }

    async fn keys(&self, subjects: &[String]) -> Result<HashMap<String, DataKey>, StoreError> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(subjects
            .iter()
            .filter_map(|s| keys.get(s).map(|k| (s.clone(), k.clone())))
            .collect())
    }

    async fn erase_keys(&self, subjects: &[String]) -> Result<u64, StoreError> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(subjects
            .iter()
            .filter(|s| keys.remove(*s).is_some())
            .count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vault() -> Vault {
        Vault::new(
            Arc::new(InMemoryPersonalDataKeys::default()),
            vec![PersonalEvent {
                aggregate_type: "order",
                event_type: "OrderPlaced",
                fields: vec![
                    ("email", json!(ERASED)),
                    ("address", json!({"name": ERASED})),
                ],
            }],
        )
    }

    fn placed(customer: Option<&str>) -> Value {
        json!({
            "order_id": "o-1",
            "checkout_id": "c-1",
            "customer_id": customer,
            "email": "ada@example.com",
            "address": {"name": "Ada Lovelace"},
            "total": "10.00"
        })
    }

    async fn open(vault: &Vault, id: &str, version: &mut String, payload: &mut Value) {
        let row = RowMut {
            aggregate_type: "order",
            aggregate_id: id,
            event_type: "OrderPlaced",
            event_version: version,
            payload,
        };
        vault.open_rows([row]).await.unwrap();
    }

    #[tokio::test]
    async fn a_key_fetched_by_a_reader_racing_the_erasure_is_not_cached_after_it() {
        let vault = vault();
        let subject = "checkout:c-1".to_owned();
        let key = DataKey::generate().unwrap();
        // A reader fetched the key just before the erasure and caches it just after.
        vault.erase(std::slice::from_ref(&subject)).await.unwrap();
        vault.remember(&subject, &key);
        assert!(vault.cached(&subject).is_none());
    }

    #[tokio::test]
    async fn a_sealed_row_holds_no_personal_field_in_clear_and_opens_to_the_plain_row() {
        let vault = vault();
        let plain = placed(None);
        let mut payload = plain.clone();
        let mut version = PLAIN_VERSION.to_owned();
        vault
            .seal("order", "o-1", "OrderPlaced", &mut version, &mut payload)
            .await
            .unwrap();
        assert_eq!(version, SEALED_VERSION);
        let text = payload.to_string();
        assert!(
            !text.contains("ada@example.com") && !text.contains("Lovelace"),
            "{text}"
        );
        assert_eq!(payload["sealed"]["subject"], "checkout:c-1");
        assert_eq!(payload["total"], "10.00");

        open(&vault, "o-1", &mut version, &mut payload).await;
        assert_eq!(version, PLAIN_VERSION);
        assert_eq!(payload, plain);
    }

    #[tokio::test]
    async fn a_customers_rows_are_sealed_with_the_customers_key_and_read_erased_without_it() {
        let vault = vault();
        let mut payload = placed(Some("cu-1"));
        let mut version = PLAIN_VERSION.to_owned();
        vault
            .seal("order", "o-1", "OrderPlaced", &mut version, &mut payload)
            .await
            .unwrap();
        assert_eq!(payload["sealed"]["subject"], "customer:cu-1");
        assert_eq!(vault.erase(&["customer:cu-1".to_owned()]).await.unwrap(), 1);

        open(&vault, "o-1", &mut version, &mut payload).await;
        assert_eq!(payload["email"], ERASED);
        assert_eq!(payload["address"], json!({"name": ERASED}));
        assert_eq!(payload["customer_id"], "cu-1");
        assert!(payload.get("sealed").is_none());
    }

    #[tokio::test]
    async fn sealed_fields_moved_to_another_row_do_not_open() {
        let vault = vault();
        let mut payload = placed(None);
        let mut version = PLAIN_VERSION.to_owned();
        vault
            .seal("order", "o-1", "OrderPlaced", &mut version, &mut payload)
            .await
            .unwrap();
        let row = RowMut {
            aggregate_type: "order",
            aggregate_id: "o-2",
            event_type: "OrderPlaced",
            event_version: &mut version,
            payload: &mut payload,
        };
        let error = vault.open_rows([row]).await.unwrap_err();
        assert!(error.to_string().contains("do not open"), "{error}");
    }

    #[tokio::test]
    async fn other_events_and_plain_rows_pass_untouched() {
        let vault = vault();
        let mut payload = json!({"email": "ada@example.com"});
        let mut version = PLAIN_VERSION.to_owned();
        vault
            .seal("order", "o-1", "OrderPaid", &mut version, &mut payload)
            .await
            .unwrap();
        assert_eq!(payload, json!({"email": "ada@example.com"}));
        // A plain v2 row written before sealing existed stays as it is.
        let mut plain = placed(None);
        open(&vault, "o-1", &mut version, &mut plain).await;
        assert_eq!(plain, placed(None));
    }
}
