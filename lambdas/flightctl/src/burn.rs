//! A window alarm's reading (its burn rate at an instant, from flight-core's
//! evaluation model) as `report` and `alerts backtest` print it: one home of
//! that text and JSON.

use flight_core::alerting::WindowReading;
use flight_core::duration::{decimal_text, duration_text};
use serde_json::{json, Value};

/// `1h 20.00 > x10 (60 values)`: the window, its burn rate, the factor it is
/// compared with (`>` when in ALARM) and how many values it held. A burn
/// within 0.005 of the factor gets 4 decimals, so `0.9307 > x0.93` reads right.
pub fn text(r: &WindowReading) -> String {
    format!(
        "{} {} {} x{} ({} values)",
        duration_text(r.window),
        burn_text(r),
        if r.firing { ">" } else { "<=" },
        decimal_text(r.factor, 2),
        r.values
    )
}

/// The burn rate with 2 decimals, or 4 when 2 would round it onto its factor.
pub fn burn_text(r: &WindowReading) -> String {
    if (r.burn - r.factor).abs() < 0.005 && r.burn != r.factor {
        format!("{:.4}", r.burn)
    } else {
        format!("{:.2}", r.burn)
    }
}

/// The reading as JSON.
pub fn to_json(r: &WindowReading) -> Value {
    json!({
        "alarm": r.alarm,
        "window": duration_text(r.window),
        "window_seconds": r.window,
        "factor": r.factor,
        "values": r.values,
        "good": r.good,
        "burn_rate": r.burn,
        "state": state(r),
    })
}

/// `ALARM` when the burn rate is above the factor, else `OK`.
pub fn state(r: &WindowReading) -> &'static str {
    if r.firing {
        "ALARM"
    } else {
        "OK"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_says_its_window_burn_rate_and_factor() {
        let reading = WindowReading {
            alarm: "flight-controller-dev-slo-x-burn-1h-x10".into(),
            window: 3_600,
            factor: 10.0,
            values: 60,
            good: 0,
            burn: 20.0,
            firing: true,
        };
        assert_eq!(text(&reading), "1h 20.00 > x10 (60 values)");
        assert_eq!(to_json(&reading)["state"], "ALARM");
        assert_eq!(to_json(&reading)["window"], "1h");
        let close = WindowReading {
            burn: 0.930_7,
            factor: 0.93,
            ..reading
        };
        assert_eq!(text(&close), "1h 0.9307 > x0.93 (60 values)");
    }
}
