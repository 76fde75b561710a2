//! CloudWatch's documented `PutMetricData` rules, in one place (the
//! `Dimension`, `MetricDatum` and `PutMetricData` API references):
//!
//! - dimension names: 1 to 255 characters, ASCII only, at least one
//!   non-whitespace character, no ASCII control character, not starting with `:`;
//! - dimension values: the same, 1 to 1,024 characters, and may start with `:`;
//! - at most [`MAX_DIMENSIONS`] dimensions per data point;
//! - metric names: 1 to 255 characters (ASCII, not blank, no control character);
//! - the unit: one of [`CLOUDWATCH_UNITS`];
//! - the value: 0, or a finite magnitude from 8.515920e-109 to 1.174271e108
//!   ([`cloudwatch_accepts`]); NaN and the infinities are refused;
//! - the timestamp: at most 14 days old and 2 hours ahead
//!   ([`CLOUDWATCH_MAX_AGE`], [`CLOUDWATCH_MAX_AHEAD`]);
//! - a request: at most [`MAX_DATA_POINTS_PER_CALL`] data points and
//!   [`MAX_REQUEST_BYTES`];
//! - and, for percentile statistics (every SLO alarm reads one), no negative
//!   value: CloudWatch gives no percentile of a metric with a negative value.
//!
//! The door ([`check_event`], called by event validation, so ingest, replay,
//! `put-events` and `validate` agree) and the catalog ([`catalog_issues`])
//! refuse what would break them; the strict fake sink
//! ([`crate::strict_sink::StrictSink`]) and the CloudWatch sink's pre-check
//! apply [`check_datum`] and [`check_call`] to what is published.

use crate::catalog::{Catalog, Metric};
use crate::engine::{immediate_value, Measurement};
use crate::envelope::{Event, Millis, Rejection};

pub use crate::catalog::CLOUDWATCH_UNITS;
pub use crate::envelope::cloudwatch_accepts;
pub use crate::service::{CLOUDWATCH_MAX_AGE, CLOUDWATCH_MAX_AHEAD};

/// The most dimensions a data point may carry.
pub const MAX_DIMENSIONS: usize = 30;
/// The longest dimension name, in characters.
pub const MAX_DIMENSION_NAME_CHARS: usize = 255;
/// The longest dimension value, in characters.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;
/// The longest metric name (and namespace), in characters.
pub const MAX_METRIC_NAME_CHARS: usize = 255;
/// The most data points one `PutMetricData` call takes.
pub const MAX_DATA_POINTS_PER_CALL: usize = 1000;
/// The largest `PutMetricData` request body.
pub const MAX_REQUEST_BYTES: usize = 1_000_000;

/// Checks a text CloudWatch takes as an identifier: `what` names it in the
/// message (`dimension value`), `max` is its longest length.
fn identifier(text: &str, what: &str, max: usize) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!(
            "is empty; CloudWatch takes a {what} of 1 to {max} characters"
        ));
    }
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !c.is_ascii()) {
        return Err(format!(
            "holds `{c}` (U+{:04X}) at byte {at}, which is not ASCII; CloudWatch takes ASCII {what}s only",
            c as u32
        ));
    }
    if text.len() > max {
        return Err(format!(
            "is {} characters; CloudWatch takes a {what} of 1 to {max}",
            text.len()
        ));
    }
    if let Some((at, c)) = text.char_indices().find(|(_, c)| c.is_ascii_control()) {
        return Err(format!(
            "holds the control character U+{:04X}{} at byte {at}; CloudWatch refuses control characters in a {what}",
            c as u32,
            control_name(c)
        ));
    }
    if text.chars().all(|c| c.is_ascii_whitespace()) {
        return Err(format!(
            "is blank; CloudWatch needs a {what} with at least one character other than whitespace"
        ));
    }
    Ok(())
}

fn control_name(c: char) -> &'static str {
    match c {
        '\0' => " (NUL)",
        '\t' => " (a tab)",
        '\n' => " (a line feed)",
        '\r' => " (a carriage return)",
        _ => "",
    }
}

/// CloudWatch's rules for a dimension name.
pub fn dimension_name(name: &str) -> Result<(), String> {
    identifier(name, "dimension name", MAX_DIMENSION_NAME_CHARS)?;
    if name.starts_with(':') {
        return Err("starts with `:`, which CloudWatch refuses in a dimension name".into());
    }
    Ok(())
}

/// CloudWatch's rules for a dimension value.
pub fn dimension_value(value: &str) -> Result<(), String> {
    identifier(value, "dimension value", MAX_DIMENSION_VALUE_CHARS)
}

/// CloudWatch's rules for a metric name.
pub fn metric_name(name: &str) -> Result<(), String> {
    identifier(name, "metric name", MAX_METRIC_NAME_CHARS)
}

