//! Stamping PutEvents entry files for a test run: the sample stories carry
//! fixed times, which CloudWatch refuses once they are 14 days old, and fixed
//! ids, which the event store would take for redeliveries on a second run.
//!
//! Stamping a file shifts every time in it by one amount, so that its latest
//! event happens now and every duration stays as it was; with a test-run id it
//! also marks each event as a test event (`detail.test_run_id`) and makes its
//! event id and aggregate id unique to the run, so runs never meet in the store.

use flight_core::envelope::{format_time, parse_time};
use flight_core::time::parse_service_time;
use flight_core::Millis;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// How to stamp.
#[derive(Debug, Clone, Default)]
pub struct Stamp {
    /// The test run the events belong to, if any.
    pub run_id: Option<String>,
    /// The bus to put them on (`EventBusName`), if it is to change.
    pub bus: Option<String>,
    /// The time the latest event of each file is moved to.
    pub now: Millis,
}

/// A file's entries, stamped.
#[derive(Debug, Clone, PartialEq)]
pub struct Stamped {
    pub entries: Vec<Value>,
    /// How far its times moved, in milliseconds (0 when it has none).
    pub shift: Millis,
}

/// The time of an entry as the envelope reads it: the first time field
/// present; for an AWS service event, its latest date-time.
fn entry_time(entry: &Value) -> Option<Millis> {
    let detail = detail_of(entry)?;
    if is_aws(entry) {
        let mut detail = detail;
        let mut times: Vec<Millis> = service_times(&mut detail)
            .into_iter()
            .filter_map(|v| parse_service_time("detail", v).ok())
            .collect();
        times.extend(entry.get("Time").and_then(|t| parse_time("Time", t).ok()));
        return times.into_iter().max();
    }
    let payload_timestamp = detail.get("payload").and_then(|p| p.get("timestamp"));
    let time = [
        ("detail.time", detail.get("time")),
        ("detail.timestamp", detail.get("timestamp")),
        ("detail.payload.timestamp", payload_timestamp),
        ("Time", entry.get("Time")),
    ]
    .into_iter()
    .find_map(|(field, value)| {
        value
            .filter(|v| !v.is_null())
            .map(|v| parse_time(field, v).ok())
    })
    .flatten();
    time
}

fn detail_of(entry: &Value) -> Option<Value> {
    match entry.get("Detail")? {
        Value::String(text) => serde_json::from_str(text).ok(),
        Value::Object(detail) => Some(Value::Object(detail.clone())),
        _ => None,
    }
}

/// The same time, moved by `shift`, written the way it was written: RFC 3339
/// text, epoch seconds as text, or epoch seconds as a number.
fn shifted(value: &Value, shift: Millis) -> Option<Value> {
    let millis = parse_time("time", value).ok()? + shift;
    let seconds = |m: Millis| {
        if m % 1000 == 0 {
            json!(m / 1000)
        } else {
            json!(m as f64 / 1000.0)
        }
    };
    Some(match value {
        Value::Number(_) => seconds(millis),
        Value::String(text) if text.trim().parse::<f64>().is_ok() => {
            Value::String(seconds(millis).to_string())
        }
        _ => Value::String(format_time(millis)),
    })
}

