//! The capture of test events: a test run's events and the measurements they
//! complete are recorded under its run id, before anything is published;
//! production events are never captured.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use flight_core::capture::{
    handle_capture, CaptureSink, CaptureStore, CapturedEvent, CapturedRun, MemoryCapture,
};
use flight_core::engine::Measurement;
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::ports::StoreError;
use flight_core::{FlightController, Settings};
use flight_testkit::clock::{MINUTE, NOW};
use flight_testkit::fixtures::*;
use serde_json::{json, Value};

type CapturingService = FlightController<
    Arc<MemoryStore>,
    CaptureSink<Arc<CollectingSink>, Arc<MemoryCapture>>,
    Arc<ManualClock>,
>;

fn capturing_service(capture: Arc<MemoryCapture>, sink: Arc<CollectingSink>) -> CapturingService {
    FlightController::new(
        catalog(),
        Arc::new(MemoryStore::new()),
        CaptureSink::new(sink, capture),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: Some("test".into()),
            lateness_window: 0,
            lease: 2 * MINUTE,
            enforce_cloudwatch_range: true,
        },
    )
}

fn in_run(mut event: Value, run_id: &str) -> Value {
    event["detail"]["test_run_id"] = json!(run_id);
    event
}

#[tokio::test]
async fn a_test_runs_measurements_are_captured_under_its_run_id_and_published_too() {
    let capture = Arc::new(MemoryCapture::new());
    let sink = Arc::new(CollectingSink::new());
    let service = capturing_service(capture.clone(), sink.clone());

    for event in [
        in_run(
            guardrail("GuardrailActivated", "bucket-1", "gr-1", 0, "a1"),
            "run-1",
        ),
        in_run(
            guardrail("GuardrailPassed", "bucket-1", "gr-1", 30, "p1"),
            "run-1",
        ),
        // A production event on another aggregate: published, never captured.
        guardrail("GuardrailActivated", "bucket-2", "gr-1", 0, "a2"),
    ] {
        service.ingest(&event, None).await.expect("ingested");
    }

    let run = capture.run("run-1").await.unwrap();
    let mut captured: Vec<(String, String, f64)> = run
        .measurements
        .iter()
        .map(|m| (m.metric.clone(), m.event_id.clone(), m.value))
        .collect();
    captured.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(
        captured,
        vec![
            ("GuardrailActivationCount".into(), "a1".into(), 1.0),
            ("GuardrailLeadTime".into(), "p1".into(), 1800.0),
            ("GuardrailMaxActivation".into(), "p1".into(), 1.0),
        ]
    );
    assert!(run
        .measurements
        .iter()
        .all(|m| m.test_run_id.as_deref() == Some("run-1")));
    // Everything, the production event's count included, reached the real sink.
    let published = sink.published();
    assert_eq!(published.len(), 4, "{published:?}");
    assert_eq!(published.iter().filter(|m| m.event_id == "a2").count(), 1);
}

/// A capture store that fails its first `failures` measurement writes.
struct FlakyCapture {
    failures: AtomicUsize,
    inner: MemoryCapture,
}

#[async_trait]
impl CaptureStore for FlakyCapture {
    async fn record_event(&self, event: &CapturedEvent) -> Result<(), StoreError> {
        self.inner.record_event(event).await
    }
    async fn record_measurements(&self, measurements: &[Measurement]) -> Result<(), StoreError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError {
                message: "BatchWriteItem: throttled".into(),
                retryable: true,
            });
        }
        self.inner.record_measurements(measurements).await
    }
    async fn run(&self, run_id: &str) -> Result<CapturedRun, StoreError> {
        self.inner.run(run_id).await
    }
}

#[tokio::test]
async fn a_failed_capture_fails_the_publish_and_the_retry_captures_and_publishes_once() {
    let capture = Arc::new(FlakyCapture {
        failures: AtomicUsize::new(1),
        inner: MemoryCapture::new(),
    });
    let sink = Arc::new(CollectingSink::new());
    let service = FlightController::new(
        catalog(),
        Arc::new(MemoryStore::new()),
        CaptureSink::new(sink.clone(), capture.clone()),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: None,
            lateness_window: 0,
            lease: 2 * MINUTE,
            enforce_cloudwatch_range: true,
        },
    );
    let event = in_run(
        guardrail("GuardrailActivated", "bucket-1", "gr-1", 0, "a1"),
        "run-2",
    );

    let error = service.ingest(&event, None).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(error.to_string().contains("capturing 1 test measurements"));
    assert!(
        sink.published().is_empty(),
        "nothing published before capture"
    );

    // The redelivery finds the event stored and its data point still to do.
    service.ingest(&event, None).await.expect("retried");
    assert_eq!(capture.run("run-2").await.unwrap().measurements.len(), 1);
    assert_eq!(sink.published().len(), 1);
}

#[tokio::test]
async fn the_capture_function_records_test_events_and_ignores_others() {
    let capture = MemoryCapture::new();
    let test_event = in_run(
        guardrail("GuardrailActivated", "bucket-1", "gr-1", 0, "a1"),
        "run-3",
    );
    let response = handle_capture(&capture, &test_event).await.unwrap();
    assert_eq!(
        response,
        json!({"captured": true, "run_id": "run-3", "event_id": "a1"})
    );
    // A redelivery records the same key again.
    handle_capture(&capture, &test_event).await.unwrap();

    let mut without_id = in_run(event("ProjectRequested", "p-1", 0, "x"), "run-3");
    without_id["detail"]
        .as_object_mut()
        .unwrap()
        .remove("event_id");
    handle_capture(&capture, &without_id).await.unwrap();

    let production = guardrail("GuardrailActivated", "bucket-1", "gr-1", 0, "a9");
    assert_eq!(
        handle_capture(&capture, &production).await.unwrap(),
        json!({"captured": false})
    );

    let run = capture.run("run-3").await.unwrap();
    let ids: Vec<(&str, &str)> = run
        .events
        .iter()
        .map(|e| (e.event_id.as_str(), e.event_type.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![("a1", "GuardrailActivated"), ("eb-x", "ProjectRequested")]
    );
}
