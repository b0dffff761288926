//! The shipping context's `ZoneDirectory` in the `shipping_zone_claims` table: one row per
//! claimed country, keyed by the country, so two zones can never hold one.
//!
//! A claim inserts every country in one statement, in code order (so two claims that overlap
//! wait on each other rather than deadlock); a row another zone holds stays as it is and
//! makes the transaction roll back, so a claim takes all of its countries or none.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::CountryCode;
use shipping::{CountrySet, ShippingZoneId, ZoneDirectory, ZoneDirectoryError};
use uuid::Uuid;

use crate::PostgresStore;

fn unavailable(error: sqlx::Error) -> ZoneDirectoryError {
    ZoneDirectoryError::Unavailable(Box::new(error))
}

#[async_trait]
impl ZoneDirectory for PostgresStore {
    async fn claim(
        &self,
        zone_id: ShippingZoneId,
        countries: &CountrySet,
    ) -> Result<(), ZoneDirectoryError> {
        let codes: Vec<String> = countries.iter().map(str::to_owned).collect();
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        // A country the zone already holds gets a fresh `claimed_at`: a command is in flight
        // for it again, and a repair must leave it alone for the grace period.
        sqlx::query(
            "INSERT INTO shipping_zone_claims (country, zone_id, claimed_at) \
             SELECT country, $2, now() FROM unnest($1::text[]) AS country ORDER BY country \
             ON CONFLICT (country) DO UPDATE SET claimed_at = excluded.claimed_at \
             WHERE shipping_zone_claims.zone_id = excluded.zone_id",
        )
        .bind(&codes)
        .bind(zone_id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let taken: Option<(String, Uuid)> = sqlx::query_as(
            "SELECT country, zone_id FROM shipping_zone_claims \
             WHERE country = ANY($1) AND zone_id <> $2 ORDER BY country LIMIT 1",
        )
        .bind(&codes)
        .bind(zone_id.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?;
        if let Some((country, holder)) = taken {
            tx.rollback().await.map_err(unavailable)?;
            return Err(ZoneDirectoryError::CountryTaken {
                country,
                zone_id: ShippingZoneId::from_uuid(holder),
            });
        }
        tx.commit().await.map_err(unavailable)
    }

    async fn release_except(
        &self,
        zone_id: ShippingZoneId,
        keep: Option<&CountrySet>,
    ) -> Result<(), ZoneDirectoryError> {
        let keep: Vec<String> = keep
            .map(|countries| countries.iter().map(str::to_owned).collect())
            .unwrap_or_default();
        sqlx::query(
            "DELETE FROM shipping_zone_claims WHERE zone_id = $1 AND NOT (country = ANY($2))",
        )
        .bind(zone_id.as_uuid())
        .bind(&keep)
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
        let keep: Vec<String> = keep
            .map(|countries| countries.iter().map(str::to_owned).collect())
            .unwrap_or_default();
        sqlx::query(
            "DELETE FROM shipping_zone_claims \
             WHERE zone_id = $1 AND NOT (country = ANY($2)) AND claimed_at < $3",
        )
        .bind(zone_id.as_uuid())
        .bind(&keep)
        .bind(claimed_before)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(unavailable)
    }

    async fn zone_of(
        &self,
        country: CountryCode,
    ) -> Result<Option<ShippingZoneId>, ZoneDirectoryError> {
        let holder: Option<Uuid> =
            sqlx::query_scalar("SELECT zone_id FROM shipping_zone_claims WHERE country = $1")
                .bind(country.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(holder.map(ShippingZoneId::from_uuid))
    }
}
