//! `commerce projections rebuild <name>|--all` (ADR 0049): each projection is projected anew
//! from the start of the feed into a shadow of its views while a running server goes on
//! serving and maintaining the live one, then switched in atomically (see
//! `runtime::rebuild`). A crash before the switch leaves the live projection and its
//! checkpoint as they were; running the command again drops the leftover shadow and starts
//! over.
//!
//! The feed is read as the server reads it, sealed personal data opened through the vault,
//! so that the rebuilt documents are the ones the server's projector would have written.

use std::sync::Arc;

use indicatif::ProgressBar;
use runtime::{
    Cursor, EventFeed, OpeningFeed, PersonalDataKeys, Projection, ProjectorRunner, Rebuilds,
    ShadowProjection, StoreGauges, Vault,
};

use crate::config::{StoreArgs, StoreUrl};

/// One projection rebuilt and switched in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub name: &'static str,
    /// Feed events the shadow was built from.
    pub events: u64,
    /// The checkpoint the live projection was switched to.
    pub checkpoint: Cursor,
}

/// The projections named: `name`, or every one with `all`. An unknown name is an error that
/// lists the known ones.
pub fn chosen(name: Option<&str>, all: bool) -> Result<Vec<Arc<dyn Projection>>, String> {
    let projections = crate::all_projections();
    if all {
        return Ok(projections);
    }
    let Some(name) = name else {
        return Err("name a projection, or --all".to_owned());
    };
    let known: Vec<&str> = projections.iter().map(|p| p.name()).collect();
    let known = known.join(", ");
    projections
        .into_iter()
        .find(|projection| projection.name() == name)
        .map(|projection| vec![projection])
        .ok_or_else(|| format!("unknown projection {name:?}; the projections are: {known}"))
}

/// Rebuilds `projections` one after the other on the configured store, reading the feed
/// `batch_size` events at a time; `done` hears of each as it is switched in.
pub async fn rebuild(
    store: &StoreArgs,
    projections: Vec<Arc<dyn Projection>>,
    batch_size: usize,
    done: impl FnMut(&Rebuilt),
) -> Result<(), String> {
    // One rebuild at a time per store: two of one projection would share its shadow table
    // (each drops and creates `rebuild_<name>`), and the first to switch would install a mix.
    // The lock goes with the process, a killed rebuild included.
    const BUSY: &str = "another rebuild is running on this store: wait for it to end";
    crate::existing_store(store, "rebuild").await?;
    match store.store_url() {
        StoreUrl::Postgres(url) => {
            let held = postgres_store::PostgresStore::exclusive_session(&url, REBUILD_LOCK)
                .await
                .map_err(|e| e.to_string())?;
            let Some(_held) = held else {
                return Err(BUSY.to_owned());
            };
            let store = crate::connect_postgres(&url)
                .await
                .map_err(|e| e.to_string())?;
            on(store, projections, batch_size, done).await
        }
        StoreUrl::Sqlite(path) => {
            let lock_path = path.with_extension("db.rebuild-lock");
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| format!("opening {}: {e}", lock_path.display()))?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Err(BUSY.to_owned()),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(format!("locking {}: {e}", lock_path.display()))
                }
            }
            let store = crate::connect_sqlite(&path)
                .await
                .map_err(|e| e.to_string())?;
            let rebuilt = on(store, projections, batch_size, done).await;
            drop(lock);
            rebuilt
        }
    }
}

/// The PostgreSQL advisory lock a rebuild holds (any fixed number of ours).
const REBUILD_LOCK: i64 = 0x636f_6d6d_6572_6365;

async fn on<S>(
    store: S,
    projections: Vec<Arc<dyn Projection>>,
    batch_size: usize,
    mut done: impl FnMut(&Rebuilt),
) -> Result<(), String>
where
    S: Rebuilds + EventFeed + PersonalDataKeys + StoreGauges + 'static,
{
    let store = Arc::new(store);
    let vault = Arc::new(Vault::new(
        store.clone(),
        application::personal_data::personal_events(),
    ));
    let feed: Arc<dyn EventFeed> = Arc::new(OpeningFeed::new(store.clone(), vault));
    for projection in projections {
        let rebuilt = one(store.as_ref(), &feed, projection, batch_size).await?;
        done(&rebuilt);
    }
    Ok(())
}

