//! One bad event never stops the metrics (issue 15): a data point CloudWatch
//! refuses, among 10,000 good ones, in memory with the strict fake sink.
//! Every good data point is published exactly once within one sweep, the
//! poison one is refused, recorded as refused and counted, and no sweep
//! fails twice for it; throttling on the way stays retryable.
//!
//! The poison gets past the door the way one would in production: it was
//! stored before the door knew the rule (here: appended to the store
//! directly, as an older version's ingest did), so it waits in `due` with
//! the oldest `due` of all and is claimed first.

use std::collections::BTreeSet;
use std::sync::Arc;

use flight_core::engine::{completions, timeline_id};
use flight_core::memory::{ManualClock, MemoryStore};
use flight_core::ports::{EventStore, StoredEvent};
use flight_core::refusal::{METRIC_DIMENSION, REFUSED_DATA_POINTS_METRIC};
use flight_core::strict_sink::StrictSink;
use flight_core::{Catalog, Delivery, Event, FlightController, Settings};
use serde_json::{json, Value};

/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200_000;
const MINUTE: i64 = 60_000;
const GOOD: usize = 10_000;
const POISON: &str = "ünï\u{0}code";

type Service = FlightController<Arc<MemoryStore>, Arc<StrictSink>, Arc<ManualClock>>;

fn service() -> Service {
    let clock = Arc::new(ManualClock::new(NOW));
    FlightController::new(
        Arc::new(Catalog::default_catalog()),
        Arc::new(MemoryStore::new()),
        Arc::new(StrictSink::new(clock.clone())),
        clock,
        Settings {
            environment: Some("test".into()),
            lateness_window: 5 * MINUTE,
            ..Settings::default()
        },
    )
}

fn activated(i: usize, guardrail_id: &str) -> Value {
    json!({
        "detail-type": "GuardrailActivated", "time": "2026-11-01T00:00:00Z",
        "detail": {
            "event_id": format!("e-{i}"), "aggregate_id": format!("res-{i}"),
            "time": NOW / 1000 - 3600, "guardrail_id": guardrail_id,
        }
    })
}

/// Stores the poison event as an ingest that did not know CloudWatch's
/// dimension rules would have: due at once, so the first sweep claims it first.
async fn store_poison(service: &Service) {
    let catalog = service.catalog();
    let mut event = Event::from_eventbridge(&activated(GOOD, "placeholder"), catalog).unwrap();
    event.payload.insert("guardrail_id".into(), json!(POISON));
    let partition = vec![("guardrail_id".to_string(), POISON.to_string())];
    let record = StoredEvent {
        timeline: Some(timeline_id(&partition)),
        todo: completions(catalog, &event.event_type),
        done: BTreeSet::new(),
        due: Some(NOW),
        lease: None,
        sealed_at: None,
        stored_at: NOW,
        event,
    };
    service.store().append(&record).await.unwrap();
}

async fn ten_thousand_good_and_one_poison() -> Service {
    let service = service();
    store_poison(&service).await;
    for i in 0..GOOD {
        service
            .ingest(&activated(i, &format!("gr-{}", i % 10)), None)
            .await
            .unwrap();
    }
    service.clock().advance(5 * MINUTE);
    service
}

/// Every good data point was accepted exactly once, and the poison never.
fn assert_every_good_point_published_once(service: &Service) {
    let acceptances = service.sink().acceptances();
    let counts: Vec<_> = acceptances
        .iter()
        .filter(|((metric, ..), _)| metric == "GuardrailActivationCount")
        .collect();
    assert_eq!(counts.len(), GOOD, "one data point per good event");
    assert!(
        counts.iter().all(|(_, times)| **times == 1),
        "published more than once: {:?}",
        counts
            .iter()
            .filter(|(_, t)| **t != 1)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert!(
        !acceptances
            .keys()
            .any(|(_, aggregate, ..)| *aggregate == format!("res-{GOOD}")),
        "the poison was never accepted"
    );
}

/// The poison's data point is recorded as refused, and counted once.
fn assert_poison_refused_and_counted(service: &Service) {
    let records = service.store().measurements();
    let poison: Vec<_> = records
        .iter()
        .filter(|m| m.aggregate_id == format!("res-{GOOD}"))
        .collect();
    assert_eq!(poison.len(), 1, "{poison:?}");
    assert_eq!(poison[0].delivery, Delivery::Refused);
    assert_eq!(poison[0].dimensions["guardrail_id"], POISON);
    let counted: Vec<_> = service
        .sink()
        .accepted()
        .into_iter()
        .filter(|m| m.metric == REFUSED_DATA_POINTS_METRIC)
        .collect();
    assert_eq!(counted.len(), 1, "{counted:?}");
    assert_eq!(counted[0].value, 1.0);
    assert_eq!(
        counted[0].dimensions[METRIC_DIMENSION],
        "GuardrailActivationCount"
    );
    assert!(
        service.store().events().iter().all(|e| e.due.is_none()),
        "nothing is left due"
    );
}

#[tokio::test]
async fn a_poison_event_among_ten_thousand_is_refused_and_every_good_point_published_once_in_one_sweep(
) {
    let service = ten_thousand_good_and_one_poison().await;

    let report = service.settle().await.expect("the sweep succeeds");

    assert_eq!(report.events, GOOD + 1);
    assert_eq!(report.published.len(), GOOD);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].dimensions["guardrail_id"], POISON);
    assert_every_good_point_published_once(&service);
    assert_poison_refused_and_counted(&service);
    // Isolating one data point in a chunk of 100 takes a few calls, not 100.
    assert!(
        service.sink().refused_calls() <= 8,
        "{} refused calls",
        service.sink().refused_calls()
    );

    let next = service.settle().await.expect("the next sweep succeeds");
    assert_eq!((next.events, next.refused.len()), (0, 0));
}

#[tokio::test]
async fn throttling_while_isolating_the_poison_fails_one_sweep_and_the_next_finishes_the_work() {
    let service = ten_thousand_good_and_one_poison().await;
    // Call 1 is the poisoned chunk (refused), 2 its half with the poison
    // (refused), 3 the other half (accepted and recorded); 4 is throttled.
    service.sink().throttle_calls([4]);

    let failed = service
        .settle()
        .await
        .expect_err("throttling fails the sweep");
    assert!(failed.is_retryable(), "{failed}");
    assert!(failed.to_string().contains("Throttling"), "{failed}");
    assert_eq!(
        service.store().measurements().len(),
        50,
        "the half accepted before the throttling is recorded, not sent again"
    );

    let report = service.settle().await.expect("the next sweep succeeds");
    assert_eq!(report.refused.len(), 1);
    assert_every_good_point_published_once(&service);
    assert_poison_refused_and_counted(&service);
    let again = service.settle().await.expect("and the one after");
    assert_eq!(again.events, 0);
}

#[tokio::test]
async fn throttling_of_a_whole_chunk_is_retried_never_refused() {
    let service = ten_thousand_good_and_one_poison().await;
    service.sink().throttle_calls([1]);

    service
        .settle()
        .await
        .expect_err("the throttled sweep fails");
    assert!(
        service.store().measurements().is_empty(),
        "nothing recorded"
    );

    service.settle().await.expect("the retry succeeds");
    assert_every_good_point_published_once(&service);
    assert_poison_refused_and_counted(&service);
}
