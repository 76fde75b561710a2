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
//! Measurement attributes: `m_metric` (S, the `by-metric` index key: the
//! metric's name, `#<shard>` after it for shards 1 to 15, [`by_metric_key`]),
//! `m_ts` (N, ms), `value` (N), `unit`, `dimensions` (M of S), `delivery`,
//! `event_id`, `aggregate_id`, `published_at` (N).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use flight_core::engine::{order_key, Delivery, Measurement};
use flight_core::metric_shard::metric_of_key;
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
/// The global secondary index of measurement records (hash `m_metric`, range
/// `m_ts`); a metric's records are spread over [`METRIC_SHARDS`] hash keys.
pub const BY_METRIC_INDEX: &str = "by-metric";
/// How many `by-metric` keys a metric's records are spread over
/// ([`flight_core::metric_shard`], the one home of the count and the hash).
pub const METRIC_SHARDS: u64 = flight_core::metric_shard::METRIC_SHARDS;
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

/// The `by-metric` index key of the record of `metric` kept beside event
/// `event_id`: the metric's name for shard 0 (the key of every record written
/// before the index was sharded), `<metric>#<shard>` for the others
/// ([`flight_core::metric_shard::metric_key`]).
pub fn by_metric_key(metric: &str, event_id: &str) -> String {
    flight_core::metric_shard::metric_key(metric, event_id)
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
        (
            M_METRIC.to_string(),
            s(by_metric_key(&m.metric, &event.event_id)),
        ),
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
        metric: metric_of_key(req_s(item, M_METRIC)?).to_string(),
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
mod tests;
