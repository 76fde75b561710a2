//! One bad event never stops the metrics (issue 15), in memory with the
//! strict fake sink (the story: `flight_testkit::poison`): every good data point is
//! published exactly once within one sweep, the poison one is refused,
//! recorded as refused and counted, and no sweep fails twice for it;
//! throttling on the way stays retryable and loses or repeats nothing.

use std::sync::Arc;

use flight_core::memory::MemoryStore;
use flight_testkit::poison::{
    assert_every_good_point_published_once, assert_poison_refused_and_counted, service,
    ten_thousand_good_and_one_poison, Service, GOOD, METRIC, POISON,
};

async fn scenario() -> Arc<Service<MemoryStore>> {
    ten_thousand_good_and_one_poison(service(MemoryStore::new()), 1).await
}

fn records(service: &Service<MemoryStore>) -> Vec<flight_core::Measurement> {
    let mut records = service.store().measurements();
    records.retain(|m| m.metric == METRIC);
    records
}

#[tokio::test]
async fn a_poison_event_among_ten_thousand_is_refused_and_every_good_point_published_once_in_one_sweep(
) {
    let service = scenario().await;

    let report = service.settle().await.expect("the sweep succeeds");

    assert_eq!(report.events, GOOD + 1);
    assert_eq!(report.published.len(), GOOD);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].dimensions["guardrail_id"], POISON);
    assert_every_good_point_published_once(service.sink());
    assert_poison_refused_and_counted(&service, &records(&service)).await;
    // Isolating one data point in its chunk of 100 takes a few calls, not 100.
    assert!(
        service.sink().refused_calls() <= 8,
        "{} refused calls",
        service.sink().refused_calls()
    );

    let next = service.settle().await.expect("the next sweep succeeds");
    assert_eq!((next.events, next.refused.len()), (0, 0));
}

#[tokio::test]
async fn throttling_while_isolating_the_poison_fails_one_sweep_and_the_next_finishes_the_work() {
    let service = scenario().await;
    // Call 1 is the poisoned chunk (refused), 2 its half with the poison
    // (refused), 3 the other half (accepted and recorded); 4 is throttled.
    service.sink().throttle_calls([4]);

    let failed = service
        .settle()
        .await
        .expect_err("throttling fails the sweep");
    assert!(failed.is_retryable(), "{failed}");
    assert!(failed.to_string().contains("Throttling"), "{failed}");
    assert_eq!(
        records(&service).len(),
        50,
        "the half accepted before the throttling is recorded, not sent again"
    );

    let report = service.settle().await.expect("the next sweep succeeds");
    assert_eq!(report.refused.len(), 1);
    assert_every_good_point_published_once(service.sink());
    assert_poison_refused_and_counted(&service, &records(&service)).await;
    let again = service.settle().await.expect("and the one after");
    assert_eq!(again.events, 0);
}

#[tokio::test]
async fn throttling_of_a_whole_chunk_is_retried_never_refused() {
    let service = scenario().await;
    service.sink().throttle_calls([1]);

    service
        .settle()
        .await
        .expect_err("the throttled sweep fails");
    assert!(records(&service).is_empty(), "nothing recorded");

    service.settle().await.expect("the retry succeeds");
    assert_every_good_point_published_once(service.sink());
    assert_poison_refused_and_counted(&service, &records(&service)).await;
}
