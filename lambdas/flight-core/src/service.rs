//! The use cases: ingest an event, and settle (publish) the data points whose
//! lateness window has passed. Both run over the ports, so the Lambda
//! functions, `flightctl replay` and the tests share this one implementation.
//!
//! Exactly-once publishing: an event's pending data points (`todo`) are
//! published under a lease (a conditional claim in the store), then recorded
//! as done. A crash before the record leaves the lease to expire and the work
//! is redone; only a crash between the metric sink accepting the data and the
//! record being written can publish twice (see the README's Reliability notes).

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::catalog::{Catalog, LATE_EVENTS_METRIC};
use crate::engine::{
    completions, data_point, immediate_value, is_span, late_measurement, order_key, span_value,
    timeline_id, Delivery, Measurement,
};
use crate::envelope::{Event, Millis, Rejection};
use crate::ports::{
    Appended, Clock, Completion, Direction, EventStore, Lease, MetricSink, SinkError, StoreError,
    StoredEvent, TimelineEntry,
};

/// Entries read per timeline request.
/// Timeline entries asked for in a first read: most spans are short, and a
/// query is charged for every item it reads, so pages start small and grow.
const TIMELINE_FIRST_PAGE: usize = 4;
/// The largest page asked for.
const TIMELINE_MAX_PAGE: usize = 100;
/// Events settled per round.
const SETTLE_BATCH: usize = 100;
/// Data points sent and recorded together; one `PutMetricData` call holds 1000.
pub const PUBLISH_CHUNK: usize = 1000;
/// CloudWatch accepts data points up to 14 days old...
pub const CLOUDWATCH_MAX_AGE: Millis = 14 * 24 * 3600 * 1000;
/// ...and up to 2 hours ahead.
pub const CLOUDWATCH_MAX_AHEAD: Millis = 2 * 3600 * 1000;

/// Whether CloudWatch takes a data point stamped `timestamp` at `now`: from
/// [`CLOUDWATCH_MAX_AGE`] before to [`CLOUDWATCH_MAX_AHEAD`] after.
pub fn cloudwatch_delivery(timestamp: Millis, now: Millis) -> Delivery {
    if timestamp < now - CLOUDWATCH_MAX_AGE {
        Delivery::TooOld
    } else if timestamp > now + CLOUDWATCH_MAX_AHEAD {
        Delivery::TooNew
    } else {
        Delivery::Published
    }
}

/// How the service behaves; read from the environment by the binaries.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The `Environment` dimension of every data point, if any.
    pub environment: Option<String>,
    /// How long after an event is stored its data points wait for stragglers.
    pub lateness_window: Millis,
    /// How long a claim to publish holds; longer than any one publish takes.
    pub lease: Millis,
    /// Keep data points outside CloudWatch's accepted range out of the sink.
    pub enforce_cloudwatch_range: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            environment: None,
            lateness_window: 300_000,
            lease: 120_000,
            enforce_cloudwatch_range: true,
        }
    }
}

/// Why ingesting failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The event is invalid; retrying cannot help. It belongs in the dead-letter path.
    #[error("rejected: {0}")]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl IngestError {
    /// Whether the same event may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        match self {
            IngestError::Rejected(_) => false,
            IngestError::Store(e) => e.retryable,
            IngestError::Sink(_) => true,
        }
    }
}

/// What ingesting one event did.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestReport {
    pub event_id: String,
    pub event_type: String,
    pub aggregate_id: String,
    /// The event had been stored before (a redelivery or a retried PutEvents).
    pub duplicate: bool,
    /// It arrived after a data point it belongs to was published.
    pub late: bool,
    /// Data points published now (when the lateness window is zero).
    pub published: Vec<Measurement>,
    /// When its data points settle, if they wait.
    pub due: Option<Millis>,
}

/// What one settle run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettleReport {
    /// Events whose data points were published.
    pub events: usize,
    /// Measurements sent to the sink.
    pub published: Vec<Measurement>,
    /// Measurements kept but not sent (outside CloudWatch's range).
    pub unsent: Vec<Measurement>,
    /// Measurements the sink refused on their own, recorded as refused (see [`crate::refusal`]).
    pub refused: Vec<Measurement>,
}

