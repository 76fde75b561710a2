//! Exactly-once publishing: failures of the metric sink, crashes that leave a
//! lease behind, concurrent settlers, and events sent to the wrong function.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use flight_core::engine::Measurement;
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::ports::{EventStore, MetricSink, SinkError};
use flight_core::{FlightController, IngestError, Settings};
use flight_testkit::clock::{HOUR, MINUTE, NOW};
use flight_testkit::fixtures::*;

/// A sink that fails its first `failures` calls, then collects.
struct FlakySink {
    failures: AtomicUsize,
    inner: CollectingSink,
}

#[async_trait]
impl MetricSink for FlakySink {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(SinkError {
                message: "PutMetricData: service unavailable".into(),
            });
        }
        self.inner.publish(measurements).await
    }
}

fn settings(window: i64) -> Settings {
    Settings {
        environment: Some("test".into()),
        lateness_window: window,
        lease: 2 * MINUTE,
        enforce_cloudwatch_range: true,
    }
}

#[tokio::test]
async fn a_failed_publish_fails_the_invocation_and_the_retry_publishes_exactly_once() {
    let sink = Arc::new(FlakySink {
        failures: AtomicUsize::new(1),
        inner: CollectingSink::new(),
    });
    let service = FlightController::new(
        catalog(),
        Arc::new(MemoryStore::new()),
        sink.clone(),
        Arc::new(ManualClock::new(NOW)),
        settings(0),
    );
    service
        .ingest(&event("AccountRequested", "a", 0, "r"), None)
        .await
        .unwrap();
    let created = event("AccountCreated", "a", 10, "c");

    let error = service.ingest(&created, None).await.unwrap_err();
    assert!(
        matches!(error, IngestError::Sink(_)) && error.is_retryable(),
        "{error}"
    );
    assert!(sink.inner.published().is_empty());

    // The platform redelivers: the stored event's data point goes out now, once.
    let report = service.ingest(&created, None).await.unwrap();
    assert!(report.duplicate);
    assert_eq!(report.published.len(), 1);
    service.ingest(&created, None).await.unwrap();
    service.clock().advance(HOUR);
    service.settle().await.unwrap();
    let published = sink.inner.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].value, 600.0);
    assert_eq!(published[0].dimensions["Environment"], "test");
}

