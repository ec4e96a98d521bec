//! Schedules: which cron expressions and time zones are valid, and when a
//! schedule is active. The compiler checks with these functions and the
//! runtime runs with them, so a schedule that checks also loads, and an
//! artifact edited by hand cannot slip in what `check` refuses.

use chrono::TimeZone;

/// The parsed forms the runtime holds.
pub use chrono_tz::Tz;
pub use croner::Cron;

/// A cron expression's five fields, in order.
pub const FIELDS: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];

/// Why a cron expression or a time zone is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// Not five fields (seconds and years are not part of the language).
    FieldCount(usize),
    /// The fields are five but croner refuses them.
    Cron(String),
    /// Not an IANA zone name (`Area/City`, or `UTC`).
    Zone(String),
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleError::FieldCount(n) => {
                write!(f, "a cron expression has five fields; this one has {n}")
            }
            ScheduleError::Cron(e) => write!(f, "invalid cron expression: {e}"),
            ScheduleError::Zone(z) => write!(f, "`{z}` is not an IANA time zone"),
        }
    }
}

/// A five-field cron expression, parsed.
pub fn parse_cron(cron: &str) -> Result<Cron, ScheduleError> {
    let fields = cron.split_whitespace().count();
    if fields != 5 {
        return Err(ScheduleError::FieldCount(fields));
    }
    croner::Cron::new(cron)
        .parse()
        .map_err(|e| ScheduleError::Cron(e.to_string()))
}

/// An IANA zone by its region name (`Europe/Berlin`) or `UTC`.
/// Abbreviations that chrono-tz also knows (`EST`, `CET`) are refused: they
/// are ambiguous to readers, and some are fixed offsets without the
/// daylight-saving time the reader expects.
pub fn parse_zone(tz: &str) -> Result<Tz, ScheduleError> {
    match tz.parse::<chrono_tz::Tz>() {
        Ok(z) if tz.contains('/') || tz == "UTC" => Ok(z),
        _ => Err(ScheduleError::Zone(tz.to_string())),
    }
}

/// Whether a schedule of `duration_seconds` is active at `now` (seconds
/// since the Unix epoch): an occurrence started at most its duration ago.
pub fn active(cron: &Cron, tz: Tz, duration_seconds: f64, now: f64) -> bool {
    let Some(at) = chrono::Utc
        .timestamp_opt((now - duration_seconds) as i64, 0)
        .single()
    else {
        return false;
    };
    match cron.find_next_occurrence(&at.with_timezone(&tz), true) {
        Ok(start) => (start.timestamp() as f64) <= now,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_and_region_zones_only() {
        assert!(parse_cron("0 8 * * MON-FRI").is_ok());
        assert_eq!(
            parse_cron("0 0 8 * * MON-FRI").unwrap_err(),
            ScheduleError::FieldCount(6)
        );
        assert!(matches!(
            parse_cron("0 25 * * *"),
            Err(ScheduleError::Cron(_))
        ));
        assert!(parse_zone("Europe/Berlin").is_ok());
        assert!(parse_zone("UTC").is_ok());
        for refused in ["EST", "CET", "Mars/Olympus", ""] {
            assert!(parse_zone(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn active_for_its_duration_in_its_zone() {
        let cron = parse_cron("0 8 * * *").unwrap();
        let berlin = parse_zone("Europe/Berlin").unwrap();
        // 2026-01-05 07:00 UTC is 08:00 in Berlin (winter, UTC+1).
        let start = 1_767_596_400.0;
        assert!(active(&cron, berlin, 3600.0, start));
        assert!(active(&cron, berlin, 3600.0, start + 3599.0));
        assert!(!active(&cron, berlin, 3600.0, start + 3601.0));
        assert!(!active(&cron, berlin, 3600.0, start - 1.0));
    }
}
