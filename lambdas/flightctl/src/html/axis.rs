//! Axis labels of the report's charts, for people: durations as `3h 20m`,
//! percentages as `95%`, times in UTC as `14:30` or `Nov 10` depending on
//! the span shown. Labels round (two units at most); the tables print exact
//! numbers.

use flight_core::Millis;
use time::OffsetDateTime;

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3_600.0;
const DAY: f64 = 86_400.0;

/// A number of seconds in its two largest units: `3h 20m`, `2d 4h`, `45s`, `0s`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "-".into();
    }
    let sign = if seconds < 0.0 { "-" } else { "" };
    let s = seconds.abs();
    if s < 1.0 {
        return match s {
            0.0 => "0s".into(),
            _ => format!("{sign}{:.0}ms", s * 1000.0),
        };
    }
    let total = s.round() as u64;
    let units = [
        ("d", DAY as u64),
        ("h", HOUR as u64),
        ("m", MINUTE as u64),
        ("s", 1),
    ];
    let parts: Vec<String> = units
        .iter()
        .scan(total, |rest, (name, size)| {
            let n = *rest / size;
            *rest %= size;
            Some((n, *name))
        })
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n}{name}"))
        .collect();
    format!("{sign}{}", parts.join(" "))
}

/// A value of a metric in its unit, for an axis or a cell: `3h 20m`, `95%`, `3`.
pub fn value(v: f64, unit: &str) -> String {
    match unit {
        "Seconds" => duration(v),
        "Percent" => format!("{}%", number(v)),
        _ => number(v),
    }
}

/// A number with at most two decimals, trailing zeros trimmed: `3`, `2.5`, `0.33`.
pub fn number(v: f64) -> String {
    let text = format!("{v:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// A percentage for an axis: `100%`, `-50%`, `12.5%`.
pub fn percent(v: f64) -> String {
    format!("{}%", number(v))
}

/// An instant (UTC) for a time axis spanning `span` ms: `14:30` within two
/// days, beyond `Nov 10` (midnight) or `Nov 10 06h`.
pub fn time(at: Millis, span: Millis) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000) else {
        return at.to_string();
    };
    let month = &format!("{}", t.month())[..3];
    if span <= 2 * 86_400_000 {
        format!("{:02}:{:02}", t.hour(), t.minute())
    } else if (t.hour(), t.minute()) == (0, 0) {
        format!("{month} {}", t.day())
    } else {
        format!("{month} {} {:02}h", t.day(), t.hour())
    }
}

/// Steps of a duration axis, in seconds: round durations people read.
const DURATION_STEPS: &[f64] = &[
    1.0,
    5.0,
    15.0,
    30.0,
    MINUTE,
    5.0 * MINUTE,
    15.0 * MINUTE,
    30.0 * MINUTE,
    HOUR,
    3.0 * HOUR,
    6.0 * HOUR,
    12.0 * HOUR,
    DAY,
    2.0 * DAY,
    7.0 * DAY,
    14.0 * DAY,
    28.0 * DAY,
];

/// About five tick values in `[lo, hi]` at a round step: durations step by
/// round durations (`Seconds`), other units by 1, 2 or 5 times a power of ten.
pub fn ticks(lo: f64, hi: f64, unit: &str) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let step = if unit == "Seconds" && span >= 5.0 {
        DURATION_STEPS
            .iter()
            .copied()
            .find(|s| span / s <= 6.0)
            .unwrap_or_else(|| (span / 5.0 / DAY).ceil() * DAY)
    } else {
        let raw = span / 5.0;
        let power = 10f64.powf(raw.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * power)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * power)
    };
    let mut tick = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while tick <= hi + step * 1e-9 && out.len() < 50 {
        out.push(tick);
        tick += step;
    }
    out
}

/// About five instants in `[since, until]` at a round step (UTC-aligned).
pub fn time_ticks(since: Millis, until: Millis) -> Vec<Millis> {
    ticks(since as f64 / 1000.0, until as f64 / 1000.0, "Seconds")
        .into_iter()
        .map(|s| (s * 1000.0) as Millis)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(duration(12_000.0), "3h 20m");
        assert_eq!(duration(86_400.0), "1d");
        assert_eq!(duration(2.0 * DAY + 4.0 * HOUR + 59.0), "2d 4h");
        assert_eq!(duration(45.0), "45s");
        assert_eq!(duration(0.0), "0s");
        assert_eq!(duration(0.25), "250ms");
        assert_eq!(duration(-5_400.0), "-1h 30m");
    }

    #[test]
    fn values_read_in_their_units() {
        assert_eq!(value(259_200.0, "Seconds"), "3d");
        assert_eq!(value(95.0, "Percent"), "95%");
        assert_eq!(value(2.5, "Count"), "2.5");
        assert_eq!(percent(-12.345), "-12.35%");
        assert_eq!(number(-0.001), "0");
    }

    #[test]
    fn times_read_at_the_scale_of_the_axis() {
        let at = 1_793_871_000_000; // 2026-11-05T09:30:00Z
        assert_eq!(time(at, 3_600_000), "09:30");
        assert_eq!(time(at, 7 * 86_400_000), "Nov 5 09h");
        assert_eq!(time(at - 34_200_000, 28 * 86_400_000), "Nov 5");
    }

    #[test]
    fn ticks_fall_on_round_steps() {
        assert_eq!(
            ticks(0.0, 86_400.0, "Seconds"),
            [0.0, 21_600.0, 43_200.0, 64_800.0, 86_400.0]
        );
        assert_eq!(
            ticks(0.0, 100.0, "Percent"),
            [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(ticks(-3.0, 7.0, "Count"), [-2.0, 0.0, 2.0, 4.0, 6.0]);
        let day = time_ticks(1_793_871_000_000, 1_793_871_000_000 + 86_400_000);
        assert!(day.iter().all(|t| t % 21_600_000 == 0), "{day:?}");
    }
}
