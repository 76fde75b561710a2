//! The Lambda handler called directly with fixture EventBridge events, against
//! DynamoDB Local and moto (`scripts/services.sh start`, then
//! `eval "$(scripts/services.sh env)"`).

use std::path::Path;
use std::sync::Arc;

use flight_aws::{aws_config, cloudwatch_client, dynamodb_client, CloudWatchSink, DynamoStore};
use flight_core::envelope::format_time;
use flight_core::handler::{handle_event, handle_settle};
use flight_core::ports::EventRef;
use flight_core::{Catalog, Clock, FlightController, Settings, SystemClock};
use flight_testkit::aws;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

/// A fixture with its event time moved to `minutes_ago` before `now`, inside CloudWatch's range.
fn recent(name: &str, now: i64, minutes_ago: i64) -> Value {
    let mut event = fixture(name);
    event["detail"]["time"] = Value::String(format_time(now - minutes_ago * 60_000));
    event
}

/// DynamoDB Local's and moto's endpoints (see `flight_testkit::aws::endpoint`).
fn endpoints() -> Option<(String, String)> {
    Some((
        aws::endpoint("FC_DYNAMODB_ENDPOINT", "integration_handler")?,
        aws::endpoint("FC_AWS_ENDPOINT", "integration_handler")?,
    ))
}

type LocalService = FlightController<Arc<DynamoStore>, Arc<CloudWatchSink>, SystemClock>;

/// The service over a new table in DynamoDB Local and a namespace of its own in moto.
async fn local_service(
    name: &str,
    settings: Settings,
) -> Option<(LocalService, Arc<DynamoStore>, Arc<CloudWatchSink>)> {
    let (dynamodb, aws) = endpoints()?;
    let config = aws_config(Some(&aws)).await;
    let table = format!("{name}-{}", SystemClock.now());
    let client = dynamodb_client(&config, Some(&dynamodb));
    DynamoStore::create_table(&client, &table)
        .await
        .expect("create table");
    let store = Arc::new(DynamoStore::new(client, &table));
    let sink = Arc::new(CloudWatchSink::new(
        cloudwatch_client(&config, Some(&aws)),
        format!("FlightController/{table}"),
    ));
    let service = FlightController::new(
        Arc::new(Catalog::default_catalog()),
        store.clone(),
        sink.clone(),
        SystemClock,
        settings,
    );
    Some((service, store, sink))
}

#[tokio::test]
async fn integration_the_ingest_handler_stores_fixture_events_and_publishes_to_cloudwatch_once() {
    let settings = Settings {
        environment: Some("it".into()),
        lateness_window: 0,
        ..Settings::default()
    };
    let Some((service, store, sink)) = local_service("handler", settings).await else {
        return;
    };

    let now = SystemClock.now();
    let activated = recent("guardrail-activated.json", now, 30);
    let passed = recent("guardrail-passed.json", now, 5);
    let response = handle_event(&service, &activated, Some("GuardrailActivated"))
        .await
        .expect("activated");
    assert_eq!(response["duplicate"], false);
    assert_eq!(
        response["published"], 1,
        "GuardrailActivationCount at once: the window is zero"
    );
    let response = handle_event(&service, &passed, Some("GuardrailPassed"))
        .await
        .expect("passed");
    assert_eq!(
        response["published"], 2,
        "GuardrailLeadTime and GuardrailMaxActivation"
    );

    // EventBridge redelivers both: nothing is published again.
    for (event, serves) in [
        (&activated, "GuardrailActivated"),
        (&passed, "GuardrailPassed"),
    ] {
        let again = handle_event(&service, event, Some(serves))
            .await
            .expect("redelivery");
        assert_eq!(again["duplicate"], true);
        assert_eq!(again["published"], 0);
    }
    assert_eq!(
        handle_settle(&service).await.expect("settle")["published"],
        0
    );
    // Three data points, each with its Environment rollup: one PutMetricData call per publish.
    assert_eq!(sink.put_metric_data_calls(), 2);

    let since = SystemClock.now() - 3_600_000;
    let lead = store
        .measurements("GuardrailLeadTime", since, SystemClock.now() + 1)
        .await
        .expect("records");
    assert_eq!(lead.len(), 1);
    assert_eq!(lead[0].value, 1500.0);
    assert_eq!(lead[0].dimensions["guardrail_id"], "s3-bucket-public-read");
    let stored = store
        .event(&EventRef {
            aggregate_id: "arn:aws:s3:::fixture-bucket".into(),
            event_id: "fixture-passed-1".into(),
        })
        .await
        .expect("read")
        .expect("stored");
    assert!(stored.todo.is_empty() && stored.due.is_none());
    assert_eq!(stored.done.len(), 2);
}

#[tokio::test]
async fn integration_the_ingest_handler_rejects_a_fixture_without_aggregate_and_stores_nothing() {
    let Some((service, store, sink)) = local_service("handler-rejected", Settings::default()).await
    else {
        return;
    };

    let error = handle_event(
        &service,
        &fixture("rejected-no-aggregate.json"),
        Some("GuardrailPassed"),
    )
    .await
    .unwrap_err();
    assert!(!error.retryable);
    assert!(
        error.message.contains("detail.aggregate_id: missing"),
        "{error}"
    );
    assert_eq!(
        store.request_count(),
        0,
        "a rejected event never reaches the store"
    );
    assert_eq!(sink.put_metric_data_calls(), 0);

    // The original Python shape is accepted as it is.
    let response = handle_event(
        &service,
        &fixture("project-requested-original-shape.json"),
        Some("ProjectRequested"),
    )
    .await
    .expect("original shape");
    assert_eq!(response["event_type"], "ProjectRequested");
    assert_eq!(response["aggregate_id"], "fixture-project");
}
