//! Webhook endpoints, delivery queues and the delivery log. Writes that must hold together
//! (a batch of deliveries with the dispatcher's checkpoint; an attempt with its delivery and,
//! when it gives up, the endpoint) run in one IMMEDIATE transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runtime::{
    AttemptOutcome, AttemptRecorded, CommitOutcome, Cursor, DeliveryAttempt, DeliveryState,
    EndpointPatch, EndpointStatus, NewDelivery, ProjectionStore, QueuedDelivery, StoreError,
    WebhookDelivery, WebhookEndpoint, WebhookPage, WebhookStore,
};
use uuid::Uuid;

use crate::projection::move_checkpoint;
use crate::{store_error, timestamp, SqliteStore};

/// The dispatcher's checkpoint, a row among the projectors' ones.
const CHECKPOINT: &str = runtime::webhooks::DISPATCHER_CHECKPOINT;

const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, secret, disabled_reason, \
                                disabled_at, created_at, updated_at";

type EndpointRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

const DELIVERY_COLUMNS: &str = "id, endpoint_id, message_id, event_id, event_type, payload, \
                                state, next_attempt_at, redelivery_of, created_at, finished_at";

type DeliveryRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

type AttemptRow = (String, i64, String, i64, Option<i64>, Option<String>);

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<bool, StoreError> {
        let (reason, since) = status_columns(&endpoint.status);
        let inserted = sqlx::query(
            "INSERT INTO webhook_endpoints \
                 (id, url, description, event_types, secret, disabled_reason, disabled_at, \
                  created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(endpoint.id.to_string())
        .bind(&endpoint.url)
        .bind(&endpoint.description)
        .bind(types_json(&endpoint.event_types)?)
        .bind(&endpoint.secret)
        .bind(reason)
        .bind(since)
        .bind(timestamp(endpoint.created_at))
        .bind(timestamp(endpoint.updated_at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn endpoint(&self, id: Uuid) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?");
        let row: Option<EndpointRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(endpoint_from_row).transpose()
    }

    async fn list_endpoints(&self, page: WebhookPage) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
             WHERE (? IS NULL \
                    OR position < (SELECT position FROM webhook_endpoints WHERE id = ?)) \
             ORDER BY position DESC LIMIT ?"
        );
        let after = page.starting_after.map(|id| id.to_string());
        let rows: Vec<EndpointRow> = sqlx::query_as(&sql)
            .bind(after.as_deref())
            .bind(after.as_deref())
            .bind(limit(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.into_iter().map(endpoint_from_row).collect()
    }

    async fn update_endpoint(
        &self,
        id: Uuid,
        patch: &EndpointPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let (set_status, reason, since) = match &patch.status {
            None => (false, None, None),
            Some(status) => {
                let (reason, since) = status_columns(status);
                (true, reason, since)
            }
        };
        let types = patch.event_types.as_deref().map(types_json).transpose()?;
        let sql = format!(
            "UPDATE webhook_endpoints SET \
                 url = coalesce(?, url), \
                 description = coalesce(?, description), \
                 event_types = coalesce(?, event_types), \
                 disabled_reason = CASE WHEN ? THEN ? ELSE disabled_reason END, \
                 disabled_at = CASE WHEN ? THEN ? ELSE disabled_at END, \
                 updated_at = ? \
             WHERE id = ? RETURNING {ENDPOINT_COLUMNS}"
        );
        let row: Option<EndpointRow> = sqlx::query_as(&sql)
            .bind(patch.url.as_deref())
            .bind(patch.description.as_deref())
            .bind(types)
            .bind(set_status)
            .bind(reason)
            .bind(set_status)
            .bind(since)
            .bind(timestamp(now))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(endpoint_from_row).transpose()
    }

    async fn delete_endpoint(&self, id: Uuid) -> Result<bool, StoreError> {
        // Deliveries and attempts go with it (ON DELETE CASCADE).
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(deleted.rows_affected() == 1)
    }

    async fn enabled_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
             WHERE disabled_reason IS NULL ORDER BY position"
        );
        let rows: Vec<EndpointRow> = sqlx::query_as(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.into_iter().map(endpoint_from_row).collect()
    }

    async fn dispatcher_checkpoint(&self) -> Result<Cursor, StoreError> {
        self.checkpoint(CHECKPOINT).await
    }

    async fn enqueue(
        &self,
        from: Cursor,
        to: Cursor,
        deliveries: &[NewDelivery],
    ) -> Result<CommitOutcome, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        if !move_checkpoint(&mut tx, CHECKPOINT, from, to, &timestamp(Utc::now())).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(CommitOutcome::CheckpointMoved);
        }
        for delivery in deliveries {
            let endpoint_id = delivery.endpoint_id.to_string();
            let queued_at = timestamp(delivery.created_at);
            sqlx::query(
                "INSERT INTO webhook_deliveries \
                     (id, endpoint_id, message_id, event_id, event_type, payload, state, \
                      attempts, next_attempt_at, created_at) \
                 SELECT ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ? \
                 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ?)",
            )
            .bind(delivery.id.to_string())
            .bind(&endpoint_id)
            .bind(&delivery.message_id)
            .bind(delivery.event_id.to_string())
            .bind(&delivery.event_type)
            .bind(&delivery.payload)
            .bind(&queued_at)
            .bind(&queued_at)
            .bind(&endpoint_id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(CommitOutcome::Committed)
    }

    async fn next_deliveries(&self) -> Result<Vec<QueuedDelivery>, StoreError> {
        let rows: Vec<QueuedRow> = sqlx::query_as(
            "SELECT d.id, d.endpoint_id, e.url, e.secret, d.message_id, d.payload, \
                        d.attempts, d.next_attempt_at \
                 FROM webhook_endpoints e \
                 JOIN webhook_deliveries d ON d.position = ( \
                     SELECT min(p.position) FROM webhook_deliveries p \
                     WHERE p.endpoint_id = e.id AND p.state = 'pending') \
                 WHERE e.disabled_reason IS NULL \
                 ORDER BY d.next_attempt_at",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter().map(queued).collect()
    }

    async fn record_attempt(
        &self,
        delivery_id: Uuid,
        attempt: &DeliveryAttempt,
        outcome: &AttemptOutcome,
    ) -> Result<AttemptRecorded, StoreError> {
        let Some(before) = attempt.number.checked_sub(1) else {
            return Ok(AttemptRecorded::NotCurrent);
        };
        let finished = timestamp(attempt.attempted_at);
        let (state, next_attempt_at, finished_at) = match outcome {
            AttemptOutcome::Succeeded => (DeliveryState::Succeeded, None, Some(finished)),
            AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, Some(timestamp(*at)), None),
            AttemptOutcome::GaveUp { .. } => (DeliveryState::Failed, None, Some(finished)),
        };
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        let endpoint_id: Option<String> = sqlx::query_scalar(
            "UPDATE webhook_deliveries \
             SET attempts = attempts + 1, state = ?, next_attempt_at = ?, finished_at = ? \
             WHERE id = ? AND state = 'pending' AND attempts = ? \
             RETURNING endpoint_id",
        )
        .bind(state.as_str())
        .bind(next_attempt_at)
        .bind(finished_at)
        .bind(delivery_id.to_string())
        .bind(i64::from(before))
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let Some(endpoint_id) = endpoint_id else {
            tx.rollback().await.map_err(store_error)?;
            return Ok(AttemptRecorded::NotCurrent);
        };
        sqlx::query(
            "INSERT INTO webhook_attempts \
                 (delivery_id, number, attempted_at, duration_ms, response_status, error) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(delivery_id.to_string())
        .bind(i64::from(attempt.number))
        .bind(timestamp(attempt.attempted_at))
        .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
        .bind(attempt.response_status.map(i64::from))
        .bind(attempt.error.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if let AttemptOutcome::GaveUp { reason } = outcome {
            let now = timestamp(attempt.attempted_at);
            sqlx::query(
                "UPDATE webhook_endpoints \
                 SET disabled_reason = ?, disabled_at = ?, updated_at = ? \
                 WHERE id = ? AND disabled_reason IS NULL",
            )
            .bind(reason)
            .bind(&now)
            .bind(&now)
            .bind(&endpoint_id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        // Only a success lets the queue move on: a retry keeps its place at the head, and
        // giving up disabled the endpoint.
        if !matches!(outcome, AttemptOutcome::Succeeded) {
            tx.commit().await.map_err(store_error)?;
            return Ok(AttemptRecorded::Recorded { next: None });
        }
        let next = sqlx::query_as::<_, QueuedRow>(
            "SELECT d.id, d.endpoint_id, e.url, e.secret, d.message_id, d.payload, \
                    d.attempts, d.next_attempt_at \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.endpoint_id = ? AND d.state = 'pending' AND e.disabled_reason IS NULL \
             ORDER BY d.position LIMIT 1",
        )
        .bind(&endpoint_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?
        .map(queued)
        .transpose()?;
        tx.commit().await.map_err(store_error)?;
        Ok(AttemptRecorded::Recorded { next })
    }

    async fn deliveries(
        &self,
        endpoint_id: Uuid,
        page: WebhookPage,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE endpoint_id = ? \
               AND (? IS NULL OR position < ( \
                    SELECT position FROM webhook_deliveries WHERE id = ? AND endpoint_id = ?)) \
             ORDER BY position DESC LIMIT ?"
        );
        let endpoint = endpoint_id.to_string();
        let after = page.starting_after.map(|id| id.to_string());
        let rows: Vec<DeliveryRow> = sqlx::query_as(&sql)
            .bind(&endpoint)
            .bind(after.as_deref())
            .bind(after.as_deref())
            .bind(&endpoint)
            .bind(limit(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        let mut deliveries = rows
            .into_iter()
            .map(delivery_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.attach_attempts(&mut deliveries).await?;
        Ok(deliveries)
    }

    async fn redeliver(
        &self,
        endpoint_id: Uuid,
        delivery_id: Uuid,
        new_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        let now = timestamp(now);
        let sql = format!(
            "INSERT INTO webhook_deliveries \
                 (id, endpoint_id, message_id, event_id, event_type, payload, state, attempts, \
                  next_attempt_at, redelivery_of, created_at) \
             SELECT ?, endpoint_id, message_id, event_id, event_type, payload, 'pending', 0, \
                    ?, id, ? \
             FROM webhook_deliveries WHERE id = ? AND endpoint_id = ? \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let row: Option<DeliveryRow> = sqlx::query_as(&sql)
            .bind(new_id.to_string())
            .bind(&now)
            .bind(&now)
            .bind(delivery_id.to_string())
            .bind(endpoint_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(delivery_from_row).transpose()
    }
}

impl SqliteStore {
    async fn attach_attempts(&self, deliveries: &mut [WebhookDelivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let placeholders = vec!["?"; deliveries.len()].join(", ");
        let sql = format!(
            "SELECT delivery_id, number, attempted_at, duration_ms, response_status, error \
             FROM webhook_attempts WHERE delivery_id IN ({placeholders}) \
             ORDER BY delivery_id, number"
        );
        let mut query = sqlx::query_as::<_, AttemptRow>(&sql);
        for delivery in deliveries.iter() {
            query = query.bind(delivery.id.to_string());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        for (delivery_id, number, attempted_at, duration_ms, status, error) in rows {
            let delivery_id = parse_uuid(&delivery_id)?;
            let attempt = DeliveryAttempt {
                number: u32::try_from(number).map_err(store_error)?,
                attempted_at: parse_time(&attempted_at)?,
                duration_ms: u64::try_from(duration_ms).map_err(store_error)?,
                response_status: status.map(u16::try_from).transpose().map_err(store_error)?,
                error,
            };
            if let Some(delivery) = deliveries.iter_mut().find(|d| d.id == delivery_id) {
                delivery.attempts.push(attempt);
            }
        }
        Ok(())
    }
}

fn status_columns(status: &EndpointStatus) -> (Option<String>, Option<String>) {
    match status {
        EndpointStatus::Enabled => (None, None),
        EndpointStatus::Disabled { reason, since } => {
            (Some(reason.clone()), Some(timestamp(*since)))
        }
    }
}

fn types_json(types: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(types).map_err(store_error)
}

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(store_error)
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(store_error)
}

fn endpoint_from_row(row: EndpointRow) -> Result<WebhookEndpoint, StoreError> {
    let (id, url, description, event_types, secret, reason, since, created_at, updated_at) = row;
    let status = match (reason, since) {
        (Some(reason), Some(since)) => EndpointStatus::Disabled {
            reason,
            since: parse_time(&since)?,
        },
        _ => EndpointStatus::Enabled,
    };
    Ok(WebhookEndpoint {
        id: parse_uuid(&id)?,
        url,
        description,
        event_types: serde_json::from_str(&event_types).map_err(store_error)?,
        secret,
        status,
        created_at: parse_time(&created_at)?,
        updated_at: parse_time(&updated_at)?,
    })
}

fn delivery_from_row(row: DeliveryRow) -> Result<WebhookDelivery, StoreError> {
    let (
        id,
        endpoint_id,
        message_id,
        event_id,
        event_type,
        payload,
        state,
        next_attempt_at,
        redelivery_of,
        created_at,
        finished_at,
    ) = row;
    Ok(WebhookDelivery {
        id: parse_uuid(&id)?,
        endpoint_id: parse_uuid(&endpoint_id)?,
        message_id,
        event_id: parse_uuid(&event_id)?,
        event_type,
        payload,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::new(format_args!("unknown delivery state {state}")))?,
        next_attempt_at: next_attempt_at.as_deref().map(parse_time).transpose()?,
        redelivery_of: redelivery_of.as_deref().map(parse_uuid).transpose()?,
        created_at: parse_time(&created_at)?,
        finished_at: finished_at.as_deref().map(parse_time).transpose()?,
        attempts: Vec::new(),
    })
}

/// A queued delivery as the queries read it.
type QueuedRow = (String, String, String, String, String, String, i64, String);

fn queued(
    (id, endpoint_id, url, secret, message_id, payload, attempts, due_at): QueuedRow,
) -> Result<QueuedDelivery, StoreError> {
    Ok(QueuedDelivery {
        delivery_id: parse_uuid(&id)?,
        endpoint_id: parse_uuid(&endpoint_id)?,
        url,
        secret,
        message_id,
        payload,
        attempts_made: u32::try_from(attempts).map_err(store_error)?,
        due_at: parse_time(&due_at)?,
    })
}
