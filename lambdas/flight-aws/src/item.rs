//! The table layout: how events and measurement records become DynamoDB items
//! and back. The layout is fixed; the table's keys and indexes are
//! [`crate::dynamo::EVENT_TABLE`] (Terraform creates the same table, which
//! `tests/table_schema.rs` checks):
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | event | aggregate id | `E#<event_id>` |
//! | measurement record | aggregate id | `M#<metric>#<event_id>` |
//!
//! Event attributes: `event_id`, `event_type`, `time` (N, ms), `event_version` (N),
//! `aggregate_type`, `aggregate_version` (N), `payload` (S, JSON text),
//! `stored_at` (N), `tl` (S, `<timeline>|<order key>`, only on a timeline),
//! `todo` and `done` (SS, absent when empty), `due_at` (N) and `due_shard`
//! (S, `P#<n>`) only while due, `lease_token` (S), `lease_until` (N), `sealed_at` (N).
//!
//! Measurement attributes: `m_metric`, `m_ts` (N, ms), `value` (N), `unit`,
//! `dimensions` (M of S), `delivery`, `event_id`, `aggregate_id`, `published_at` (N).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use flight_core::engine::{order_key, Delivery, Measurement};
use flight_core::ports::{EventRef, Lease, StoredEvent, TimelineEntry};
use flight_core::{Event, Millis};
use serde_json::Value;

/// A DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const EVENT_ID: &str = "event_id";
pub(crate) const EVENT_TYPE: &str = "event_type";
pub(crate) const TIME: &str = "time";
pub(crate) const EVENT_VERSION: &str = "event_version";
pub(crate) const AGGREGATE_TYPE: &str = "aggregate_type";
pub(crate) const AGGREGATE_VERSION: &str = "aggregate_version";
pub(crate) const PAYLOAD: &str = "payload";
pub(crate) const STORED_AT: &str = "stored_at";
pub(crate) const TL: &str = "tl";
pub(crate) const TODO: &str = "todo";
pub(crate) const DONE: &str = "done";
pub(crate) const DUE_AT: &str = "due_at";
pub(crate) const DUE_SHARD: &str = "due_shard";
pub(crate) const LEASE_TOKEN: &str = "lease_token";
pub(crate) const LEASE_UNTIL: &str = "lease_until";
pub(crate) const SEALED_AT: &str = "sealed_at";
pub(crate) const M_METRIC: &str = "m_metric";
pub(crate) const M_TS: &str = "m_ts";
pub(crate) const VALUE: &str = "value";
pub(crate) const UNIT: &str = "unit";
pub(crate) const DIMENSIONS: &str = "dimensions";
pub(crate) const DELIVERY: &str = "delivery";
pub(crate) const AGGREGATE_ID: &str = "aggregate_id";
pub(crate) const PUBLISHED_AT: &str = "published_at";
/// CloudWatch's reason, on a record of a data point it refused.
pub(crate) const REFUSAL: &str = "refusal";

/// The local secondary index of timelines (range key `tl`).
pub const TIMELINE_INDEX: &str = "timeline";
/// The global secondary index of due events (hash `due_shard`, range `due_at`).
pub const DUE_INDEX: &str = "due";
/// The global secondary index of measurement records (hash `m_metric`, range `m_ts`).
pub const BY_METRIC_INDEX: &str = "by-metric";
/// How many `due_shard` partitions the due index spreads events over
/// ([`flight_core::shard`], the one home of the count and the hash).
pub const DUE_SHARDS: u64 = flight_core::shard::DUE_SHARDS;

/// An item that does not have the layout this crate writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("attribute `{0}` is missing")]
    Missing(&'static str),
    #[error("attribute `{attribute}` is invalid: {reason}")]
    Invalid {
        attribute: &'static str,
        reason: String,
    },
}

fn invalid(attribute: &'static str, reason: impl Into<String>) -> ItemError {
    ItemError::Invalid {
        attribute,
        reason: reason.into(),
    }
}

