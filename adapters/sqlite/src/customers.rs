//! Customer accounts and refresh tokens in the `customers` and `refresh_tokens` tables
//! (ADR 0025).

use accounts::{CredentialStoreError, Customer, Customers, RefreshToken, Spend};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::CustomerId;
use uuid::Uuid;

use crate::{timestamp, SqliteStore};

fn unavailable(error: impl std::fmt::Display) -> CredentialStoreError {
    CredentialStoreError(format!("sqlite: {error}"))
}

fn time(text: &str) -> Result<DateTime<Utc>, CredentialStoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(unavailable)
}

fn uuid(text: &str) -> Result<Uuid, CredentialStoreError> {
    Uuid::parse_str(text).map_err(unavailable)
}

type Row = (String, String, String, String);

fn customer_of((id, email, name, created_at): Row) -> Result<Customer, CredentialStoreError> {
    Ok(Customer {
        id: CustomerId::from_uuid(uuid(&id)?),
        email,
        name,
        created_at: time(&created_at)?,
    })
}

#[async_trait]
impl Customers for SqliteStore {
    async fn insert_customer(
        &self,
        customer: &Customer,
        password_hash: &str,
    ) -> Result<bool, CredentialStoreError> {
        sqlx::query(
            "INSERT INTO customers (id, email, name, password_hash, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(customer.id.to_string())
        .bind(&customer.email)
        .bind(&customer.name)
        .bind(password_hash)
        .bind(timestamp(customer.created_at))
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
             JOIN customers c ON c.id = i.customer_id WHERE i.issuer = ? AND i.subject = ?",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(customer_of).transpose()
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
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(issuer)
        .bind(subject)
        .bind(customer_id.to_string())
        .bind(timestamp(at))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn customer_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(Customer, String)>, CredentialStoreError> {
        let row: Option<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, email, name, created_at, password_hash FROM customers WHERE email = ?",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(|(id, email, name, created_at, hash)| {
            customer_of((id, email, name, created_at)).map(|customer| (customer, hash))
        })
        .transpose()
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, CredentialStoreError> {
        let row: Option<Row> =
            sqlx::query_as("SELECT id, email, name, created_at FROM customers WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        row.map(customer_of).transpose()
    }

    async fn insert_refresh_token(&self, token: &RefreshToken) -> Result<(), CredentialStoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens \
             (token_hash, customer_id, family_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&token.token_hash)
        .bind(token.customer_id.to_string())
        .bind(token.family_id.to_string())
        .bind(timestamp(token.issued_at))
        .bind(timestamp(token.expires_at))
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
        let spent: Option<(String, String)> = sqlx::query_as(
            "UPDATE refresh_tokens SET spent_at = ? \
             WHERE token_hash = ? AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > ? \
             RETURNING customer_id, family_id",
        )
        .bind(timestamp(now))
        .bind(token_hash)
        .bind(timestamp(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        if let Some((customer_id, family_id)) = spent {
            return Ok(Spend::Spent {
                customer_id: CustomerId::from_uuid(uuid(&customer_id)?),
                family_id: uuid(&family_id)?,
            });
        }
        let found: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT family_id, spent_at, revoked_at FROM refresh_tokens WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(match found {
            None => Spend::Unknown,
            Some((family, spent, revoked)) if spent.is_some() || revoked.is_some() => {
                Spend::Reused {
                    family_id: uuid(&family)?,
                }
            }
            Some(_) => Spend::Expired,
        })
    }

    async fn delete_customer(&self, id: CustomerId) -> Result<bool, CredentialStoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        sqlx::query("DELETE FROM refresh_tokens WHERE customer_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let deleted = sqlx::query("DELETE FROM customers WHERE id = ?")
            .bind(id.to_string())
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
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(family_id.to_string())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}
