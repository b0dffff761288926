//! The orders context's `OrderNumbers` in the `order_numbers` table: AUTOINCREMENT gives
//! distinct, increasing numbers, and the unique order id makes allocation idempotent.

use async_trait::async_trait;
use orders::{OrderNumber, OrderNumbers, OrderNumbersError};
use shared_kernel::OrderId;

use crate::SqliteStore;

fn unavailable(error: sqlx::Error) -> OrderNumbersError {
    OrderNumbersError(error.to_string())
}

fn number(raw: i64) -> Result<OrderNumber, OrderNumbersError> {
    u64::try_from(raw)
        .map(OrderNumber::new)
        .map_err(|_| OrderNumbersError(format!("negative order number {raw}")))
}

#[async_trait]
impl OrderNumbers for SqliteStore {
    async fn number_for(&self, order_id: OrderId) -> Result<OrderNumber, OrderNumbersError> {
        let id = order_id.to_string();
        // An order already numbered keeps its number; INSERT OR IGNORE takes none then.
        sqlx::query("INSERT OR IGNORE INTO order_numbers (order_id) VALUES (?)")
            .bind(&id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        let raw: i64 = sqlx::query_scalar("SELECT number FROM order_numbers WHERE order_id = ?")
            .bind(&id)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
        number(raw)
    }

    async fn order_numbered(
        &self,
        number: OrderNumber,
    ) -> Result<Option<OrderId>, OrderNumbersError> {
        let Ok(raw) = i64::try_from(number.get()) else {
            return Ok(None);
        };
        let found: Option<String> =
            sqlx::query_scalar("SELECT order_id FROM order_numbers WHERE number = ?")
                .bind(raw)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        found
            .map(|id| {
                OrderId::parse(&id).map_err(|_| OrderNumbersError(format!("bad order id {id}")))
            })
            .transpose()
    }
}
