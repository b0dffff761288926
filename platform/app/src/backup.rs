//! `commerce backup` and `commerce restore` (ADR 0050): a consistent copy of everything the
//! system keeps, taken while the server runs, and its restoration into an empty store.
//!
//! A backup is a directory: `manifest.json` says what it holds, and beside it
//! - on the embedded store, `commerce.db` (made by SQLite's `VACUUM INTO`: one read
//!   transaction, so a consistent snapshot that never blocks the server's writes) and the
//!   sandbox gateway's journal `sandbox-gateway.jsonl`, copied *after* the snapshot, so that
//!   every payment the snapshot knows of is in it;
//! - on PostgreSQL, `commerce.pgdump`, made by `pg_dump --format=custom` in a snapshot this
//!   command exported, so that the event count it records is exactly the dump's.
//!
//! Everything else (events, checkpoints, read models, idempotency keys, deadlines, webhook
//! deliveries, API keys, the kept signing secrets, personal data keys; on PostgreSQL the
//! sandbox ledger) lives in the database.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::config::{BackupArgs, RestoreArgs, StoreUrl};

const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "commerce.db";
const JOURNAL_FILE: &str = "sandbox-gateway.jsonl";
const PG_DUMP_FILE: &str = "commerce.pgdump";

/// What a backup holds, written last: a directory without it is not a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    /// `sqlite` or `postgres`: a backup restores into the same kind of store.
    pub store: String,
    pub created_at: String,
    pub commerce_version: String,
    /// Events in the backup, checked again after a restore.
    pub events: i64,
    /// Each file beside the manifest and its size in bytes.
    pub files: Vec<(String, u64)>,
    /// PostgreSQL: the newest transaction id among the events. The feed orders events by it,
    /// so the restore needs a server whose transaction ids are past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_tx: Option<u64>,
}

pub async fn backup(args: &BackupArgs) -> Result<String, String> {
    let to = &args.to;
    if to.exists() {
        return Err(format!(
            "{} exists: a backup goes into a new directory",
            to.display()
        ));
    }
    // Written under another name and renamed once complete: a directory with the name asked
    // for is always a whole backup. A leftover of a failed attempt is ours to replace.
    let partial = partial_dir(to);
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .map_err(|e| format!("removing {}: {e}", partial.display()))?;
    }
    let (store, events) = match write_backup(args, &partial).await {
        Ok(written) => written,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, to).map_err(|e| format!("renaming {}: {e}", partial.display()))?;
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(format!(
        "backed up {events} events from the {store} store into {}",
        to.display()
    ))
}

fn partial_dir(to: &Path) -> PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

/// The backup, manifest last, into `to`: (store kind, events).
async fn write_backup(args: &BackupArgs, to: &Path) -> Result<(&'static str, i64), String> {
    crate::existing_store(&args.store, "back up").await?;
    let (store, events, newest_tx) = match args.store.store_url() {
        StoreUrl::Sqlite(path) => {
            create_dir(to)?;
            let file = to.join(SQLITE_FILE);
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            let bar = crate::progress::bytes("backing up", size);
            let copying = sqlite_store::SqliteStore::backup(&path, &file);
            tokio::pin!(copying);
            let copied = loop {
                tokio::select! {
                    done = &mut copying => break done,
                    () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                        bar.set_position(std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0));
                    }
                }
            };
            bar.finish_and_clear();
            copied.map_err(|e| e.to_string())?;
            // SQLite does not sync what VACUUM INTO wrote.
            sync_file(&file)?;
            // After the snapshot: the journal then holds every payment the snapshot refers
            // to (and perhaps a few later ones, as a real provider would).
            let journal = args.journal();
            if journal.exists() {
                copy_complete_lines(&journal, &to.join(JOURNAL_FILE))?;
            }
            let events = sqlite_store::SqliteStore::count_events(&file)
                .await
                .map_err(|e| e.to_string())?;
            ("sqlite", events, None)
        }
        StoreUrl::Postgres(url) => {
            let pg_dump = tool("pg_dump")?;
            create_dir(to)?;
            let file = to.join(PG_DUMP_FILE);
            let bar = crate::progress::spinner("pg_dump");
            let (dumped, facts) =
                postgres_store::PostgresStore::in_exported_snapshot(&url, |snapshot| {
                    run(postgres_client(&pg_dump, &url)
                        .arg("--format=custom")
                        .arg("--no-owner")
                        .arg("--no-privileges")
                        .arg(format!("--snapshot={snapshot}"))
                        .arg("--file")
                        .arg(&file))
                })
                .await
                .map_err(|e| e.to_string())?;
            bar.finish_and_clear();
            dumped?;
            sync_file(&file)?;
            ("postgres", facts.events, Some(facts.newest_tx))
        }
    };
    let manifest = Manifest {
        format: FORMAT,
        store: store.to_owned(),
        created_at: chrono::Utc::now().to_rfc3339(),
        commerce_version: env!("CARGO_PKG_VERSION").to_owned(),
        events,
        files: files_of(to)?,
        newest_tx,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    write_synced(&to.join(MANIFEST), text.as_bytes())?;
    sync_dir(to)?;
    Ok((store, events))
}

