//! Offline replay: PutEvents entry files, validated as the functions validate
//! events, measured once the whole input is read by the engine's definition
//! ([`measure_all`]), which the service's incremental path agrees with. Each
//! file's bytes are dropped once its entries are read, and the events are
//! held compactly, in one list read in order of aggregate ([`in_memory`]),
//! so a million events replay in about 155 MiB (README, Performance). Input
//! grouped by aggregate can be streamed instead, one aggregate held at a
//! time ([`replay_grouped`]).

use std::cell::RefCell;
use std::sync::Arc;

mod chunks;
mod detail;
mod entries;
mod fast;
mod grouped;
mod held;
mod in_memory;
mod scan;
mod sorted;

pub use entries::EntriesError;
pub use fast::{fast_event, Field, RawEntry};
pub use grouped::{replay_grouped, GroupedError, GroupedOutcome};
pub use held::Held;
pub use scan::QuickReader;
pub use sorted::{replay_sorted, SortedError, SortedOutcome};

use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::engine::{format_measurement, measure_all, sort_measurements, Measurement};
use crate::envelope::{parse_time, Event, Millis};
use crate::ports::Clock;

/// A PutEvents entry that could not be measured: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRejection {
    pub file: String,
    /// Index of the entry in its file (0-based).
    pub index: usize,
    pub reason: String,
}

impl std::fmt::Display for EntryRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: entry {}: {}", self.file, self.index, self.reason)
    }
}

/// What a replay produced.
#[derive(Debug, Clone, Default)]
pub struct ReplayOutcome {
    pub measurements: Vec<Measurement>,
    pub rejections: Vec<EntryRejection>,
    /// Entries read, in all files.
    pub entries: usize,
}

/// Reads a PutEvents entry file: a JSON array of entries, or `{"Entries": [...]}`.
/// An entry that is an EventBridge event (the AWS documentation's example
/// events, docs/aws-sources.md) becomes the PutEvents entry that puts it.
pub fn read_entries(text: &str) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match value {
        Value::Array(entries) => Ok(entries.into_iter().map(event_as_entry).collect()),
        Value::Object(mut object) => match object.remove("Entries") {
            Some(Value::Array(entries)) => Ok(entries.into_iter().map(event_as_entry).collect()),
            _ => Err(
                "expected a JSON array of PutEvents entries, or an object with `Entries`".into(),
            ),
        },
        _ => Err("expected a JSON array of PutEvents entries".into()),
    }
}

/// The PutEvents entry that puts an EventBridge event (`source`,
/// `detail-type`, `detail`, `time`, `resources`; EventBridge sets the id,
/// account and Region); any other value as it is.
pub fn event_as_entry(event: Value) -> Value {
    let Value::Object(event) = event else {
        return event;
    };
    if !(event.contains_key("detail-type") && event.contains_key("detail")) {
        return Value::Object(event);
    }
    let mut entry = Map::new();
    for (from, to) in [
        ("source", "Source"),
        ("detail-type", "DetailType"),
        ("time", "Time"),
        ("resources", "Resources"),
    ] {
        if let Some(value) = event.get(from) {
            entry.insert(to.into(), value.clone());
        }
    }
    let detail = event.get("detail").cloned().unwrap_or(Value::Null);
    entry.insert("Detail".into(), json!(detail.to_string()));
    Value::Object(entry)
}

/// Turns a PutEvents entry into the EventBridge event a rule's target receives.
/// `now` stands in for the time EventBridge would stamp when the entry has none.
/// An entry that is already an EventBridge event (`detail-type`, `source`,
/// `detail`: the AWS documentation's example events, docs/aws-sources.md) is
/// that event.
pub fn entry_to_event(entry: &Value, id: &str, now: Millis) -> Result<Value, String> {
    let Value::Object(entry) = entry else {
        return Err("expected a PutEvents entry (a JSON object)".into());
    };
    if entry.contains_key("detail-type") && entry.contains_key("detail") {
        return Ok(Value::Object(entry.clone()));
    }
    let text = |key: &str| entry.get(key).and_then(Value::as_str);
    let detail_type = text("DetailType").ok_or("DetailType: missing")?;
    let source = text("Source").ok_or("Source: missing")?;
    let detail = match entry.get("Detail") {
        Some(Value::String(detail)) => {
            serde_json::from_str::<Value>(detail).map_err(|e| format!("Detail: not JSON: {e}"))?
        }
        Some(Value::Object(detail)) => Value::Object(detail.clone()),
        Some(_) => return Err("Detail: expected a JSON string".into()),
        None => return Err("Detail: missing".into()),
    };
    let time = match entry.get("Time") {
        None | Some(Value::Null) => now,
        Some(value) => parse_time("Time", value).map_err(|e| e.to_string())?,
    };
    let mut event = Map::new();
    event.insert("version".into(), json!("0"));
    event.insert("id".into(), json!(id));
    event.insert("detail-type".into(), json!(detail_type));
    event.insert("source".into(), json!(source));
    event.insert("account".into(), json!("000000000000"));
    event.insert("time".into(), json!(crate::envelope::format_time(time)));
    event.insert("region".into(), json!("local"));
    event.insert(
        "resources".into(),
        entry.get("Resources").cloned().unwrap_or_else(|| json!([])),
    );
    event.insert("detail".into(), detail);
    Ok(Value::Object(event))
}

