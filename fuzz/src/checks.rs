//! What the fuzz targets check on each input: no panic, and the answers keep
//! their promises. Shared by the fuzz targets (`fuzz/fuzz_targets`) and the
//! corpus replay test (`lambdas/flight-core/tests/fuzz_corpus.rs`), which
//! includes this file; it needs only flight-core and serde_json.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use flight_core::envelope::{cloudwatch_accepts, MAX_ID_BYTES, MAX_TIME, MIN_TIME};
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::{Catalog, Event, FlightController, Settings};
use serde_json::{json, Value};

/// 2026-11-01T00:00:00Z in milliseconds.
const NOW: i64 = 1_793_491_200_000;

/// Runs a future of the in-memory service, which never waits, to its end.
fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the in-memory store and sink never wait"),
    }
}

/// Arbitrary bytes as an EventBridge event, and as the detail of one.
pub fn envelope(catalog: &Arc<Catalog>, data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    event(catalog, &value);
    let wrapped = json!({
        "version": "0", "id": "fuzz", "detail-type": "Fuzz", "source": "fuzz",
        "time": "2026-11-01T00:00:00Z", "detail": value,
    });
    event(catalog, &wrapped);
}

fn event(catalog: &Arc<Catalog>, raw: &Value) {
    let parsed = Event::from_eventbridge(raw, catalog);
    assert_eq!(
        parsed,
        Event::from_eventbridge(raw, catalog),
        "parsing is deterministic"
    );
    match &parsed {
        Ok(e) => {
            for id in [&e.event_id, &e.aggregate_id] {
                assert!(
                    !id.trim().is_empty() && id.len() <= MAX_ID_BYTES,
                    "id {id:?}"
                );
            }
            assert!((MIN_TIME..=MAX_TIME).contains(&e.time), "time {}", e.time);
            assert!(e.event_version >= 1);
            assert!(catalog.event_type(&e.event_type).is_some());
        }
        Err(rejection) => {
            assert!(!rejection.field.is_empty() && !rejection.reason.is_empty());
            assert!(rejection.to_string().starts_with(&rejection.field));
        }
    }
    // Through the service: accepted exactly when parsed, each data point one
    // that CloudWatch takes, and a redelivery publishes nothing more.
    let service = FlightController::new(
        catalog.clone(),
        MemoryStore::new(),
        CollectingSink::new(),
        ManualClock::new(NOW),
        Settings {
            environment: Some("fuzz".into()),
            lateness_window: 0,
            lease: 60_000,
            enforce_cloudwatch_range: true,
        },
    );
    let ingested = run(service.ingest(raw, None));
    assert_eq!(
        ingested.is_ok(),
        parsed.is_ok(),
        "{ingested:?} vs {parsed:?}"
    );
    if ingested.is_ok() {
        let again = run(service.ingest(raw, None)).expect("a redelivery is accepted");
        assert!(again.duplicate && again.published.is_empty());
        service.clock().advance(24 * 3_600_000);
        run(service.settle()).expect("settle");
    }
    let published = service.sink().published();
    let mut ids: Vec<(&str, &str)> = Vec::new();
    for m in &published {
        assert!(cloudwatch_accepts(m.value), "{m:?}");
        assert!(m.dimensions.len() <= 30);
        ids.push((&m.metric, &m.event_id));
    }
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "a data point published twice");
}

/// Arbitrary text as a catalog.
pub fn catalog(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Catalog::parse(&text) {
        Ok(catalog) => {
            for t in &catalog.event_types {
                assert_eq!(catalog.event_type(&t.name).map(|x| &x.name), Some(&t.name));
                assert!(catalog.plan(&t.name).is_some());
            }
            for metric in &catalog.metrics {
                for t in Catalog::metric_event_types(metric) {
                    assert!(catalog.event_type(t).is_some(), "{} names {t}", metric.name);
                }
                assert!(catalog.metric(&metric.name).is_some());
            }
            for slo in &catalog.slos {
                assert!(catalog.metric(&slo.metric).is_some());
            }
        }
        Err(error) => {
            assert!(!error.issues.is_empty());
            for issue in &error.issues {
                assert!(!issue.message.is_empty());
            }
            assert!(!error.render_for("fuzz.yaml").is_empty());
        }
    }
}
