//! Webhook endpoints, delivery queues and the delivery log. Writes that must hold together
//! (a batch of deliveries with the dispatcher's checkpoint; an attempt with its delivery and,
//! when it gives up, the endpoint) run in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runtime::{
    AttemptOutcome, AttemptRecorded, CommitOutcome, Cursor, DeliveryAttempt, DeliveryState,
    EndpointPatch, EndpointStatus, NewDelivery, ProjectionStore, QueuedDelivery, StoreError,
    WebhookDelivery, WebhookEndpoint, WebhookPage, WebhookStore,
};
use uuid::Uuid;

use crate::projection::move_checkpoint;
use crate::{store_error, PostgresStore};

/// The dispatcher's checkpoint, a row among the projectors' ones.
const CHECKPOINT: &str = runtime::webhooks::DISPATCHER_CHECKPOINT;

const ENDPOINT_COLUMNS: &str = "id, url, description, event_types, secret, disabled_reason, \
                                disabled_at, created_at, updated_at";

type EndpointRow = (
    Uuid,
    String,
    String,
    Vec<String>,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    DateTime<Utc>,
);

const DELIVERY_COLUMNS: &str = "id, endpoint_id, message_id, event_id, event_type, payload, \
                                state, next_attempt_at, redelivery_of, created_at, finished_at";