async fn one<S>(
    store: &S,
    feed: &Arc<dyn EventFeed>,
    projection: Arc<dyn Projection>,
    batch_size: usize,
) -> Result<Rebuilt, String>
where
    S: Rebuilds + StoreGauges,
{
    let name = projection.name();
    let failed = |error: &dyn std::fmt::Display| format!("rebuilding {name}: {error}");
    // A consumer that never committed is behind by the whole feed: the bar's length.
    let head = store
        .consumer_lags(&[format!("{name}:rebuild")], chrono::Utc::now())
        .await
        .map_err(|e| failed(&e))?
        .first()
        .map_or(0, |lag| lag.events_behind);
    let shadow = Arc::new(
        store
            .shadow(projection.as_ref())
            .await
            .map_err(|e| failed(&e))?,
    );
    let runner =
        ProjectorRunner::new(feed.clone(), shadow.clone(), projection).with_batch_size(batch_size);
    let bar = progress_bar(name, head);
    let kill_at = crate::fault::step_boundary_hook();
    let mut events: u64 = 0;
    let mut batches: u64 = 0;
    // Most of the feed, with the live projection unlocked: the server goes on serving and
    // maintaining it.
    loop {
        let projected = runner.run_once().await.map_err(|e| failed(&e))?;
        if projected == 0 {
            break;
        }
        events += projected as u64;
        bar.set_length(head.max(events));
        bar.set_position(events);
        batches += 1;
        if let Some(kill_at) = &kill_at {
            kill_at(&format!("rebuild:{name}:batch:{batches}"));
        }
    }
    runner.flush().await.map_err(|e| failed(&e))?;
    // The rest under the live lock: what was appended meanwhile, up to the feed's head.
    bar.set_message(format!("{name}: switching"));
    shadow.lock_live().await.map_err(|e| failed(&e))?;
    loop {
        let projected = runner.run_once().await.map_err(|e| failed(&e))?;
        if projected == 0 {
            break;
        }
        events += projected as u64;
        bar.set_length(head.max(events));
        bar.set_position(events);
    }
    runner.flush().await.map_err(|e| failed(&e))?;
    if let Some(kill_at) = &kill_at {
        kill_at(&format!("rebuild:{name}:switch"));
    }
    let checkpoint = shadow.switch_in().await.map_err(|e| failed(&e))?;
    bar.finish_and_clear();
    Ok(Rebuilt {
        name,
        events,
        checkpoint,
    })
}

/// Events projected of the feed's head.
fn progress_bar(name: &str, head: u64) -> ProgressBar {
    crate::progress::bar(
        name,
        Some(head),
        "{msg} [{bar:40}] {pos}/{len} events ({elapsed})",
    )
}

#[cfg(test)]
mod tests {
    use super::chosen;

    #[test]
    fn a_projection_is_chosen_by_name_or_all_of_them() {
        let names = |chosen: Vec<std::sync::Arc<dyn runtime::Projection>>| -> Vec<&str> {
            chosen.iter().map(|p| p.name()).collect()
        };
        assert_eq!(
            names(chosen(Some("stock_levels"), false).unwrap()),
            ["stock_levels"]
        );
        assert_eq!(
            chosen(None, true).unwrap().len(),
            crate::all_projections().len()
        );
        let unknown = chosen(Some("stock"), false).err().unwrap();
        assert!(unknown.contains("\"stock\""), "{unknown}");
        assert!(unknown.contains("product_catalog, orders"), "{unknown}");
    }

    #[test]
    fn no_two_projections_write_one_view() {
        let projections = crate::all_projections();
        let mut views: Vec<&str> = projections
            .iter()
            .flat_map(|p| p.views())
            .copied()
            .collect();
        assert!(!views.is_empty());
        let all = views.len();
        views.sort_unstable();
        views.dedup();
        assert_eq!(views.len(), all, "a view written by two projections");
    }
}
