//! The real store, timed: an [`EventStore`] that forwards every call and
//! times those that send exactly one request, for `flight-bench calibrate`'s
//! latency ratios.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use flight_aws::Operation;
use flight_core::ports::{
    Appended, Completion, Direction, EventRef, Lease, StoreError, StoredEvent, TimelineEntry,
};
use flight_core::shard::DuePage;
use flight_core::{EventStore, Millis};

/// The duration of a port call that sends one request of `operation`.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub operation: Operation,
    /// Sent after the lateness window passed (by settle).
    pub settling: bool,
    pub actions: usize,
    pub took: Duration,
}

/// An event store that times the port calls which send exactly one request
/// (append: PutItem; timeline: one Query page; a claim or completion of 2 to
/// 100 actions: one TransactWriteItems), and forwards every call.
pub struct Timed<S> {
    inner: S,
    settling: AtomicBool,
    samples: Mutex<Vec<Sample>>,
}

impl<S> Timed<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            settling: AtomicBool::new(false),
            samples: Mutex::new(Vec::new()),
        }
    }

    /// Samples from now on are settle's.
    pub fn settling(&self) {
        self.settling.store(true, Ordering::Relaxed);
    }

    /// The samples taken so far.
    pub fn take_samples(&self) -> Vec<Sample> {
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn record(&self, operation: Operation, actions: usize, started: Instant) {
        let sample = Sample {
            operation,
            settling: self.settling.load(Ordering::Relaxed),
            actions,
            took: started.elapsed(),
        };
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sample);
    }
}

/// A claim or completion of `actions` is one TransactWriteItems when it has
/// 2 to 100 actions (the store's transaction limit).
fn one_transaction(actions: usize) -> bool {
    (2..=100).contains(&actions)
}

#[async_trait]
impl<S: EventStore> EventStore for Timed<S> {
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        let started = Instant::now();
        let appended = self.inner.append(event).await?;
        if matches!(appended, Appended::Stored) {
            self.record(Operation::PutItem, 0, started);
        }
        Ok(appended)
    }

    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let started = Instant::now();
        let entries = (self.inner)
            .timeline(aggregate_id, timeline, from, direction, limit)
            .await?;
        self.record(Operation::Query, 0, started);
        Ok(entries)
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
        self.inner.due_page(shards, now, limit).await
    }

    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        let started = Instant::now();
        let claimed = self.inner.claim(events, lease, now).await?;
        if one_transaction(events.len()) {
            self.record(Operation::TransactWriteItems, events.len(), started);
        }
        Ok(claimed)
    }

    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        let actions: usize = completions.iter().map(|c| 1 + c.measurements.len()).sum();
        let started = Instant::now();
        self.inner.complete(completions).await?;
        if one_transaction(actions) {
            self.record(Operation::TransactWriteItems, actions, started);
        }
        Ok(())
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
