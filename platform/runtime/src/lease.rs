//! Leases: workers that must run on one instance at a time (the NATS relay, the webhook
//! dispatcher) hold one while they work (ADR 0015).
//!
//! On PostgreSQL a lease is a session advisory lock on a connection of its own: it is held
//! exactly as long as that session lives, so when its holder dies (even by `kill -9`) the
//! database ends the session and another instance takes the lease over at its next try. On
//! SQLite, whose file one process serves, a lease is an in-process lock.
//!
//! A lease is not a fence: for a moment after a holder loses its connection it may not have
//! noticed yet while another instance already works. Leased workers therefore only do
//! at-least-once work whose repeats consumers deduplicate (by event id).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::StoreError;

/// A held lease; dropping it releases the lease.
#[async_trait]
pub trait Lease: Send + Sync {
    /// Whether the lease is still held (false once its connection is lost).
    async fn is_held(&mut self) -> bool;
}

/// Hands out leases shared by every instance on the same store.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes the lease `name` if no one holds it; `None` if someone does.
    async fn try_acquire(&self, name: &str) -> Result<Option<Box<dyn Lease>>, StoreError>;
}

/// How often a waiting instance tries to take the lease over.
const ACQUIRE_EVERY: Duration = Duration::from_secs(1);
/// How often a holder checks that it still holds the lease.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Runs `work` whenever this instance holds the lease `name`, until `shutdown` turns true.
///
/// `work` receives a receiver that turns true when it must stop: at shutdown, or when the
/// lease was lost (then it runs again once the lease is taken back). `work` should return
/// promptly once told to stop.
pub async fn run_exclusively<F, Fut>(
    leases: Arc<dyn Leases>,
    name: &str,
    mut shutdown: watch::Receiver<bool>,
    mut work: F,
) where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        if *shutdown.borrow() {
            return;
        }
        let lease = match leases.try_acquire(name).await {
            Ok(lease) => lease,
            Err(error) => {
                tracing::warn!(lease = name, %error, "could not ask for the lease");
                None
            }
        };
        let Some(mut lease) = lease else {
            tokio::select! {
                _ = tokio::time::sleep(ACQUIRE_EVERY) => continue,
                changed = shutdown.changed() => {
                    if changed.is_err() { return; }
                    continue;
                }
            }
        };
        tracing::info!(lease = name, "lease taken: this instance runs the worker");
        let (stop, stopped) = watch::channel(false);
        let running = work(stopped);
        tokio::pin!(running);
        let lost = loop {
            tokio::select! {
                () = &mut running => break false,
                _ = tokio::time::sleep(CHECK_EVERY) => {
                    if !lease.is_held().await {
                        break true;
                    }
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        let _ = stop.send(true);
                        running.await;
                        return;
                    }
                }
            }
        };
        if lost {
            tracing::warn!(lease = name, "lease lost: stopping the worker");
            let _ = stop.send(true);
            running.await;
        }
        drop(lease);
    }
}

/// Leases for a store that one process serves: an in-process lock per name.
#[derive(Debug, Clone, Default)]
pub struct LocalLeases {
    held: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

struct LocalLease {
    name: String,
    held: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

#[async_trait]
impl Lease for LocalLease {
    async fn is_held(&mut self) -> bool {
        true
    }
}

impl Drop for LocalLease {
    fn drop(&mut self) {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.name);
    }
}

#[async_trait]
impl Leases for LocalLeases {
    async fn try_acquire(&self, name: &str) -> Result<Option<Box<dyn Lease>>, StoreError> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !held.insert(name.to_owned()) {
            return Ok(None);
        }
        Ok(Some(Box::new(LocalLease {
            name: name.to_owned(),
            held: Arc::clone(&self.held),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_lease_is_exclusive_until_dropped() {
        let leases = LocalLeases::default();
        let first = leases.try_acquire("relay").await.unwrap();
        assert!(first.is_some());
        assert!(leases.try_acquire("relay").await.unwrap().is_none());
        assert!(leases.try_acquire("webhooks").await.unwrap().is_some());
        drop(first);
        assert!(leases.try_acquire("relay").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn only_one_of_two_runners_works_at_a_time() {
        let leases: Arc<dyn Leases> = Arc::new(LocalLeases::default());
        let (shutdown, rx) = watch::channel(false);
        let working = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let runner = |leases: Arc<dyn Leases>, rx| {
            let working = Arc::clone(&working);
            let most = Arc::clone(&most);
            tokio::spawn(async move {
                run_exclusively(leases, "relay", rx, move |mut stop| {
                    let working = Arc::clone(&working);
                    let most = Arc::clone(&most);
                    async move {
                        let now = working.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        let _ = stop.wait_for(|stop| *stop).await;
                        working.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
                .await;
            })
        };
        let a = runner(Arc::clone(&leases), rx.clone());
        let b = runner(Arc::clone(&leases), rx);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(working.load(std::sync::atomic::Ordering::SeqCst), 1);
        shutdown.send(true).unwrap();
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
