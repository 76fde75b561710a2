//! Offline replay: PutEvents entry files through the same service, with the
//! in-memory store; data points are published once the whole input is read.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::engine::{format_measurement, sort_measurements, Measurement};
use crate::envelope::{parse_time, Millis};
use crate::memory::{CollectingSink, ManualClock, MemoryStore};
use crate::ports::Clock;
use crate::service::{FlightController, IngestError, Settings};

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
pub fn read_entries(text: &str) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match value {
        Value::Array(entries) => Ok(entries),
        Value::Object(mut object) => match object.remove("Entries") {
            Some(Value::Array(entries)) => Ok(entries),
            _ => Err(
                "expected a JSON array of PutEvents entries, or an object with `Entries`".into(),
            ),
        },
        _ => Err("expected a JSON array of PutEvents entries".into()),
    }
}

/// Turns a PutEvents entry into the EventBridge event a rule's target receives.
/// `now` stands in for the time EventBridge would stamp when the entry has none.
pub fn entry_to_event(entry: &Value, id: &str, now: Millis) -> Result<Value, String> {
    let Value::Object(entry) = entry else {
        return Err("expected a PutEvents entry (a JSON object)".into());
    };
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
    let settings = Settings {
        environment,
        // Nothing settles until the whole input is read.
        lateness_window: 1,
        lease: 1,
        enforce_cloudwatch_range: false,
    };
    let service = FlightController::new(
        catalog,
        MemoryStore::new(),
        CollectingSink::new(),
        ManualClock::new(now),
        settings,
    );
    let mut outcome = ReplayOutcome::default();
    for (file, text) in files {
        let entries = match read_entries(text) {
            Ok(entries) => entries,
            Err(reason) => {
                outcome.rejections.push(EntryRejection {
                    file: file.clone(),
                    index: 0,
                    reason: format!("file unreadable: {reason}"),
                });
                continue;
            }
        };
        for (index, entry) in entries.iter().enumerate() {
            outcome.entries += 1;
            let id = format!("replay-{}", outcome.entries);
            let result = match entry_to_event(entry, &id, now) {
                Ok(event) => service
                    .ingest(&event, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| match e {
                        IngestError::Rejected(rejection) => rejection.to_string(),
                        other => other.to_string(),
                    }),
                Err(reason) => Err(reason),
            };
            if let Err(reason) = result {
                outcome.rejections.push(EntryRejection {
                    file: file.clone(),
                    index,
                    reason,
                });
            }
        }
    }
    service.clock().set(Millis::MAX / 2);
    if let Err(e) = service.settle().await {
        // The in-memory store and sink cannot fail; keep the message if they ever do.
        outcome.rejections.push(EntryRejection {
            file: "(settle)".into(),
            index: 0,
            reason: e.to_string(),
        });
    }
    outcome.measurements = service.sink().published();
    sort_measurements(&mut outcome.measurements);
    outcome
}

/// One replay output line per measurement.
pub fn measurement_lines(measurements: &[Measurement]) -> Vec<String> {
    measurements.iter().map(format_measurement).collect()
}

/// The current time, for callers that have no clock of their own.
pub fn system_now() -> Millis {
    crate::ports::SystemClock.now()
}
