//! The series budget on DynamoDB Local: 16 workers ingest 400 events with
//! distinct partition values into a metric with a budget of 100; the table's
//! series item admits exactly 100 (a conditional write each, whatever the
//! races), 100 series are published and the other 300 data points go out
//! under `Environment` alone.

use std::sync::Arc;

use flight_core::memory::{CollectingSink, ManualClock};
use flight_core::reads::SeriesLog;
use flight_core::{Catalog, FlightController, Settings};
use flight_testkit::aws::new_store;
use flight_testkit::clock::NOW;
use flight_testkit::fixtures::SERIES_BUDGET_CATALOG;
use serde_json::json;

const EVENTS: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_producers_of_new_partitions_never_exceed_the_budget_on_dynamodb() {
    let Some(store) = new_store("integration_series_budget").await else {
        return;
    };
    let service = Arc::new(FlightController::new(
        Arc::new(Catalog::parse(SERIES_BUDGET_CATALOG).unwrap_or_else(|e| panic!("{e}"))),
        store,
        Arc::new(CollectingSink::new()),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: Some("prod".into()),
            lateness_window: 0,
            ..Settings::default()
        },
    ));
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let service = service.clone();
        workers.spawn(async move {
            for i in (worker..EVENTS).step_by(16) {
                let event = json!({
                    "detail-type": "RequestServed", "time": "2026-11-01T00:00:00Z",
                    "detail": {"aggregate_id": format!("req-{i}"), "request_id": format!("req-{i}")}
                });
                service.ingest(&event, None).await.unwrap();
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }

    assert_eq!(
        service
            .store()
            .series_count("RequestsServed")
            .await
            .unwrap(),
        100
    );
    let served: Vec<_> = service
        .sink()
        .published()
        .into_iter()
        .filter(|m| m.metric == "RequestsServed")
        .collect();
    assert_eq!(served.len(), EVENTS);
    assert_eq!(
        served
            .iter()
            .filter(|m| m.dimensions.contains_key("request_id"))
            .count(),
        100
    );
}
