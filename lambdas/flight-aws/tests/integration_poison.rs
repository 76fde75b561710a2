//! One bad event never stops the metrics (issue 15), on DynamoDB Local with
//! the strict fake sink: the story of `flight-core/tests/poison_story`
//! (10,000 good events and one whose `guardrail_id` CloudWatch refuses,
//! stored before the door knew the rule). One sweep publishes every good data
//! point exactly once and records the poison's as refused in the table; the
//! next sweep finds nothing to do.

#[path = "../../flight-core/tests/poison_story/mod.rs"]
mod poison_story;

use flight_aws::{DynamoStore, DYNAMODB_ENDPOINT_ENV};
use poison_story::{
    assert_every_good_point_published_once, assert_poison_refused_and_counted, service,
    ten_thousand_good_and_one_poison, GOOD, METRIC, NOW, POISON,
};

/// A store on a new table in DynamoDB Local, or `None` when the integration
/// tests are skipped (`FC_SKIP_INTEGRATION=1`).
async fn new_store() -> Option<DynamoStore> {
    if std::env::var("FC_SKIP_INTEGRATION").is_ok_and(|v| v == "1") {
        eprintln!("integration_poison: skipped (FC_SKIP_INTEGRATION=1)");
        return None;
    }
    let endpoint = std::env::var(DYNAMODB_ENDPOINT_ENV).unwrap_or_else(|_| {
        panic!(
            "{DYNAMODB_ENDPOINT_ENV} is not set; start the local stack first:\n  \
             scripts/services.sh start && eval \"$(scripts/services.sh env)\""
        )
    });
    let config = flight_aws::aws_config(None).await;
    let client = flight_aws::dynamodb_client(&config, Some(&endpoint));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let table = format!("fc-poison-{}", nanos % 1_000_000_000_000);
    DynamoStore::create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table} at {endpoint}: {e}"));
    Some(DynamoStore::new(client, table))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_event_among_ten_thousand_on_dynamodb_is_refused_and_every_good_point_published_once(
) {
    let Some(store) = new_store().await else {
        return;
    };
    let service = ten_thousand_good_and_one_poison(service(store), 16).await;

    let report = service.settle().await.expect("the sweep succeeds");

    assert_eq!(report.events, GOOD + 1);
    assert_eq!(report.published.len(), GOOD);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].dimensions["guardrail_id"], POISON);
    assert_every_good_point_published_once(service.sink());
    let records = service
        .store()
        .measurements(METRIC, 0, NOW + 24 * 3_600_000)
        .await
        .unwrap();
    assert_poison_refused_and_counted(&service, &records).await;

    let next = service.settle().await.expect("the next sweep succeeds");
    assert_eq!((next.events, next.refused.len()), (0, 0));
}