#[tokio::test]
async fn a_settler_that_dies_after_claiming_leaves_the_work_to_the_next_once_the_lease_expires() {
    let service = service(0);
    service
        .ingest(&event("IdentityRequested", "i", 0, "r"), None)
        .await
        .unwrap();
    // Store the end event as a crashed invocation would leave it: claimed, nothing published.
    let store = service.store().clone();
    let mut record = flight_core::ports::StoredEvent {
        event: flight_core::Event::from_eventbridge(
            &event("IdentityCreated", "i", 5, "c"),
            service.catalog(),
        )
        .unwrap(),
        stored_at: NOW,
        timeline: Some(String::new()),
        todo: ["IdentityLeadTime".to_string()].into(),
        done: Default::default(),
        due: Some(NOW),
        lease: None,
        sealed_at: None,
    };
    record.lease = Some(flight_core::ports::Lease {
        token: "dead".into(),
        until: NOW + 2 * MINUTE,
    });
    store.append(&record).await.unwrap();

    assert!(
        service.settle().await.unwrap().published.is_empty(),
        "the lease still holds"
    );
    service.clock().advance(2 * MINUTE);
    let report = service.settle().await.unwrap();
    assert_eq!(report.published.len(), 1);
    assert_eq!(report.published[0].value, 300.0);
    service.clock().advance(HOUR);
    assert!(service.settle().await.unwrap().published.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_settlers_publish_each_data_point_once() {
    let store = Arc::new(MemoryStore::new());
    let sink = Arc::new(CollectingSink::new());
    let clock = Arc::new(ManualClock::new(NOW));
    let make = || {
        FlightController::new(
            catalog(),
            store.clone(),
            sink.clone(),
            clock.clone(),
            settings(MINUTE),
        )
    };
    let ingest = make();
    for n in 0..200 {
        let aggregate = format!("res-{}", n % 20);
        ingest
            .ingest(
                &guardrail("GuardrailActivated", &aggregate, "g", n, &format!("a{n}")),
                None,
            )
            .await
            .unwrap();
        ingest
            .ingest(
                &guardrail("GuardrailPassed", &aggregate, "g", n, &format!("p{n}")),
                None,
            )
            .await
            .unwrap();
    }
    clock.advance(2 * MINUTE);
    let settlers: Vec<_> = (0..8)
        .map(|_| {
            let settler = make();
            tokio::spawn(async move { settler.settle().await })
        })
        .collect();
    let mut settled_events = 0;
    for settler in settlers {
        settled_events += settler.await.unwrap().unwrap().events;
    }
    assert_eq!(
        settled_events, 400,
        "every completing event settled exactly once"
    );
    let published = sink.published();
    // 200 activation counts, 200 lead times, 200 maxima.
    assert_eq!(published.len(), 600);
    let mut ids: Vec<_> = published
        .iter()
        .map(|m| (m.metric.clone(), m.event_id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 600, "a data point was published twice");
}

#[tokio::test]
async fn an_event_sent_to_another_types_function_is_refused() {
    let service = service(0);
    let error = service
        .ingest(
            &event("ProjectRequested", "p", 0, "r"),
            Some("ProjectCreated"),
        )
        .await
        .unwrap_err();
    assert!(!error.is_retryable());
    assert!(
        error
            .to_string()
            .contains("do not belong to this function, which serves `ProjectCreated`"),
        "{error}"
    );
    // An alias of the function's own type is its own type.
    service
        .ingest(
            &event("ProjectCreated", "p", 0, "c"),
            Some("project_created"),
        )
        .await
        .unwrap();
}

/// A sink that accepts its first `accept` calls, fails the next one, then accepts again.
struct FailsOnce {
    calls: AtomicUsize,
    fail_at: usize,
    inner: CollectingSink,
}

#[async_trait]
impl MetricSink for FailsOnce {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == self.fail_at {
            return Err(SinkError {
                message: "PutMetricData: throttled".into(),
            });
        }
        self.inner.publish(measurements).await
    }
}

#[tokio::test]
async fn a_publish_that_fails_part_way_resends_only_what_was_not_accepted() {
    let sink = Arc::new(FailsOnce {
        calls: AtomicUsize::new(0),
        fail_at: 1,
        inner: CollectingSink::new(),
    });
    let service = FlightController::new(
        catalog(),
        Arc::new(MemoryStore::new()),
        sink.clone(),
        Arc::new(ManualClock::new(NOW)),
        settings(MINUTE),
    );
    // 2,500 activation counts: three chunks of at most 1,000 data points.
    for n in 0..2500 {
        let e = guardrail(
            "GuardrailActivated",
            &format!("res-{n}"),
            "g",
            0,
            &format!("a{n}"),
        );
        service.ingest(&e, None).await.unwrap();
    }
    service.clock().advance(2 * MINUTE);
    let mut error = None;
    let mut published_before_failure = 0;
    loop {
        match service.settle().await {
            Ok(report) => {
                published_before_failure += report.published.len();
                if report.published.is_empty() {
                    break;
                }
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(error.is_some(), "the second PutMetricData call fails");
    let accepted_before_retry = sink.inner.published().len();
    assert!(
        accepted_before_retry >= 1,
        "the first chunk was accepted ({published_before_failure})"
    );
    // The next sweep sends only the rest.
    service.settle().await.unwrap();
    let published = sink.inner.published();
    assert_eq!(published.len(), 2500);
    let mut ids: Vec<_> = published.iter().map(|m| m.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2500, "nothing was sent twice");
    assert!(published.len() <= 2500);
}

#[tokio::test]
async fn a_stale_copy_of_a_due_event_cannot_be_claimed() {
    let store = Arc::new(MemoryStore::new());
    let service = FlightController::new(
        catalog(),
        store.clone(),
        Arc::new(CollectingSink::new()),
        Arc::new(ManualClock::new(NOW)),
        settings(0),
    );
    service
        .ingest(&event("AccountRequested", "a", 0, "r"), None)
        .await
        .unwrap();
    service
        .ingest(&event("AccountCreated", "a", 10, "c"), None)
        .await
        .unwrap();
    // A copy taken while AccountLeadTime was pending, as a lagging index might return it.
    let mut stale = store
        .events()
        .into_iter()
        .find(|e| e.event.event_id == "c")
        .unwrap();
    assert!(
        stale.todo.is_empty(),
        "published at once with a zero window"
    );
    stale.todo = ["AccountLeadTime".to_string()].into();
    stale.due = Some(NOW);
    // Meanwhile the event became due again for another reason (a late marker).
    store.mark_late(&stale.reference(), NOW).await.unwrap();
    let lease = flight_core::ports::Lease {
        token: "t".into(),
        until: NOW + MINUTE,
    };
    assert!(store.claim(&[stale], &lease, NOW).await.unwrap().is_empty());
}