type DeliveryRow = (
    Uuid,
    Uuid,
    String,
    Uuid,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<Uuid>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

type AttemptRow = (Uuid, i32, DateTime<Utc>, i64, Option<i32>, Option<String>);

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<bool, StoreError> {
        let (reason, since) = status_columns(&endpoint.status);
        let inserted = sqlx::query(
            "INSERT INTO webhook_endpoints \
                 (id, url, description, event_types, secret, disabled_reason, disabled_at, \
                  created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(endpoint.id)
        .bind(&endpoint.url)
        .bind(&endpoint.description)
        .bind(&endpoint.event_types)
        .bind(&endpoint.secret)
        .bind(reason)
        .bind(since)
        .bind(endpoint.created_at)
        .bind(endpoint.updated_at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn endpoint(&self, id: Uuid) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
        let row: Option<EndpointRow> = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(row.map(endpoint_from_row))
    }

    async fn list_endpoints(&self, page: WebhookPage) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints \
             WHERE ($1::uuid IS NULL \
                    OR position < (SELECT position FROM webhook_endpoints WHERE id = $1)) \
             ORDER BY position DESC LIMIT $2"
        );
        let rows: Vec<EndpointRow> = sqlx::query_as(&sql)
            .bind(page.starting_after)
            .bind(limit(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().map(endpoint_from_row).collect())
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
        let sql = format!(
            "UPDATE webhook_endpoints SET \
                 url = coalesce($1, url), \
                 description = coalesce($2, description), \
                 event_types = coalesce($3, event_types), \
                 disabled_reason = CASE WHEN $4 THEN $5 ELSE disabled_reason END, \
                 disabled_at = CASE WHEN $4 THEN $6 ELSE disabled_at END, \
                 updated_at = $7 \
             WHERE id = $8 RETURNING {ENDPOINT_COLUMNS}"
        );
        let row: Option<EndpointRow> = sqlx::query_as(&sql)
            .bind(patch.url.as_deref())
            .bind(patch.description.as_deref())
            .bind(patch.event_types.as_deref())
            .bind(set_status)
            .bind(reason)
            .bind(since)
            .bind(now)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(row.map(endpoint_from_row))
    }

    async fn delete_endpoint(&self, id: Uuid) -> Result<bool, StoreError> {
        // Deliveries and attempts go with it (ON DELETE CASCADE).
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
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
        Ok(rows.into_iter().map(endpoint_from_row).collect())
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
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        if !move_checkpoint(&mut tx, CHECKPOINT, from, to).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(CommitOutcome::CheckpointMoved);
        }
        // One statement per delivery, in order: each draws its queue position as it runs, and
        // the positions must follow the feed.
        for delivery in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries \
                     (id, endpoint_id, message_id, event_id, event_type, payload, state, \
                      attempts, next_attempt_at, created_at) \
                 SELECT $1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7 \
                 WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = $2)",
            )
            .bind(delivery.id)
            .bind(delivery.endpoint_id)
            .bind(&delivery.message_id)
            .bind(delivery.event_id)
            .bind(&delivery.event_type)
            .bind(&delivery.payload)
            .bind(delivery.created_at)
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
        let Some(before) = attempt
            .number
            .checked_sub(1)
            .and_then(|n| i32::try_from(n).ok())
        else {
            return Ok(AttemptRecorded::NotCurrent);
        };
        let finished = attempt.attempted_at;
        let (state, next_attempt_at, finished_at) = match outcome {
            AttemptOutcome::Succeeded => (DeliveryState::Succeeded, None, Some(finished)),
            AttemptOutcome::RetryAt(at) => (DeliveryState::Pending, Some(*at), None),
            AttemptOutcome::GaveUp { .. } => (DeliveryState::Failed, None, Some(finished)),
        };
        let gave_up = match outcome {
            AttemptOutcome::GaveUp { reason } => Some(reason.as_str()),
            _ => None,
        };
        // One statement, so one round trip: a delivery is recorded after every webhook POST,
        // and a transaction of four statements cost more than the POST itself. The parts see
        // the table as it was before the statement, so the next delivery is looked up past
        // the one just recorded; only a success lets the queue move on (a retry keeps its
        // place at the head, and giving up disables the endpoint).
        let row: Option<RecordedRow> = sqlx::query_as(
            "WITH recorded AS ( \
                 UPDATE webhook_deliveries \
                 SET attempts = attempts + 1, state = $1, next_attempt_at = $2, \
                     finished_at = $3 \
                 WHERE id = $4 AND state = 'pending' AND attempts = $5 \
                 RETURNING id, endpoint_id, position), \
             attempt AS ( \
                 INSERT INTO webhook_attempts \
                     (delivery_id, number, attempted_at, duration_ms, response_status, error) \
                 SELECT id, $6, $7, $8, $9, $10 FROM recorded), \
             disabled AS ( \
                 UPDATE webhook_endpoints \
                 SET disabled_reason = $11, disabled_at = $7, updated_at = $7 \
                 WHERE $11::text IS NOT NULL AND disabled_reason IS NULL \
                   AND id = (SELECT endpoint_id FROM recorded)) \
             SELECT r.endpoint_id, n.id, n.endpoint_id, n.url, n.secret, n.message_id, \
                    n.payload, n.attempts, n.next_attempt_at \
             FROM recorded r \
             LEFT JOIN LATERAL ( \
                 SELECT d.id, d.endpoint_id, e.url, e.secret, d.message_id, d.payload, \
                        d.attempts, d.next_attempt_at \
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE $12 AND d.endpoint_id = r.endpoint_id AND d.position > r.position \
                   AND d.state = 'pending' AND e.disabled_reason IS NULL \
                 ORDER BY d.position LIMIT 1) n ON true",
        )
        .bind(state.as_str())
        .bind(next_attempt_at)
        .bind(finished_at)
        .bind(delivery_id)
        .bind(before)
        .bind(i32::try_from(attempt.number).map_err(store_error)?)
        .bind(attempt.attempted_at)
        .bind(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))
        .bind(attempt.response_status.map(i32::from))
        .bind(attempt.error.as_deref())
        .bind(gave_up)
        .bind(matches!(outcome, AttemptOutcome::Succeeded))
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        let Some((_, id, endpoint, url, secret, message_id, payload, attempts, due_at)) = row
        else {
            return Ok(AttemptRecorded::NotCurrent);
        };
        let next = match (
            id, endpoint, url, secret, message_id, payload, attempts, due_at,
        ) {
            (
                Some(delivery_id),
                Some(endpoint_id),
                Some(url),
                Some(secret),
                Some(message_id),
                Some(payload),
                Some(attempts),
                Some(due_at),
            ) => Some(queued((
                delivery_id,
                endpoint_id,
                url,
                secret,
                message_id,
                payload,
                attempts,
                due_at,
            ))?),
            _ => None,
        };
        Ok(AttemptRecorded::Recorded { next })
    }

    async fn deliveries(
        &self,
        endpoint_id: Uuid,
        page: WebhookPage,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE endpoint_id = $1 \
               AND ($2::uuid IS NULL OR position < ( \
                    SELECT position FROM webhook_deliveries WHERE id = $2 AND endpoint_id = $1)) \
             ORDER BY position DESC LIMIT $3"
        );
        let rows: Vec<DeliveryRow> = sqlx::query_as(&sql)
            .bind(endpoint_id)
            .bind(page.starting_after)
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
        let sql = format!(
            "INSERT INTO webhook_deliveries \
                 (id, endpoint_id, message_id, event_id, event_type, payload, state, attempts, \
                  next_attempt_at, redelivery_of, created_at) \
             SELECT $1, endpoint_id, message_id, event_id, event_type, payload, 'pending', 0, \
                    $2, id, $2 \
             FROM webhook_deliveries WHERE id = $3 AND endpoint_id = $4 \
             RETURNING {DELIVERY_COLUMNS}"
        );
        let row: Option<DeliveryRow> = sqlx::query_as(&sql)
            .bind(new_id)
            .bind(now)
            .bind(delivery_id)
            .bind(endpoint_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.map(delivery_from_row).transpose()
    }
}

