//! The event envelope (docs/envelope.md): from an EventBridge event to an [`Event`], or a
//! [`Rejection`] that names the field and the reason. Everything an event
//! answers about itself (its partition, its quantities, its test run) is here;
//! how single fields are read is in `fields`.

mod aws_source;
mod fields;

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::catalog::{Catalog, Metric, Quantity};
use fields::{content_id, event_time, id_field, integer, read_quantity, resolve_type};

pub use crate::rejection::Rejection;
pub use crate::time::{format_time, parse_time, Millis, MAX_TIME, MIN_TIME};
pub use fields::cloudwatch_accepts;

use crate::rejection::{describe, reject};

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

/// Whether `id` is an id the envelope accepts: not blank, at most
/// [`MAX_ID_BYTES`] bytes (the rule [`Event`]'s id fields are read by,
/// without the rejection, for replay's quick paths).
pub fn is_accepted_id(id: &str) -> bool {
    !fields::is_blank(id) && id.len() <= MAX_ID_BYTES
}

/// The `detail` field (top-level, hence also payload) that marks a test event.
pub const TEST_RUN_ID_FIELD: &str = "test_run_id";

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

impl Event {
    /// Parses an EventBridge event (as delivered to a target) into an event.
    /// An AWS service event is mapped by the catalog's sources first
    /// (docs/aws-sources.md); one that becomes several events is refused
    /// here: read it with [`Event::all_from_eventbridge`] or
    /// [`Event::from_eventbridge_serving`].
    pub fn from_eventbridge(event: &Value, catalog: &Catalog) -> Result<Event, Rejection> {
        Event::from_eventbridge_serving(event, catalog, None)
    }

    /// Parses an envelope event: `detail` holds the envelope fields.
    fn from_envelope(event: &Value, catalog: &Catalog) -> Result<Event, Rejection> {
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

    /// The checks [`Event::from_eventbridge`] applies to the event it has
    /// read (payload fields, partitions, values CloudWatch takes): for a
    /// reader that builds the same event another way (`flightctl replay`'s
    /// fast path, `replay/fast.rs`), so that it accepts and refuses alike.
    /// They read the event's type and payload only: replay checks each
    /// distinct pair once (`replay/held.rs`).
    pub fn check(&self, catalog: &Catalog) -> Result<(), Rejection> {
        self.check_payload(catalog)
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
        for metric in catalog.involved(&self.event_type) {
            partition_texts(&self.payload, metric)?;
            if metric.kind.quantity().is_some() && metric.kind.completer() == self.event_type {
                let quantities = self.quantities(metric)?;
                // A value CloudWatch refuses would fail every PutMetricData
                // that carries it, and with it the rest of its batch, forever.
                if let Some(value) = metric
                    .kind
                    .immediate_value(|field| quantity_in(&quantities, field))
                {
                    if !cloudwatch_accepts(value) {
                        let fields = metric
                            .kind
                            .value_fields()
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
        partition_of(&self.payload, metric)
    }

    /// Reads the payload quantities a value or ratio metric needs, as a map of field to number.
    pub fn quantities(&self, metric: &Metric) -> Result<Vec<(String, f64)>, Rejection> {
        quantities_of(&self.payload, metric)
    }

    /// The test run this event belongs to, if it is a test event.
    pub fn test_run_id(&self) -> Option<String> {
        test_run_id_of(&self.payload)
    }
}

/// The partition of an event with this payload for a metric: its `partition_by` fields and their values.
pub fn partition_of(
    payload: &Map<String, Value>,
    metric: &Metric,
) -> Result<Vec<(String, String)>, Rejection> {
    Ok(partition_texts(payload, metric)?
        .into_iter()
        .map(|(field, value)| (field.to_string(), value.into_owned()))
        .collect())
}

/// [`partition_of`], borrowed from the payload and the metric where it can
/// be (a number's text is written out).
pub fn partition_texts<'a>(
    payload: &'a Map<String, Value>,
    metric: &'a Metric,
) -> Result<Vec<(&'a str, Cow<'a, str>)>, Rejection> {
    metric
        .partition_by
        .iter()
        .map(|field| Ok((field.as_str(), partition_value(payload, metric, field)?)))
        .collect()
}

/// A partition field's value when it is one (a string of 1 to
/// [`MAX_ID_BYTES`] bytes, or a number's text); `None` otherwise, without
/// the rejection [`partition_value`] builds (the engine, which skips such
/// events, reads every event's partition).
pub fn partition_text<'a>(payload: &'a Map<String, Value>, field: &str) -> Option<Cow<'a, str>> {
    match payload.get(field)? {
        Value::String(s) if !s.is_empty() && s.len() <= MAX_ID_BYTES => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// The value of one of `metric`'s `partition_by` fields ([`partition_texts`]).
pub fn partition_value<'a>(
    payload: &'a Map<String, Value>,
    metric: &Metric,
    field: &str,
) -> Result<Cow<'a, str>, Rejection> {
    if let Some(text) = partition_text(payload, field) {
        return Ok(text);
    }
    match payload.get(field) {
        Some(Value::String(_)) => Err(reject(
            format!("detail.payload.{field}"),
            format!(
                "must be 1 to {MAX_ID_BYTES} bytes; {} partitions by it",
                metric.name
            ),
        )),
        Some(other) => Err(reject(
            format!("detail.payload.{field}"),
            format!(
                "expected a string or a number, got {}; {} partitions by it",
                describe(other),
                metric.name
            ),
        )),
        None => Err(reject(
            format!("detail.payload.{field}"),
            format!("missing; {} partitions by it", metric.name),
        )),
    }
}

/// One payload field read as `quantity` ([`quantities_of`] reads each of a
/// metric's so); `None` when it is missing or unreadable, without the
/// rejection (the engine, which skips such events, reads every event's).
pub fn quantity_of(payload: &Map<String, Value>, field: &str, quantity: Quantity) -> Option<f64> {
    read_quantity(payload.get(field)?, quantity).ok()
}

/// The quantity of `field` among those [`quantities_of`] read.
fn quantity_in(quantities: &[(String, f64)], field: &str) -> Option<f64> {
    quantities.iter().find(|(f, _)| f == field).map(|(_, q)| *q)
}

/// Reads the payload quantities a value or ratio metric needs, as a map of field to number.
pub fn quantities_of(
    payload: &Map<String, Value>,
    metric: &Metric,
) -> Result<Vec<(String, f64)>, Rejection> {
    let Some(quantity) = metric.kind.quantity() else {
        return Ok(Vec::new());
    };
    metric
        .kind
        .value_fields()
        .into_iter()
        .map(|field| {
            let at = || format!("detail.payload.{field}");
            let value = payload
                .get(field)
                .ok_or_else(|| reject(at(), format!("missing; {} needs it", metric.name)))?;
            read_quantity(value, quantity)
                .map(|q| (field.clone(), q))
                .map_err(|reason| reject(at(), format!("{reason}; {} needs it", metric.name)))
        })
        .collect()
}

/// The test run of an event with this payload, if it is a test event.
pub fn test_run_id_of(payload: &Map<String, Value>) -> Option<String> {
    payload
        .get(TEST_RUN_ID_FIELD)
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}
