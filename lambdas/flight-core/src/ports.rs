//! Ports: what the domain needs from the outside world, as traits. The AWS
//! adapters (flight-aws) and the in-memory fakes ([`crate::memory`]) implement them.

use std::collections::BTreeSet;

use async_trait::async_trait;
pub use futures_util::future::BoxFuture;

use crate::engine::Measurement;
use crate::envelope::{Event, Millis};
use crate::shard::{due_shard, shard_page, DuePage};

/// An event as the store keeps it, with the state of the data points it completes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub event: Event,
    /// When the store accepted it (the clock of the process that appended it).
    pub stored_at: Millis,
    /// The timeline it sits on (see [`crate::engine::timeline_id`]), if it takes
    /// part in a span metric.
    pub timeline: Option<String>,
    /// Metrics whose data point this event completes and that are not yet published.
    pub todo: BTreeSet<String>,
    /// Metrics whose data point for this event was published or reported.
    pub done: BTreeSet<String>,
    /// When `todo` has settled and may be published; `None` once `todo` is empty.
    pub due: Option<Millis>,
    /// Who is publishing `todo` now, if anyone.
    pub lease: Option<Lease>,
    /// When publishing of this event's data points first began: events stored
    /// after that cannot change them and count as late.
    pub sealed_at: Option<Millis>,
}

impl StoredEvent {
    /// The reference to this event in its store.
    pub fn reference(&self) -> EventRef {
        EventRef {
            aggregate_id: self.event.aggregate_id.clone(),
            event_id: self.event.event_id.clone(),
        }
    }
}

/// A claim to publish an event's data points, valid until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub token: String,
    pub until: Millis,
}

/// The key of an event in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRef {
    pub aggregate_id: String,
    pub event_id: String,
}

/// An event as seen on its timeline: enough to compute span metrics and lateness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub event_id: String,
    pub event_type: String,
    pub time: Millis,
    pub sealed_at: Option<Millis>,
}

/// Which way to read a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards later events.
    Forward,
    /// Towards earlier events.
    Backward,
}

/// The outcome of an append.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// The event is new and now stored as given.
    Stored,
    /// An event with this id was already stored; here it is as stored.
    Duplicate(Box<StoredEvent>),
}

/// Publishing of one event's data points, finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub event: EventRef,
    /// The lease under which it was published.
    pub token: String,
    /// The metrics taken off `todo` (all of it, as it was when claimed).
    pub finished: BTreeSet<String>,
    /// The measurement records to keep beside the event.
    pub measurements: Vec<Measurement>,
}

/// A failure of the store. `retryable` says whether trying again may succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event store: {message}")]
pub struct StoreError {
    pub message: String,
    pub retryable: bool,
}

/// A failure of the metric sink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metric sink: {message}")]
pub struct SinkError {
    pub message: String,
}