pub(crate) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub(crate) fn n(number: i64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

pub(crate) fn ss(set: &BTreeSet<String>) -> AttributeValue {
    AttributeValue::Ss(set.iter().cloned().collect())
}

/// The sort key of an event item.
pub(crate) fn event_sk(event_id: &str) -> String {
    format!("E#{event_id}")
}

/// The sort key of a measurement record.
pub(crate) fn measurement_sk(metric: &str, event_id: &str) -> String {
    format!("M#{metric}#{event_id}")
}

/// The key of an event item.
pub(crate) fn event_key(event: &EventRef) -> Item {
    HashMap::from([
        (PK.to_string(), s(&event.aggregate_id)),
        (SK.to_string(), s(event_sk(&event.event_id))),
    ])
}

/// The `tl` value of an entry on a timeline: timeline ids escape `|`, so the
/// first `|` separates the timeline from the order key.
pub(crate) fn tl_value(timeline: &str, order: &str) -> String {
    format!("{timeline}|{order}")
}

/// The due-index partition of an aggregate: `P#<n>`, n = FNV-1a(aggregate id)
/// mod [`DUE_SHARDS`] ([`flight_core::shard::due_shard`]). Stable across
/// processes and releases (unlike `std`'s hasher).
pub fn due_shard(aggregate_id: &str) -> String {
    format!("P#{}", flight_core::shard::due_shard(aggregate_id))
}

/// The item of a stored event.
pub(crate) fn event_item(stored: &StoredEvent) -> Result<Item, ItemError> {
    let e = &stored.event;
    let payload = serde_json::to_string(&Value::Object(e.payload.clone()))
        .map_err(|err| invalid(PAYLOAD, err.to_string()))?;
    let mut item: Item = HashMap::from([
        (PK.to_string(), s(&e.aggregate_id)),
        (SK.to_string(), s(event_sk(&e.event_id))),
        (EVENT_ID.to_string(), s(&e.event_id)),
        (EVENT_TYPE.to_string(), s(&e.event_type)),
        (TIME.to_string(), n(e.time)),
        (EVENT_VERSION.to_string(), n(i64::from(e.event_version))),
        (PAYLOAD.to_string(), s(payload)),
        (STORED_AT.to_string(), n(stored.stored_at)),
    ]);
    if let Some(t) = &e.aggregate_type {
        item.insert(AGGREGATE_TYPE.into(), s(t));
    }
    if let Some(v) = e.aggregate_version {
        item.insert(AGGREGATE_VERSION.into(), n(v));
    }
    if let Some(timeline) = &stored.timeline {
        item.insert(
            TL.into(),
            s(tl_value(timeline, &order_key(e.time, &e.event_id))),
        );
    }
    if !stored.todo.is_empty() {
        item.insert(TODO.into(), ss(&stored.todo));
    }
    if !stored.done.is_empty() {
        item.insert(DONE.into(), ss(&stored.done));
    }
    if let Some(due) = stored.due {
        item.insert(DUE_AT.into(), n(due));
        item.insert(DUE_SHARD.into(), s(due_shard(&e.aggregate_id)));
    }
    if let Some(lease) = &stored.lease {
        item.insert(LEASE_TOKEN.into(), s(&lease.token));
        item.insert(LEASE_UNTIL.into(), n(lease.until));
    }
    if let Some(sealed) = stored.sealed_at {
        item.insert(SEALED_AT.into(), n(sealed));
    }
    Ok(item)
}

fn get_s<'a>(item: &'a Item, name: &'static str) -> Result<Option<&'a str>, ItemError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(text)) => Ok(Some(text)),
        Some(_) => Err(invalid(name, "expected a string (S)")),
    }
}

fn req_s<'a>(item: &'a Item, name: &'static str) -> Result<&'a str, ItemError> {
    get_s(item, name)?.ok_or(ItemError::Missing(name))
}

fn get_n(item: &Item, name: &'static str) -> Result<Option<i64>, ItemError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(text)) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|e| invalid(name, format!("`{text}` is not an integer: {e}"))),
        Some(_) => Err(invalid(name, "expected a number (N)")),
    }
}

fn req_n(item: &Item, name: &'static str) -> Result<i64, ItemError> {
    get_n(item, name)?.ok_or(ItemError::Missing(name))
}

fn get_ss(item: &Item, name: &'static str) -> Result<BTreeSet<String>, ItemError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(BTreeSet::new()),
        Some(AttributeValue::Ss(set)) => Ok(set.iter().cloned().collect()),
        Some(_) => Err(invalid(name, "expected a string set (SS)")),
    }
}

