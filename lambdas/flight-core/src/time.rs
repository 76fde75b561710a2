//! Event times: milliseconds since the Unix epoch, read from RFC 3339 text or
//! epoch seconds (a number or a string holding one), and written as RFC 3339
//! (UTC). The one place that parses and formats them, with `chrono`.

use chrono::DateTime;
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
        Value::String(s) => return parse_time_text(field, s),
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
    seconds_to_millis(field, value, seconds)
}

/// [`parse_time`] of a JSON string's text.
pub fn parse_time_text(field: &str, text: &str) -> Result<Millis, Rejection> {
    // Most texts have no space to trim: both ends are ASCII, not whitespace.
    let bare = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic());
    let bytes = text.as_bytes();
    let s = if bare(bytes.first()) && bare(bytes.last()) {
        text
    } else {
        text.trim()
    };
    if let Some(millis) = parse_utc(s) {
        return in_range(field, millis, s);
    }
    if let Ok(seconds) = s.parse::<f64>() {
        return seconds_to_millis(field, &Value::String(text.to_string()), Some(seconds));
    }
    let parsed = DateTime::parse_from_rfc3339(s).map_err(|_| {
        reject(
            field,
            format!("cannot read `{s}` as RFC 3339 (2024-01-31T09:00:00Z) or epoch seconds"),
        )
    })?;
    // Whole nanoseconds, truncated towards zero, as milliseconds.
    let nanos = i128::from(parsed.timestamp()) * 1_000_000_000
        + i128::from(parsed.timestamp_subsec_nanos());
    let millis = i64::try_from(nanos / 1_000_000).map_err(|_| reject(field, "out of range"))?;
    in_range(field, millis, s)
}

/// Epoch seconds read from `value` as milliseconds, if finite and in range.
fn seconds_to_millis(
    field: &str,
    value: &Value,
    seconds: Option<f64>,
) -> Result<Millis, Rejection> {
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
    TimeText::new(millis).as_str().to_string()
}

/// [`format_time`]'s text in a buffer of its own, for writers that append
/// it (replay writes a time per output line, with no allocation for it).
pub struct TimeText {
    bytes: [u8; 24],
    len: usize,
}

