//! Customer profiles and address books in the `customers` and `customer_addresses` tables
//! (ADR 0027).

use accounts::{
    AddressSaved, CredentialStoreError, Customer, CustomerProfiles, SavedAddress,
    MAX_SAVED_ADDRESSES,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::{AddressData, CustomerId, PostalAddress};
use uuid::Uuid;

use crate::{timestamp, SqliteStore};

fn unavailable(error: impl std::fmt::Display) -> CredentialStoreError {
    CredentialStoreError(format!("sqlite: {error}"))
}

type AddressRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn saved_address(row: AddressRow) -> Result<SavedAddress, CredentialStoreError> {
    let (id, name, line1, line2, city, postal_code, region, country, phone, created_at) = row;
    Ok(SavedAddress {
        id: Uuid::parse_str(&id).map_err(unavailable)?,
        // Checked when it was saved; read back as recorded.
        address: PostalAddress::recorded(AddressData {
            name,
            line1,
            line2,
            city,
            postal_code,
            region,
            country,
            phone,
        }),
        created_at: DateTime::parse_from_rfc3339(&created_at)
            .map(|time| time.with_timezone(&Utc))
            .map_err(unavailable)?,
    })
}

#[async_trait]
impl CustomerProfiles for SqliteStore {
    async fn rename_customer(
        &self,
        customer: CustomerId,
        name: &str,
    ) -> Result<Option<Customer>, CredentialStoreError> {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "UPDATE customers SET name = ? WHERE id = ? RETURNING email, name, created_at",
        )
        .bind(name)
        .bind(customer.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(|(email, name, created_at)| {
            Ok(Customer {
                id: customer,
                email,
                name,
                created_at: DateTime::parse_from_rfc3339(&created_at)
                    .map(|time| time.with_timezone(&Utc))
                    .map_err(unavailable)?,
            })
        })
        .transpose()
    }

    async fn saved_addresses(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<SavedAddress>, CredentialStoreError> {
        let rows: Vec<AddressRow> = sqlx::query_as(
            "SELECT id, name, line1, line2, city, postal_code, region, country, phone, created_at \
             FROM customer_addresses WHERE customer_id = ? ORDER BY id",
        )
        .bind(customer.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter().map(saved_address).collect()
    }

    async fn save_address(
        &self,
        customer: CustomerId,
        saved: &SavedAddress,
    ) -> Result<AddressSaved, CredentialStoreError> {
        let address = saved.address.data();
        // An account erased since its access token was issued is no foreign key error.
        let kept = sqlx::query(
            "INSERT INTO customer_addresses \
             (id, customer_id, name, line1, line2, city, postal_code, region, country, phone, \
              created_at) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? \
             WHERE (SELECT count(*) FROM customer_addresses WHERE customer_id = ?) < ? \
             AND EXISTS (SELECT 1 FROM customers WHERE id = ?)",
        )
        .bind(saved.id.to_string())
        .bind(customer.to_string())
        .bind(&address.name)
        .bind(&address.line1)
        .bind(&address.line2)
        .bind(&address.city)
        .bind(&address.postal_code)
        .bind(&address.region)
        .bind(&address.country)
        .bind(&address.phone)
        .bind(timestamp(saved.created_at))
        .bind(customer.to_string())
        .bind(i64::try_from(MAX_SAVED_ADDRESSES).unwrap_or(i64::MAX))
        .bind(customer.to_string())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?
        .rows_affected()
            == 1;
        if kept {
            return Ok(AddressSaved::Kept);
        }
        let (exists,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?)")
                .bind(customer.to_string())
                .fetch_one(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(if exists {
            AddressSaved::BookFull
        } else {
            AddressSaved::NoSuchCustomer
        })
    }

    async fn delete_address(
        &self,
        customer: CustomerId,
        address_id: Uuid,
    ) -> Result<bool, CredentialStoreError> {
        sqlx::query("DELETE FROM customer_addresses WHERE id = ? AND customer_id = ?")
            .bind(address_id.to_string())
            .bind(customer.to_string())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() == 1)
            .map_err(unavailable)
    }

    async fn forget_profile(&self, customer: CustomerId) -> Result<(), CredentialStoreError> {
        sqlx::query("DELETE FROM customer_addresses WHERE customer_id = ?")
            .bind(customer.to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
