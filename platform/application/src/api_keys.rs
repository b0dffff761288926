//! Issuing and checking API keys (ADR 0023).
//!
//! A key is `ck_` followed by 48 hex digits of randomness (192 bits): shown once, when it is
//! issued, and kept only as its SHA-256 hash. A slow password hash would add nothing: the
//! secret is random, not chosen by a person, so it cannot be guessed from its hash, and a
//! fast hash lets every request find its key with one indexed lookup.

use accounts::{ApiKey, ApiKeys, CredentialStoreError, Grants};
use sha2::{Digest, Sha256};
use shared_kernel::Clock;
use uuid::Uuid;

/// What every key starts with, so that secret scanners and people recognise one.
pub const KEY_PREFIX: &str = "ck_";

/// How much of a key is kept in clear to tell keys apart (`ck_` and 8 hex digits).
const SHOWN_CHARS: usize = KEY_PREFIX.len() + 8;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the system's random source failed: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] CredentialStoreError),
}

/// A key just issued: its record, and the secret, which exists nowhere else.
#[derive(Debug)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// The hash a key's secret is stored and found under.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Issues a key named `name` with `grants`.
pub async fn issue(
    store: &dyn ApiKeys,
    clock: &dyn Clock,
    name: &str,
    grants: Grants,
) -> Result<IssuedKey, IssueError> {
    let mut random = [0u8; 24];
    getrandom::fill(&mut random).map_err(|error| IssueError::Random(error.to_string()))?;
    let secret = format!("{KEY_PREFIX}{}", hex::encode(random));
    let key = ApiKey {
        id: Uuid::now_v7(),
        name: name.trim().to_owned(),
        prefix: secret[..SHOWN_CHARS].to_owned(),
        grants,
        created_at: clock.now(),
        revoked_at: None,
    };
    store.insert_key(&key, &secret_hash(&secret)).await?;
    Ok(IssuedKey { key, secret })
}

/// The active key a caller presented, if it is one.
pub async fn authenticate(
    store: &dyn ApiKeys,
    presented: &str,
) -> Result<Option<ApiKey>, CredentialStoreError> {
    let presented = presented.trim();
    // Anything that cannot be a key is not looked up.
    let well_formed = presented.len() == KEY_PREFIX.len() + 48
        && presented.starts_with(KEY_PREFIX)
        && presented[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    if !well_formed {
        return Ok(None);
    }
    store.active_key(&secret_hash(presented)).await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use accounts::{Area, Scope};
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use shared_kernel::SystemClock;

    use super::*;

    #[derive(Default)]
    struct InMemory(Mutex<Vec<(ApiKey, String)>>);

    #[async_trait]
    impl ApiKeys for InMemory {
        async fn insert_key(&self, key: &ApiKey, hash: &str) -> Result<(), CredentialStoreError> {
            self.0.lock().unwrap().push((key.clone(), hash.to_owned()));
            Ok(())
        }
        async fn active_key(&self, hash: &str) -> Result<Option<ApiKey>, CredentialStoreError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .iter()
                .find(|(key, stored)| stored == hash && key.revoked_at.is_none())
                .map(|(key, _)| key.clone()))
        }
        async fn list_keys(&self) -> Result<Vec<ApiKey>, CredentialStoreError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .iter()
                .map(|(k, _)| k.clone())
                .collect())
        }
        async fn revoke_key(
            &self,
            id: Uuid,
            at: DateTime<Utc>,
        ) -> Result<bool, CredentialStoreError> {
            let mut keys = self.0.lock().unwrap();
            let key = keys
                .iter_mut()
                .find(|(key, _)| key.id == id && key.revoked_at.is_none());
            Ok(key.map(|(key, _)| key.revoked_at = Some(at)).is_some())
        }
    }

    #[tokio::test]
    async fn an_issued_key_authenticates_until_revoked_and_only_its_hash_is_stored() {
        let store = InMemory::default();
        let grants = Grants::Scopes([Scope::Write(Area::Catalog)].into());
        let issued = issue(&store, &SystemClock, " tour ", grants.clone())
            .await
            .unwrap();
        assert!(issued.secret.starts_with("ck_") && issued.secret.len() == 51);
        assert_eq!(issued.key.name, "tour");
        assert!(issued.secret.starts_with(&issued.key.prefix));
        let stored = store.0.lock().unwrap()[0].1.clone();
        assert_ne!(stored, issued.secret);
        assert!(!stored.contains(&issued.secret[3..]));

        let found = authenticate(&store, &issued.secret).await.unwrap().unwrap();
        assert_eq!((found.id, found.grants), (issued.key.id, grants));
        let mut wrong = issued.secret.clone();
        wrong.replace_range(10..11, if &wrong[10..11] == "0" { "1" } else { "0" });
        assert_eq!(authenticate(&store, &wrong).await.unwrap(), None);
        for junk in ["", "ck_", "Bearer x", &issued.secret.to_uppercase()] {
            assert_eq!(authenticate(&store, junk).await.unwrap(), None, "{junk}");
        }

        assert!(store.revoke_key(issued.key.id, Utc::now()).await.unwrap());
        assert_eq!(authenticate(&store, &issued.secret).await.unwrap(), None);
    }

    #[tokio::test]
    async fn two_keys_never_share_a_secret() {
        let store = InMemory::default();
        let a = issue(&store, &SystemClock, "a", Grants::Everything)
            .await
            .unwrap();
        let b = issue(&store, &SystemClock, "b", Grants::Everything)
            .await
            .unwrap();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.key.id, b.key.id);
    }
}
