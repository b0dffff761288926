//! How the webhook workers pace themselves, with durations written as `250ms`, `5s`, `5m` or
//! `2h` so that operators and tests use the same notation.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Waits before each retry of a failed delivery: the first attempt is immediate, the n-th
/// retry comes the n-th wait after the attempt before it, and a delivery that fails once more
/// after the last wait is given up (and its endpoint disabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl RetrySchedule {
    /// The wait after failed attempt `attempt` (from 1), or `None` when it was the last.
    pub fn wait_after(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
        self.0.get(index).copied()
    }

    /// Attempts in all: the first one and one per wait.
    pub fn attempts(&self) -> usize {
        self.0.len() + 1
    }

    /// From the first attempt to the last.
    pub fn span(&self) -> Duration {
        self.0.iter().sum()
    }
}

/// Immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over
/// about 27.5 hours, so an endpoint that is down for a day still gets everything.
impl Default for RetrySchedule {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self(vec![
            Duration::from_secs(5),
            minutes(5),
            minutes(30),
            minutes(2 * 60),
            minutes(5 * 60),
            minutes(10 * 60),
            minutes(10 * 60),
        ])
    }
}

impl FromStr for RetrySchedule {
    type Err = BadDuration;

    /// Comma-separated waits, e.g. `5s,5m,30m,2h,5h,10h,10h`; empty for no retries.
    fn from_str(text: &str) -> Result<Self, BadDuration> {
        if text.trim().is_empty() {
            return Ok(Self(Vec::new()));
        }
        text.split(',')
            .map(parse_duration)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waits: Vec<String> = self.0.iter().map(|wait| format_duration(*wait)).collect();
        f.write_str(&waits.join(","))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a duration such as 250ms, 5s, 5m or 2h")]
pub struct BadDuration(pub String);

/// Reads `250ms`, `5s`, `5m` or `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, BadDuration> {
    let text = text.trim();
    let bad = || BadDuration(text.chars().take(32).collect());
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let seconds = |factor: u64| number.checked_mul(factor).map(Duration::from_secs);
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => None,
    }
    .ok_or_else(bad)
}

/// The shortest exact form `parse_duration` reads back.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    match millis {
        m if m % 3_600_000 == 0 && m > 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 && m > 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

/// Everything the dispatcher and the sender can be tuned with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub retry_schedule: RetrySchedule,
    /// The longest one attempt may take, from connecting to the answer's status line.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// How often the workers look for new or due work when nothing wakes them (a delivery
    /// queued by another instance or by a redelivery, a retry coming due).
    pub poll_interval: Duration,
    /// How many published events the dispatcher queues per transaction at most.
    pub batch_size: usize,
    /// How many endpoints are sent to at once at most.
    pub max_in_flight: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry_schedule: RetrySchedule::default(),
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_secs(1),
            batch_size: 100,
            max_in_flight: 64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_retries_for_more_than_a_day_with_growing_waits() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 8);
        assert!(schedule.span() >= Duration::from_secs(24 * 3600));
        assert!(schedule.0.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(schedule.wait_after(1), Some(Duration::from_secs(5)));
        assert_eq!(schedule.wait_after(7), Some(Duration::from_secs(10 * 3600)));
        assert_eq!(schedule.wait_after(8), None);
        assert_eq!(schedule.wait_after(0), None);
    }

    #[test]
    fn schedules_are_read_and_written_in_the_same_notation() {
        let text = "5s,5m,30m,2h,5h,10h,10h";
        let schedule: RetrySchedule = text.parse().unwrap();
        assert_eq!(schedule, RetrySchedule::default());
        assert_eq!(schedule.to_string(), text);
        let fast: RetrySchedule = "20ms, 1500ms".parse().unwrap();
        assert_eq!(
            fast.0,
            [Duration::from_millis(20), Duration::from_millis(1500)]
        );
        assert_eq!(fast.to_string(), "20ms,1500ms");
        assert_eq!("".parse::<RetrySchedule>().unwrap().attempts(), 1);
        assert!("5s,soon".parse::<RetrySchedule>().is_err());
    }

    #[test]
    fn durations_need_a_known_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "5", "s", "5d", "-5s", "1.5s", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad} was accepted");
        }
    }
}
