//! Where "now" comes from, so that time-dependent rules can be tested without sleeping.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; for tests and replays.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock stopped at `instant`.
    pub fn at(instant: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(instant),
        }
    }

    /// Moves the clock to `instant` (which may be in the past).
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.lock() = instant;
    }

    /// Moves the clock by `by` (negative durations move it back).
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A poisoned lock still holds a valid instant: a DateTime cannot be half-written.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn fixed_clock_reports_the_instant_it_was_set_to() {
        let clock = FixedClock::at(noon());
        assert_eq!(clock.now(), noon());
        assert_eq!(clock.now(), noon());
    }

    #[test]
    fn fixed_clock_advances_only_when_told() {
        let clock = FixedClock::at(noon());
        clock.advance(Duration::minutes(90));
        assert_eq!(clock.now(), noon() + Duration::minutes(90));
        clock.set(noon());
        assert_eq!(clock.now(), noon());
    }

    #[test]
    fn clocks_are_usable_as_trait_objects() {
        let clocks: Vec<Box<dyn Clock>> =
            vec![Box::new(SystemClock), Box::new(FixedClock::at(noon()))];
        assert!(clocks[0].now() > noon());
        assert_eq!(clocks[1].now(), noon());
    }
}
