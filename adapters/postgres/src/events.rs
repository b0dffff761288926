//! The event repository: postgres-es reads the streams, and this store appends them itself
//! (ADR 0040).
//!
//! postgres-es appends a command's events one `INSERT` per event inside `BEGIN`/`COMMIT`,
//! and says nothing of where they landed in the feed. The append here is one statement in its
//! own implicit transaction (one round trip, however many events), and it returns the events'
//! feed cursor, which it records for the request that caused it ([`runtime::consistency`]):
//! the request's answer carries it, so its client can read its own write.

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use runtime::{Appender, Cursor, OwnAppend};
use sqlx::{PgPool, Row};

/// `ORDER BY n` keeps the events in sequence order as their positions are drawn, so that the
/// feed, which orders a transaction's events by position, delivers them in stream order.
const APPEND: &str = "\
    INSERT INTO events \
        (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
    SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, \
           payload::json, metadata::json \
    FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], \
                $7::text[]) WITH ORDINALITY \
         AS e(aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
              metadata, n) \
    ORDER BY n \
    RETURNING tx_id::text AS tx, global_position";

/// The stream identity; a unique violation on any other constraint is not a write conflict.
const STREAM_KEY: &str = "events_pkey";

/// postgres-es's repository for reads, with this store's append.
pub type PostgresEventRepository = OwnAppend<postgres_es::PostgresEventRepository, PostgresAppend>;

pub(crate) fn repository(pool: PgPool) -> PostgresEventRepository {
    OwnAppend::new(
        postgres_es::PostgresEventRepository::new(pool.clone()),
        PostgresAppend { pool },
    )
}

/// Appends a command's events in one statement.
pub struct PostgresAppend {
    pool: PgPool,
}

impl Appender for PostgresAppend {
    async fn append(&self, events: &[SerializedEvent]) -> Result<Cursor, PersistenceError> {
        let mut columns: [Vec<String>; 6] = Default::default();
        let mut sequences = Vec::with_capacity(events.len());
        for event in events {
            columns[0].push(event.aggregate_type.clone());
            columns[1].push(event.aggregate_id.clone());
            sequences.push(i64::try_from(event.sequence).map_err(unknown)?);
            columns[2].push(event.event_type.clone());
            columns[3].push(event.event_version.clone());
            columns[4].push(serde_json::to_string(&event.payload).map_err(unknown)?);
            columns[5].push(serde_json::to_string(&event.metadata).map_err(unknown)?);
        }
        let [types, ids, event_types, versions, payloads, metadata] = columns;
        let rows = sqlx::query(APPEND)
            .bind(types)
            .bind(ids)
            .bind(sequences)
            .bind(event_types)
            .bind(versions)
            .bind(payloads)
            .bind(metadata)
            .fetch_all(&self.pool)
            .await
            .map_err(append_error)?;
        let mut last = Cursor::START;
        for row in rows {
            let tx: &str = row.try_get("tx").map_err(unknown)?;
            let cursor = Cursor {
                tx: tx.parse().map_err(unknown)?,
                position: row.try_get("global_position").map_err(unknown)?,
            };
            last = last.max(cursor);
        }
        Ok(last)
    }
}

fn unknown(error: impl std::error::Error + Send + Sync + 'static) -> PersistenceError {
    PersistenceError::UnknownError(Box::new(error))
}

fn append_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        sqlx::Error::Database(database)
            if database.is_unique_violation() && database.constraint() == Some(STREAM_KEY) =>
        {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => unknown(error),
    }
}
