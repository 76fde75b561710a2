//! Settle scales out by sweep (issue 13): parallel invocations, each over its
//! share of the `due` shards, publish every data point exactly once between
//! them; a sweep takes nothing of another's shards; and sweeps that overlap
//! (a stale configuration, a retried invocation) still publish nothing twice.

use flight_core::ports::EventStore;

use flight_core::memory::CollectingSink;
use flight_core::shard::{Sweep, DUE_SHARDS};
use flight_core::FlightController;
use flight_testkit::clock::{HOUR, MINUTE};
use flight_testkit::fixtures::*;

/// A second controller (another invocation) over the same store, sink and clock.
fn another_invocation(service: &Service) -> Service {
    FlightController::new(
        catalog(),
        service.store().clone(),
        service.sink().clone(),
        service.clock().clone(),
        service.settings().clone(),
    )
}

/// Two hundred projects requested and created: two hundred lead times due.
async fn two_hundred_projects_due(service: &Service) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    for i in 0..200 {
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

fn published_once(sink: &CollectingSink, events: &[serde_json::Value]) {
    assert_eq!(summary(&sink.published()), expected(events));
}

#[tokio::test]
async fn four_parallel_sweeps_publish_every_data_point_once_between_them() {
    let service = service(5 * MINUTE);
    let events = two_hundred_projects_due(&service).await;
    let invocations: Vec<Service> = (0..4).map(|_| another_invocation(&service)).collect();

    let reports = futures_util::future::join_all(
        invocations
            .iter()
            .enumerate()
            .map(|(i, s)| s.settle_sweep(Sweep::new(i as u64, 4).unwrap())),
    )
    .await;

    let settled: usize = reports.into_iter().map(|r| r.expect("sweep").events).sum();
    assert_eq!(settled, 200);
    published_once(service.sink(), &events);
    assert_eq!(
        service.settle().await.expect("settle").events,
        0,
        "nothing left"
    );
}

#[tokio::test]
async fn a_sweep_takes_only_the_events_of_its_own_shards() {
    let service = service(5 * MINUTE);
    two_hundred_projects_due(&service).await;
    let sweep = Sweep::new(1, 8).unwrap();

    let report = service.settle_sweep(sweep).await.expect("sweep");

    assert!(
        report.events > 0,
        "two hundred aggregates fill every eighth of {DUE_SHARDS} shards"
    );
    assert!(report
        .published
        .iter()
        .all(|m| sweep.contains(&m.aggregate_id)));
    let left = service.store().due(i64::MAX, usize::MAX).await.unwrap();
    assert_eq!(left.len(), 200 - report.events);
    assert!(left.iter().all(|e| !sweep.contains(&e.event.aggregate_id)));
}

#[tokio::test]
async fn overlapping_sweeps_of_two_configurations_publish_nothing_twice() {
    let service = service(5 * MINUTE);
    let events = two_hundred_projects_due(&service).await;
    let stale = another_invocation(&service);
    let halves = [another_invocation(&service), another_invocation(&service)];

    let (all, first, second) = tokio::join!(
        stale.settle_sweep(Sweep::ALL),
        halves[0].settle_sweep(Sweep::new(0, 2).unwrap()),
        halves[1].settle_sweep(Sweep::new(1, 2).unwrap()),
    );

    let settled = all.unwrap().events + first.unwrap().events + second.unwrap().events;
    assert_eq!(settled, 200);
    published_once(service.sink(), &events);
}

#[test]
fn a_settle_input_names_its_sweep_or_else_sweeps_every_shard() {
    use flight_core::handler::sweep_of_input;
    use serde_json::json;

    assert_eq!(
        sweep_of_input(&json!({ "sweep": 3, "of": 4 })).unwrap(),
        Sweep::new(3, 4).unwrap()
    );
    let schedule_event = json!({ "source": "aws.events", "detail-type": "Scheduled Event" });
    assert_eq!(sweep_of_input(&schedule_event).unwrap(), Sweep::ALL);
    for wrong in [
        json!({ "sweep": 1, "of": 3 }),
        json!({ "sweep": 4, "of": 4 }),
        json!({ "sweep": 1 }),
        json!({ "sweep": "1", "of": 2 }),
    ] {
        let error = sweep_of_input(&wrong).expect_err("refused");
        assert!(
            !error.retryable,
            "{wrong}: a configuration error, not retried"
        );
    }
}

#[test]
fn terraform_accepts_exactly_the_sweep_counts_that_divide_the_shards() {
    // `settle_sweeps` (events.tf) is validated in HCL; it must say the same
    // shard count as `flight_core::shard`.
    let events_tf = include_str!("../../../terraform/modules/flight-controller/events.tf");
    let rule = format!("range(1, {}) : n if {DUE_SHARDS} % n == 0", DUE_SHARDS + 1);
    assert!(
        events_tf.contains(&rule),
        "events.tf validates with `{rule}`"
    );
    for of in 1..=DUE_SHARDS {
        assert_eq!(
            Sweep::new(0, of).is_ok(),
            DUE_SHARDS.is_multiple_of(of),
            "{of} sweeps"
        );
    }
}
