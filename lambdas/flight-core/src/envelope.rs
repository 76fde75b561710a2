//! The event envelope (SPEC §2): from an EventBridge event to an [`Event`], or a
//! [`Rejection`] that names the field and the reason.

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::catalog::{value_fields, Catalog, Metric, MetricKind, Quantity};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Envelope fields of `detail`; every other top-level field is payload.
const ENVELOPE_FIELDS: &[&str] = &[
    "event_id",
    "event_type",
    "event_version",
    "aggregate_id",
    "correlation_id",
    "aggregate_type",
    "aggregate_version",
    "time",
    "timestamp",
    "payload",
];

/// Longest accepted aggregate or event id, in bytes (DynamoDB keys allow 1 KiB and more).
pub const MAX_ID_BYTES: usize = 512;
/// Earliest accepted event time: 1970-01-01.
pub const MIN_TIME: Millis = 0;
/// Latest accepted event time: 9999-12-31T23:59:59.999Z.
pub const MAX_TIME: Millis = 253_402_300_799_999;

/// A validated event, ready for the store and the metric engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The idempotency key: the producer's id, or a hash of the detail.
    pub event_id: String,
    /// The canonical event type name from the catalog.
    pub event_type: String,
    pub event_version: u32,
    pub aggregate_id: String,
    pub aggregate_type: Option<String>,
    pub aggregate_version: Option<i64>,
    /// When it happened.
    pub time: Millis,
    pub payload: Map<String, Value>,
}