/// CloudWatch's rules for a namespace: 1 to 255 characters, not starting with `:`.
pub fn namespace(namespace: &str) -> Result<(), String> {
    identifier(namespace, "namespace", MAX_METRIC_NAME_CHARS)?;
    if namespace.starts_with(':') {
        return Err("starts with `:`, which CloudWatch refuses in a namespace".into());
    }
    Ok(())
}

/// CloudWatch's rules for a value.
pub fn value(value: f64) -> Result<(), String> {
    if cloudwatch_accepts(value) {
        Ok(())
    } else {
        Err(format!(
            "{value:e} is outside what CloudWatch takes (0, or a finite magnitude from 8.515920e-109 to 1.174271e108)"
        ))
    }
}

/// CloudWatch's rule for a timestamp, at `now`.
pub fn timestamp(timestamp: Millis, now: Millis) -> Result<(), String> {
    if timestamp < now - CLOUDWATCH_MAX_AGE {
        Err("is more than 14 days old; CloudWatch refuses it".into())
    } else if timestamp > now + CLOUDWATCH_MAX_AHEAD {
        Err("is more than 2 hours ahead; CloudWatch refuses it".into())
    } else {
        Ok(())
    }
}

/// Every rule one data point must meet (its timestamp's only with `now`:
/// the service judges timestamps with its own clock before sending); the
/// message names the metric and the rule broken, the way CloudWatch's
/// `InvalidParameterValue` does.
pub fn check_datum(m: &Measurement, now: Option<Millis>) -> Result<(), String> {
    let at = |rule: String| format!("{} data point of {}: {rule}", m.metric, m.aggregate_id);
    metric_name(&m.metric).map_err(|e| at(format!("metric name {e}")))?;
    if !CLOUDWATCH_UNITS.contains(&m.unit.as_str()) {
        return Err(at(format!("unit `{}` is not a CloudWatch unit", m.unit)));
    }
    value(m.value).map_err(|e| at(format!("value {e}")))?;
    if let Some(now) = now {
        timestamp(m.timestamp, now).map_err(|e| at(format!("timestamp {e}")))?;
    }
    if m.dimensions.len() > MAX_DIMENSIONS {
        return Err(at(format!(
            "{} dimensions; CloudWatch takes at most {MAX_DIMENSIONS}",
            m.dimensions.len()
        )));
    }
    for (name, dimension) in &m.dimensions {
        dimension_name(name).map_err(|e| at(format!("dimension name `{name}` {e}")))?;
        dimension_value(dimension)
            .map_err(|e| at(format!("dimension {name}: value {:?} {e}", dimension)))?;
    }
    Ok(())
}

/// The size of a data point in a request, roughly: its texts and numbers.
pub fn datum_bytes(m: &Measurement) -> usize {
    const NUMBERS: usize = 64;
    let dimensions: usize = m.dimensions.iter().map(|(k, v)| k.len() + v.len()).sum();
    m.metric.len() + m.unit.len() + dimensions + NUMBERS
}

/// Every rule of one `PutMetricData` call: how many data points, how large,
/// and each data point ([`check_datum`]). The error is CloudWatch's kind of message.
pub fn check_call(measurements: &[Measurement], now: Millis) -> Result<(), String> {
    if measurements.len() > MAX_DATA_POINTS_PER_CALL {
        return Err(format!(
            "{} data points in one request; CloudWatch takes at most {MAX_DATA_POINTS_PER_CALL}",
            measurements.len()
        ));
    }
    let bytes: usize = measurements.iter().map(datum_bytes).sum();
    if bytes > MAX_REQUEST_BYTES {
        return Err(format!(
            "a request of {bytes} bytes; CloudWatch takes at most {MAX_REQUEST_BYTES}"
        ));
    }
    for (i, m) in measurements.iter().enumerate() {
        check_datum(m, Some(now)).map_err(|e| format!("MetricData.member.{}: {e}", i + 1))?;
    }
    Ok(())
}

/// The door: what an event must meet for CloudWatch to take the data points
/// it is part of, beyond what the envelope checks (its partition values as
/// dimension values; no negative value for a metric with an SLO, which is
/// read as a percentile). Called at the end of event validation.
pub fn check_event(event: &Event, catalog: &Catalog) -> Result<(), Rejection> {
    for metric in catalog.involved(&event.event_type) {
        for (field, text) in crate::envelope::partition_texts(&event.payload, metric)? {
            dimension_value(&text).map_err(|rule| Rejection {
                field: format!("detail.payload.{field}"),
                reason: format!(
                    "{rule}; {} partitions by it, so it becomes a CloudWatch dimension value",
                    metric.name
                ),
            })?;
        }
        check_sign(event, catalog, metric)?;
    }
    Ok(())
}