/// Flight Controller's use cases over a store, a metric sink and a clock.
pub struct FlightController<S, M, C> {
    catalog: Arc<Catalog>,
    store: S,
    sink: M,
    clock: C,
    settings: Settings,
    /// Boxed: a controller is moved around whole (e.g. in enums).
    known_series: Box<crate::series_budget::KnownSeries>,
}

impl<S: EventStore, M: MetricSink, C: Clock> FlightController<S, M, C> {
    pub fn new(catalog: Arc<Catalog>, store: S, sink: M, clock: C, settings: Settings) -> Self {
        Self {
            catalog,
            store,
            sink,
            clock,
            settings,
            known_series: Default::default(),
        }
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn sink(&self) -> &M {
        &self.sink
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The partitions this process has seen admitted to their series budget.
    pub(crate) fn known_series(&self) -> &crate::series_budget::KnownSeries {
        &self.known_series
    }

    /// Ingests one EventBridge event: validates it, appends it idempotently,
    /// notes whether it is late, and publishes what has already settled.
    /// `expected_type` is the event type this function serves, if it serves one.
    pub async fn ingest(
        &self,
        raw: &Value,
        expected_type: Option<&str>,
    ) -> Result<IngestReport, IngestError> {
        let event = Event::from_eventbridge(raw, &self.catalog)?;
        if let Some(expected) = expected_type {
            let serves = self.catalog.event_type(expected).map(|t| t.name.as_str());
            if serves != Some(event.event_type.as_str()) {
                return Err(Rejection {
                    field: "detail.event_type".into(),
                    reason: format!(
                        "`{}` events do not belong to this function, which serves `{expected}`; check the EventBridge rule's pattern",
                        event.event_type
                    ),
                }
                .into());
            }
        }
        let now = self.clock.now();
        let record = self.new_record(event, now)?;
        let (mut record, duplicate) = match self.store.append(&record).await? {
            Appended::Stored => (record, false),
            Appended::Duplicate(existing) => (*existing, true),
        };

        let late = self.is_late(&record).await?;
        if late
            && !record.done.contains(LATE_EVENTS_METRIC)
            && !record.todo.contains(LATE_EVENTS_METRIC)
        {
            self.store.mark_late(&record.reference(), now).await?;
            record.todo.insert(LATE_EVENTS_METRIC.into());
            record.due.get_or_insert(now);
        }

        let mut published = Vec::new();
        if record.due.is_some_and(|due| due <= now) {
            // A new record was claimed as it was written; a stored one must be claimed now.
            let claimed = if duplicate || record.lease.is_none() {
                self.claim(vec![record.clone()]).await?
            } else {
                vec![record.clone()]
            };
            if !claimed.is_empty() {
                published = self.publish(claimed).await?.published;
            }
        }
        Ok(IngestReport {
            event_id: record.event.event_id.clone(),
            event_type: record.event.event_type.clone(),
            aggregate_id: record.event.aggregate_id.clone(),
            duplicate,
            late,
            published,
            due: record.due.filter(|due| *due > now),
        })
    }

    /// Publishes every data point whose lateness window has passed.
    pub async fn settle(&self) -> Result<SettleReport, IngestError> {
        let mut report = SettleReport::default();
        loop {
            let due = self.store.due(self.clock.now(), SETTLE_BATCH).await?;
            if due.is_empty() {
                break;
            }
            let claimed = self.claim(due).await?;
            if claimed.is_empty() {
                // Everything due is being published by someone else.
                break;
            }
            report.events += claimed.len();
            let outcome = self.publish(claimed).await?;
            report.published.extend(outcome.published);
            report.unsent.extend(outcome.unsent);
            report.refused.extend(outcome.refused);
        }
        Ok(report)
    }

    fn new_record(&self, event: Event, now: Millis) -> Result<StoredEvent, Rejection> {
        let plan = self.catalog.plan(&event.event_type);
        let timeline = match plan.and_then(|p| p.timeline.as_ref()) {
            Some(fields) => {
                let mut partition = Vec::with_capacity(fields.len());
                for field in fields {
                    let value = event.payload.get(field).map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    let Some(value) = value else {
                        return Err(Rejection {
                            field: format!("detail.payload.{field}"),
                            reason: "missing; the event's timeline is partitioned by it".into(),
                        });
                    };
                    partition.push((field.clone(), value));
                }
                Some(timeline_id(&partition))
            }
            None => None,
        };
        let todo = completions(&self.catalog, &event.event_type);
        let due = (!todo.is_empty()).then_some(now + self.settings.lateness_window);
        let lease = due.filter(|due| *due <= now).map(|_| Lease {
            token: new_token(),
            until: now + self.settings.lease,
        });
        Ok(StoredEvent {
            event,
            stored_at: now,
            timeline,
            todo,
            done: BTreeSet::new(),
            due,
            sealed_at: lease.as_ref().map(|_| now),
            lease,
        })
    }

    /// Whether a data point this event belongs to was already being published
    /// when it was stored: the next `end` after it, for any span metric it takes
    /// part in, was sealed at or before its arrival.
    async fn is_late(&self, record: &StoredEvent) -> Result<bool, StoreError> {
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

    fn span_end_type(&self, metric: usize) -> Option<&str> {
        match &self.catalog.metrics[metric].kind {
            crate::catalog::MetricKind::Duration { end, .. }
            | crate::catalog::MetricKind::Occurrences { end, .. } => Some(end.as_str()),
            _ => None,
        }
    }

    /// Claims events for publishing; returns those this process now holds.
    async fn claim(&self, events: Vec<StoredEvent>) -> Result<Vec<StoredEvent>, StoreError> {
        let now = self.clock.now();
        let lease = Lease {
            token: new_token(),
            until: now + self.settings.lease,
        };
        let won: BTreeSet<_> = self
            .store
            .claim(&events, &lease, now)
            .await?
            .into_iter()
            .collect();
        Ok(events
            .into_iter()
            .filter(|e| won.contains(&e.reference()))
            .map(|mut e| {
                e.lease = Some(lease.clone());
                e.sealed_at.get_or_insert(now);
                e
            })
            .collect())
    }

    /// Computes, sends and records the pending data points of claimed events,
    /// in chunks of at most [`PUBLISH_CHUNK`] data points, each recorded as done
    /// as soon as the sink accepted it: a failure part-way leaves only the
    /// unsent chunks to retry, so a retry never sends accepted data again.
    async fn publish(&self, claimed: Vec<StoredEvent>) -> Result<SettleReport, IngestError> {
        let now = self.clock.now();
        let mut report = SettleReport::default();
        let mut chunk: Vec<(&StoredEvent, Completion)> = Vec::new();
        let mut chunk_points = 0;
        for (index, record) in claimed.iter().enumerate() {
            let mut measurements = self.measure(record).await?;
            for m in &mut measurements {
                m.delivery = self.delivery(m.timestamp, now);
                if m.delivery != Delivery::Published {
                    tracing::warn!(
                        metric = %m.metric,
                        aggregate_id = %m.aggregate_id,
                        event_id = %m.event_id,
                        delivery = m.delivery.as_str(),
                        "data point outside CloudWatch's accepted range: kept in the store, not sent"
                    );
                }
            }
            self.apply_series_budget(&mut measurements).await?;
            let sendable = measurements
                .iter()
                .filter(|m| m.delivery == Delivery::Published)
                .count();
            if chunk_points + sendable > PUBLISH_CHUNK && !chunk.is_empty() {
                let full = std::mem::take(&mut chunk);
                chunk_points = 0;
                self.send_chunk(full, &claimed[index..], &mut report)
                    .await?;
            }
            chunk_points += sendable;
            chunk.push((
                record,
                Completion {
                    event: record.reference(),
                    token: record
                        .lease
                        .as_ref()
                        .map(|l| l.token.clone())
                        .unwrap_or_default(),
                    finished: record.todo.clone(),
                    measurements,
                },
            ));
        }
        self.send_chunk(chunk, &[], &mut report).await?;
        report.events = claimed.len();
        Ok(report)
    }

    /// Sends one chunk and records it; on a sink failure, releases the leases
    /// of this chunk and of the claimed events not yet sent (`rest`).
    async fn send_chunk(
        &self,
        chunk: Vec<(&StoredEvent, Completion)>,
        rest: &[StoredEvent],
        report: &mut SettleReport,
    ) -> Result<(), IngestError> {
        let points: Vec<Measurement> = chunk
            .iter()
            .flat_map(|(_, c)| c.measurements.iter())
            .filter(|m| m.delivery == Delivery::Published)
            .cloned()
            .collect();
        if !points.is_empty() {
            let sent = self.sink.publish_or_refuse(&points).await;
            if let Err(crate::refusal::PublishFailure::Refused(refusal)) = sent {
                return self.isolate_refused(chunk, rest, refusal, report).await;
            }
            if let Err(error) = sent.map_err(crate::refusal::PublishFailure::into_sink_error) {
                // Let a retry take the work at once rather than after the lease.
                for record in chunk.iter().map(|(r, _)| *r).chain(rest) {
                    if let Some(lease) = &record.lease {
                        if let Err(e) = self
                            .store
                            .release(&[record.reference()], &lease.token)
                            .await
                        {
                            tracing::warn!(error = %e, "could not release a lease after a failed publish; it will expire");
                        }
                    }
                }
                return Err(error.into());
            }
        }
        let completions: Vec<Completion> = chunk.into_iter().map(|(_, c)| c).collect();
        self.store.complete(&completions).await?;
        for m in completions.into_iter().flat_map(|c| c.measurements) {
            if m.delivery == Delivery::Published {
                report.published.push(m);
            } else {
                report.unsent.push(m);
            }
        }
        Ok(())
    }

    fn delivery(&self, timestamp: Millis, now: Millis) -> Delivery {
        if self.settings.enforce_cloudwatch_range {
            cloudwatch_delivery(timestamp, now)
        } else {
            Delivery::Published
        }
    }

    /// The data points of a claimed event's `todo`, computed from the store as it is now.
    async fn measure(&self, record: &StoredEvent) -> Result<Vec<Measurement>, StoreError> {
        let environment = self.settings.environment.as_deref();
        let event = &record.event;
        let mut before: Option<Vec<TimelineEntry>> = None;
        let mut out = Vec::new();
        for name in &record.todo {
            if name == LATE_EVENTS_METRIC {
                out.push(late_measurement(event, record.stored_at, environment));
                continue;
            }
            let Some(metric) = self.catalog.metric(name) else {
                tracing::warn!(metric = %name, event_id = %event.event_id, "metric no longer in the catalog: dropped");
                continue;
            };
            let value = if is_span(metric) {
                if before.is_none() {
                    before = Some(self.read_span(record).await?);
                }
                let entries = before.as_deref().unwrap_or_default();
                span_value(
                    &metric.kind,
                    event.time,
                    entries.iter().map(|e| (e.event_type.as_str(), e.time)),
                )
            } else {
                immediate_value(metric, event)
            };
            if let Some(value) = value {
                out.push(data_point(metric, event, value, environment));
            }
        }
        Ok(out)
    }

    /// The timeline before an `end`, nearest first, back to the previous `end`
    /// of every span metric it completes (or the timeline's start).
    async fn read_span(&self, record: &StoredEvent) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut ends: BTreeSet<&str> = record
            .todo
            .iter()
            .filter_map(|name| self.catalog.metric(name))
            .filter(|m| is_span(m))
            .filter_map(|m| match &m.kind {
                crate::catalog::MetricKind::Duration { end, .. }
                | crate::catalog::MetricKind::Occurrences { end, .. } => Some(end.as_str()),
                _ => None,
            })
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
    async fn walk_timeline(
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

/// A token unique to this claim: a process-random seed with a counter.
fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!(
        "{:016x}{:04x}",
        hasher.finish(),
        COUNTER.load(Ordering::Relaxed) & 0xffff
    )
}
