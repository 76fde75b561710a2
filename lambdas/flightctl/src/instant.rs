//! Instants as operators write them on the command line (`--at`, `--until`):
//! an RFC 3339 time (`2026-11-05T09:00:00Z`) or a duration back from now
//! (`2h`, `7d`, as [`crate::duration`] reads them).

use flight_core::time::parse_time;
use flight_core::Millis;
use serde_json::Value;

/// An instant as written: absolute, or a duration back from "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An absolute time.
    At(Millis),
    /// This long before now.
    Ago(Millis),
}

impl When {
    /// The instant, given what "now" is.
    pub fn resolve(self, now: Millis) -> Millis {
        match self {
            When::At(time) => time,
            When::Ago(length) => now - length,
        }
    }
}

/// Parses an instant; the error says what is accepted.
pub fn parse(text: &str) -> Result<When, String> {
    let text = text.trim();
    if let Ok(length) = crate::duration::parse(text) {
        return Ok(When::Ago(length));
    }
    if text.contains('-') && text.contains(':') {
        return parse_time("time", &Value::String(text.to_string()))
            .map(When::At)
            .map_err(|e| format!("`{text}`: {}", e.reason));
    }
    Err(format!(
        "`{text}` is neither an RFC 3339 time (2026-11-05T09:00:00Z) nor a duration back from now \
         (e.g. 2h, 7d, 1h30m)"
    ))
}

/// The whole minute at or before `time`: alarms are evaluated on whole minutes.
pub fn floor_minute(time: Millis) -> Millis {
    time.div_euclid(60_000) * 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_is_a_time_or_a_duration_back_from_now() {
        let now = 1_800_000_000_000;
        assert_eq!(parse("2h").map(|w| w.resolve(now)), Ok(now - 7_200_000));
        assert_eq!(
            parse("2026-11-05T09:00:00Z"),
            Ok(When::At(1_793_869_200_000))
        );
        assert_eq!(
            parse("2026-11-05T10:00:00+01:00"),
            Ok(When::At(1_793_869_200_000))
        );
        for wrong in ["", "yesterday", "12", "2026-13-05T09:00:00Z"] {
            let error = parse(wrong).unwrap_err();
            assert!(
                error.contains("RFC 3339") || error.contains("2026-13"),
                "{wrong}: {error}"
            );
        }
        assert_eq!(floor_minute(1_800_000_059_999), 1_800_000_000_000);
    }
}
