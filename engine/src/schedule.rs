//! The daily schedule: `llm_clusters.daily_run_time` is a UTC time of day, `HH:MM` or
//! `HH:MM:SS`. A daily cycle starts at that time each day; every enabled job runs once per
//! cycle.

use crate::error::{EngineError, ErrorKind, Result};

/// Seconds after midnight UTC of a `HH:MM[:SS]` time of day.
pub fn parse_time_of_day(text: &str) -> Result<u32> {
    let bad = || {
        EngineError::new(
            ErrorKind::InvalidParameter,
            format!("llm_clusters.daily_run_time must be a UTC time of day HH:MM or HH:MM:SS, got \"{text}\""),
        )
    };
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let field = |i: usize| parts.get(i).map_or(Ok(0), |p| p.parse::<u32>().map_err(|_| bad()));
    let (h, m, s) = (field(0)?, field(1)?, field(2)?);
    if h > 23 || m > 59 || s > 59 {
        return Err(bad());
    }
    Ok(h * 3600 + m * 60 + s)
}

/// The start of the cycle that contains `now`: the latest instant at or before `now`
/// whose UTC time of day is `run_at` seconds. Both in seconds since the Unix epoch.
pub fn cycle_start(now: i64, run_at: u32) -> i64 {
    let day = now.div_euclid(86_400) * 86_400;
    let today = day + i64::from(run_at);
    if today <= now {
        today
    } else {
        today - 86_400
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_of_day() {
        assert_eq!(parse_time_of_day("00:15").unwrap(), 900);
        assert_eq!(parse_time_of_day("23:59:59").unwrap(), 86_399);
        assert_eq!(parse_time_of_day(" 07:05 ").unwrap(), 25_500);
    }

    #[test]
    fn rejects_bad_times_naming_the_value() {
        for bad in ["", "7:05", "24:00", "12:60", "12:00:60", "12:00:00:00", "ab:cd", "12-00", "+1:00"] {
            let err = parse_time_of_day(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidParameter);
            assert!(err.message.contains(&format!("\"{bad}\"")), "{}", err.message);
        }
    }

    #[test]
    fn cycle_starts_at_the_latest_run_time_not_after_now() {
        let midnight = 20_000 * 86_400; // a UTC midnight
        assert_eq!(cycle_start(midnight + 900, 900), midnight + 900);
        assert_eq!(cycle_start(midnight + 901, 900), midnight + 900);
        assert_eq!(cycle_start(midnight + 899, 900), midnight + 900 - 86_400);
        assert_eq!(cycle_start(midnight, 0), midnight);
    }
}
