//! Hand-written fixtures for the domain tests: EventBridge events of the
//! default catalog, a service over the in-memory store, sink and clock, and
//! what it published, in short.

use std::sync::Arc;

use flight_core::engine::{measure_all, Measurement};
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::{Catalog, Event, FlightController, Settings};
use serde_json::{json, Value};

use crate::clock::{EPOCH, HOUR, MINUTE, NOW};

/// The service over the in-memory store, a collecting sink and a manual clock.
pub type Service = FlightController<Arc<MemoryStore>, Arc<CollectingSink>, Arc<ManualClock>>;

/// An EventBridge event of `event_type` for `aggregate`, `minutes` after a fixed start.
pub fn event(event_type: &str, aggregate: &str, minutes: i64, id: &str) -> Value {
    json!({
        "version": "0",
        "id": format!("eb-{id}"),
        "detail-type": event_type,
        "source": "tests",
        "time": "2026-11-01T00:00:00Z",
        "detail": {
            "event_id": id,
            "event_type": event_type,
            "aggregate_id": aggregate,
            "time": EPOCH / 1000 + minutes * 60,
        }
    })
}

/// The same, with payload fields.
pub fn event_with(
    event_type: &str,
    aggregate: &str,
    minutes: i64,
    id: &str,
    payload: Value,
) -> Value {
    let mut e = event(event_type, aggregate, minutes, id);
    e["detail"]["payload"] = payload;
    e
}

/// A guardrail event: `guardrail_id` in its payload.
pub fn guardrail(
    event_type: &str,
    aggregate: &str,
    guardrail: &str,
    minutes: i64,
    id: &str,
) -> Value {
    event_with(
        event_type,
        aggregate,
        minutes,
        id,
        json!({ "guardrail_id": guardrail }),
    )
}

/// The default catalog (`events/catalog.yaml`).
pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::default_catalog())
}

/// A service whose data points settle `window` ms after their event is stored.
pub fn service(window: i64) -> Service {
    FlightController::new(
        catalog(),
        Arc::new(MemoryStore::new()),
        Arc::new(CollectingSink::new()),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: None,
            lateness_window: window,
            lease: 2 * MINUTE,
            enforce_cloudwatch_range: true,
        },
    )
}

/// Ingests every event (each must be accepted), then settles everything.
pub async fn deliver_all(service: &Service, events: &[Value]) {
    for e in events {
        service
            .ingest(e, None)
            .await
            .unwrap_or_else(|err| panic!("{err} for {e}"));
    }
    service.clock().advance(24 * HOUR);
    service.settle().await.expect("settle");
}

/// A published data point in short: (metric, value, completing event id, dimensions).
pub type Point = (String, f64, String, Vec<(String, String)>);

/// What was published, in short, sorted by metric and completing event.
pub fn summary(measurements: &[Measurement]) -> Vec<Point> {
    let mut out: Vec<_> = measurements
        .iter()
        .map(|m| {
            (
                m.metric.clone(),
                m.value,
                m.event_id.clone(),
                m.dimensions.clone().into_iter().collect(),
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.2, &a.3).cmp(&(&b.0, &b.2, &b.3)));
    out
}

/// What the definition (every data point of the set of events at once) says.
pub fn expected(events: &[Value]) -> Vec<Point> {
    let catalog = catalog();
    let parsed: Vec<Event> = events
        .iter()
        .map(|e| Event::from_eventbridge(e, &catalog).expect("valid event"))
        .collect();
    summary(&measure_all(&catalog, &parsed, None))
}

/// Delivers `events` in this order into a fresh service and returns what it published.
pub async fn published_for(events: &[Value]) -> Vec<Point> {
    let service = service(5 * MINUTE);
    deliver_all(&service, events).await;
    summary(&service.sink().published())
}

/// The values published for `metric`, in order.
pub fn metric_values(published: &[Point], metric: &str) -> Vec<f64> {
    published
        .iter()
        .filter(|p| p.0 == metric)
        .map(|p| p.1)
        .collect()
}

/// A catalog whose one metric is partitioned by a per-request id with a
/// series budget of 100: the series explosion of the series-budget tests.
pub const SERIES_BUDGET_CATALOG: &str = "namespace: Test
event_types:
  - name: RequestServed
    description: a request was served
    payload_fields: [request_id]
metrics:
  - name: RequestsServed
    kind: count
    event: RequestServed
    unit: Count
    partition_by: [request_id]
    series_budget: 100
";
