//! A series budget per metric (issue 15): a producer that puts a request id
//! into a partition field would create one billed CloudWatch metric per
//! event. With a budget of 100, 10,000 distinct partition values publish 100
//! series; the other data points are still stored and published under
//! `Environment` alone (the rollup the SLO alarms read), and
//! `OverBudgetSeries`, which the alarm watches, counts them for the metric.

use std::sync::Arc;

use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::refusal::METRIC_DIMENSION;
use flight_core::series_budget::{DEFAULT_SERIES_BUDGET, OVER_BUDGET_SERIES_METRIC};
use flight_core::{Catalog, FlightController, Settings};
use flight_testkit::clock::NOW;
use flight_testkit::fixtures::SERIES_BUDGET_CATALOG;
use serde_json::json;

const EVENTS: usize = 10_000;

#[tokio::test]
async fn ten_thousand_distinct_partition_values_publish_a_hundred_series_and_roll_up_the_rest() {
    let service = FlightController::new(
        Arc::new(Catalog::parse(SERIES_BUDGET_CATALOG).unwrap_or_else(|e| panic!("{e}"))),
        Arc::new(MemoryStore::new()),
        Arc::new(CollectingSink::new()),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: Some("prod".into()),
            lateness_window: 0,
            ..Settings::default()
        },
    );
    for i in 0..EVENTS {
        let event = json!({
            "detail-type": "RequestServed", "time": "2026-11-01T00:00:00Z",
            "detail": {"aggregate_id": format!("req-{i}"), "request_id": format!("req-{i}")}
        });
        service.ingest(&event, None).await.unwrap();
    }

    let published = service.sink().published();
    let served: Vec<_> = published
        .iter()
        .filter(|m| m.metric == "RequestsServed")
        .collect();
    assert_eq!(served.len(), EVENTS, "every data point is published");
    let partitioned = served
        .iter()
        .filter(|m| m.dimensions.contains_key("request_id"))
        .count();
    assert_eq!(partitioned, 100, "100 series published");
    assert!(
        served
            .iter()
            .filter(|m| !m.dimensions.contains_key("request_id"))
            .all(|m| m.dimensions.keys().collect::<Vec<_>>() == ["Environment"]),
        "the rest go out under Environment alone"
    );
    assert_eq!(service.store().series()["RequestsServed"], 100);
    assert_eq!(
        service.store().measurements().len(),
        EVENTS,
        "every data point is stored"
    );

    let over: Vec<_> = published
        .iter()
        .filter(|m| m.metric == OVER_BUDGET_SERIES_METRIC)
        .collect();
    assert_eq!(
        over.iter().map(|m| m.value).sum::<f64>(),
        (EVENTS - 100) as f64,
        "OverBudgetSeries counts each rolled-up data point"
    );
    assert!(over
        .iter()
        .all(|m| m.dimensions[METRIC_DIMENSION] == "RequestsServed"
            && m.dimensions["Environment"] == "prod"));
}

#[test]
fn a_partitioned_metric_has_a_default_budget_and_the_catalog_bounds_it() {
    let catalog = Catalog::default_catalog();
    assert_eq!(
        catalog.metric("GuardrailLeadTime").unwrap().series_budget,
        DEFAULT_SERIES_BUDGET
    );
    let issues =
        Catalog::parse(&SERIES_BUDGET_CATALOG.replace("series_budget: 100", "series_budget: 0"))
            .unwrap_err()
            .issues;
    assert!(
        issues.iter().any(|i| i.path == "metrics[0].series_budget"
            && i.message == "must be 1 to 5000 distinct partitions"),
        "{issues:?}"
    );
}