pub async fn restore(args: &RestoreArgs) -> Result<String, String> {
    let from = &args.from;
    let manifest: Manifest = std::fs::read(from.join(MANIFEST))
        .map_err(|e| {
            format!(
                "{} is not a backup: no readable {MANIFEST} ({e})",
                from.display()
            )
        })
        .and_then(|bytes| {
            serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{}: {MANIFEST} is not a backup manifest: {e}",
                    from.display()
                )
            })
        })?;
    if manifest.format != FORMAT {
        return Err(format!(
            "{}: backup format {} is not one this build reads ({FORMAT})",
            from.display(),
            manifest.format
        ));
    }
    for (name, size) in &manifest.files {
        let found = std::fs::metadata(from.join(name)).map(|m| m.len()).ok();
        if found != Some(*size) {
            return Err(format!(
                "{}: {name} should have {size} bytes, has {}: the backup is incomplete",
                from.display(),
                found.map_or("none".to_owned(), |n| n.to_string())
            ));
        }
    }
    let events = match (args.store.store_url(), manifest.store.as_str()) {
        (StoreUrl::Sqlite(path), "sqlite") => {
            // The database, and what SQLite keeps beside it: a WAL left by another store
            // would be replayed onto the restored file.
            for leftover in ["", "-wal", "-shm", ".restoring"] {
                let mut name = path.clone().into_os_string();
                name.push(leftover);
                let leftover = PathBuf::from(name);
                if leftover.exists() {
                    return Err(format!(
                        "{} exists: restore goes into an empty store (move it away first)",
                        leftover.display()
                    ));
                }
            }
            // A backup from a newer build holds migrations this one does not know.
            let (_, applied) = sqlite_store::SqliteStore::probe(&from.join(SQLITE_FILE))
                .await
                .map_err(|e| e.to_string())?;
            newer_than_this_build(applied, sqlite_store::SqliteStore::embedded_migrations())?;
            let journal = args.journal();
            let journal_backup = from.join(JOURNAL_FILE);
            if journal_backup.exists() && journal.exists() {
                return Err(format!(
                    "{} exists: restore goes into an empty store (move it away first)",
                    journal.display()
                ));
            }
            for file in [&path, &journal] {
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    create_dir(dir)?;
                }
            }
            // Copied under other names and renamed once complete, the database last: a
            // restore killed midway leaves no store that looks whole.
            let partial = path.with_extension("db.restoring");
            copy_synced(&from.join(SQLITE_FILE), &partial)?;
            if journal_backup.exists() {
                let partial_journal = journal.with_extension("jsonl.restoring");
                copy_synced(&journal_backup, &partial_journal)?;
                rename(&partial_journal, &journal)?;
            }
            if let Err(error) = rename(&partial, &path) {
                if journal_backup.exists() {
                    let _ = std::fs::remove_file(&journal);
                }
                return Err(error);
            }
            // Opening applies the migrations a backup from an older build lacks.
            let store = crate::connect_sqlite(&path)
                .await
                .map_err(|e| e.to_string())?;
            store.event_count().await.map_err(|e| e.to_string())?
        }
        (StoreUrl::Postgres(url), "postgres") => {
            let pg_restore = tool("pg_restore")?;
            let (_, _, tables) = postgres_store::PostgresStore::probe(&url)
                .await
                .map_err(|e| e.to_string())?;
            if tables > 0 {
                return Err(format!(
                    "the database holds {tables} tables: restore goes into an empty database \
                     (make one with createdb)"
                ));
            }
            // The feed orders events by the transaction that wrote them, and shows one only
            // once every transaction before it has ended: restored where transaction ids are
            // behind the backup's, the events would stay hidden and new ones sort before them.
            let newest = manifest.newest_tx.unwrap_or(0);
            let horizon = postgres_store::PostgresStore::transaction_horizon(&url)
                .await
                .map_err(|e| e.to_string())?;
            if horizon <= newest {
                return Err(format!(
                    "this PostgreSQL server's transaction ids ({horizon}) are behind the \
                     backup's ({newest}), by which the feed orders events: restore into a server \
                     past them, e.g. the one it came from, or first advance this one's \
                     (pg_resetwal -x on the stopped cluster; see ADR 0050)"
                ));
            }
            let bar = crate::progress::spinner("pg_restore");
            let restored = run(postgres_client(&pg_restore, &url)
                .arg("--exit-on-error")
                .arg("--single-transaction")
                .arg("--no-owner")
                .arg("--no-privileges")
                .arg(from.join(PG_DUMP_FILE)));
            bar.finish_and_clear();
            restored?;
            let store = crate::connect_postgres(&url)
                .await
                .map_err(|e| e.to_string())?;
            store.event_count().await.map_err(|e| e.to_string())?
        }
        (_, backed_up) => {
            return Err(format!(
                "{} is a backup of a {backed_up} store: restore it into the same kind of store",
                from.display()
            ))
        }
    };
    if events != manifest.events {
        return Err(format!(
            "the restored store holds {events} events, the backup {}",
            manifest.events
        ));
    }
    Ok(format!(
        "restored {events} events from {} (made {})",
        from.display(),
        manifest.created_at
    ))
}

