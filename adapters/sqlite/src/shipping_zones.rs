//! The shipping context's `ZoneDirectory` in the `shipping_zone_claims` table: one row per
//! claimed country, keyed by the country, so two zones can never hold one.
//!
//! A claim runs in one IMMEDIATE transaction (SQLite has one writer at a time): a country
//! another zone holds makes it roll back, so a claim takes all of its countries or none.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::CountryCode;
use shipping::{CountrySet, ShippingZoneId, ZoneDirectory, ZoneDirectoryError};
use uuid::Uuid;

use crate::{timestamp, SqliteStore};

fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> ZoneDirectoryError {
    ZoneDirectoryError::Unavailable(Box::new(error))
}

#[async_trait]
impl ZoneDirectory for SqliteStore {
    async fn claim(
        &self,
        zone_id: ShippingZoneId,
        countries: &CountrySet,
    ) -> Result<(), ZoneDirectoryError> {
        let zone = zone_id.to_string();
        let now = timestamp(Utc::now());
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)?;
        for country in countries.iter() {
            let holder: Option<String> =
                sqlx::query_scalar("SELECT zone_id FROM shipping_zone_claims WHERE country = ?")
                    .bind(country)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(unavailable)?;
            match holder {
                Some(holder) if holder != zone => {
                    tx.rollback().await.map_err(unavailable)?;
                    return Err(ZoneDirectoryError::CountryTaken {
                        country: country.to_owned(),
                        zone_id: ShippingZoneId::from_uuid(
                            Uuid::parse_str(&holder).map_err(unavailable)?,
                        ),
                    });
                }
                // Held already: a fresh `claimed_at`, since a command is in flight for it
                // again and a repair must leave it alone for the grace period.
                _ => {
                    sqlx::query(
                        "INSERT INTO shipping_zone_claims (country, zone_id, claimed_at) \
                         VALUES (?, ?, ?) \
                         ON CONFLICT (country) DO UPDATE SET claimed_at = excluded.claimed_at",
                    )
                    .bind(country)
                    .bind(&zone)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                }
            }
        }
        tx.commit().await.map_err(unavailable)
    }

    async fn release_except(
        &self,
        zone_id: ShippingZoneId,
        keep: Option<&CountrySet>,
    ) -> Result<(), ZoneDirectoryError> {
        let keep: Vec<&str> = keep.map(|set| set.iter().collect()).unwrap_or_default();
        let keep = serde_json::to_string(&keep).map_err(unavailable)?;
        sqlx::query(
            "DELETE FROM shipping_zone_claims WHERE zone_id = ? \
             AND country NOT IN (SELECT value FROM json_each(?))",
        )
        .bind(zone_id.to_string())
        .bind(keep)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(unavailable)
    }

    async fn release_stale_except(
        &self,
        zone_id: ShippingZoneId,
        keep: Option<&CountrySet>,
        claimed_before: DateTime<Utc>,
    ) -> Result<(), ZoneDirectoryError> {
        let keep: Vec<&str> = keep.map(|set| set.iter().collect()).unwrap_or_default();
        let keep = serde_json::to_string(&keep).map_err(unavailable)?;
        sqlx::query(
            "DELETE FROM shipping_zone_claims WHERE zone_id = ? \
             AND country NOT IN (SELECT value FROM json_each(?)) AND claimed_at < ?",
        )
        .bind(zone_id.to_string())
        .bind(keep)
        .bind(timestamp(claimed_before))
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(unavailable)
    }

    async fn zone_of(
        &self,
        country: CountryCode,
    ) -> Result<Option<ShippingZoneId>, ZoneDirectoryError> {
        let holder: Option<String> =
            sqlx::query_scalar("SELECT zone_id FROM shipping_zone_claims WHERE country = ?")
                .bind(country.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        holder
            .map(|id| Uuid::parse_str(&id).map(ShippingZoneId::from_uuid))
            .transpose()
            .map_err(unavailable)
    }
}