/// The event store (DynamoDB in AWS). Every method is idempotent.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores the event unless one with the same id is in its aggregate
    /// (a conditional write on the event id).
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError>;

    /// Up to `limit` entries of a timeline strictly after (`Forward`) or before
    /// (`Backward`) the order key `from`, nearest first; strongly consistent.
    /// `from` may be `""` (before everything) or `"~"` (after everything).
    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError>;

    /// Adds the late-event count to an event's `todo`, unless it is there or
    /// done; sets `due` to `due_if_unset` when the event has none.
    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError>;

    /// Up to `limit` events whose `due` is at or before `now` and whose lease is
    /// absent or expired. May lag a little behind the latest writes.
    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// One due query of each of `shards` (of [`shard_page`] events each),
    /// merged ([`DuePage::merge`]): up to `limit` events whose `due` is at or
    /// before `now` and whose lease is absent or expired, and which shards
    /// may hold more. By default, filtered from [`EventStore::due`].
    async fn due_page(
        &self,
        shards: &[u64],
        now: Millis,
        limit: usize,
    ) -> Result<DuePage, StoreError> {
        let page = shard_page(limit, shards.len());
        let mut by_shard: Vec<(u64, Vec<StoredEvent>)> =
            shards.iter().map(|&s| (s, Vec::new())).collect();
        for e in self.due(now, usize::MAX).await? {
            let shard = due_shard(&e.event.aggregate_id);
            if let Some((_, found)) = by_shard.iter_mut().find(|(s, _)| *s == shard) {
                if found.len() < page {
                    found.push(e);
                }
            }
        }
        Ok(DuePage::merge(by_shard, page, limit))
    }

    /// Claims each event whose `due` is set, whose lease is absent or expired
    /// at `now`, and whose stored `todo` is exactly the given event's `todo`
    /// (so a stale copy from [`EventStore::due`] never republishes what is done):
    /// sets the lease, and `sealed_at` to `now` if unset. Returns those claimed.
    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError>;

    /// Records finished publishing, for events still leased with the completion's
    /// token: moves `finished` from `todo` to `done`, keeps the measurement
    /// records, drops the lease, and clears `due` when `todo` is left empty.
    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError>;

    /// Gives up leases (after a failed publish) so the work can be retried at once.
    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError>;

    /// Adds the partition `series` to `metric`'s distinct partitions unless
    /// that would make more than `budget`; true when it is (now) among them
    /// (see [`crate::series_budget`]). A store that does not track partitions
    /// admits every one, which is what the default does.
    async fn admit_series(
        &self,
        _metric: &str,
        _series: &str,
        _budget: u32,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }
}

/// Where data points go (CloudWatch in AWS).
#[async_trait]
pub trait MetricSink: Send + Sync {
    /// Publishes data points; fails as a whole if any may not have been accepted.
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError>;

    /// Publishes like [`MetricSink::publish`], saying whether a failure is a
    /// refusal of the data itself (see [`crate::refusal`]). By default every
    /// failure may be retried.
    async fn publish_or_refuse(
        &self,
        measurements: &[Measurement],
    ) -> Result<(), crate::refusal::PublishFailure> {
        self.publish(measurements)
            .await
            .map_err(crate::refusal::PublishFailure::Retryable)
    }
}

/// The time now.
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;

    /// Waits `ms` milliseconds of this clock; false when it cannot wait (by
    /// default), and the caller must not count on time passing.
    fn pause(&self, ms: Millis) -> BoxFuture<'_, bool> {
        let _ = ms;
        Box::pin(std::future::ready(false))
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or_default()
    }

    /// Sleeps on the runtime's timer.
    fn pause(&self, ms: Millis) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            tokio::time::sleep(std::time::Duration::from_millis(ms.max(0) as u64)).await;
            true
        })
    }
}

#[async_trait]
impl<T: EventStore + ?Sized> EventStore for std::sync::Arc<T> {
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        (**self).append(event).await
    }
    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        (**self)
            .timeline(aggregate_id, timeline, from, direction, limit)
            .await
    }
    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError> {
        (**self).mark_late(event, due_if_unset).await
    }
    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        (**self).due(now, limit).await
    }
    async fn due_page(
        &self,
        shards: &[u64],
        now: Millis,
        limit: usize,
    ) -> Result<DuePage, StoreError> {
        (**self).due_page(shards, now, limit).await
    }
    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        (**self).claim(events, lease, now).await
    }
    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        (**self).complete(completions).await
    }
    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        (**self).release(events, token).await
    }
    async fn admit_series(
        &self,
        metric: &str,
        series: &str,
        budget: u32,
    ) -> Result<bool, StoreError> {
        (**self).admit_series(metric, series, budget).await
    }
}

#[async_trait]
impl<T: MetricSink + ?Sized> MetricSink for std::sync::Arc<T> {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        (**self).publish(measurements).await
    }
    async fn publish_or_refuse(
        &self,
        measurements: &[Measurement],
    ) -> Result<(), crate::refusal::PublishFailure> {
        (**self).publish_or_refuse(measurements).await
    }
}

impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> Millis {
        (**self).now()
    }
    fn pause(&self, ms: Millis) -> BoxFuture<'_, bool> {
        (**self).pause(ms)
    }
}