impl TimeText {
    /// The text of `millis` (see [`format_time`]).
    pub fn new(millis: Millis) -> TimeText {
        let mut text = TimeText {
            bytes: [0; 24],
            len: 0,
        };
        if !(MIN_WRITABLE..=MAX_TIME).contains(&millis) {
            // At most 20 bytes: an i64 in decimal.
            for b in millis.to_string().bytes() {
                text.push(b);
            }
            return text;
        }
        let (days, in_day) = (millis.div_euclid(DAY), millis.rem_euclid(DAY));
        let (year, month, day) = civil_from_days(days);
        let second = in_day / 1000;
        // The fixed part, `YYYY-MM-DDTHH:MM:SS`, at its places (in range: 0 <= year <= 9999).
        let two = |value: i64| two_digits(value.unsigned_abs());
        let ([y0, y1], [y2, y3]) = (two(year / 100), two(year));
        let [mo0, mo1] = two(month);
        let [d0, d1] = two(day);
        let [h0, h1] = two(second / 3600);
        let [mi0, mi1] = two(second / 60 % 60);
        let [s0, s1] = two(second % 60);
        text.bytes[..19].copy_from_slice(&[
            y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0,
            s1,
        ]);
        text.len = 19;
        let fraction = in_day % 1000;
        if fraction != 0 {
            text.push(b'.');
            let keep = if fraction % 100 == 0 {
                1
            } else if fraction % 10 == 0 {
                2
            } else {
                3
            };
            for divisor in &[100, 10, 1][..keep] {
                text.push(digit(fraction / divisor));
            }
        }
        text.push(b'Z');
        text
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// The text's bytes (ASCII).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// The last two decimal digits of a number, as ASCII bytes (from a table:
/// a line of `flightctl replay` writes six such pairs).
fn two_digits(value: u64) -> [u8; 2] {
    const PAIRS: [[u8; 2]; 100] = {
        let mut pairs = [[0; 2]; 100];
        let mut n = 0;
        while n < 100 {
            pairs[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
            n += 1;
        }
        pairs
    };
    PAIRS[(value % 100) as usize]
}

/// The last decimal digit of a non-negative number, as an ASCII byte.
fn digit(value: i64) -> u8 {
    b'0' + (value % 10) as u8
}

const DAY: Millis = 86_400_000;

/// RFC 3339 in its common UTC form, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`,
/// read without `chrono` (replay reads a time per event); `None` for any
/// other form, which [`parse_time_text`] then reads with `chrono` (offsets,
/// leap seconds, lower-case separators). Fraction digits beyond the
/// millisecond are truncated, as `chrono`'s path truncates them.
fn parse_utc(s: &str) -> Option<Millis> {
    let (head, rest) = s.as_bytes().split_first_chunk::<19>()?;
    let [y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0, s1] =
        *head
    else {
        return None;
    };
    let (&b'Z', fraction) = rest.split_last()? else {
        return None;
    };
    let digit = |c: u8| {
        let d = c.wrapping_sub(b'0');
        (d < 10).then_some(i64::from(d))
    };
    let two = |a: u8, b: u8| Some(digit(a)? * 10 + digit(b)?);
    let year = two(y0, y1)? * 100 + two(y2, y3)?;
    let (month, day) = (two(mo0, mo1)?, two(d0, d1)?);
    let (hour, minute, second) = (two(h0, h1)?, two(mi0, mi1)?, two(s0, s1)?);
    let millis = match fraction {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.len() <= 9 => {
            let mut ms = 0;
            for (i, &c) in digits.iter().enumerate() {
                let d = digit(c)?;
                if i < 3 {
                    ms = ms * 10 + d;
                }
            }
            ms * [100, 10, 1][digits.len().min(3) - 1]
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| {
        days_from_civil(year, month, day) * DAY
            + ((hour * 60 + minute) * 60 + second) * 1000
            + millis
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
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
    use chrono::{SecondsFormat, Utc};
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

    /// The RFC 3339 `chrono` writes, as `format_time` wrote it before it
    /// had its own writer.
    fn chrono_format(millis: Millis) -> String {
        let time = DateTime::<Utc>::from_timestamp_millis(millis).unwrap();
        let seconds = time.to_rfc3339_opts(SecondsFormat::Secs, true);
        match millis.rem_euclid(1000) {
            0 => seconds,
            f => format!(
                "{}.{}Z",
                seconds.trim_end_matches('Z'),
                format!("{f:03}").trim_end_matches('0')
            ),
        }
    }

    /// Times across the whole range (every month end and leap day of a few
    /// centuries, and a spread of pseudo-random instants).
    fn sample_times() -> Vec<Millis> {
        let mut times = vec![MIN_WRITABLE, -1, 0, 1, 999, 1000, 951_782_400_000, MAX_TIME];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let span = (MAX_TIME - MIN_WRITABLE) as u64;
            times.push(MIN_WRITABLE + (x % span) as Millis);
        }
        for year in [1600, 1900, 1970, 2000, 2024, 2100, 9999] {
            for day in 0..800 {
                let start = days_from_civil(year, 1, 1) * DAY;
                times.push(start + day * DAY - 1);
                times.push(start + day * DAY + 123);
            }
        }
        times.retain(|t| (MIN_WRITABLE..=MAX_TIME).contains(t));
        times
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        for millis in sample_times() {
            assert_eq!(format_time(millis), chrono_format(millis), "{millis}");
        }
    }

    #[test]
    fn utc_times_are_read_as_chrono_reads_them() {
        let chrono_millis = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.timestamp_millis())
        };
        for millis in sample_times() {
            let text = chrono_format(millis);
            assert_eq!(parse_utc(&text), chrono_millis(&text), "{text}");
            let nanos = format!(
                "{}.{:09}Z",
                &text[..19],
                millis.rem_euclid(1000) * 1_000_000 + 999_999
            );
            assert_eq!(parse_utc(&nanos), chrono_millis(&nanos), "{nanos}");
        }
        // Not dates, or forms left to chrono: never read differently.
        for text in [
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T00:60:00Z",
            "2023-01-01T00:00:60Z",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T00:00:00.1234567890Z",
            "2023-01-01t00:00:00Z",
            "2023-01-01T00:00:00+00:00",
            "+2023-01-01T00:00:00Z",
            "2023-1-01T00:00:00Z",
        ] {
            assert!(
                parse_utc(text).is_none() || parse_utc(text) == chrono_millis(text),
                "{text}"
            );
        }
        assert_eq!(
            parse_utc("2024-02-29T12:00:00.5Z"),
            chrono_millis("2024-02-29T12:00:00.5Z")
        );
        assert_eq!(parse_utc("2023-02-29T00:00:00Z"), None);
    }

    #[test]
    fn control_tower_times_with_an_offset_without_colon_are_read() {
        let offset = parse_service_time("t", &json!("2019-11-15T11:45:18+0000")).unwrap();
        assert_eq!(Ok(offset), parse_time("t", &json!("2019-11-15T11:45:18Z")));
        assert!(parse_service_time("t", &json!("yesterday")).is_err());
    }
}
