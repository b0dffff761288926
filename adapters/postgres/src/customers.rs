//! Customer accounts and refresh tokens in the `customers` and `refresh_tokens` tables
//! (ADR 0025).

use accounts::{CredentialStoreError, Customer, Customers, RefreshToken, Spend};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::CustomerId;
use uuid::Uuid;

use crate::PostgresStore;

fn unavailable(error: impl std::fmt::Display) -> CredentialStoreError {
    CredentialStoreError(format!("postgres: {error}"))
}

type Row = (Uuid, String, String, DateTime<Utc>);

fn customer_of((id, email, name, created_at): Row) -> Customer {
    Customer {
        id: CustomerId::from_uuid(id),
        email,
        name,
        created_at,
    }
}

#[async_trait]
impl Customers for PostgresStore {
    async fn insert_customer(
        &self,
        customer: &Customer,
        password_hash: &str,
    ) -> Result<bool, CredentialStoreError> {
        sqlx::query(
            "INSERT INTO customers (id, email, name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(customer.id.as_uuid())
        .bind(&customer.email)
        .bind(&customer.name)
        .bind(password_hash)
        .bind(customer.created_at)
        .execute(&self.pool)
        .await
        .map(|done| done.rows_affected() == 1)
        .map_err(unavailable)
    }

    async fn customer_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Customer>, CredentialStoreError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT c.id, c.email, c.name, c.created_at FROM customer_identities i \
             JOIN customers c ON c.id = i.customer_id WHERE i.issuer = $1 AND i.subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(customer_of))
    }

    async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        customer_id: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        sqlx::query(
            "INSERT INTO customer_identities (issuer, subject, customer_id, linked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(issuer)
        .bind(subject)
        .bind(customer_id.as_uuid())
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn customer_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(Customer, String)>, CredentialStoreError> {
        let row: Option<(Uuid, String, String, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT id, email, name, created_at, password_hash FROM customers WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(|(id, email, name, created_at, hash)| {
            (customer_of((id, email, name, created_at)), hash)
        }))
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, CredentialStoreError> {
        let row: Option<Row> =
            sqlx::query_as("SELECT id, email, name, created_at FROM customers WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(row.map(customer_of))
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), CredentialStoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens \
             (token_hash, customer_id, family_id, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.token_hash)
        .bind(token.customer_id.as_uuid())
        .bind(token.family_id)
        .bind(token.issued_at)
        .bind(token.expires_at)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn spend_refresh_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Spend, CredentialStoreError> {
        let spent: Option<(Uuid, Uuid)> = sqlx::query_as(
            "UPDATE refresh_tokens SET spent_at = $2 \
             WHERE token_hash = $1 AND spent_at IS NULL AND revoked_at IS NULL \
             AND expires_at > $2 RETURNING customer_id, family_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        if let Some((customer_id, family_id)) = spent {
            return Ok(Spend::Spent {
                customer_id: CustomerId::from_uuid(customer_id),
                family_id,
            });
        }
        let found: Option<(Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT family_id, spent_at, revoked_at FROM refresh_tokens \
                 WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(match found {
            None => Spend::Unknown,
            Some((family_id, spent, revoked)) if spent.is_some() || revoked.is_some() => {
                Spend::Reused { family_id }
            }
            Some(_) => Spend::Expired,
        })
    }

    async fn delete_customer(&self, id: CustomerId) -> Result<bool, CredentialStoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query("DELETE FROM refresh_tokens WHERE customer_id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let deleted = sqlx::query("DELETE FROM customers WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?
            .rows_affected();
        tx.commit().await.map_err(unavailable)?;
        Ok(deleted > 0)
    }

    async fn revoke_family(
        &self,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $2 \
             WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family_id)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}
