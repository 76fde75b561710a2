//! The table layout's round trips: events, measurement records and their
//! index keys.

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
    assert_eq!(item[M_METRIC], s(by_metric_key("GuardrailLeadTime", "p1")));
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

/// A record of `ProjectLeadTime` kept beside event `event_id` of `project-1`.
fn lead_time(event_id: &str) -> (EventRef, Measurement) {
    let r = EventRef {
        aggregate_id: "project-1".into(),
        event_id: event_id.into(),
    };
    let m = Measurement {
        metric: "ProjectLeadTime".into(),
        value: 2.5,
        unit: "Seconds".into(),
        timestamp: 1_700_000_000_000,
        aggregate_id: "project-1".into(),
        event_id: event_id.into(),
        dimensions: BTreeMap::new(),
        delivery: Delivery::Published,
        test_run_id: None,
        refusal: None,
    };
    (r, m)
}

#[test]
fn records_of_a_metric_are_keyed_by_shard_and_read_back_under_its_name() {
    let mut keys = BTreeSet::new();
    for i in 0..200 {
        let (r, m) = lead_time(&format!("e-{i}"));
        let item = measurement_item(&r, &m, 5).expect("item");
        let AttributeValue::S(key) = &item[M_METRIC] else {
            panic!("m_metric is not a string");
        };
        keys.insert(key.clone());
        assert_eq!(measurement(&item), Ok(m));
    }
    assert_eq!(keys.len() as u64, METRIC_SHARDS, "{keys:?}");
    assert!(
        keys.contains("ProjectLeadTime"),
        "shard 0 keeps the unsharded key"
    );
    assert!(keys.contains("ProjectLeadTime#15"));
}

#[test]
fn a_record_written_before_the_index_was_sharded_still_reads() {
    let (r, m) = lead_time("a");
    let mut old = measurement_item(&r, &m, 5).expect("item");
    // The old layout: the metric's bare name, whatever the event's shard.
    assert_ne!(old[M_METRIC], s("ProjectLeadTime"));
    old.insert(M_METRIC.into(), s("ProjectLeadTime"));
    assert_eq!(measurement(&old), Ok(m));
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
