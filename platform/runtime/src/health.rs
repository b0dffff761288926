use async_trait::async_trait;

use crate::StoreError;

/// Readiness of a dependency the service cannot work without (its database).
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Succeeds when the dependency answers a trivial request now.
    async fn ready(&self) -> Result<(), StoreError>;
}
