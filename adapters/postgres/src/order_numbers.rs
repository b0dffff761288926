//! The orders context's `OrderNumbers` in the `order_numbers` table: an identity column gives
//! distinct, increasing numbers to every instance sharing the database, and the unique order
//! id makes allocation idempotent.

use async_trait::async_trait;
use orders::{OrderNumber, OrderNumbers, OrderNumbersError};
use shared_kernel::OrderId;
use uuid::Uuid;

use crate::PostgresStore;

fn unavailable(error: sqlx::Error) -> OrderNumbersError {
    OrderNumbersError(error.to_string())
}

fn number(raw: i64) -> Result<OrderNumber, OrderNumbersError> {
    u64::try_from(raw)
        .map(OrderNumber::new)
        .map_err(|_| OrderNumbersError(format!("negative order number {raw}")))
}

#[async_trait]
impl OrderNumbers for PostgresStore {
    async fn number_for(&self, order_id: OrderId) -> Result<OrderNumber, OrderNumbersError> {
        // The insert takes a number, or finds the order numbered already (a conflict consumes
        // a number from the sequence: a gap, never a duplicate). A row inserted concurrently
        // is not in this statement's snapshot, so it is read by a second statement, which
        // sees it: the conflicting insert waited for that row's transaction to commit.
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO order_numbers (order_id) VALUES ($1) \
             ON CONFLICT (order_id) DO NOTHING RETURNING number",
        )
        .bind(order_id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        let raw = match inserted {
            Some(raw) => raw,
            None => sqlx::query_scalar("SELECT number FROM order_numbers WHERE order_id = $1")
                .bind(order_id.as_uuid())
                .fetch_one(&self.pool)
                .await
                .map_err(unavailable)?,
        };
        number(raw)
    }

    async fn order_numbered(
        &self,
        number: OrderNumber,
    ) -> Result<Option<OrderId>, OrderNumbersError> {
        let Ok(raw) = i64::try_from(number.get()) else {
            return Ok(None);
        };
        let found: Option<Uuid> =
            sqlx::query_scalar("SELECT order_id FROM order_numbers WHERE number = $1")
                .bind(raw)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(found.map(OrderId::from_uuid))
    }
}