/// Why an event was refused: the field at fault and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Rejection {
    /// The field at fault, e.g. `detail.aggregate_id` or `detail.payload.guardrail_id`.
    pub field: String,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn reject(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
    Rejection {
        field: field.into(),
        reason: reason.into(),
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Event {
    /// Parses an EventBridge event (as delivered to a target) into an event.
    pub fn from_eventbridge(event: &Value, catalog: &Catalog) -> Result<Event, Rejection> {
        let Value::Object(envelope) = event else {
            return Err(reject(
                "event",
                format!(
                    "expected an EventBridge event (a JSON object), got {}",
                    describe(event)
                ),
            ));
        };
        let parsed_detail;
        let detail = match envelope.get("detail") {
            None | Some(Value::Null) => return Err(reject("detail", "missing")),
            Some(Value::Object(detail)) => detail,
            Some(Value::String(text)) => {
                parsed_detail = serde_json::from_str::<Value>(text)
                    .map_err(|e| reject("detail", format!("not JSON: {e}")))?;
                match &parsed_detail {
                    Value::Object(detail) => detail,
                    other => {
                        return Err(reject(
                            "detail",
                            format!("expected a JSON object, got {}", describe(other)),
                        ))
                    }
                }
            }
            Some(other) => {
                return Err(reject(
                    "detail",
                    format!("expected a JSON object, got {}", describe(other)),
                ))
            }
        };
        let detail_type = envelope.get("detail-type").and_then(Value::as_str);
        let event_type = resolve_type(detail, detail_type, catalog)?;

        // When the type comes from the EventBridge `detail-type`, it is part
        // of the content: two events of different types may carry the same
        // detail (`{"correlation_id": "p-1", "timestamp": "1700000000"}`).
        let type_outside_detail = match detail.get("event_type") {
            None | Some(Value::Null) => Some(event_type.as_str()),
            Some(_) => None,
        };
        let event_id = match detail.get("event_id") {
            None | Some(Value::Null) => content_id(detail, type_outside_detail),
            Some(value) => id_field("detail.event_id", value)?,
        };
        let aggregate_id = match (detail.get("aggregate_id"), detail.get("correlation_id")) {
            (Some(value), _) if !value.is_null() => id_field("detail.aggregate_id", value)?,
            (_, Some(value)) if !value.is_null() => id_field("detail.correlation_id", value)?,
            _ => {
                return Err(reject(
                    "detail.aggregate_id",
                    "missing (the id all events of one process instance share; `correlation_id` is accepted too)",
                ))
            }
        };
        let event_version = match detail.get("event_version") {
            None | Some(Value::Null) => 1,
            Some(value) => integer("detail.event_version", value).and_then(|v| {
                u32::try_from(v)
                    .ok()
                    .filter(|v| *v >= 1)
                    .ok_or_else(|| reject("detail.event_version", "must be a whole number from 1"))
            })?,
        };
        let aggregate_version = match detail.get("aggregate_version") {
            None | Some(Value::Null) => None,
            Some(value) => Some(integer("detail.aggregate_version", value)?),
        };
        let aggregate_type = match detail.get("aggregate_type") {
            None | Some(Value::Null) => catalog
                .event_type(&event_type)
                .and_then(|t| t.aggregate_type.clone()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(reject(
                    "detail.aggregate_type",
                    format!("expected a string, got {}", describe(other)),
                ))
            }
        };

        let mut payload = match detail.get("payload") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(payload)) => payload.clone(),
            Some(other) => {
                return Err(reject(
                    "detail.payload",
                    format!("expected an object, got {}", describe(other)),
                ))
            }
        };
        for (key, value) in detail {
            if !ENVELOPE_FIELDS.contains(&key.as_str()) {
                payload.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }

        let time = event_time(detail, &payload, envelope.get("time"))?;

        let event = Event {
            event_id,
            event_type,
            event_version,
            aggregate_id,
            aggregate_type,
            aggregate_version,
            time,
            payload,
        };
        event.check_payload(catalog)?;
        Ok(event)
    }

    /// Checks that the payload has every field the metrics need, readable as they read it.
    fn check_payload(&self, catalog: &Catalog) -> Result<(), Rejection> {
        let Some(event_type) = catalog.event_type(&self.event_type) else {
            return Ok(());
        };
        for field in &event_type.payload_fields {
            match self.payload.get(field) {
                None | Some(Value::Null) => {
                    return Err(reject(
                        format!("detail.payload.{field}"),
                        format!("missing; {} events must carry it", self.event_type),
                    ))
                }
                Some(_) => {}
            }
        }
        for metric in &catalog.metrics {
            if !Catalog::metric_event_types(metric).contains(&self.event_type.as_str()) {
                continue;
            }
            self.partition(metric)?;
            if matches!(
                metric.kind,
                MetricKind::Value { .. } | MetricKind::Ratio { .. }
            ) && metric_completer(metric) == self.event_type
            {
                self.quantities(metric)?;
                // A value CloudWatch refuses would fail every PutMetricData
                // that carries it, and with it the rest of its batch, forever.
                if let Some(value) = crate::engine::immediate_value(metric, self) {
                    if !cloudwatch_accepts(value) {
                        let fields = value_fields(metric)
                            .iter()
                            .map(|f| format!("detail.payload.{f}"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Err(reject(
                            fields,
                            format!(
                                "make {} {value:e}, which CloudWatch refuses (it takes 0, or a magnitude from 8.5e-109 to 1.17e108)",
                                metric.name
                            ),
                        ));
                    }
                }
            }
        }
        crate::cloudwatch_rules::check_event(self, catalog)?;
        Ok(())
    }

    /// The event's partition for a metric: its `partition_by` fields and their values.
    pub fn partition(&self, metric: &Metric) -> Result<Vec<(String, String)>, Rejection> {
        metric
            .partition_by
            .iter()
            .map(|field| {
                let value = match self.payload.get(field) {
                    Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_BYTES => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    Some(Value::String(_)) => {
                        return Err(reject(
                            format!("detail.payload.{field}"),
                            format!(
                                "must be 1 to {MAX_ID_BYTES} bytes; {} partitions by it",
                                metric.name
                            ),
                        ))
                    }
                    Some(other) => {
                        return Err(reject(
                            format!("detail.payload.{field}"),
                            format!(
                                "expected a string or a number, got {}; {} partitions by it",
                                describe(other),
                                metric.name
                            ),
                        ))
                    }
                    None => {
                        return Err(reject(
                            format!("detail.payload.{field}"),
                            format!("missing; {} partitions by it", metric.name),
                        ))
                    }
                };
                Ok((field.clone(), value))
            })
            .collect()
    }

    /// Reads the payload quantities a value or ratio metric needs, as a map of field to number.
    pub fn quantities(&self, metric: &Metric) -> Result<Vec<(String, f64)>, Rejection> {
        let quantity = match &metric.kind {
            MetricKind::Value { quantity, .. } | MetricKind::Ratio { quantity, .. } => *quantity,
            _ => return Ok(Vec::new()),
        };
        value_fields(metric)
            .into_iter()
            .map(|field| {
                let at = format!("detail.payload.{field}");
                let value = self
                    .payload
                    .get(field)
                    .ok_or_else(|| reject(&at, format!("missing; {} needs it", metric.name)))?;
                read_quantity(value, quantity)
                    .map(|q| (field.clone(), q))
                    .map_err(|reason| reject(&at, format!("{reason}; {} needs it", metric.name)))
            })
            .collect()
    }
}

/// Whether CloudWatch takes this value: 0, or a finite magnitude from
/// 8.515920e-109 to 1.174271e108 (the range its documentation gives).
pub fn cloudwatch_accepts(value: f64) -> bool {
    value == 0.0 || (CLOUDWATCH_SMALLEST..=CLOUDWATCH_LARGEST).contains(&value.abs())
}

/// The smallest magnitude CloudWatch takes, apart from 0.
const CLOUDWATCH_SMALLEST: f64 = 8.515_920e-109;
/// The largest magnitude CloudWatch takes.
const CLOUDWATCH_LARGEST: f64 = 1.174_271e108;

/// The event type that completes a metric's data points.
pub(crate) fn metric_completer(metric: &Metric) -> &str {
    match &metric.kind {
        MetricKind::Duration { end, .. } | MetricKind::Occurrences { end, .. } => end,
        MetricKind::Count { event }
        | MetricKind::Value { event, .. }
        | MetricKind::Ratio { event, .. } => event,
    }
}

fn read_quantity(value: &Value, quantity: Quantity) -> Result<f64, String> {
    let number = match (quantity, value) {
        (Quantity::Number, Value::Number(n)) => n.as_f64(),
        (Quantity::Number, Value::String(s)) => s.trim().parse::<f64>().ok(),
        (Quantity::IdList, Value::String(s)) => {
            Some(s.split(',').filter(|id| !id.trim().is_empty()).count() as f64)
        }
        (Quantity::IdList, Value::Array(ids)) => Some(ids.len() as f64),
        (Quantity::Number, other) => {
            return Err(format!("expected a number, got {}", describe(other)))
        }
        (Quantity::IdList, other) => {
            return Err(format!(
                "expected a comma-separated list of ids or an array, got {}",
                describe(other)
            ))
        }
    };
    let number = number
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("`{value}` is not a finite number"))?;
    // Larger quantities could only give values CloudWatch refuses (or, added
    // up, overflow to infinity).
    if number.abs() > CLOUDWATCH_LARGEST {
        return Err(format!(
            "`{value}` is outside what CloudWatch accepts (a magnitude of at most 1.17e108)"
        ));
    }
    Ok(number)
}

fn resolve_type(
    detail: &Map<String, Value>,
    detail_type: Option<&str>,
    catalog: &Catalog,
) -> Result<String, Rejection> {
    let known = || catalog.type_names().join(", ");
    match detail.get("event_type") {
        Some(Value::String(name)) => catalog
            .event_type(name)
            .map(|t| t.name.clone())
            .ok_or_else(|| {
                reject(
                    "detail.event_type",
                    format!("unknown event type `{name}`; the catalog knows {}", known()),
                )
            }),
        Some(Value::Null) | None => match detail_type {
            Some(name) => catalog.event_type(name).map(|t| t.name.clone()).ok_or_else(|| {
                reject(
                    "detail.event_type",
                    format!(
                        "missing, and the detail-type `{name}` is not a known event type either; the catalog knows {}",
                        known()
                    ),
                )
            }),
            None => Err(reject(
                "detail.event_type",
                "missing, and the event has no detail-type",
            )),
        },
        Some(other) => Err(reject(
            "detail.event_type",
            format!("expected a string, got {}", describe(other)),
        )),
    }
}

fn id_field(field: &str, value: &Value) -> Result<String, Rejection> {
    let id = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        other => {
            return Err(reject(
                field,
                format!("expected a string, got {}", describe(other)),
            ))
        }
    };
    if id.trim().is_empty() {
        return Err(reject(field, "must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(reject(
            field,
            format!("is {} bytes; at most {MAX_ID_BYTES} are accepted", id.len()),
        ));
    }
    Ok(id)
}

fn integer(field: &str, value: &Value) -> Result<i64, Rejection> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| reject(field, format!("expected a whole number, got `{value}`")))
}

