//! Long-polling: a reader that asks to `wait` gets its answer as soon as what it follows
//! settles, or when its time is up, in one request instead of many. The event feed, checkouts
//! and refunds read the `wait` parameter and its deadline here; checkouts and refunds, which
//! wake on an append to the stream they follow, wait for it here too.

use std::pin::Pin;
use std::time::Duration;

use tokio::sync::futures::Notified;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::problem::ApiError;

/// The longest `wait` a reader may ask for, in seconds.
pub const MAX_WAIT_SECS: u64 = 30;

/// A reader following a stream looks again this often even when nothing in this process woke
/// it: what it follows may move on another instance.
const RECHECK: Duration = Duration::from_millis(250);

/// The `wait` parameter (whole seconds, 0 to [`MAX_WAIT_SECS`], none meaning 0) and the
/// instant the wait ends, which the server's `longest` shortens.
pub(crate) fn deadline(wait: Option<&str>, longest: Duration) -> Result<(u64, Instant), ApiError> {
    let wait = crate::events::number_param("wait", wait, 0, (0, MAX_WAIT_SECS))?;
    Ok((
        wait,
        Instant::now() + Duration::from_secs(wait).min(longest),
    ))
}

/// Waits for an append to the followed stream in this process, the next recheck, the deadline
/// `until` or the server stopping; whether the store must be read now (false: an append in
/// this process woke it, and what it left may be in memory).
pub(crate) async fn wait_for_change(
    changed: Pin<&mut Notified<'_>>,
    closing: &mut watch::Receiver<bool>,
    until: Instant,
) -> bool {
    let pause = RECHECK.min(until.saturating_duration_since(Instant::now()));
    tokio::select! {
        () = changed => false,
        () = tokio::time::sleep(pause) => true,
        _ = closing.changed() => true,
    }
}
