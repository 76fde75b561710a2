//! Reading an event's timeline: whether it arrived late, and the span before
//! an `end`, page by page (the store charges for every item a query reads).

use std::collections::BTreeSet;

use super::FlightController;
use crate::engine::order_key;
use crate::ports::{
    Clock, Direction, EventStore, MetricSink, StoreError, StoredEvent, TimelineEntry,
};

/// Timeline entries asked for in a first read: most spans are short, and a
/// query is charged for every item it reads, so pages start small and grow.
const TIMELINE_FIRST_PAGE: usize = 4;
/// The largest page asked for.
const TIMELINE_MAX_PAGE: usize = 100;

impl<S: EventStore, M: MetricSink, C: Clock> FlightController<S, M, C> {
    /// Whether a data point this event belongs to was already being published
    /// when it was stored: the next `end` after it, for any span metric it takes
    /// part in, was sealed at or before its arrival.
    pub(super) async fn is_late(&self, record: &StoredEvent) -> Result<bool, StoreError> {
        let Some(plan) = self.catalog.plan(&record.event.event_type) else {
            return Ok(false);
        };
        let mut end_types: BTreeSet<&str> = plan
            .spans
            .iter()
            .filter_map(|(m, _)| self.span_end_type(*m))
            .collect();
        if end_types.is_empty() {
            return Ok(false);
        }
        let mut late = false;
        self.walk_timeline(record, Direction::Forward, |entry| {
            if end_types.remove(entry.event_type.as_str()) {
                late = entry
                    .sealed_at
                    .is_some_and(|sealed| sealed <= record.stored_at);
            }
            late || end_types.is_empty()
        })
        .await?;
        Ok(late)
    }

    pub(super) fn span_end_type(&self, metric: usize) -> Option<&str> {
        self.catalog.metrics[metric].kind.span_end()
    }

    /// The timeline before an `end`, nearest first, back to the previous `end`
    /// of every span metric it completes (or the timeline's start).
    pub(super) async fn read_span(
        &self,
        record: &StoredEvent,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut ends: BTreeSet<&str> = record
            .todo
            .iter()
            .filter_map(|name| self.catalog.metric(name))
            .filter_map(|m| m.kind.span_end())
            .collect();
        let mut entries = Vec::new();
        self.walk_timeline(record, Direction::Backward, |entry| {
            ends.remove(entry.event_type.as_str());
            entries.push(entry.clone());
            ends.is_empty()
        })
        .await?;
        Ok(entries)
    }

    /// Visits the entries of an event's timeline after (`Forward`) or before
    /// (`Backward`) it, nearest first, until `visit` returns true or the
    /// timeline ends. Pages grow from [`TIMELINE_FIRST_PAGE`] to
    /// [`TIMELINE_MAX_PAGE`], so a short span costs a few items read.
    pub(super) async fn walk_timeline(
        &self,
        record: &StoredEvent,
        direction: Direction,
        mut visit: impl FnMut(&TimelineEntry) -> bool,
    ) -> Result<(), StoreError> {
        let Some(timeline) = &record.timeline else {
            return Ok(());
        };
        let mut from = order_key(record.event.time, &record.event.event_id);
        let mut limit = TIMELINE_FIRST_PAGE;
        loop {
            let page = self
                .store
                .timeline(
                    &record.event.aggregate_id,
                    timeline,
                    &from,
                    direction,
                    limit,
                )
                .await?;
            for entry in &page {
                if visit(entry) {
                    return Ok(());
                }
            }
            match page.last() {
                Some(last) if page.len() == limit => from = order_key(last.time, &last.event_id),
                _ => return Ok(()),
            }
            limit = (limit * 4).min(TIMELINE_MAX_PAGE);
        }
    }
}
