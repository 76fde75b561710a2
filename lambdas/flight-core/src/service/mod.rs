//! The use cases: ingest an event, and settle (publish) the data points whose
//! lateness window has passed. Both run over the ports, so the Lambda
//! functions, `flightctl replay` and the tests share this one implementation.
//!
//! Exactly-once publishing: an event's pending data points (`todo`) are
//! published under a lease (a conditional claim in the store), then recorded
//! as done. A crash before the record leaves the lease to expire and the work
//! is redone; only a crash between the metric sink accepting the data and the
//! record being written can publish twice (see the README's Reliability notes).
//! Settle sweeps the `due` work by shard ([`crate::shard`]), several shards
//! at once, and several sweeps may run in parallel (docs/scale.md).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

mod known;
mod pace;
mod publish;
mod sweep;
mod timeline;

pub use pace::{write_units, AGGREGATE_WRITE_UNITS};
pub use sweep::SETTLE_CONCURRENCY;

use crate::catalog::{Catalog, LATE_EVENTS_METRIC};
use crate::engine::{completions, timeline_id, Delivery, Measurement};
use crate::envelope::{Event, Millis, Rejection};
use crate::ports::{
    Appended, Clock, EventStore, Lease, MetricSink, SinkError, StoreError, StoredEvent,
};

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
        let event = Event::from_eventbridge_serving(raw, &self.catalog, expected_type)?;
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
}

/// A token unique to this claim: a random (v4) UUID.
fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}