/// A UUID-shaped id derived from a run and an id: stable for the pair.
pub fn run_scoped_id(run_id: &str, id: &str) -> String {
    let digest = Sha256::digest(format!("{run_id}\n{id}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// An aggregate id unique to a run: `<id>~<run id>`.
pub fn run_scoped_aggregate(run_id: &str, aggregate_id: &str) -> String {
    format!("{aggregate_id}~{run_id}")
}

/// Stamps one file's entries. Entries that are not objects, or whose
/// `Detail` is not a JSON object, are passed on unchanged (the bus and the
/// functions reject them as they would in production).
pub fn stamp(entries: &[Value], how: &Stamp) -> Stamped {
    let latest = entries.iter().filter_map(entry_time).max();
    // Whole seconds, so that epoch-seconds fields stay whole numbers.
    let shift = latest.map_or(0, |latest| (how.now - latest).div_euclid(1000) * 1000);
    let entries = entries
        .iter()
        .map(|entry| stamp_entry(entry, how, shift))
        .collect();
    Stamped { entries, shift }
}

fn stamp_entry(entry: &Value, how: &Stamp, shift: Millis) -> Value {
    let (Value::Object(entry), Some(Value::Object(mut detail))) = (entry, detail_of(entry)) else {
        return entry.clone();
    };
    let mut entry = entry.clone();
    shift_times(&mut entry, &mut detail, shift);
    if let Some(run_id) = &how.run_id {
        detail.insert("test_run_id".into(), json!(run_id));
        if let Some(id) = detail.get("event_id").and_then(Value::as_str) {
            let id = run_scoped_id(run_id, id);
            detail.insert("event_id".into(), json!(id));
        }
        for key in ["aggregate_id", "correlation_id"] {
            if let Some(id) = detail.get(key).and_then(Value::as_str) {
                let id = run_scoped_aggregate(run_id, id);
                detail.insert(key.into(), json!(id));
            }
        }
    }
    entry.insert("Detail".into(), json!(Value::Object(detail).to_string()));
    if let Some(bus) = &how.bus {
        entry.insert("EventBusName".into(), json!(bus));
    }
    Value::Object(entry)
}

/// Whether an entry puts an AWS service event (docs/aws-sources.md), whose
/// times are wherever its service writes them.
fn is_aws(entry: &Value) -> bool {
    entry
        .get("Source")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("aws."))
}

/// Every date-time text (`2019-11-15T11:45:18+0000`, RFC 3339) in a value.
fn service_times(value: &mut Value) -> Vec<&mut Value> {
    match value {
        Value::Object(map) => map.values_mut().flat_map(service_times).collect(),
        Value::Array(items) => items.iter_mut().flat_map(service_times).collect(),
        Value::String(text)
            if text.len() >= 19
                && text.as_bytes()[4] == b'-'
                && text.as_bytes()[10] == b'T'
                && parse_service_time("detail", &json!(text)).is_ok() =>
        {
            vec![value]
        }
        _ => Vec::new(),
    }
}

/// Shifts every time field: `detail.time`, `detail.timestamp`,
/// `detail.payload.timestamp` and the entry's `Time`; in an AWS service
/// event, every date-time of the detail.
fn shift_times(entry: &mut Map<String, Value>, detail: &mut Map<String, Value>, shift: Millis) {
    if is_aws(&Value::Object(entry.clone())) {
        let mut whole = Value::Object(std::mem::take(detail));
        for value in service_times(&mut whole) {
            if let Ok(time) = parse_service_time("detail", value) {
                *value = json!(format_time(time + shift));
            }
        }
        if let Value::Object(map) = whole {
            *detail = map;
        }
        if let Some(time) = entry.get_mut("Time") {
            if let Some(new) = shifted(time, shift) {
                *time = new;
            }
        }
        return;
    }
    fn shift_field(slot: Option<&mut Value>, shift: Millis) {
        if let Some(value) = slot.filter(|v| !v.is_null()) {
            if let Some(new) = shifted(value, shift) {
                *value = new;
            }
        }
    }
    shift_field(detail.get_mut("time"), shift);
    shift_field(detail.get_mut("timestamp"), shift);
    if let Some(payload) = detail.get_mut("payload").and_then(Value::as_object_mut) {
        shift_field(payload.get_mut("timestamp"), shift);
    }
    shift_field(entry.get_mut("Time"), shift);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;

    fn entry(detail: Value) -> Value {
        json!({
            "Source": "tests",
            "DetailType": "Test Event",
            "Detail": detail.to_string(),
            "EventBusName": "flight-controller",
        })
    }

    fn detail(stamped: &Value) -> Value {
        serde_json::from_str(stamped["Detail"].as_str().unwrap()).unwrap()
    }

    #[test]
    fn a_story_moves_to_now_and_keeps_its_durations_and_time_formats() {
        let entries = vec![
            entry(
                json!({"event_type": "project_requested", "correlation_id": "p", "timestamp": "1793782800", "event_id": "e1"}),
            ),
            entry(
                json!({"event_type": "ProjectCreated", "aggregate_id": "p", "time": "2026-11-05T15:30:00Z", "event_id": "e2"}),
            ),
            entry(
                json!({"event_type": "ProjectAssigned", "aggregate_id": "p", "event_id": "e3", "payload": {"timestamp": 1793797200}}),
            ),
        ];
        let stamped = stamp(
            &entries,
            &Stamp {
                now: NOW,
                ..Stamp::default()
            },
        );
        let times: Vec<Millis> = stamped
            .entries
            .iter()
            .map(|e| entry_time(e).unwrap())
            .collect();
        // 2026-11-05T15:30:00Z was the latest: it is now now, the rest as far before.
        assert_eq!(times[1], NOW);
        assert_eq!(times[1] - times[0], 1_793_892_600_000 - 1_793_782_800_000);
        assert_eq!(times[1] - times[2], 1_793_892_600_000 - 1_793_797_200_000);
        assert!(detail(&stamped.entries[0])["timestamp"].is_string());
        assert!(detail(&stamped.entries[2])["payload"]["timestamp"].is_number());
        assert_eq!(detail(&stamped.entries[1])["time"], json!(format_time(NOW)));
        assert_eq!(
            stamped.entries[0]["EventBusName"],
            json!("flight-controller")
        );
        assert!(detail(&stamped.entries[0]).get("test_run_id").is_none());
    }

    #[test]
    fn a_test_run_marks_its_events_and_keeps_them_apart_from_other_runs() {
        let entries = vec![entry(
            json!({"event_type": "GuardrailPassed", "aggregate_id": "bucket", "time": "2026-11-10T11:00:00Z", "event_id": "e1", "payload": {"guardrail_id": "g"}}),
        )];
        let run = |id: &str| {
            stamp(
                &entries,
                &Stamp {
                    run_id: Some(id.into()),
                    bus: Some("flight-controller-local".into()),
                    now: NOW,
                },
            )
        };
        let (one, two) = (
            detail(&run("run-1").entries[0]),
            detail(&run("run-2").entries[0]),
        );
        assert_eq!(one["test_run_id"], json!("run-1"));
        assert_eq!(one["aggregate_id"], json!("bucket~run-1"));
        assert_eq!(one["payload"]["guardrail_id"], json!("g"));
        assert_ne!(one["event_id"], two["event_id"]);
        assert_eq!(
            one["event_id"],
            detail(&run("run-1").entries[0])["event_id"]
        );
        assert_eq!(one["event_id"].as_str().unwrap().len(), 36);
        assert_eq!(
            run("run-1").entries[0]["EventBusName"],
            json!("flight-controller-local")
        );
    }

    #[test]
    fn entries_without_a_readable_detail_pass_unchanged() {
        let odd = vec![json!({"Source": "tests", "Detail": "not json"}), json!(42)];
        let stamped = stamp(
            &odd,
            &Stamp {
                run_id: Some("r".into()),
                now: NOW,
                ..Stamp::default()
            },
        );
        assert_eq!(stamped.entries, odd);
        assert_eq!(stamped.shift, 0);
    }

    #[test]
    fn an_aws_service_event_moves_to_now_with_every_date_time_of_its_detail() {
        let lifecycle = json!({
            "Source": "aws.controltower",
            "DetailType": "AWS Service Event via CloudTrail",
            "Time": "2018-08-30T21:42:18Z",
            "Detail": json!({"eventVersion": "1.05", "serviceEventDetails": {"createManagedAccountStatus": {
                "requestedTimestamp": "2019-11-15T11:45:18+0000",
                "completedTimestamp": "2019-11-16T12:09:32+0000"}}}).to_string(),
        });
        let stamped = stamp(
            &[lifecycle],
            &Stamp {
                now: NOW,
                ..Stamp::default()
            },
        );
        let status =
            &detail(&stamped.entries[0])["serviceEventDetails"]["createManagedAccountStatus"];
        assert_eq!(status["completedTimestamp"], json!(format_time(NOW)));
        assert_eq!(
            status["requestedTimestamp"],
            json!(format_time(NOW - 87_854_000))
        );
        // Not a date-time: `eventVersion` is text that reads as epoch seconds.
        assert_eq!(detail(&stamped.entries[0])["eventVersion"], json!("1.05"));
    }
}
