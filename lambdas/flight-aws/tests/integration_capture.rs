//! The capture table on DynamoDB Local: a test run's events and measurements
//! are recorded under its run id, idempotently, and read back as written.

use std::collections::BTreeMap;
use std::time::Duration;

use flight_aws::DynamoCapture;
use flight_core::capture::{CaptureStore, CapturedEvent};
use flight_core::{Delivery, Measurement};
// `common::…`: the local stack's endpoints, unique names, stores and polling.
use flight_testkit::aws as common;
use serde_json::json;

async fn capture_table(test: &str) -> Option<DynamoCapture> {
    let endpoint = common::endpoint("FC_DYNAMODB_ENDPOINT", test)?;
    let config = flight_aws::aws_config(None).await;
    let client = flight_aws::dynamodb_client(&config, Some(&endpoint));
    let table = common::unique_name("capture", test);
    DynamoCapture::create_table(&client, &table)
        .await
        .expect("capture table created");
    Some(DynamoCapture::new(client, table, Duration::from_secs(3600)))
}

fn lead_time(event_id: &str, run_id: Option<&str>) -> Measurement {
    Measurement {
        metric: "GuardrailLeadTime".into(),
        value: 5400.0,
        unit: "Seconds".into(),
        timestamp: 1_793_500_000_000,
        aggregate_id: "bucket~run-1".into(),
        event_id: event_id.into(),
        dimensions: BTreeMap::from([("guardrail_id".to_string(), "gr-1".to_string())]),
        delivery: Delivery::Published,
        test_run_id: run_id.map(str::to_string),
        refusal: None,
    }
}

#[tokio::test]
async fn a_runs_events_and_measurements_come_back_as_recorded_once_each() {
    let Some(capture) = capture_table("capture_round_trip").await else {
        return;
    };
    let event = CapturedEvent {
        run_id: "run-1".into(),
        event_id: "e-1".into(),
        event_type: "GuardrailPassed".into(),
        body: json!({"id": "eb-1", "detail": {"test_run_id": "run-1", "event_id": "e-1"}}),
    };
    capture.record_event(&event).await.unwrap();
    capture.record_event(&event).await.unwrap();
    // 30 measurements: more than one BatchWriteItem; one of another run; one not a test's.
    let mut measurements: Vec<Measurement> = (0..30)
        .map(|i| lead_time(&format!("p-{i:02}"), Some("run-1")))
        .collect();
    measurements.push(lead_time("p-other", Some("run-2")));
    measurements.push(lead_time("p-production", None));
    capture.record_measurements(&measurements).await.unwrap();
    capture
        .record_measurements(&measurements[..3])
        .await
        .unwrap();

    let run = capture.run("run-1").await.unwrap();
    assert_eq!(run.events, vec![event]);
    let mut got = run.measurements.clone();
    got.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    assert_eq!(got, measurements[..30].to_vec());
    assert_eq!(capture.run("run-2").await.unwrap().measurements.len(), 1);
    assert!(capture.run("run-3").await.unwrap().measurements.is_empty());
}