/// Replays entry files (name, contents), in order, and returns every measurement.
pub async fn replay(
    catalog: Arc<Catalog>,
    files: &[(String, String)],
    environment: Option<String>,
    now: Millis,
) -> ReplayOutcome {
    let sources = files
        .iter()
        .map(|(file, text)| (file.clone(), text.as_bytes()));
    match replay_sources(&catalog, sources, environment, now) {
        Ok(outcome) => outcome,
        // Reading from memory cannot fail; keep the message if it ever does.
        Err(e) => ReplayOutcome {
            rejections: vec![EntryRejection {
                file: e.file.clone(),
                index: 0,
                reason: e.to_string(),
            }],
            ..ReplayOutcome::default()
        },
    }
}

/// A file that could not be read (an I/O error, not its content).
#[derive(Debug)]
pub struct ReadError {
    pub file: String,
    pub error: std::io::Error,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {}: {}", self.file, self.error)
    }
}

impl std::error::Error for ReadError {}

/// Replays entry files read from `sources` (name, reader), in order: each
/// entry is turned into its event as it is read (a file's bytes are dropped
/// once its entries are read, and its entries are never all held), and once
/// the whole input is read the data points of the set of events are computed
/// with [`measure_all`], aggregate by aggregate: the definition that the service's incremental path
/// agrees with whatever the order of delivery (so the same data points as
/// the deployed functions publish; nothing is late offline, and CloudWatch's
/// time range is not applied). Entries are validated as the functions
/// validate them ([`Event::from_eventbridge`]); a rejected entry is reported
/// and the others are measured; a file that is not a PutEvents entry file
/// contributes nothing and is reported as unreadable.
pub fn replay_sources<R: std::io::Read>(
    catalog: &Catalog,
    sources: impl IntoIterator<Item = (String, R)>,
    environment: Option<String>,
    now: Millis,
) -> Result<ReplayOutcome, ReadError> {
    let (aggregates, mut outcome) = in_memory::read_aggregates(catalog, sources, now)?;
    // Every data point depends on the events of one aggregate only.
    let Ok(()) = aggregates.try_for_each(|events| {
        let measured = measure_all(catalog, events, environment.as_deref());
        outcome.measurements.extend(measured);
        Ok::<_, std::convert::Infallible>(())
    });
    sort_measurements(&mut outcome.measurements);
    Ok(outcome)
}

/// The events of the `ordinal`-th entry (0-based, over all files) of a
/// replay, validated as the functions validate events (an AWS service event
/// may become several, docs/aws-sources.md).
fn replay_event(
    catalog: &Catalog,
    entry: &Value,
    ordinal: usize,
    now: Millis,
) -> Result<Vec<Event>, String> {
    let id = format!("replay-{}", ordinal + 1);
    let event = entry_to_event(entry, &id, now)?;
    Event::all_from_eventbridge(&event, catalog).map_err(|r| r.to_string())
}

/// The held events of an entry as the chunked reader passed it on: the one
/// read quickly, or those the fast or slow path gives (an AWS service event
/// may become several), each with the ordinal of its aggregate when the
/// reader keeps aggregate ids ([`QuickReader::last_aggregate_ordinal`]).
fn held_events(
    catalog: &Catalog,
    quick_reader: &RefCell<QuickReader>,
    item: chunks::Item<'_, held::Held>,
    ordinal: usize,
    now: Millis,
) -> Result<HeldEvents, String> {
    Ok(match item {
        // Held by the quick read that passed it on, just before.
        chunks::Item::Quick(held) => {
            HeldEvents::One(Some((held, quick_reader.borrow().last_aggregate_ordinal())))
        }
        chunks::Item::Raw(entry) => {
            let events = fast::entry_events(catalog, entry, ordinal, now)?;
            let mut quick_reader = quick_reader.borrow_mut();
            let held: Vec<_> = events
                .into_iter()
                .map(|e| {
                    let held = quick_reader.hold(catalog, e);
                    (held, quick_reader.last_aggregate_ordinal())
                })
                .collect();
            HeldEvents::Several(held.into_iter())
        }
    })
}

/// The held events of one entry, each with its aggregate's ordinal.
enum HeldEvents {
    One(Option<(held::Held, usize)>),
    Several(std::vec::IntoIter<(held::Held, usize)>),
}

impl Iterator for HeldEvents {
    type Item = (held::Held, usize);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HeldEvents::One(held) => held.take(),
            HeldEvents::Several(held) => held.next(),
        }
    }
}

/// One replay output line per measurement.
pub fn measurement_lines(measurements: &[Measurement]) -> Vec<String> {
    measurements.iter().map(format_measurement).collect()
}

/// The current time, for callers that have no clock of their own.
pub fn system_now() -> Millis {
    crate::ports::SystemClock.now()
}
