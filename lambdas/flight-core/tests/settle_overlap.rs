//! A sweep overlaps its rounds (issue 13): round k+1 is found, claimed and
//! its spans read while round k is sent and recorded. What the overlap must
//! not change: rounds are sent in order, a failure stops the sweep with what
//! was recorded kept, and whatever round k+1 held when round k failed is
//! published later, exactly once (released at once, or after its lease when
//! the process died).
//!
//! 250 lead times are due: three rounds (100, 100, 50). Faults are injected
//! at a chosen call of the settle ([`flight_testkit::faults`]).

use std::sync::Arc;

use flight_core::memory::MemoryStore;
use flight_core::ports::EventStore;
use flight_core::Clock;
use flight_testkit::clock::{HOUR, MINUTE};
use flight_testkit::faults::{faulty_service, Fault, FaultyService};
use flight_testkit::fixtures::{event, summary, Point};

type Service = FaultyService<Arc<MemoryStore>>;

const DUE: usize = 250;

/// A service with 250 projects requested and created, their lead times due;
/// returns it and the number of calls ingesting took.
async fn lead_times_due() -> (Service, usize) {
    let service = faulty_service(Arc::new(MemoryStore::new()), 5 * MINUTE);
    for i in 0..DUE {
        let project = format!("project-{i}");
        for e in [
            event("ProjectRequested", &project, 0, &format!("r{i}")),
            event("ProjectCreated", &project, 90, &format!("c{i}")),
        ] {
            service.ingest(&e, None).await.expect("accepted");
        }
    }
    service.clock().advance(HOUR);
    let ingested = service.store().plan.calls();
    (service, ingested)
}

/// The calls a settle without faults makes, in order.
async fn calls_of_a_clean_settle() -> Vec<&'static str> {
    let (service, ingested) = lead_times_due().await;
    service.settle().await.expect("settle");
    service.store().plan.log()[ingested..].to_vec()
}

/// What a settle without faults publishes: every lead time once.
async fn published_without_faults() -> Vec<Point> {
    let (service, _) = lead_times_due().await;
    service.settle().await.expect("settle");
    let published = summary(&service.sink().inner.published());
    assert_eq!(published.len(), DUE);
    published
}

/// Where (counted from the settle's first call) the `n`th call of `op` falls.
fn nth(calls: &[&str], op: &str, n: usize) -> usize {
    calls
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == op)
        .nth(n - 1)
        .map(|(at, _)| at)
        .unwrap_or_else(|| panic!("no call {n} of {op} in {calls:?}"))
}

/// The service with `fault` armed at the settle's call `at`.
async fn with_fault(at: usize, fault: Fault) -> Service {
    let (service, ingested) = lead_times_due().await;
    service.store().plan.arm(ingested + at, fault);
    service
}

/// Events due now that no lease holds: what a retry can take at once.
async fn free_to_take(service: &Service) -> usize {
    let now = service.clock().now();
    service
        .store()
        .inner
        .due(now, usize::MAX)
        .await
        .unwrap()
        .len()
}

fn published(service: &Service) -> Vec<Point> {
    summary(&service.sink().inner.published())
}

#[tokio::test]
async fn the_next_round_is_claimed_and_read_before_this_round_is_sent() {
    let calls = calls_of_a_clean_settle().await;

    assert!(nth(&calls, "claim", 2) < nth(&calls, "publish", 1));
    assert!(nth(&calls, "timeline", 101) < nth(&calls, "publish", 1));
    assert!(nth(&calls, "claim", 3) < nth(&calls, "publish", 2));
    // Sends and records keep their order, round after round.
    let sends: Vec<&str> = calls
        .iter()
        .copied()
        .filter(|c| matches!(*c, "publish" | "complete"))
        .collect();
    assert_eq!(sends, ["publish", "complete"].repeat(3));
}

#[tokio::test]
async fn a_failed_send_releases_the_next_round_and_the_retry_publishes_everything_once() {
    let calls = calls_of_a_clean_settle().await;
    // CloudWatch fails round 2's PutMetricData while round 3 holds its claim.
    let service = with_fault(nth(&calls, "publish", 2), Fault::Error).await;

    let failed = service.settle().await;

    assert!(failed.is_err());
    assert_eq!(published(&service).len(), 100, "round 1 stays recorded");
    assert_eq!(
        free_to_take(&service).await,
        150,
        "rounds 2 and 3 released: a retry takes them at once"
    );
    let retry = service.settle().await.expect("retry");
    assert_eq!(retry.events, 150);
    assert_eq!(published(&service), published_without_faults().await);
}

#[tokio::test]
async fn a_process_that_dies_while_the_next_round_is_held_leaves_it_to_its_lease() {
    let calls = calls_of_a_clean_settle().await;
    // The invocation stops just before round 2's PutMetricData: round 3 holds its claim.
    let service = with_fault(nth(&calls, "publish", 2), Fault::CrashBefore).await;

    assert!(service.settle().await.is_err());
    service.store().plan.restart();

    assert_eq!(published(&service).len(), 100, "round 1 stays recorded");
    assert_eq!(free_to_take(&service).await, 0, "rounds 2 and 3 leased");
    assert_eq!(service.settle().await.expect("settle").events, 0);
    service.clock().advance(2 * MINUTE + 1);
    assert_eq!(service.settle().await.expect("after the lease").events, 150);
    assert_eq!(published(&service), published_without_faults().await);
}

#[tokio::test]
async fn a_failed_claim_of_the_next_round_still_sends_and_records_this_one() {
    let calls = calls_of_a_clean_settle().await;
    // DynamoDB throttles round 2's claim while round 1 is sent.
    let service = with_fault(nth(&calls, "claim", 2), Fault::Error).await;

    assert!(service.settle().await.is_err());

    assert_eq!(published(&service).len(), 100, "round 1 sent and recorded");
    assert_eq!(free_to_take(&service).await, 150);
    assert_eq!(service.settle().await.expect("retry").events, 150);
    assert_eq!(published(&service), published_without_faults().await);
}

#[tokio::test]
async fn a_failed_span_read_of_the_next_round_leaves_its_claim_to_expire() {
    let calls = calls_of_a_clean_settle().await;
    // Round 2's first span read fails after its claim.
    let second_claim = nth(&calls, "claim", 2);
    let read = second_claim
        + calls[second_claim..]
            .iter()
            .position(|c| *c == "timeline")
            .unwrap();
    let service = with_fault(read, Fault::Error).await;

    assert!(service.settle().await.is_err());

    assert_eq!(published(&service).len(), 100, "round 1 sent and recorded");
    assert_eq!(free_to_take(&service).await, 50, "round 2 still leased");
    service.clock().advance(2 * MINUTE + 1);
    assert_eq!(service.settle().await.expect("after the lease").events, 150);
    assert_eq!(published(&service), published_without_faults().await);
}
