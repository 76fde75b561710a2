//! Event times: milliseconds since the Unix epoch, read from RFC 3339 text or
//! epoch seconds (a number or a string holding one), and written as RFC 3339
//! (UTC). The one place that parses and formats them, with `chrono`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::rejection::{describe, reject, Rejection};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Earliest accepted event time: 1970-01-01.
pub const MIN_TIME: Millis = 0;
/// Latest accepted event time: 9999-12-31T23:59:59.999Z.
pub const MAX_TIME: Millis = 253_402_300_799_999;
/// The earliest time RFC 3339 can write: 0000-01-01T00:00:00Z.
const MIN_WRITABLE: Millis = -62_167_219_200_000;

/// Parses a time: RFC 3339, or epoch seconds as a number or a string.
pub fn parse_time(field: &str, value: &Value) -> Result<Millis, Rejection> {
    let seconds = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(seconds) = s.parse::<f64>() {
                Some(seconds)
            } else {
                let parsed = DateTime::parse_from_rfc3339(s).map_err(|_| {
                    reject(
                        field,
                        format!(
                            "cannot read `{s}` as RFC 3339 (2024-01-31T09:00:00Z) or epoch seconds"
                        ),
                    )
                })?;
                // Whole nanoseconds, truncated towards zero, as milliseconds.
                let nanos = i128::from(parsed.timestamp()) * 1_000_000_000
                    + i128::from(parsed.timestamp_subsec_nanos());
                let millis =
                    i64::try_from(nanos / 1_000_000).map_err(|_| reject(field, "out of range"))?;
                return in_range(field, millis, s);
            }
        }
        other => {
            return Err(reject(
                field,
                format!(
                    "expected RFC 3339 text or epoch seconds, got {}",
                    describe(other)
                ),
            ))
        }
    };
    let seconds = seconds.filter(|s| s.is_finite()).ok_or_else(|| {
        reject(
            field,
            format!("`{value}` is not a finite number of seconds"),
        )
    })?;
    let millis = (seconds * 1000.0).round();
    if !(MIN_TIME as f64..=MAX_TIME as f64).contains(&millis) {
        let hint = if (MIN_TIME as f64..=MAX_TIME as f64).contains(&seconds) {
            " (it looks like milliseconds; send seconds)"
        } else {
            ""
        };
        return Err(reject(
            field,
            format!("`{value}` is outside 1970-01-01 to 9999-12-31 as epoch seconds{hint}"),
        ));
    }
    Ok(millis as Millis)
}

fn in_range(field: &str, millis: Millis, text: &str) -> Result<Millis, Rejection> {
    if (MIN_TIME..=MAX_TIME).contains(&millis) {
        Ok(millis)
    } else {
        Err(reject(
            field,
            format!("`{text}` is outside 1970-01-01 to 9999-12-31"),
        ))
    }
}

/// Formats milliseconds since the epoch as RFC 3339 (UTC), with as many
/// fraction digits as the milliseconds need (`…:20Z`, `…:20.5Z`, `…:20.123Z`);
/// a time RFC 3339 cannot write (outside years 0000 to 9999) as the number.
pub fn format_time(millis: Millis) -> String {
    let Some(time) = (MIN_WRITABLE..=MAX_TIME)
        .contains(&millis)
        .then(|| DateTime::<Utc>::from_timestamp_millis(millis))
        .flatten()
    else {
        return millis.to_string();
    };
    let seconds = time.to_rfc3339_opts(SecondsFormat::Secs, true);
    let fraction = millis.rem_euclid(1000);
    if fraction == 0 {
        return seconds;
    }
    let digits = format!("{fraction:03}");
    format!(
        "{}.{}Z",
        seconds.trim_end_matches('Z'),
        digits.trim_end_matches('0')
    )
}

/// Parses a time an AWS service wrote: what [`parse_time`] reads, and also
/// ISO 8601 with an offset without a colon (`2019-11-15T11:45:18+0000`, as
/// AWS Control Tower writes it).
pub fn parse_service_time(field: &str, value: &Value) -> Result<Millis, Rejection> {
    parse_time(field, value).or_else(|rejection| {
        let text = value.as_str().ok_or_else(|| rejection.clone())?.trim();
        let parsed =
            DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z").map_err(|_| rejection)?;
        in_range(field, parsed.timestamp_millis(), text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_written_with_only_the_fraction_digits_they_need() {
        assert_eq!(format_time(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_time(1_700_000_000_500), "2023-11-14T22:13:20.5Z");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(format_time(MAX_TIME), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_time(MAX_TIME + 1), (MAX_TIME + 1).to_string());
    }

    #[test]
    fn rfc3339_text_and_epoch_seconds_read_as_the_same_instant() {
        let rfc = parse_time("t", &json!("2023-11-14T22:13:20.5Z")).unwrap();
        let offset = parse_time("t", &json!("2023-11-15T00:13:20.5+02:00")).unwrap();
        let number = parse_time("t", &json!(1_700_000_000.5)).unwrap();
        let text = parse_time("t", &json!("1700000000.5")).unwrap();
        assert_eq!([rfc, offset, number, text], [1_700_000_000_500; 4]);
        for millis in [0, 1_700_000_000_500, MAX_TIME] {
            assert_eq!(parse_time("t", &json!(format_time(millis))), Ok(millis));
        }
    }

    #[test]
    fn control_tower_times_with_an_offset_without_colon_are_read() {
        let offset = parse_service_time("t", &json!("2019-11-15T11:45:18+0000")).unwrap();
        assert_eq!(Ok(offset), parse_time("t", &json!("2019-11-15T11:45:18Z")));
        assert!(parse_service_time("t", &json!("yesterday")).is_err());
    }
}
