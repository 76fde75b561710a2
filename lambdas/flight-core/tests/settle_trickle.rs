//! A sweep asks again only the shards that may hold more (issue 13): a
//! shard whose due query returned less than its page gave everything it had
//! due, so the next round leaves it out, and a sweep of a trickle sends one
//! due query per shard, not two. Everything due is still published once.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::ports::{
    Appended, Completion, Direction, EventRef, EventStore, Lease, StoreError, StoredEvent,
    TimelineEntry,
};
use flight_core::shard::{due_shard, DuePage, DUE_SHARDS};
use flight_core::{FlightController, Millis};
use flight_testkit::clock::{HOUR, MINUTE};
use flight_testkit::fixtures::{catalog, event, expected, service, summary};

/// The in-memory store, remembering the shards each due query asked.
#[derive(Default)]
struct Asked {
    inner: MemoryStore,
    queries: Mutex<Vec<Vec<u64>>>,
}

impl Asked {
    fn queries(&self) -> Vec<Vec<u64>> {
        self.queries.lock().unwrap().clone()
    }
}

#[async_trait]
impl EventStore for Asked {
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        self.inner.append(event).await
    }
    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        (self.inner)
            .timeline(aggregate_id, timeline, from, direction, limit)
            .await
    }
    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError> {
        self.inner.mark_late(event, due_if_unset).await
    }
    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.due(now, limit).await
    }
    async fn due_page(
        &self,
        shards: &[u64],
        now: Millis,
        limit: usize,
    ) -> Result<DuePage, StoreError> {
        self.queries.lock().unwrap().push(shards.to_vec());
        self.inner.due_page(shards, now, limit).await
    }
    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        self.inner.claim(events, lease, now).await
    }
    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        self.inner.complete(completions).await
    }
    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        self.inner.release(events, token).await
    }
    async fn admit_series(
        &self,
        metric: &str,
        series: &str,
        budget: u32,
    ) -> Result<bool, StoreError> {
        self.inner.admit_series(metric, series, budget).await
    }
}

type Service = FlightController<Arc<Asked>, Arc<CollectingSink>, Arc<ManualClock>>;

/// `projects` projects requested and created (their lead times due an hour
/// on), each named by `name`; returns the service and the events.
async fn projects_due(
    projects: usize,
    name: impl Fn(usize) -> String,
) -> (Service, Vec<serde_json::Value>) {
    let like = service(5 * MINUTE);
    let (settings, clock) = (like.settings().clone(), like.clock().clone());
    let service = FlightController::new(
        catalog(),
        Arc::new(Asked::default()),
        Arc::new(CollectingSink::new()),
        clock.clone(),
        settings,
    );
    let mut events = Vec::new();
    for i in 0..projects {
        let project = name(i);
        events.push(event("ProjectRequested", &project, 0, &format!("r{i}")));
        events.push(event("ProjectCreated", &project, 90, &format!("c{i}")));
    }
    for e in &events {
        service.ingest(e, None).await.expect("accepted");
    }
    clock.advance(HOUR);
    (service, events)
}

#[tokio::test]
async fn a_sweep_of_a_trickle_asks_each_shard_once() {
    let (service, events) = projects_due(40, |i| format!("project-{i}")).await;

    let report = service.settle().await.expect("settle");

    assert_eq!(report.events, 40);
    assert_eq!(summary(&service.sink().published()), expected(&events));
    let asked = service.store().queries();
    assert_eq!(
        asked.len(),
        1,
        "no second query: every shard gave all it had"
    );
    assert_eq!(asked[0], (0..DUE_SHARDS).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_busy_shard_is_asked_again_until_drained_and_the_others_are_not() {
    // 60 projects in the shard of `project-0` (a full page of 25 and more),
    // and 20 elsewhere: the next rounds ask only the busy shard.
    let busy = due_shard("project-0");
    let mut in_busy = (0..)
        .map(|i| format!("project-{i}"))
        .filter(|p| due_shard(p) == busy);
    let mut elsewhere = (0..)
        .map(|i| format!("project-{i}"))
        .filter(|p| due_shard(p) != busy);
    let names: Vec<String> = (0..80)
        .map(|i| {
            if i < 60 {
                in_busy.next().unwrap()
            } else {
                elsewhere.next().unwrap()
            }
        })
        .collect();
    let (service, events) = projects_due(80, |i| names[i].clone()).await;

    let report = service.settle().await.expect("settle");

    assert_eq!(report.events, 80);
    assert_eq!(summary(&service.sink().published()), expected(&events));
    let asked = service.store().queries();
    assert_eq!(asked[0].len() as u64, DUE_SHARDS);
    assert!(asked.len() > 1, "{asked:?}");
    assert!(
        asked[1..].iter().all(|shards| shards == &[busy]),
        "{asked:?}"
    );
}