/// The id of an event that has none: a hash of its detail's content, so that
/// a producer's retried PutEvents is the same event; with the event type
/// when the detail does not name it (it came from the `detail-type`).
fn content_id(detail: &Map<String, Value>, type_outside_detail: Option<&str>) -> String {
    let mut canonical = String::new();
    write_canonical(&mut canonical, &Value::Object(detail.clone()));
    if let Some(event_type) = type_outside_detail {
        canonical.push_str("\ndetail-type:");
        canonical.push_str(event_type);
    }
    let digest = Sha256::digest(canonical.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256-{hex}")
}

/// JSON with object keys sorted at every level, whatever order the map keeps.
fn write_canonical(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(out, &map[key]);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn event_time(
    detail: &Map<String, Value>,
    payload: &Map<String, Value>,
    eventbridge_time: Option<&Value>,
) -> Result<Millis, Rejection> {
    let candidates = [
        ("detail.time", detail.get("time")),
        ("detail.timestamp", detail.get("timestamp")),
        ("detail.payload.timestamp", payload.get("timestamp")),
        ("time", eventbridge_time),
    ];
    for (field, value) in candidates {
        match value {
            None | Some(Value::Null) => continue,
            Some(value) => return parse_time(field, value),
        }
    }
    Err(reject(
        "detail.time",
        "missing (give `time` as RFC 3339 or epoch seconds; `timestamp` is accepted too)",
    ))
}

/// Parses a time: RFC 3339, or epoch seconds as a number or a string.
pub fn parse_time(field: &str, value: &Value) -> Result<Millis, Rejection> {
    let seconds = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(seconds) = s.parse::<f64>() {
                Some(seconds)
            } else {
                let parsed = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
                    reject(
                        field,
                        format!(
                            "cannot read `{s}` as RFC 3339 (2024-01-31T09:00:00Z) or epoch seconds"
                        ),
                    )
                })?;
                let millis = i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000)
                    .map_err(|_| reject(field, "out of range"))?;
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

/// Formats milliseconds since the epoch as RFC 3339 (UTC).
pub fn format_time(millis: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| millis.to_string())
}