/// A stored event from its item (the table's or the `due` index's, which projects all).
pub(crate) fn stored_event(item: &Item) -> Result<StoredEvent, ItemError> {
    let payload = match serde_json::from_str::<Value>(req_s(item, PAYLOAD)?) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(invalid(PAYLOAD, "not a JSON object")),
        Err(e) => return Err(invalid(PAYLOAD, format!("not JSON: {e}"))),
    };
    let event_version = u32::try_from(req_n(item, EVENT_VERSION)?)
        .map_err(|e| invalid(EVENT_VERSION, e.to_string()))?;
    let event = Event {
        event_id: req_s(item, EVENT_ID)?.to_string(),
        event_type: req_s(item, EVENT_TYPE)?.to_string(),
        event_version,
        aggregate_id: req_s(item, PK)?.to_string(),
        aggregate_type: get_s(item, AGGREGATE_TYPE)?.map(str::to_string),
        aggregate_version: get_n(item, AGGREGATE_VERSION)?,
        time: req_n(item, TIME)?,
        payload,
    };
    let timeline = match get_s(item, TL)? {
        Some(tl) => match tl.split_once('|') {
            Some((timeline, _)) => Some(timeline.to_string()),
            None => return Err(invalid(TL, "expected `<timeline>|<order key>`")),
        },
        None => None,
    };
    let lease = match (get_s(item, LEASE_TOKEN)?, get_n(item, LEASE_UNTIL)?) {
        (Some(token), Some(until)) => Some(Lease {
            token: token.to_string(),
            until,
        }),
        _ => None,
    };
    Ok(StoredEvent {
        event,
        stored_at: req_n(item, STORED_AT)?,
        timeline,
        todo: get_ss(item, TODO)?,
        done: get_ss(item, DONE)?,
        due: get_n(item, DUE_AT)?,
        lease,
        sealed_at: get_n(item, SEALED_AT)?,
    })
}

/// A timeline entry from an item of the `timeline` index.
pub(crate) fn timeline_entry(item: &Item) -> Result<TimelineEntry, ItemError> {
    Ok(TimelineEntry {
        event_id: req_s(item, EVENT_ID)?.to_string(),
        event_type: req_s(item, EVENT_TYPE)?.to_string(),
        time: req_n(item, TIME)?,
        sealed_at: get_n(item, SEALED_AT)?,
    })
}

/// The measurement record of `m`, kept beside `event`.
pub(crate) fn measurement_item(
    event: &EventRef,
    m: &Measurement,
    published_at: Millis,
) -> Result<Item, ItemError> {
    if !m.value.is_finite() {
        return Err(invalid(
            VALUE,
            format!("{} is not a finite number", m.value),
        ));
    }
    let dimensions = m
        .dimensions
        .iter()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect::<HashMap<_, _>>();
    let mut item = HashMap::from([
        (PK.to_string(), s(&event.aggregate_id)),
        (
            SK.to_string(),
            s(measurement_sk(&m.metric, &event.event_id)),
        ),
        (M_METRIC.to_string(), s(&m.metric)),
        (M_TS.to_string(), n(m.timestamp)),
        (VALUE.to_string(), AttributeValue::N(m.value.to_string())),
        (UNIT.to_string(), s(&m.unit)),
        (DIMENSIONS.to_string(), AttributeValue::M(dimensions)),
        (DELIVERY.to_string(), s(m.delivery.as_str())),
        (EVENT_ID.to_string(), s(&m.event_id)),
        (AGGREGATE_ID.to_string(), s(&m.aggregate_id)),
        (PUBLISHED_AT.to_string(), n(published_at)),
    ]);
    if let Some(reason) = &m.refusal {
        item.insert(REFUSAL.to_string(), s(reason));
    }
    Ok(item)
}

