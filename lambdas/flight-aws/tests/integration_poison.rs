//! One bad event never stops the metrics (issue 15), on DynamoDB Local with
//! the strict fake sink: the story of `flight_testkit::poison`
//! (10,000 good events and one whose `guardrail_id` CloudWatch refuses,
//! stored before the door knew the rule). One sweep publishes every good data
//! point exactly once and records the poison's as refused in the table; the
//! next sweep finds nothing to do.

use flight_testkit::aws::new_store;
use flight_testkit::clock::NOW;
use flight_testkit::poison::{
    assert_every_good_point_published_once, assert_poison_refused_and_counted, service,
    ten_thousand_good_and_one_poison, GOOD, METRIC, POISON,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_event_among_ten_thousand_on_dynamodb_is_refused_and_every_good_point_published_once(
) {
    let Some(store) = new_store("integration_poison").await else {
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
