//! In-memory implementations of the ports: the store behind `flightctl replay`
//! and the fakes of unit tests. Same contract as the DynamoDB store, the
//! operator ports ([`crate::reads`]) included: the event store here, the
//! operator ports in `reads`, the sink and clock fakes in `fakes`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::catalog::LATE_EVENTS_METRIC;
use crate::engine::{order_key, Measurement};
use crate::envelope::Millis;
use crate::ports::{
    Appended, Completion, Direction, EventRef, EventStore, Lease, StoreError, StoredEvent,
    TimelineEntry,
};
use crate::shard::{due_shard, shard_page, DuePage};

mod fakes;
mod reads;

pub use fakes::{CollectingSink, ManualClock};

#[derive(Default)]
struct State {
    events: BTreeMap<EventRef, StoredEvent>,
    /// (aggregate, timeline, order key) to the event there.
    timelines: BTreeMap<(String, String, String), EventRef>,
    /// (due, event) for every event with a `due`.
    pending: BTreeSet<(Millis, EventRef)>,
    /// The same, by `due` shard (see [`crate::shard`]).
    by_shard: BTreeSet<(u64, Millis, EventRef)>,
    measurements: BTreeMap<(String, EventRef), Measurement>,
    requests: usize,
    entries_read: usize,
    /// Per metric, its distinct partitions (see [`crate::series_budget`]).
    series: BTreeMap<String, BTreeSet<String>>,
}

impl State {
    fn set_due(&mut self, key: &EventRef, due: Option<Millis>) {
        let Some(event) = self.events.get_mut(key) else {
            return;
        };
        let shard = due_shard(&key.aggregate_id);
        if let Some(old) = event.due {
            self.pending.remove(&(old, key.clone()));
            self.by_shard.remove(&(shard, old, key.clone()));
        }
        event.due = due;
        if let Some(due) = due {
            self.pending.insert((due, key.clone()));
            self.by_shard.insert((shard, due, key.clone()));
        }
    }
}

/// An event store in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored event.
    pub fn events(&self) -> Vec<StoredEvent> {
        self.lock().events.values().cloned().collect()
    }

    /// Every measurement record kept beside the events.
    pub fn measurements(&self) -> Vec<Measurement> {
        self.lock().measurements.values().cloned().collect()
    }

    /// How many calls the store has served.
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    /// How many timeline entries the store has returned: the items read.
    pub fn entries_read(&self) -> usize {
        self.lock().entries_read
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn leased(event: &StoredEvent, now: Millis) -> bool {
    event.lease.as_ref().is_some_and(|l| l.until > now)
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        let key = event.reference();
        if let Some(existing) = state.events.get(&key) {
            return Ok(Appended::Duplicate(Box::new(existing.clone())));
        }
        if let Some(timeline) = &event.timeline {
            let order = order_key(event.event.time, &event.event.event_id);
            state.timelines.insert(
                (key.aggregate_id.clone(), timeline.clone(), order),
                key.clone(),
            );
        }
        let due = event.due;
        state.events.insert(
            key.clone(),
            StoredEvent {
                due: None,
                ..event.clone()
            },
        );
        state.set_due(&key, due);
        Ok(Appended::Stored)
    }

    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        let key = |order: &str| {
            (
                aggregate_id.to_string(),
                timeline.to_string(),
                order.to_string(),
            )
        };
        let entry = |r: &EventRef| {
            let e = &state.events[r];
            TimelineEntry {
                event_id: e.event.event_id.clone(),
                event_type: e.event.event_type.clone(),
                time: e.event.time,
                sealed_at: e.sealed_at,
            }
        };
        use std::ops::Bound::{Excluded, Included};
        let entries: Vec<TimelineEntry> = match direction {
            Direction::Forward => state
                .timelines
                .range((Excluded(key(from)), Included(key("~"))))
                .take(limit)
                .map(|(_, r)| entry(r))
                .collect(),
            Direction::Backward => state
                .timelines
                .range((Included(key("")), Excluded(key(from))))
                .rev()
                .take(limit)
                .map(|(_, r)| entry(r))
                .collect(),
        };
        state.entries_read += entries.len();
        Ok(entries)
    }

    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        let Some(stored) = state.events.get_mut(event) else {
            return Err(StoreError {
                message: format!(
                    "no event {} in aggregate {}",
                    event.event_id, event.aggregate_id
                ),
                retryable: false,
            });
        };
        if stored.done.contains(LATE_EVENTS_METRIC) {
            return Ok(());
        }
        stored.todo.insert(LATE_EVENTS_METRIC.to_string());
        if stored.due.is_none() {
            state.set_due(event, Some(due_if_unset));
        }
        Ok(())
    }

    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        Ok(state
            .pending
            .iter()
            .take_while(|(due, _)| *due <= now)
            .map(|(_, r)| &state.events[r])
            .filter(|e| !leased(e, now))
            .take(limit)
            .cloned()
            .collect())
    }

    /// Each shard's page from its index, merged as every store does.
    async fn due_page(
        &self,
        shards: &[u64],
        now: Millis,
        limit: usize,
    ) -> Result<DuePage, StoreError> {
        let page = shard_page(limit, shards.len());
        let mut state = self.lock();
        state.requests += 1;
        let by_shard = shards
            .iter()
            .map(|&shard| {
                let first = (shard, Millis::MIN, EventRef::default());
                let found = state
                    .by_shard
                    .range(first..)
                    .take_while(|(s, due, _)| *s == shard && *due <= now)
                    .filter(|(_, _, r)| !leased(&state.events[r], now))
                    .take(page)
                    .map(|(_, _, r)| state.events[r].clone())
                    .collect();
                (shard, found)
            })
            .collect();
        Ok(DuePage::merge(by_shard, page, limit))
    }

    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        let mut claimed = Vec::new();
        for expected in events {
            let r = &expected.reference();
            let Some(event) = state.events.get_mut(r) else {
                continue;
            };
            if event.due.is_none() || leased(event, now) || event.todo != expected.todo {
                continue;
            }
            event.lease = Some(lease.clone());
            event.sealed_at.get_or_insert(now);
            claimed.push(r.clone());
        }
        Ok(claimed)
    }

    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        for completion in completions {
            let Some(event) = state.events.get_mut(&completion.event) else {
                continue;
            };
            if event.lease.as_ref().map(|l| l.token.as_str()) != Some(completion.token.as_str()) {
                continue;
            }
            for metric in &completion.finished {
                event.todo.remove(metric);
                event.done.insert(metric.clone());
            }
            event.lease = None;
            let empty = event.todo.is_empty();
            if empty {
                state.set_due(&completion.event, None);
            }
            for m in &completion.measurements {
                state
                    .measurements
                    .insert((m.metric.clone(), completion.event.clone()), m.clone());
            }
        }
        Ok(())
    }

    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        for r in events {
            if let Some(event) = state.events.get_mut(r) {
                if event.lease.as_ref().is_some_and(|l| l.token == token) {
                    event.lease = None;
                }
            }
        }
        Ok(())
    }

    async fn admit_series(
        &self,
        metric: &str,
        series: &str,
        budget: u32,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        let known = state.series.entry(metric.to_string()).or_default();
        if known.contains(series) || known.len() < budget as usize {
            known.insert(series.to_string());
            return Ok(true);
        }
        Ok(false)
    }
}
