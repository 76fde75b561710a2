//! The scenarios of the fault matrix: a small story touching every metric
//! kind of the default catalog, delivered so that the data points go out at
//! ingest (window 0) or from the sweep (a five-minute window).

use flight_core::Millis;
use serde_json::Value;

use super::drive::Op;
use crate::clock::{EPOCH, MINUTE};

/// A scenario for the fault matrix: its lateness window and its operations,
/// built with ids under a namespace (runs sharing a store stay apart).
pub struct Scenario {
    /// What the report calls it.
    pub name: &'static str,
    /// The lateness window of its service.
    pub window: Millis,
    /// Its operations, with ids under the namespace given.
    pub ops: fn(&str) -> Vec<Op>,
}

fn story_event(
    namespace: &str,
    id: &str,
    event_type: &str,
    aggregate: &str,
    minute: i64,
    payload: Value,
) -> Value {
    let mut detail = serde_json::json!({
        "event_id": format!("{namespace}{id}"),
        "event_type": event_type,
        "aggregate_id": format!("{namespace}{aggregate}"),
        "time": (EPOCH + minute * MINUTE) / 1000,
    });
    if let (Value::Object(detail), Value::Object(payload)) = (&mut detail, payload) {
        detail.extend(payload);
    }
    serde_json::json!({
        "version": "0", "id": format!("eb-{namespace}{id}"), "detail-type": event_type,
        "source": "tests.faults", "time": "2026-11-01T00:00:00Z", "detail": detail,
    })
}

fn fault_story(namespace: &str) -> Vec<Value> {
    let g = |id: &str, t: &str, partition: &str, minute: i64| {
        story_event(
            namespace,
            id,
            t,
            "res-1",
            minute,
            serde_json::json!({"guardrail_id": partition}),
        )
    };
    vec![
        g("a1", "GuardrailActivated", "g1", 0),
        g("a2", "GuardrailActivated", "g1", 10),
        g("p1", "GuardrailPassed", "g1", 30),
        g("b1", "GuardrailActivated", "g2", 5),
        g("b2", "GuardrailPassed", "g2", 45),
        story_event(namespace, "r", "ProjectRequested", "proj-1", 0, Value::Null),
        story_event(namespace, "c", "ProjectCreated", "proj-1", 60, Value::Null),
        story_event(
            namespace,
            "s",
            "PatchRunSummary",
            "run-1",
            20,
            serde_json::json!({"successful_instances": "i-1,i-2,i-3", "failed_instances": "i-4"}),
        ),
    ]
}

/// Window 0: each ingest publishes what its event completes at once; events
/// in time order, one redelivered.
pub fn published_at_ingest(namespace: &str) -> Vec<Op> {
    let story = fault_story(namespace);
    let mut ops: Vec<Op> = story.iter().cloned().map(Op::Ingest).collect();
    ops.insert(3, Op::Ingest(story[2].clone()));
    ops.push(Op::Settle);
    ops
}

/// A five-minute window: events out of order and redelivered, published by the sweep.
pub fn published_by_the_sweep(namespace: &str) -> Vec<Op> {
    let story = fault_story(namespace);
    let order = [2, 6, 1, 4, 0, 5, 2, 3, 7, 6];
    let mut ops: Vec<Op> = order
        .iter()
        .map(|&i| Op::Ingest(story[i].clone()))
        .collect();
    ops.push(Op::Settle);
    ops
}

/// The scenarios every fault matrix runs.
pub const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "published at ingest (window 0)",
        window: 0,
        ops: published_at_ingest,
    },
    Scenario {
        name: "published by the sweep (window 5 min)",
        window: 5 * MINUTE,
        ops: published_by_the_sweep,
    },
];
