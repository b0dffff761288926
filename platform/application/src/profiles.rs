//! A customer's profile and address book (ADR 0027): the name they go by, and addresses
//! checked by the shared kernel's [`PostalAddress`] rules before they are kept. Personal data,
//! kept in tables ([`CustomerProfiles`]) that the erasure of a person empties through
//! [`CustomerProfileBook::forget_profile`].

use std::sync::Arc;

use accounts::{
    AddressSaved, CredentialStoreError, Customer, CustomerProfiles, SavedAddress,
    MAX_SAVED_ADDRESSES,
};
use chrono::SubsecRound;
use shared_kernel::{AddressData, Clock, CustomerId, PostalAddress};
use uuid::Uuid;

/// Longest name a customer may go by, in characters (as at registration).
pub const MAX_NAME_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The input breaks a rule; `field` names it as the request does.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("an address book holds at most {max} addresses")]
    AddressBookFull { max: usize },
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("the account store is unavailable")]
    Unavailable(#[source] CredentialStoreError),
}

impl From<CredentialStoreError> for ProfileError {
    fn from(error: CredentialStoreError) -> Self {
        ProfileError::Unavailable(error)
    }
}

/// Profile and address book use cases.
pub struct CustomerProfileBook {
    store: Arc<dyn CustomerProfiles>,
    clock: Arc<dyn Clock>,
}

impl CustomerProfileBook {
    pub fn new(store: Arc<dyn CustomerProfiles>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Sets the name the customer goes by (trimmed; may be empty).
    pub async fn rename(&self, customer: CustomerId, name: &str) -> Result<Customer, ProfileError> {
        let name = name.trim();
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(ProfileError::Invalid {
                field: "name".to_owned(),
                message: format!(
                    "must be at most {MAX_NAME_CHARS} characters, without control characters"
                ),
            });
        }
        self.store
            .rename_customer(customer, name)
            .await?
            .ok_or(ProfileError::NotFound("customer"))
    }

    pub async fn addresses(&self, customer: CustomerId) -> Result<Vec<SavedAddress>, ProfileError> {
        Ok(self.store.saved_addresses(customer).await?)
    }

    /// Checks `address` and keeps it in the customer's book.
    pub async fn save_address(
        &self,
        customer: CustomerId,
        address: AddressData,
    ) -> Result<SavedAddress, ProfileError> {
        let address = PostalAddress::new(address).map_err(|error| ProfileError::Invalid {
            field: error.field.to_owned(),
            message: error.reason,
        })?;
        let saved = SavedAddress {
            id: Uuid::now_v7(),
            address,
            // As both stores keep it, so that the answer and a later read agree.
            created_at: self.clock.now().trunc_subsecs(6),
        };
        match self.store.save_address(customer, &saved).await? {
            AddressSaved::Kept => Ok(saved),
            AddressSaved::BookFull => Err(ProfileError::AddressBookFull {
                max: MAX_SAVED_ADDRESSES,
            }),
            AddressSaved::NoSuchCustomer => Err(ProfileError::NotFound("customer")),
        }
    }

    /// Deletes one of the customer's addresses; another customer's reads as missing.
    pub async fn delete_address(
        &self,
        customer: CustomerId,
        address_id: Uuid,
    ) -> Result<(), ProfileError> {
        if self.store.delete_address(customer, address_id).await? {
            Ok(())
        } else {
            Err(ProfileError::NotFound("address"))
        }
    }

    /// Forgets the customer's saved addresses: the one call the erasure of a person makes
    /// for what this module keeps (the account row is the erasure's own). Idempotent.
    pub async fn forget_profile(&self, customer: CustomerId) -> Result<(), ProfileError> {
        Ok(self.store.forget_profile(customer).await?)
    }
}
