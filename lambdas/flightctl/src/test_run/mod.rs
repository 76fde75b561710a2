//! Test runs (`flightctl test-run`), proven asynchronously through the
//! capture table: the entry files are stamped for a fresh run ([`stamp`]),
//! put on the environment's bus with retries (`crate::put_events::send`),
//! and the capture table is polled until the measurements the offline replay
//! of the same stamped entries computes arrived ([`prove`]).
//!
//! This module prepares a run; `crate::verbs::test_run` talks to the
//! environment and prints the outcome.

pub mod prove;
pub mod stamp;

use flight_core::replay::read_entries;
use flight_core::Millis;
use serde_json::Value;

use crate::put_events::{outgoing, OutgoingEntry};

/// A fresh test-run id: `run-<UUID v4>`.
pub fn new_run_id() -> String {
    format!("run-{}", uuid::Uuid::new_v4())
}

/// One entry file of a run, stamped.
#[derive(Debug, Clone, PartialEq)]
pub struct StampedFile {
    /// The file's name as given, for messages.
    pub name: String,
    /// Its entries, stamped for the run.
    pub entries: Vec<Value>,
    /// How far its times moved, in milliseconds.
    pub shift: Millis,
}

impl StampedFile {
    /// The stamped entries as an entry file's text (a JSON array), for the replay.
    pub fn text(&self) -> String {
        Value::Array(self.entries.clone()).to_string()
    }
}

/// A run ready to put: its files, stamped, and the entries to send, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub run_id: String,
    pub files: Vec<StampedFile>,
    pub entries: Vec<OutgoingEntry>,
}

/// Stamps each file (`(name, text)`) for run `run_id` on `bus` at `now`:
/// times moved so each file's latest event is now, ids made unique to the run,
/// `detail.test_run_id` set. `Err` lists what cannot be put at all (a file
/// that is not an entry file, an entry EventBridge itself would refuse);
/// entries the functions will reject are put, and the proof expects that.
pub fn prepare(
    files: &[(String, String)],
    run_id: &str,
    bus: &str,
    now: Millis,
) -> Result<Prepared, Vec<String>> {
    let how = stamp::Stamp {
        run_id: Some(run_id.to_string()),
        bus: Some(bus.to_string()),
        now,
    };
    let mut problems = Vec::new();
    let mut stamped = Vec::new();
    let mut entries = Vec::new();
    for (name, text) in files {
        let raw = match read_entries(text) {
            Ok(raw) => raw,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let file = stamp::stamp(&raw, &how);
        for (index, entry) in file.entries.iter().enumerate() {
            match outgoing(entry) {
                Ok(entry) => entries.push(entry),
                Err(reason) => problems.push(format!("{name}: entry {index}: {reason}")),
            }
        }
        stamped.push(StampedFile {
            name: name.clone(),
            entries: file.entries,
            shift: file.shift,
        });
    }
    if problems.is_empty() {
        Ok(Prepared {
            run_id: run_id.to_string(),
            files: stamped,
            entries,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(name: &str, entries: Value) -> (String, String) {
        (name.to_string(), entries.to_string())
    }

    #[test]
    fn a_run_puts_every_entry_of_every_file_stamped_for_the_run_on_the_bus() {
        let story = json!([
            {"Source": "s", "DetailType": "Test", "EventBusName": "elsewhere", "Detail": json!({
                "event_type": "AccountRequested", "aggregate_id": "a", "event_id": "e1", "time": 1_700_000_000
            }).to_string()},
            // Rejected by the functions (no such event type), still put: the proof expects the rejection.
            {"Source": "s", "DetailType": "Test", "Detail": json!({
                "event_type": "NoSuchType", "aggregate_id": "a", "time": 1_700_000_600
            }).to_string()}
        ]);
        let run = prepare(
            &[file("story.json", story)],
            "run-1",
            "bus-1",
            1_800_000_000_000,
        )
        .unwrap();
        assert_eq!(run.entries.len(), 2);
        let detail: Value = serde_json::from_str(&run.entries[0].detail).unwrap();
        assert_eq!(detail["test_run_id"], "run-1");
        assert_eq!(detail["aggregate_id"], "a~run-1");
        assert_eq!(detail["event_id"], stamp::run_scoped_id("run-1", "e1"));
        assert_eq!(run.files[0].entries[0]["EventBusName"], "bus-1");
        // The latest event (the second) is moved to now; durations are kept.
        assert_eq!(run.files[0].shift, 1_800_000_000_000 - 1_700_000_600_000);
        assert!(run.files[0].text().starts_with('['));
    }

    #[test]
    fn what_cannot_be_put_at_all_is_named_before_anything_is_sent() {
        let problems = prepare(
            &[
                file(
                    "no-detail.json",
                    json!([{"Source": "s", "DetailType": "Test"}]),
                ),
                ("not-json.json".to_string(), "{".to_string()),
            ],
            "run-1",
            "bus-1",
            0,
        )
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("no-detail.json: entry 0: Detail: missing"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("not-json.json: "), "{problems:?}");
    }

    #[test]
    fn each_run_gets_an_id_of_its_own() {
        let (a, b) = (new_run_id(), new_run_id());
        assert!(a.starts_with("run-") && a.len() == 4 + 36, "{a}");
        assert_ne!(a, b);
    }
}
