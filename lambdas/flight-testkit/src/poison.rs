//! The poison-event story of issue 15, over any event store: 10,000 good
//! `GuardrailActivated` events and one whose `guardrail_id` CloudWatch
//! refuses as a dimension value, published through the strict fake sink.
//! Shared by the in-memory test (`flight-core/tests/poison_event.rs`) and
//! the DynamoDB Local one (`flight-aws/tests/integration_poison.rs`).
//!
//! The poison gets past the door the way it would in production: it was
//! stored before the door knew the rule (here: appended to the store
//! directly, as an older version's ingest did), so it waits in `due` with
//! the oldest `due` of all and is claimed first.

use std::collections::BTreeSet;
use std::sync::Arc;

use flight_core::engine::{completions, timeline_id, Measurement};
use flight_core::memory::ManualClock;
use flight_core::ports::{EventStore, StoredEvent};
use flight_core::refusal::{METRIC_DIMENSION, REFUSED_DATA_POINTS_METRIC};
use flight_core::strict_sink::StrictSink;
use flight_core::{Catalog, Delivery, Event, FlightController, Settings};
use serde_json::{json, Value};

use crate::clock::{MINUTE, NOW};

/// Good events, each completing one `GuardrailActivationCount` data point.
pub const GOOD: usize = 10_000;
/// The poison's `guardrail_id`: non-ASCII, with a NUL.
pub const POISON: &str = "ünï\u{0}code";
/// The metric each event completes.
pub const METRIC: &str = "GuardrailActivationCount";

/// The service of the story: `store`, the strict fake sink, a manual clock.
pub type Service<S> = FlightController<S, Arc<StrictSink>, Arc<ManualClock>>;

/// A service over `store` with the strict fake sink and a five-minute window.
pub fn service<S: EventStore>(store: S) -> Service<S> {
    let clock = Arc::new(ManualClock::new(NOW));
    FlightController::new(
        Arc::new(Catalog::default_catalog()),
        store,
        Arc::new(StrictSink::new(clock.clone())),
        clock,
        Settings {
            environment: Some("test".into()),
            lateness_window: 5 * MINUTE,
            ..Settings::default()
        },
    )
}

/// Good event `i` (or, with [`POISON`], the poison's shape).
pub fn activated(i: usize, guardrail_id: &str) -> Value {
    json!({
        "detail-type": "GuardrailActivated", "time": "2026-11-01T00:00:00Z",
        "detail": {
            "event_id": format!("e-{i}"), "aggregate_id": format!("res-{i}"),
            "time": NOW / 1000 - 3600, "guardrail_id": guardrail_id,
        }
    })
}

/// The poison's aggregate.
pub fn poison_aggregate() -> String {
    format!("res-{GOOD}")
}

/// Stores the poison as an ingest that did not know CloudWatch's dimension
/// rules would have: due at once, so the first sweep claims it first.
pub async fn store_poison<S: EventStore>(service: &Service<S>) {
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

/// The poison, then the 10,000 good events through ingest (`workers` at a
/// time), then the clock past their lateness window.
pub async fn ten_thousand_good_and_one_poison<S: EventStore + 'static>(
    service: Service<S>,
    workers: usize,
) -> Arc<Service<S>> {
    store_poison(&service).await;
    let service = Arc::new(service);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers {
        let service = service.clone();
        tasks.spawn(async move {
            for i in (worker..GOOD).step_by(workers) {
                service
                    .ingest(&activated(i, &format!("gr-{}", i % 10)), None)
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    service.clock().advance(5 * MINUTE);
    service
}

/// Every good data point was accepted exactly once, and the poison never.
pub fn assert_every_good_point_published_once(sink: &StrictSink) {
    let acceptances = sink.acceptances();
    let counts: Vec<_> = acceptances
        .iter()
        .filter(|((metric, ..), _)| metric == METRIC)
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
            .any(|(_, aggregate, ..)| *aggregate == poison_aggregate()),
        "the poison was never accepted"
    );
}

/// The poison's record (among `records`, the store's measurement records of
/// [`METRIC`]) says refused; it was counted once in `RefusedDataPoints`; and
/// nothing is left due in the store.
pub async fn assert_poison_refused_and_counted<S: EventStore>(
    service: &Service<S>,
    records: &[Measurement],
) {
    assert_eq!(records.len(), GOOD + 1, "a record per data point");
    let poison: Vec<_> = records
        .iter()
        .filter(|m| m.aggregate_id == poison_aggregate())
        .collect();
    assert_eq!(poison.len(), 1, "{poison:?}");
    assert_eq!(poison[0].delivery, Delivery::Refused);
    let reason = poison[0].refusal.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("InvalidParameterValue") && reason.contains("not ASCII"),
        "the record keeps CloudWatch's reason: {reason:?}"
    );
    assert_eq!(poison[0].dimensions["guardrail_id"], POISON);
    assert!(
        records
            .iter()
            .filter(|m| m.aggregate_id != poison_aggregate())
            .all(|m| m.delivery == Delivery::Published),
        "every good data point is recorded as published"
    );
    let counted: Vec<_> = service
        .sink()
        .accepted()
        .into_iter()
        .filter(|m| m.metric == REFUSED_DATA_POINTS_METRIC)
        .collect();
    assert_eq!(counted.len(), 1, "{counted:?}");
    assert_eq!(counted[0].value, 1.0);
    assert_eq!(counted[0].dimensions[METRIC_DIMENSION], METRIC);
    let left = service.store().due(NOW + 1_000 * MINUTE, 10).await.unwrap();
    assert!(left.is_empty(), "nothing is left due: {left:?}");
}
