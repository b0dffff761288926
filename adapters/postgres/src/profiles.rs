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

use crate::PostgresStore;

fn unavailable(error: impl std::fmt::Display) -> CredentialStoreError {
    CredentialStoreError(format!("postgres: {error}"))
}

type AddressRow = (
    Uuid,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    DateTime<Utc>,
);

fn saved_address(row: AddressRow) -> SavedAddress {
    let (id, name, line1, line2, city, postal_code, region, country, phone, created_at) = row;
    SavedAddress {
        id,
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
        created_at,
    }
}

#[async_trait]
impl CustomerProfiles for PostgresStore {
    async fn rename_customer(
        &self,
        customer: CustomerId,
        name: &str,
    ) -> Result<Option<Customer>, CredentialStoreError> {
        let row: Option<(String, String, DateTime<Utc>)> = sqlx::query_as(
            "UPDATE customers SET name = $1 WHERE id = $2 RETURNING email, name, created_at",
        )
        .bind(name)
        .bind(customer.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(|(email, name, created_at)| Customer {
            id: customer,
            email,
            name,
            created_at,
        }))
    }

    async fn saved_addresses(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<SavedAddress>, CredentialStoreError> {
        let rows: Vec<AddressRow> = sqlx::query_as(
            "SELECT id, name, line1, line2, city, postal_code, region, country, phone, created_at \
             FROM customer_addresses WHERE customer_id = $1 ORDER BY id",
        )
        .bind(customer.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows.into_iter().map(saved_address).collect())
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
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             WHERE (SELECT count(*) FROM customer_addresses WHERE customer_id = $2) < $12 \
             AND EXISTS (SELECT 1 FROM customers WHERE id = $2)",
        )
        .bind(saved.id)
        .bind(customer.as_uuid())
        .bind(&address.name)
        .bind(&address.line1)
        .bind(&address.line2)
        .bind(&address.city)
        .bind(&address.postal_code)
        .bind(&address.region)
        .bind(&address.country)
        .bind(&address.phone)
        .bind(saved.created_at)
        .bind(i64::try_from(MAX_SAVED_ADDRESSES).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?
        .rows_affected()
            == 1;
        if kept {
            return Ok(AddressSaved::Kept);
        }
        let (exists,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1)")
                .bind(customer.as_uuid())
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
        sqlx::query("DELETE FROM customer_addresses WHERE id = $1 AND customer_id = $2")
            .bind(address_id)
            .bind(customer.as_uuid())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() == 1)
            .map_err(unavailable)
    }

    async fn forget_profile(&self, customer: CustomerId) -> Result<(), CredentialStoreError> {
        sqlx::query("DELETE FROM customer_addresses WHERE customer_id = $1")
            .bind(customer.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
