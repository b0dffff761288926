use thiserror::Error;

/// An infrastructure failure in a storage adapter. Callers cannot act on its details beyond
/// retrying later, so it carries a message for the logs and nothing else.
#[derive(Debug, Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);

impl StoreError {
    pub fn new(message: impl std::fmt::Display) -> Self {
        Self(message.to_string())
    }
}
