//! What a customer keeps on their account besides their credentials: the name they go by and
//! an address book (ADR 0027). Personal data, so kept in tables that can be deleted outright,
//! never in events (ADR 0016).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::{CustomerId, PostalAddress};
use uuid::Uuid;

use crate::{CredentialStoreError, Customer};

/// Most addresses one customer may keep.
pub const MAX_SAVED_ADDRESSES: usize = 20;

/// An address in a customer's address book; once kept, it passed [`PostalAddress`]'s checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedAddress {
    /// UUID v7: id order is the order addresses were saved in.
    pub id: Uuid,
    pub address: PostalAddress,
    pub created_at: DateTime<Utc>,
}

/// What [`CustomerProfiles::save_address`] did with an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressSaved {
    Kept,
    /// The book already holds [`MAX_SAVED_ADDRESSES`].
    BookFull,
    NoSuchCustomer,
}

/// Where profiles and address books are kept.
///
/// Every method fails only with [`CredentialStoreError`], for the store being unreachable.
#[async_trait]
pub trait CustomerProfiles: Send + Sync {
    /// Sets the customer's name; the account as it is now, or `None` if there is no such
    /// account.
    async fn rename_customer(
        &self,
        customer: CustomerId,
        name: &str,
    ) -> Result<Option<Customer>, CredentialStoreError>;

    /// The customer's addresses, oldest first.
    async fn saved_addresses(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<SavedAddress>, CredentialStoreError>;

    /// Keeps `address` in the customer's book unless the book already holds
    /// [`MAX_SAVED_ADDRESSES`] or there is no such account (erased since its access token
    /// was issued); nothing is kept then. (Two saves racing for the last place may both
    /// succeed: the limit guards against abuse, not an invariant.)
    async fn save_address(
        &self,
        customer: CustomerId,
        address: &SavedAddress,
    ) -> Result<AddressSaved, CredentialStoreError>;

    /// Deletes one address of the customer's; false if the customer has none by that id
    /// (another customer's address is not theirs to delete, and reads as missing).
    async fn delete_address(
        &self,
        customer: CustomerId,
        address_id: Uuid,
    ) -> Result<bool, CredentialStoreError>;

    /// Forgets everything this port keeps about the customer beyond the account itself:
    /// every saved address. The erasure of a person calls it; the account row (email, name,
    /// password hash) and its refresh tokens are the erasure's own to delete. Idempotent.
    async fn forget_profile(&self, customer: CustomerId) -> Result<(), CredentialStoreError>;
}