impl PostgresStore {
    async fn attach_attempts(&self, deliveries: &mut [WebhookDelivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
        let rows: Vec<AttemptRow> = sqlx::query_as(
            "SELECT delivery_id, number, attempted_at, duration_ms, response_status, error \
             FROM webhook_attempts WHERE delivery_id = ANY($1) \
             ORDER BY delivery_id, number",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        for (delivery_id, number, attempted_at, duration_ms, status, error) in rows {
            let attempt = DeliveryAttempt {
                number: u32::try_from(number).map_err(store_error)?,
                attempted_at,
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

fn status_columns(status: &EndpointStatus) -> (Option<String>, Option<DateTime<Utc>>) {
    match status {
        EndpointStatus::Enabled => (None, None),
        EndpointStatus::Disabled { reason, since } => (Some(reason.clone()), Some(*since)),
    }
}

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn endpoint_from_row(row: EndpointRow) -> WebhookEndpoint {
    let (id, url, description, event_types, secret, reason, since, created_at, updated_at) = row;
    let status = match (reason, since) {
        (Some(reason), Some(since)) => EndpointStatus::Disabled { reason, since },
        _ => EndpointStatus::Enabled,
    };
    WebhookEndpoint {
        id,
        url,
        description,
        event_types,
        secret,
        status,
        created_at,
        updated_at,
    }
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
        id,
        endpoint_id,
        message_id,
        event_id,
        event_type,
        payload,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::new(format_args!("unknown delivery state {state}")))?,
        next_attempt_at,
        redelivery_of,
        created_at,
        finished_at,
        attempts: Vec::new(),
    })
}

/// A queued delivery as the queries read it.
type QueuedRow = (
    Uuid,
    Uuid,
    String,
    String,
    String,
    String,
    i32,
    DateTime<Utc>,
);

/// A recorded attempt: its endpoint, and the endpoint's next delivery if there is one.
type RecordedRow = (
    Uuid,
    Option<Uuid>,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<DateTime<Utc>>,
);

fn queued(
    (delivery_id, endpoint_id, url, secret, message_id, payload, attempts, due_at): QueuedRow,
) -> Result<QueuedDelivery, StoreError> {
    Ok(QueuedDelivery {
        delivery_id,
        endpoint_id,
        url,
        secret,
        message_id,
        payload,
        attempts_made: u32::try_from(attempts).map_err(store_error)?,
        due_at,
    })
}
