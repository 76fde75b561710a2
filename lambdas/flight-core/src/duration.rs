//! Durations as the catalog writes them (`15m`, `6h`, `28d`) and the decimal
//! texts alarm names and metric math use. The one place that reads and writes
//! them on the Rust side; the Terraform catalog module mirrors the same rules.

/// A whole number of seconds.
pub type Seconds = u64;

/// Seconds in a minute, an hour and a day.
pub const MINUTE: Seconds = 60;
/// Seconds in an hour.
pub const HOUR: Seconds = 3_600;
/// Seconds in a day.
pub const DAY: Seconds = 86_400;

/// Reads `Nm`, `Nh` or `Nd` (a whole number, `m` = minutes) as seconds.
/// `units` says which suffixes are accepted (a period takes `h` and `d`).
pub fn parse_duration(text: &str, units: &[char]) -> Result<Seconds, String> {
    let expected = || {
        let list: Vec<String> = units.iter().map(|u| format!("N{u}")).collect();
        format!(
            "`{text}` is not a duration: write a whole number followed by a unit ({})",
            list.join(", ")
        )
    };
    let text = text.trim();
    let unit = text.chars().last().ok_or_else(expected)?;
    if !units.contains(&unit) {
        return Err(expected());
    }
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(expected());
    }
    let number: Seconds = digits.parse().map_err(|_| expected())?;
    let scale = match unit {
        'm' => MINUTE,
        'h' => HOUR,
        _ => DAY,
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// The canonical text of a duration: the largest unit that divides it
/// (`15m`, `1h`, `6h`, `3d`; `90m` stays `90m`), seconds as `Ns`.
pub fn duration_text(seconds: Seconds) -> String {
    if seconds > 0 && seconds.is_multiple_of(DAY) {
        format!("{}d", seconds / DAY)
    } else if seconds > 0 && seconds.is_multiple_of(HOUR) {
        format!("{}h", seconds / HOUR)
    } else if seconds > 0 && seconds.is_multiple_of(MINUTE) {
        format!("{}m", seconds / MINUTE)
    } else {
        format!("{seconds}s")
    }
}

/// `value` with at most `decimals` decimals, trailing zeros and dot trimmed
/// (`13.44`, `5`, `0.1`).
pub fn decimal_text(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// The number just below `value` on the grid of 10 decimals, as text with
/// trailing zeros trimmed: `95` → `94.9999999999`, `0` → `-0.0000000001`.
/// Computed on the decimal digits, so it is exact for any magnitude.
pub fn just_below_text(value: f64) -> String {
    let text = format!("{value:.10}");
    let negative = text.starts_with('-');
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let units: u128 = digits.parse().unwrap_or(0);
    // In units of 1e-10, signed: value − 1e-10.
    let signed: i128 = if negative {
        -(units as i128) - 1
    } else {
        units as i128 - 1
    };
    let magnitude = signed.unsigned_abs();
    let whole = magnitude / 10_000_000_000;
    let fraction = magnitude % 10_000_000_000;
    let sign = if signed < 0 { "-" } else { "" };
    let fraction = format!("{fraction:010}");
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

/// `value` rounded to 2 decimals, half away from zero: the one rounding of
/// burn-rate factors (the alarm threshold everywhere).
pub fn round2(value: f64) -> f64 {
    // Through the decimal text, so 0.125 (stored as 0.1249999…) rounds as written.
    let scaled = format!("{:.6}", value * 100.0)
        .parse::<f64>()
        .unwrap_or(value * 100.0);
    scaled.round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_whole_minutes_hours_and_days() {
        let all = ['m', 'h', 'd'];
        assert_eq!(parse_duration("15m", &all), Ok(900));
        assert_eq!(parse_duration("6h", &all), Ok(21_600));
        assert_eq!(parse_duration("28d", &all), Ok(28 * DAY));
        for bad in ["", "m", "1.5h", "-1h", "10", "1w", "1 h"] {
            assert!(parse_duration(bad, &all).is_err(), "{bad}");
        }
        assert!(parse_duration("15m", &['h', 'd']).is_err());
    }

    #[test]
    fn duration_texts_use_the_largest_unit_that_divides() {
        let texts: Vec<String> = [900, 3_600, 5_400, 21_600, 3 * DAY, 30]
            .into_iter()
            .map(duration_text)
            .collect();
        assert_eq!(texts, ["15m", "1h", "90m", "6h", "3d", "30s"]);
    }

    #[test]
    fn decimals_are_trimmed_and_the_bound_below_is_exact() {
        assert_eq!(decimal_text(13.44, 2), "13.44");
        assert_eq!(decimal_text(5.0, 2), "5");
        assert_eq!(decimal_text(0.1, 10), "0.1");
        assert_eq!(decimal_text(100.0 - 99.9, 10), "0.1");
        assert_eq!(just_below_text(95.0), "94.9999999999");
        assert_eq!(just_below_text(259_200.0), "259199.9999999999");
        assert_eq!(just_below_text(0.5), "0.4999999999");
        assert_eq!(just_below_text(0.0), "-0.0000000001");
        assert_eq!(just_below_text(1e12), "999999999999.9999999999");
    }

    #[test]
    fn factors_round_half_away_from_zero() {
        assert_eq!(round2(13.44), 13.44);
        assert_eq!(round2(0.933_333), 0.93);
        assert_eq!(round2(0.125), 0.13);
        assert_eq!(round2(2.0 / 3.0), 0.67);
    }
}
