//! The capture of test events (docs/delivery.md §6): an event whose `detail` carries a
//! `test_run_id` is a test event. The capture function records it, and the
//! publisher records the measurements it completes, in a capture store keyed
//! by the run id, so an asynchronous test can poll for what it expects.
//!
//! Nothing here knows DynamoDB: [`CaptureStore`] is the port, [`CaptureSink`]
//! the metric-sink decorator that records test measurements before passing
//! everything on, and [`handle_capture`] the capture function's handler.

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::engine::Measurement;
use crate::handler::HandlerError;
use crate::ports::{MetricSink, SinkError, StoreError};

/// The `detail` field (top-level, hence also payload) that marks a test event;
/// [`Event::test_run_id`](crate::envelope::Event::test_run_id) reads it.
pub use crate::envelope::TEST_RUN_ID_FIELD;

/// A test event as the capture store records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedEvent {
    /// The test run (`detail.test_run_id`).
    pub run_id: String,
    /// `detail.event_id`, or else the EventBridge event id.
    pub event_id: String,
    /// `detail.event_type`, or else the EventBridge `detail-type`.
    pub event_type: String,
    /// The EventBridge event as delivered.
    pub body: Value,
}

impl CapturedEvent {
    /// Reads an EventBridge event leniently (an event the ingest function
    /// rejects is still worth recording). `None` when it carries no test-run id.
    pub fn from_eventbridge(event: &Value) -> Option<CapturedEvent> {
        let parsed;
        let detail = match event.get("detail") {
            Some(Value::String(text)) => {
                parsed = serde_json::from_str::<Value>(text).ok()?;
                &parsed
            }
            Some(detail) => detail,
            None => return None,
        };
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let run_id = text(detail.get(TEST_RUN_ID_FIELD))?;
        Some(CapturedEvent {
            run_id,
            event_id: text(detail.get("event_id"))
                .or_else(|| text(event.get("id")))
                .unwrap_or_default(),
            event_type: text(detail.get("event_type"))
                .or_else(|| text(event.get("detail-type")))
                .unwrap_or_default(),
            body: event.clone(),
        })
    }
}

/// Everything captured for one test run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapturedRun {
    /// The run's test events that reached the capture function.
    pub events: Vec<CapturedEvent>,
    /// The measurements the run's events completed, as published.
    pub measurements: Vec<Measurement>,
}

/// Where test events and their measurements are recorded (a DynamoDB table
/// with a TTL in AWS). Every method is idempotent.
#[async_trait]
pub trait CaptureStore: Send + Sync {
    /// Records a test event (key: run id, `event#<event id>`).
    async fn record_event(&self, event: &CapturedEvent) -> Result<(), StoreError>;

    /// Records measurements of test events, each under its `test_run_id`
    /// (key: run id, `measurement#<metric>#<event id>`); others are ignored.
    async fn record_measurements(&self, measurements: &[Measurement]) -> Result<(), StoreError>;

    /// What was recorded for a run; strongly consistent.
    async fn run(&self, run_id: &str) -> Result<CapturedRun, StoreError>;
}

#[async_trait]
impl<T: CaptureStore + ?Sized> CaptureStore for std::sync::Arc<T> {
    async fn record_event(&self, event: &CapturedEvent) -> Result<(), StoreError> {
        (**self).record_event(event).await
    }
    async fn record_measurements(&self, measurements: &[Measurement]) -> Result<(), StoreError> {
        (**self).record_measurements(measurements).await
    }
    async fn run(&self, run_id: &str) -> Result<CapturedRun, StoreError> {
        (**self).run(run_id).await
    }
}

/// A metric sink that first records the measurements of test events in a
/// capture store, then publishes everything through the sink it wraps. A
/// failed capture fails the publish (so it is retried like any other failure),
/// and a retry records the same keys again: capture never doubles.
pub struct CaptureSink<M, C> {
    inner: M,
    capture: C,
}

impl<M: MetricSink, C: CaptureStore> CaptureSink<M, C> {
    /// Wraps `inner`, recording test measurements in `capture`.
    pub fn new(inner: M, capture: C) -> Self {
        Self { inner, capture }
    }
}

#[async_trait]
impl<M: MetricSink, C: CaptureStore> MetricSink for CaptureSink<M, C> {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        self.publish_or_refuse(measurements)
            .await
            .map_err(crate::refusal::PublishFailure::into_sink_error)
    }

    /// Records the test measurements, then publishes (or not) as the inner sink does.
    async fn publish_or_refuse(
        &self,
        measurements: &[Measurement],
    ) -> Result<(), crate::refusal::PublishFailure> {
        let tests: Vec<Measurement> = measurements
            .iter()
            .filter(|m| m.test_run_id.is_some())
            .cloned()
            .collect();
        if !tests.is_empty() {
            self.capture
                .record_measurements(&tests)
                .await
                .map_err(|e| {
                    crate::refusal::PublishFailure::Retryable(SinkError {
                        message: format!("capturing {} test measurements: {e}", tests.len()),
                    })
                })?;
        }
        self.inner.publish_or_refuse(measurements).await
    }
}

/// The capture function's handler: records a test event, logs one line
/// (`outcome` `captured` or `ignored`), and fails (to be retried) if the
/// store does.
pub async fn handle_capture<C: CaptureStore>(
    capture: &C,
    event: &Value,
) -> Result<Value, HandlerError> {
    let eventbridge_id = event.get("id").and_then(Value::as_str).unwrap_or("");
    let Some(captured) = CapturedEvent::from_eventbridge(event) else {
        tracing::warn!(
            outcome = "ignored",
            eventbridge_id,
            "event without detail.test_run_id: not a test event; check the capture rule's pattern"
        );
        return Ok(json!({ "captured": false }));
    };
    match capture.record_event(&captured).await {
        Ok(()) => {
            tracing::info!(
                outcome = "captured",
                run_id = %captured.run_id,
                event_id = %captured.event_id,
                event_type = %captured.event_type,
                eventbridge_id,
                "test event captured"
            );
            Ok(json!({
                "captured": true,
                "run_id": captured.run_id,
                "event_id": captured.event_id,
            }))
        }
        Err(error) => {
            tracing::error!(outcome = "failed", error = %error, eventbridge_id, "test event not captured; it will be retried");
            Err(HandlerError {
                message: error.to_string(),
                retryable: error.retryable,
            })
        }
    }
}

/// A capture store in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryCapture {
    runs: std::sync::Mutex<std::collections::BTreeMap<String, CapturedRun>>,
}

impl MemoryCapture {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CaptureStore for MemoryCapture {
    async fn record_event(&self, event: &CapturedEvent) -> Result<(), StoreError> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let run = runs.entry(event.run_id.clone()).or_default();
        run.events.retain(|e| e.event_id != event.event_id);
        run.events.push(event.clone());
        Ok(())
    }

    async fn record_measurements(&self, measurements: &[Measurement]) -> Result<(), StoreError> {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        for m in measurements {
            let Some(run_id) = &m.test_run_id else {
                continue;
            };
            let run = runs.entry(run_id.clone()).or_default();
            run.measurements
                .retain(|x| (&x.metric, &x.event_id) != (&m.metric, &m.event_id));
            run.measurements.push(m.clone());
        }
        Ok(())
    }

    async fn run(&self, run_id: &str) -> Result<CapturedRun, StoreError> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(runs.get(run_id).cloned().unwrap_or_default())
    }
}
