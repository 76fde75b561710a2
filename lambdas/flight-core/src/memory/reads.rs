//! The in-memory store's operator ports ([`crate::reads`]): measurement
//! records, series and backfill claims, the contract the DynamoDB store's
//! implementations are tested against.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use super::{leased, MemoryStore};
use crate::engine::{sort_measurements, Measurement};
use crate::envelope::Millis;
use crate::ports::{EventRef, Lease, StoreError, StoredEvent};
use crate::reads::{BackfillStore, MeasurementLog, ScanProgress, SeriesLog};

impl MemoryStore {
    /// Per metric, how many distinct partitions it has published.
    pub fn series(&self) -> BTreeMap<String, usize> {
        self.lock()
            .series
            .iter()
            .map(|(metric, known)| (metric.clone(), known.len()))
            .collect()
    }
}

#[async_trait]
impl MeasurementLog for MemoryStore {
    async fn measurements_between(
        &self,
        metric: &str,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        let mut out: Vec<Measurement> = state
            .measurements
            .values()
            .filter(|m| m.metric == metric && (since..until).contains(&m.timestamp))
            .cloned()
            .collect();
        sort_measurements(&mut out);
        Ok(out)
    }
}

#[async_trait]
impl SeriesLog for MemoryStore {
    async fn series_count(&self, metric: &str) -> Result<usize, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        Ok(state.series.get(metric).map_or(0, BTreeSet::len))
    }
}

#[async_trait]
impl BackfillStore for MemoryStore {
    fn location(&self) -> String {
        "the in-memory store".into()
    }

    /// Reads every event and record once, as a table scan does.
    async fn scan_events(
        &self,
        event_types: &[&str],
        progress: ScanProgress<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if event_types.is_empty() {
            return Ok(Vec::new());
        }
        let (found, read) = {
            let mut state = self.lock();
            state.requests += 1;
            let found: Vec<StoredEvent> = state
                .events
                .values()
                .filter(|e| event_types.contains(&e.event.event_type.as_str()))
                .cloned()
                .collect();
            (found, state.events.len() + state.measurements.len())
        };
        progress(read as u64, found.len());
        Ok(found)
    }

    async fn claim_backfill(
        &self,
        event: &EventRef,
        metric: &str,
        lease: &Lease,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        state.requests += 1;
        let Some(stored) = state.events.get_mut(event) else {
            return Ok(false);
        };
        if stored.due.is_some() || stored.done.contains(metric) || leased(stored, now) {
            return Ok(false);
        }
        stored.todo.insert(metric.to_string());
        stored.lease = Some(lease.clone());
        Ok(true)
    }
}