/// Fails when a store holding `applied` migrations is newer than this build.
fn newer_than_this_build(applied: Option<(i64, i64)>, embedded: usize) -> Result<(), String> {
    match applied {
        Some((count, latest)) if usize::try_from(count).is_ok_and(|count| count > embedded) => {
            Err(format!(
                "the backup holds {count} migrations (latest {latest}), this build knows \
                 {embedded}: restore it with the build that made it, or a newer one"
            ))
        }
        _ => Ok(()),
    }
}

/// `program` (pg_dump, pg_restore) on the database at `url`, its password, if the URL has
/// one, given in the environment rather than on the command line, where every local user
/// could read it.
fn postgres_client(program: &Path, url: &str) -> Command {
    let (url, password) = split_password(url);
    let mut command = Command::new(program);
    command.arg("--dbname").arg(url);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

/// `url` without the password of its user part, and that password, percent-decoded.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), None);
    };
    let rest = scheme_end + 3;
    let authority_end = url[rest..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |end| rest + end);
    let Some(at) = url[rest..authority_end].rfind('@').map(|at| rest + at) else {
        return (url.to_owned(), None);
    };
    let Some(colon) = url[rest..at].find(':').map(|colon| rest + colon) else {
        return (url.to_owned(), None);
    };
    let password = percent_decode(&url[colon + 1..at]);
    (format!("{}{}", &url[..colon], &url[at..]), Some(password))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn sync_file(path: &Path) -> Result<(), String> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|e| format!("syncing {}: {e}", path.display()))
}

/// The path of an external program, or the one line that says how to get it.
fn tool(name: &str) -> Result<PathBuf, String> {
    let found = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match found {
        Ok(status) if status.success() => Ok(PathBuf::from(name)),
        _ => Err(format!(
            "{name} was not found on PATH: install PostgreSQL's client programs of the \
             server's major version (Debian: apt-get install postgresql-client)"
        )),
    }
}

/// Runs `command`; its failure is one line: its last line of standard error.
fn run(command: &mut Command) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("no message");
    Err(format!(
        "{program} failed ({}): {}",
        output.status,
        last.trim()
    ))
}

fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))
}

fn rename(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::rename(from, to).map_err(|e| format!("renaming {}: {e}", from.display()))?;
    match to.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut file = File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

fn copy_synced(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .and_then(|_| File::open(to)?.sync_all())
        .map(|_| ())
        .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))
}

/// Copies a journal that may be appended to meanwhile: only up to its last complete line.
fn copy_complete_lines(from: &Path, to: &Path) -> Result<(), String> {
    let mut bytes = Vec::new();
    File::open(from)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|e| format!("reading {}: {e}", from.display()))?;
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    write_synced(to, &bytes[..complete])
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| format!("syncing {}: {e}", dir.display()))
}

fn files_of(dir: &Path) -> Result<Vec<(String, u64)>, String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let size = entry.metadata().map_err(|e| e.to_string())?.len();
        files.push((entry.file_name().to_string_lossy().into_owned(), size));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            split_password("postgres://shop:p%40ss%3Aw0rd@db:5432/shop?sslmode=require"),
            (
                "postgres://shop@db:5432/shop?sslmode=require".to_owned(),
                Some("p@ss:w0rd".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1:5432/postgres"),
            (
                "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
                None
            )
        );
        assert_eq!(
            split_password("dbname=shop"),
            ("dbname=shop".to_owned(), None)
        );
    }

    #[test]
    fn a_backup_from_a_newer_build_is_refused() {
        assert!(newer_than_this_build(Some((18, 18)), 17).is_err());
        assert!(newer_than_this_build(Some((17, 17)), 17).is_ok());
        assert!(newer_than_this_build(Some((10, 10)), 17).is_ok());
        assert!(newer_than_this_build(None, 17).is_ok());
    }
}