/// A value or ratio metric with an SLO takes no negative value: its SLO
/// alarm reads a percentile, which CloudWatch does not give for a metric
/// with any negative value.
fn check_sign(event: &Event, catalog: &Catalog, metric: &Metric) -> Result<(), Rejection> {
    // Value and ratio metrics are the kinds that read quantities.
    if metric.kind.quantity().is_none() || metric.kind.completer() != event.event_type {
        return Ok(());
    }
    let Some(slo) = catalog.slos.iter().find(|s| s.metric == metric.name) else {
        return Ok(());
    };
    match immediate_value(metric, event) {
        Some(v) if v < 0.0 => Err(Rejection {
            field: metric
                .kind
                .value_fields()
                .iter()
                .map(|f| format!("detail.payload.{f}"))
                .collect::<Vec<_>>()
                .join(", "),
            reason: format!(
                "makes {} {v}, below 0; its SLO `{}` is read as a percentile, and CloudWatch gives no percentile for a metric with any negative value",
                metric.name, slo.name
            ),
        }),
        _ => Ok(()),
    }
}

/// The catalog's part: its namespace, each metric's partition fields as
/// CloudWatch dimension names (with `Environment`, at most [`MAX_DIMENSIONS`])
/// and its series budget (the catalog reserves the operational metrics'
/// names). Returns `(path, message)` pairs for the catalog's issues.
pub fn catalog_issues(namespace_text: &str, metrics: &[Metric]) -> Vec<(String, String)> {
    let mut issues = Vec::new();
    // The catalog reports a namespace's length itself.
    let sized = (1..=MAX_METRIC_NAME_CHARS).contains(&namespace_text.len());
    if let (true, Err(rule)) = (sized, namespace(namespace_text)) {
        issues.push(("namespace".to_string(), rule));
    }
    for (i, metric) in metrics.iter().enumerate() {
        if metric.partition_by.len() >= MAX_DIMENSIONS {
            issues.push((
                format!("metrics[{i}].partition_by"),
                format!(
                    "{} fields; with `Environment` a data point may carry at most {MAX_DIMENSIONS} CloudWatch dimensions",
                    metric.partition_by.len()
                ),
            ));
        }
        if !(1..=crate::series_budget::MAX_SERIES_BUDGET).contains(&metric.series_budget) {
            issues.push((
                format!("metrics[{i}].series_budget"),
                format!(
                    "must be 1 to {} distinct partitions",
                    crate::series_budget::MAX_SERIES_BUDGET
                ),
            ));
        }
        for (j, field) in metric.partition_by.iter().enumerate() {
            if let Err(rule) = dimension_name(field) {
                issues.push((
                    format!("metrics[{i}].partition_by[{j}]"),
                    format!("`{field}` {rule}"),
                ));
            }
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dimension_rule_names_what_is_wrong() {
        assert_eq!(dimension_value("gr-1"), Ok(()));
        assert_eq!(dimension_value(":fine as a value"), Ok(()));
        let cases = [
            ("", "is empty"),
            ("   ", "is blank"),
            ("tab\there", "control character U+0009 (a tab) at byte 3"),
            ("nul\0", "control character U+0000 (NUL)"),
            ("ünï", "holds `ü` (U+00FC) at byte 0, which is not ASCII"),
        ];
        for (text, expected) in cases {
            let error = dimension_value(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        assert!(dimension_value(&"v".repeat(1025))
            .unwrap_err()
            .contains("is 1025 characters; CloudWatch takes a dimension value of 1 to 1024"));
        assert_eq!(dimension_value(&"v".repeat(1024)), Ok(()));
        assert!(dimension_name(&"n".repeat(256)).is_err());
        assert!(dimension_name(":x")
            .unwrap_err()
            .contains("starts with `:`"));
    }

    #[test]
    fn values_and_timestamps_follow_cloudwatch() {
        assert!(value(0.0).is_ok() && value(-1.5).is_ok() && value(1e108).is_ok());
        for refused in [f64::NAN, f64::INFINITY, 1e-200, -2e108] {
            assert!(value(refused).is_err(), "{refused}");
        }
        let now = 100 * CLOUDWATCH_MAX_AGE;
        assert!(timestamp(now - CLOUDWATCH_MAX_AGE, now).is_ok());
        assert!(timestamp(now - CLOUDWATCH_MAX_AGE - 1, now)
            .unwrap_err()
            .contains("14 days"));
        assert!(timestamp(now + CLOUDWATCH_MAX_AHEAD + 1, now)
            .unwrap_err()
            .contains("2 hours"));
    }
}
