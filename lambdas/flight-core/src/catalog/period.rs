//! An SLO's period: the span its objective and error budget are measured
//! over. Rolling (`28d`, `7d`, `72h`: the last N before an instant) or
//! calendar (`month`, `week`: from the start of the current month or week,
//! weeks starting Monday, in a time zone). Legacy `window_hours: N` reads as
//! a rolling `Nh`.

use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::duration::{duration_text, parse_duration, Seconds, DAY};
use crate::envelope::Millis;

/// The default period: 28 days, rolling.
pub const DEFAULT_PERIOD: Period = Period::Rolling { seconds: 28 * DAY };

/// A calendar unit of a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    Month,
    Week,
}

/// The span an SLO is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// The last `seconds` before an instant.
    Rolling { seconds: Seconds },
    /// The current calendar month or week (Monday to Sunday) in `time_zone`.
    Calendar { unit: CalendarUnit, time_zone: Tz },
}

impl Period {
    /// Reads `Nd`, `Nh`, `month` or `week`; a time zone (IANA name) only
    /// with a calendar unit, UTC when not given.
    pub fn parse(text: &str, time_zone: Option<&str>) -> Result<Period, PeriodError> {
        let unit = match text.trim() {
            "month" => Some(CalendarUnit::Month),
            "week" => Some(CalendarUnit::Week),
            _ => None,
        };
        match unit {
            Some(unit) => Ok(Period::Calendar {
                unit,
                time_zone: parse_time_zone(time_zone.unwrap_or("UTC"))?,
            }),
            None if time_zone.is_some() => Err(PeriodError::TimeZone(
                "a time zone applies only to a calendar period (`month` or `week`)".into(),
            )),
            None => match parse_duration(text, &['h', 'd']) {
                Ok(0) => Err(PeriodError::Period("a period must be longer than 0".into())),
                Ok(seconds) => Ok(Period::Rolling { seconds }),
                Err(e) => Err(PeriodError::Period(format!(
                    "{e}, or `month` / `week` for a calendar period"
                ))),
            },
        }
    }

    /// The legacy `window_hours: N`: a rolling period of N hours.
    pub fn from_hours(hours: u32) -> Period {
        Period::Rolling {
            seconds: Seconds::from(hours) * 3_600,
        }
    }

    /// The period's nominal length: its own for a rolling period, 30 days
    /// for `month`, 7 days for `week` (what burn-rate factors scale against).
    pub fn nominal_seconds(&self) -> Seconds {
        match self {
            Period::Rolling { seconds } => *seconds,
            Period::Calendar {
                unit: CalendarUnit::Month,
                ..
            } => 30 * DAY,
            Period::Calendar {
                unit: CalendarUnit::Week,
                ..
            } => 7 * DAY,
        }
    }

    /// The nominal length in whole hours (rounded up), for callers that
    /// still think in the legacy `window_hours`.
    pub fn nominal_hours(&self) -> u32 {
        u32::try_from(self.nominal_seconds().div_ceil(3_600)).unwrap_or(u32::MAX)
    }

    /// As the catalog writes it: `28d`, `72h`, `month`, `week`.
    pub fn text(&self) -> String {
        match self {
            Period::Rolling { seconds } => duration_text(*seconds),
            Period::Calendar {
                unit: CalendarUnit::Month,
                ..
            } => "month".into(),
            Period::Calendar {
                unit: CalendarUnit::Week,
                ..
            } => "week".into(),
        }
    }

    /// The time zone of a calendar period.
    pub fn time_zone(&self) -> Option<Tz> {
        match self {
            Period::Rolling { .. } => None,
            Period::Calendar { time_zone, .. } => Some(*time_zone),
        }
    }

