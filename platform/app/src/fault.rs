//! The fault-injection switch: with the `fault-injection` feature compiled in and
//! `COMMERCE_FAULT_KILL_AT=<boundary>` set (e.g. `after:RecordOrderPlaced`), the process sends
//! itself SIGKILL the first time a saga reaches that step boundary. Tests use it to
//! prove that a crash anywhere is recovered; a build without the feature ignores the variable.

use application::saga::StepBoundaryHook;

pub const KILL_AT: &str = "COMMERCE_FAULT_KILL_AT";

/// With `COMMERCE_FAULT_PAUSE_AT=<boundary>`, the process stops there for good instead (it
/// says so on standard error), for tests that need it held at a known point.
pub const PAUSE_AT: &str = "COMMERCE_FAULT_PAUSE_AT";

#[cfg(feature = "fault-injection")]
pub fn step_boundary_hook() -> Option<StepBoundaryHook> {
    if let Some(target) = std::env::var(PAUSE_AT).ok().filter(|t| !t.is_empty()) {
        tracing::warn!(boundary = %target, "FAULT INJECTION ENABLED: this process will pause");
        return Some(std::sync::Arc::new(move |boundary: &str| {
            if boundary == target {
                eprintln!("fault-injection: paused at {boundary}");
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(60));
                }
            }
        }));
    }
    let target = std::env::var(KILL_AT).ok().filter(|t| !t.is_empty())?;
    tracing::warn!(boundary = %target, "FAULT INJECTION ENABLED: this process will kill itself");
    Some(std::sync::Arc::new(move |boundary: &str| {
        if boundary == target {
            eprintln!("fault-injection: SIGKILL at {boundary}");
            let pid = std::process::id().to_string();
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
            // SIGKILL is not delivered synchronously; never run past the boundary.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
    }))
}

#[cfg(not(feature = "fault-injection"))]
pub fn step_boundary_hook() -> Option<StepBoundaryHook> {
    if std::env::var_os(KILL_AT).is_some() || std::env::var_os(PAUSE_AT).is_some() {
        tracing::warn!("{KILL_AT} and {PAUSE_AT} are ignored: this build has no fault injection");
    }
    None
}
