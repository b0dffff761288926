//! Progress of the store commands' long work, on standard error, drawn only when it is a
//! terminal: piped or in a test, the commands print their reports alone.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar towards `len` units, described by `template` (indicatif's), or a spinner without one.
pub fn bar(message: &str, len: Option<u64>, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    if len.is_none() {
        bar.enable_steady_tick(Duration::from_millis(120));
    }
    bar
}

/// A spinner for work whose size is not known (an external program running).
pub fn spinner(message: &str) -> ProgressBar {
    bar(message, None, "{spinner} {msg} ({elapsed})")
}

/// Bytes of a file being written, of about `total`.
pub fn bytes(message: &str, total: u64) -> ProgressBar {
    bar(
        message,
        Some(total),
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({elapsed})",
    )
}