/// A measurement from its record.
pub(crate) fn measurement(item: &Item) -> Result<Measurement, ItemError> {
    let value = match item.get(VALUE) {
        Some(AttributeValue::N(text)) => text
            .parse::<f64>()
            .map_err(|e| invalid(VALUE, format!("`{text}` is not a number: {e}")))?,
        Some(_) => return Err(invalid(VALUE, "expected a number (N)")),
        None => return Err(ItemError::Missing(VALUE)),
    };
    let dimensions = match item.get(DIMENSIONS) {
        None => BTreeMap::new(),
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(k, v)| match v {
                AttributeValue::S(v) => Ok((k.clone(), v.clone())),
                _ => Err(invalid(DIMENSIONS, format!("`{k}` is not a string"))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid(DIMENSIONS, "expected a map (M)")),
    };
    let delivery_text = req_s(item, DELIVERY)?;
    let delivery = Delivery::parse(delivery_text)
        .ok_or_else(|| invalid(DELIVERY, format!("unknown delivery `{delivery_text}`")))?;
    Ok(Measurement {
        metric: req_s(item, M_METRIC)?.to_string(),
        value,
        unit: req_s(item, UNIT)?.to_string(),
        timestamp: req_n(item, M_TS)?,
        aggregate_id: req_s(item, AGGREGATE_ID)?.to_string(),
        event_id: req_s(item, EVENT_ID)?.to_string(),
        dimensions,
        delivery,
        test_run_id: None,
        refusal: get_s(item, REFUSAL)?.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored() -> StoredEvent {
        let payload = json!({"guardrail_id": "g1", "n": [1, 2]});
        StoredEvent {
            event: Event {
                event_id: "e|1".into(),
                event_type: "GuardrailPassed".into(),
                event_version: 2,
                aggregate_id: "res-1".into(),
                aggregate_type: Some("Resource".into()),
                aggregate_version: Some(7),
                time: 1_700_000_000_123,
                payload: payload.as_object().cloned().unwrap_or_default(),
            },
            stored_at: 1_700_000_001_000,
            timeline: Some("guardrail_id=g1".into()),
            todo: BTreeSet::from(["A".to_string(), "B".to_string()]),
            done: BTreeSet::from(["C".to_string()]),
            due: Some(1_700_000_002_000),
            lease: Some(Lease {
                token: "tok".into(),
                until: 1_700_000_003_000,
            }),
            sealed_at: Some(1_700_000_001_500),
        }
    }

    #[test]
    fn events_round_trip() {
        let event = stored();
        let item = event_item(&event).expect("item");
        assert_eq!(item[TL], s("guardrail_id=g1|001700000000123#e|1"));
        assert_eq!(item[DUE_SHARD], s(due_shard("res-1")));
        assert_eq!(stored_event(&item), Ok(event));
    }

    #[test]
    fn empty_sets_and_absent_fields_are_left_out() {
        let mut event = stored();
        event.todo.clear();
        event.done.clear();
        event.due = None;
        event.lease = None;
        event.sealed_at = None;
        event.timeline = None;
        event.event.aggregate_type = None;
        event.event.aggregate_version = None;
        let item = event_item(&event).expect("item");
        for absent in [
            TODO,
            DONE,
            DUE_AT,
            DUE_SHARD,
            LEASE_TOKEN,
            LEASE_UNTIL,
            SEALED_AT,
            TL,
            AGGREGATE_TYPE,
        ] {
            assert!(!item.contains_key(absent), "{absent} should be absent");
        }
        assert_eq!(stored_event(&item), Ok(event));
    }

    #[test]
    fn measurements_round_trip() {
        let m = Measurement {
            metric: "GuardrailLeadTime".into(),
            value: 1800.5,
            unit: "Seconds".into(),
            timestamp: 1_700_000_000_123,
            aggregate_id: "res-1".into(),
            event_id: "p1".into(),
            dimensions: BTreeMap::from([("guardrail_id".to_string(), "g1".to_string())]),
            delivery: Delivery::TooOld,
            test_run_id: None,
            refusal: None,
        };
        let r = EventRef {
            aggregate_id: "res-1".into(),
            event_id: "p1".into(),
        };
        let item = measurement_item(&r, &m, 5).expect("item");
        assert_eq!(item[SK], s("M#GuardrailLeadTime#p1"));
        assert_eq!(measurement(&item), Ok(m.clone()));
        let nan = Measurement {
            value: f64::NAN,
            ..m.clone()
        };
        assert!(measurement_item(&r, &nan, 5).is_err());
        let refused = Measurement {
            delivery: Delivery::Refused,
            refusal: Some("dimension value must be ASCII".into()),
            ..m
        };
        let item = measurement_item(&r, &refused, 5).expect("item");
        assert_eq!(item[REFUSAL], s("dimension value must be ASCII"));
        assert_eq!(measurement(&item), Ok(refused));
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        // FNV-1a is fixed (flight_core::shard): these values must never
        // change, or due events get lost.
        assert_eq!(
            due_shard(""),
            format!("P#{}", 0xcbf2_9ce4_8422_2325_u64 % DUE_SHARDS)
        );
        assert_eq!(
            due_shard("a"),
            format!("P#{}", 0xaf63_dc4c_8601_ec8c_u64 % DUE_SHARDS)
        );
        for id in ["", "a", "res-1", "project-42"] {
            let shard = due_shard(id);
            let n: u64 = shard.trim_start_matches("P#").parse().expect("number");
            assert!(n < DUE_SHARDS);
        }
    }
}