    /// The period that holds instant `at`, up to `at` (exclusive): rolling
    /// `[at − length, at)`; calendar from the start of the month or week
    /// holding `at` (local midnight in the time zone) to `at`.
    pub fn bounds(&self, at: Millis) -> (Millis, Millis) {
        match self {
            Period::Rolling { seconds } => (at - *seconds as Millis * 1000, at),
            Period::Calendar { unit, time_zone } => (calendar_start(*unit, *time_zone, at), at),
        }
    }
}

/// The instant the calendar month or week holding `at` starts in `tz`.
fn calendar_start(unit: CalendarUnit, tz: Tz, at: Millis) -> Millis {
    let Some(local) = tz.timestamp_millis_opt(at).single() else {
        return at;
    };
    let date = local.date_naive();
    let first: NaiveDate = match unit {
        CalendarUnit::Month => date.with_day(1).unwrap_or(date),
        CalendarUnit::Week => {
            date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
        }
    };
    // Local midnight; where a clock change skips it, the first minute that exists.
    (0..=180)
        .filter_map(|minutes| {
            let naive = first.and_hms_opt(0, 0, 0)? + Duration::minutes(minutes);
            tz.from_local_datetime(&naive).earliest()
        })
        .next()
        .map_or(at, |start| start.timestamp_millis())
}

/// An IANA time zone name (`Europe/Amsterdam`, `UTC`).
pub fn parse_time_zone(name: &str) -> Result<Tz, PeriodError> {
    name.parse::<Tz>().map_err(|_| {
        PeriodError::TimeZone(format!(
            "unknown time zone `{name}`: use an IANA name such as `UTC` or `Europe/Amsterdam`"
        ))
    })
}

/// Why a period could not be read: the message, and which key it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{0}")]
    Period(String),
    #[error("{0}")]
    TimeZone(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_time;

    fn at(text: &str) -> Millis {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn periods_read_rolling_lengths_and_calendar_units() {
        assert_eq!(Period::parse("28d", None), Ok(DEFAULT_PERIOD));
        assert_eq!(
            Period::parse("72h", None).unwrap().nominal_seconds(),
            3 * DAY
        );
        let month = Period::parse("month", Some("Europe/Amsterdam")).unwrap();
        assert_eq!(month.nominal_seconds(), 30 * DAY);
        assert_eq!(month.text(), "month");
        assert_eq!(
            Period::parse("week", None).unwrap().nominal_seconds(),
            7 * DAY
        );
        assert_eq!(Period::from_hours(168).text(), "7d");
        assert!(matches!(
            Period::parse("month", Some("Mars/Olympus")),
            Err(PeriodError::TimeZone(_))
        ));
        assert!(matches!(
            Period::parse("28d", Some("UTC")),
            Err(PeriodError::TimeZone(_))
        ));
        for bad in ["15m", "0d", "fortnight", "1.5d"] {
            assert!(
                matches!(Period::parse(bad, None), Err(PeriodError::Period(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn calendar_periods_start_at_local_midnight_of_the_month_or_monday() {
        let month = Period::parse("month", Some("Europe/Amsterdam")).unwrap();
        let (start, end) = month.bounds(at("2026-11-15T12:00:00Z"));
        assert_eq!(format_time(start), "2026-10-31T23:00:00Z");
        assert_eq!(end, at("2026-11-15T12:00:00Z"));
        // 23:30 UTC on 30 November is already 1 December in Amsterdam.
        let (start, _) = month.bounds(at("2026-11-30T23:30:00Z"));
        assert_eq!(format_time(start), "2026-11-30T23:00:00Z");
        let week = Period::parse("week", None).unwrap();
        // 2026-11-19 is a Thursday.
        let (start, _) = week.bounds(at("2026-11-19T08:00:00Z"));
        assert_eq!(format_time(start), "2026-11-16T00:00:00Z");
        let rolling = Period::parse("7d", None).unwrap();
        assert_eq!(
            rolling.bounds(at("2026-11-19T08:00:00Z")),
            (at("2026-11-12T08:00:00Z"), at("2026-11-19T08:00:00Z"))
        );
    }
}
