//! Durations as operators write them: `90s`, `15m`, `24h`, `7d`, `2w`, or
//! several together (`1h30m`).

use flight_core::Millis;

const UNITS: &[(char, Millis)] = &[
    ('s', 1_000),
    ('m', 60_000),
    ('h', 3_600_000),
    ('d', 86_400_000),
    ('w', 604_800_000),
];

/// Parses a duration into milliseconds; the error says what is accepted.
pub fn parse(text: &str) -> Result<Millis, String> {
    let wrong = || {
        format!("`{text}` is not a duration: write a whole number and a unit, s m h d or w (e.g. 15m, 24h, 7d, 1h30m)")
    };
    let mut total: Millis = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let (_, unit) = UNITS.iter().find(|(u, _)| *u == c).ok_or_else(wrong)?;
        let number: Millis = digits.parse().map_err(|_| wrong())?;
        total = number
            .checked_mul(*unit)
            .and_then(|d| total.checked_add(d))
            .ok_or_else(wrong)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(wrong());
    }
    Ok(total)
}

/// A duration in the largest units that express it exactly, e.g. `1h30m`, `7d`.
pub fn format(millis: Millis) -> String {
    if millis < 1_000 {
        return format!("{millis}ms");
    }
    let mut rest = millis / 1_000 * 1_000;
    let mut out = String::new();
    for (unit, size) in UNITS.iter().rev().filter(|(u, _)| *u != 'w') {
        if rest >= *size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_as_operators_write_them() {
        assert_eq!(parse("15m"), Ok(900_000));
        assert_eq!(parse("1h30m"), Ok(5_400_000));
        assert_eq!(parse("2w"), Ok(14 * 86_400_000));
        assert_eq!(format(5_400_000), "1h30m");
        assert_eq!(format(7 * 86_400_000), "7d");
        assert_eq!(format(90_000), "1m30s");
        for wrong in ["", "15", "m", "1y", "-5m", "0h", "99999999999999999w"] {
            let error = parse(wrong).unwrap_err();
            assert!(error.contains("e.g. 15m, 24h, 7d"), "{wrong}: {error}");
        }
    }
}
