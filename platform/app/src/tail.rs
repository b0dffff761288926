//! `commerce events tail`: the published feed on standard output, one JSON object per line,
//! exactly as `GET /v1/events` serves each event, so that what an operator reads here is what
//! a subscriber receives.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use runtime::{Cursor, PersonalDataKeys, PublishedFeed, TypeFilter};

use crate::config::{StoreArgs, StoreUrl};

/// How long `--follow` waits before looking at the feed again after finding nothing new.
const FOLLOW_POLL: Duration = Duration::from_millis(200);
/// Events read per page.
const PAGE: usize = 500;

/// Where a tail starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailStart {
    Start,
    End,
    After(Cursor),
}

impl TailStart {
    pub fn parse(raw: &str) -> Result<TailStart, String> {
        match raw.trim() {
            "" | "start" => Ok(TailStart::Start),
            "end" => Ok(TailStart::End),
            token => Cursor::from_token(token)
                .map(TailStart::After)
                .map_err(|e| format!("--from: {e}; give an event's cursor, `start` or `end`")),
        }
    }
}

/// The published feed of the configured store, opened as the server opens it: personal data
/// is read through the store's keys, so an erased shopper's data stays unreadable here too.
/// Also the store's own feed, which reads what is stored without opening anything.
async fn published_feed(
    store: &StoreArgs,
) -> Result<(PublishedFeed, Arc<dyn runtime::EventFeed>), String> {
    fn over<S>(store: S) -> (PublishedFeed, Arc<dyn runtime::EventFeed>)
    where
        S: runtime::EventFeed + PersonalDataKeys + Clone + 'static,
    {
        let keys: Arc<dyn PersonalDataKeys> = Arc::new(store.clone());
        let vault = Arc::new(runtime::Vault::new(
            keys,
            application::personal_data::personal_events(),
        ));
        let stored: Arc<dyn runtime::EventFeed> = Arc::new(store);
        let feed = Arc::new(runtime::OpeningFeed::new(stored.clone(), vault));
        (
            PublishedFeed::new(feed, Arc::new(contracts::PublishedLanguage)),
            stored,
        )
    }
    crate::existing_store(store, "tail").await?;
    Ok(match store.store_url() {
        StoreUrl::Postgres(url) => over(
            crate::connect_postgres(&url)
                .await
                .map_err(|e| e.to_string())?,
        ),
        StoreUrl::Sqlite(path) => over(
            crate::connect_sqlite(&path)
                .await
                .map_err(|e| e.to_string())?,
        ),
    })
}

/// Prints what the feed holds from `from` on, then stops, or with `follow` keeps printing
/// until the process is stopped. A reader that goes away (`| head`) ends it quietly.
pub async fn tail(
    store: &StoreArgs,
    from: &str,
    types: &[String],
    follow: bool,
) -> Result<(), String> {
    let from = TailStart::parse(from)?;
    let (feed, stored) = published_feed(store).await?;
    let filter = TypeFilter::of_published(
        types.iter().map(String::as_str),
        &feed.contracts().schemas(),
    )
    .map_err(|unknown| {
        format!("--types: {unknown}; `commerce events tail` without --types lists them all")
    })?;
    let mut after = match from {
        TailStart::Start => Cursor::START,
        TailStart::After(cursor) => cursor,
        TailStart::End => end_of(stored.as_ref()).await?,
    };
    let stdout = std::io::stdout();
    loop {
        let page = feed
            .read_after(after, PAGE, &filter)
            .await
            .map_err(|e| format!("reading the feed: {e}"))?;
        let mut out = stdout.lock();
        for event in &page.events {
            let line = serde_json::to_string(event).map_err(|e| e.to_string())?;
            if let Err(error) = writeln!(out, "{line}") {
                return quiet_on_broken_pipe(error);
            }
        }
        if let Err(error) = out.flush() {
            return quiet_on_broken_pipe(error);
        }
        drop(out);
        let moved = page.next != after;
        after = page.next;
        if !moved {
            if !follow {
                return Ok(());
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
    }
}

/// The cursor after the last event stored now, read without opening any payload.
async fn end_of(stored: &dyn runtime::EventFeed) -> Result<Cursor, String> {
    let mut after = Cursor::START;
    loop {
        let scanned = stored
            .read_after(after, 10_000)
            .await
            .map_err(|e| format!("reading the feed: {e}"))?;
        match scanned.last() {
            Some(last) => after = last.cursor,
            None => return Ok(after),
        }
    }
}

fn quiet_on_broken_pipe(error: std::io::Error) -> Result<(), String> {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(format!("writing to standard output: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_a_cursor_or_a_word() {
        assert_eq!(TailStart::parse("start"), Ok(TailStart::Start));
        assert_eq!(TailStart::parse("end"), Ok(TailStart::End));
        let cursor = Cursor {
            tx: 7,
            position: 42,
        };
        assert_eq!(
            TailStart::parse(&cursor.to_token()),
            Ok(TailStart::After(cursor))
        );
        let refused = TailStart::parse("yesterday").unwrap_err();
        assert!(
            refused.starts_with("--from: 'yesterday' is not a feed cursor"),
            "{refused}"
        );
    }
}
