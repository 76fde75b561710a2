//! A hot aggregate is paced (issue 13): a sweep spends at most
//! [`AGGREGATE_WRITE_UNITS`] a second (and a second's burst) on one
//! aggregate's partition key, so draining its backlog takes the time its
//! writes need, while every other aggregate goes at once. Everything is
//! still published once, in each aggregate's due order.

use flight_core::ports::EventStore;
use flight_core::service::{write_units, AGGREGATE_WRITE_UNITS};
use flight_core::Clock;
use flight_testkit::clock::{HOUR, MINUTE};
use flight_testkit::fixtures::*;

/// 300 guardrail cycles on one resource and 50 projects: all due.
async fn a_hot_resource_and_some_projects_due(service: &Service) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    for c in 0..300 {
        let at = 2 * c as i64;
        let hot = "arn:aws:s3:::hot";
        events.push(guardrail(
            "GuardrailActivated",
            hot,
            "s3-bucket-public-read",
            at,
            &format!("a{c}"),
        ));
        events.push(guardrail(
            "GuardrailPassed",
            hot,
            "s3-bucket-public-read",
            at + 1,
            &format!("p{c}"),
        ));
    }
    for i in 0..50 {
        let project = format!("project-{i}");
        events.push(event("ProjectRequested", &project, 0, &format!("r{i}")));
        events.push(event("ProjectCreated", &project, 90, &format!("c{i}")));
    }
    for e in &events {
        service.ingest(e, None).await.expect("accepted");
    }
    service.clock().advance(HOUR);
    events
}

#[tokio::test]
async fn a_hot_aggregate_is_drained_at_its_write_units_and_published_once() {
    let service = service(5 * MINUTE);
    let events = a_hot_resource_and_some_projects_due(&service).await;
    let due = service
        .store()
        .due(service.clock().now(), usize::MAX)
        .await
        .unwrap();
    let hot_units: f64 = due
        .iter()
        .filter(|e| e.event.aggregate_id == "arn:aws:s3:::hot")
        .map(write_units)
        .sum();
    assert!(
        hot_units > 2.0 * AGGREGATE_WRITE_UNITS,
        "{hot_units} units: more than a burst"
    );
    let started = service.clock().now();

    let report = service.settle().await.expect("settle");

    assert_eq!(report.events, due.len());
    assert_eq!(summary(&service.sink().published()), expected(&events));
    // The sweep waited for the hot key's units: past the first second's
    // burst, the rest at AGGREGATE_WRITE_UNITS a second.
    let waited = (service.clock().now() - started) as f64 / 1000.0;
    let needed = (hot_units - AGGREGATE_WRITE_UNITS) / AGGREGATE_WRITE_UNITS;
    assert!(waited >= needed, "waited {waited} s, needed {needed} s");
    assert!(
        waited < needed + 2.0,
        "waited {waited} s, needed {needed} s"
    );
}
