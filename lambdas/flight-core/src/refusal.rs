//! Defence in depth at publish: a chunk the metric sink *refuses* (CloudWatch
//! answers a client error other than throttling: the data itself is wrong,
//! and no retry can get past it) is split in halves, and halves of halves,
//! until the refused data points are isolated. Those are recorded in the
//! store as [`Delivery::Refused`] through the ordinary completion (so no new
//! store request and no new record kind), logged with the sink's message, and
//! counted in [`REFUSED_DATA_POINTS_METRIC`]; every other data point of the
//! chunk is published and recorded as usual, within the same sweep.
//!
//! Throttling, 5xx and network failures stay [`PublishFailure::Retryable`]:
//! what was accepted before such a failure is recorded, the rest is released
//! for the next sweep, and the sweep fails as before.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::{counter, Delivery, Measurement};
use crate::envelope::Millis;
use crate::ports::{Clock, Completion, EventStore, MetricSink, SinkError, StoredEvent};
use crate::service::{FlightController, IngestError, SettleReport};

/// The operational metric counting data points the metric sink refused,
/// one series per metric (dimensions `Environment`, `Metric`).
pub const REFUSED_DATA_POINTS_METRIC: &str = "RefusedDataPoints";
/// The dimension of [`REFUSED_DATA_POINTS_METRIC`] naming the refused metric.
pub const METRIC_DIMENSION: &str = "Metric";

/// Why a publish failed, as far as what to do next goes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishFailure {
    /// The sink refused the data (a client error other than throttling):
    /// retrying the same data cannot succeed; split it to find the culprit.
    #[error("refused: {0}")]
    Refused(SinkError),
    /// Anything else (throttling, 5xx, network): trying again may succeed.
    #[error(transparent)]
    Retryable(SinkError),
}

impl PublishFailure {
    /// The sink error, whatever the kind.
    pub fn into_sink_error(self) -> SinkError {
        match self {
            PublishFailure::Refused(e) | PublishFailure::Retryable(e) => e,
        }
    }
}

/// One data point of a chunk: which completion it belongs to, and which of its measurements.
type Point = (usize, usize);

/// What the bisection found for each point.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Accepted,
    Refused(String),
}

/// The [`REFUSED_DATA_POINTS_METRIC`] data points counting `refused`, one per metric.
pub fn refused_counts(
    refused: &[Measurement],
    environment: Option<&str>,
    now: Millis,
) -> Vec<Measurement> {
    let mut per_metric: BTreeMap<&str, usize> = BTreeMap::new();
    for m in refused {
        *per_metric.entry(m.metric.as_str()).or_default() += 1;
    }
    per_metric
        .into_iter()
        .map(|(metric, count)| {
            counter(
                REFUSED_DATA_POINTS_METRIC,
                count as f64,
                now,
                (METRIC_DIMENSION, metric),
                environment,
            )
        })
        .collect()
}

impl<S: EventStore, M: MetricSink, C: Clock> FlightController<S, M, C> {
    /// Publishes a chunk the sink refused as a whole (`refusal`): bisects it
    /// down to the refused data points, records the chunk (refused points as
    /// [`Delivery::Refused`]), counts the refusals, and releases what a
    /// retryable failure on the way left unsent (with `rest`, the claimed
    /// events not yet sent), failing then as a plain publish failure does.
    pub(crate) async fn isolate_refused(
        &self,
        chunk: Vec<(&StoredEvent, Completion)>,
        rest: &[StoredEvent],
        refusal: SinkError,
        report: &mut SettleReport,
    ) -> Result<(), IngestError> {
        let points: Vec<Point> = chunk
            .iter()
            .enumerate()
            .flat_map(|(c, (_, completion))| {
                completion
                    .measurements
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.delivery == Delivery::Published)
                    .map(move |(i, _)| (c, i))
            })
            .collect();
        let measurement = |&(c, i): &Point| chunk[c].1.measurements[i].clone();
        let mut outcome: BTreeMap<Point, Outcome> = BTreeMap::new();
        let mut suspects = vec![(points, refusal.message)];
        let mut failure = None;
        'bisect: while let Some((group, message)) = suspects.pop() {
            if group.len() == 1 {
                outcome.insert(group[0], Outcome::Refused(message));
                continue;
            }
            let (left, right) = group.split_at(group.len() / 2);
            for half in [left, right] {
                let batch: Vec<Measurement> = half.iter().map(measurement).collect();
                match self.sink().publish_or_refuse(&batch).await {
                    Ok(()) => outcome.extend(half.iter().map(|p| (*p, Outcome::Accepted))),
                    Err(PublishFailure::Refused(e)) => suspects.push((half.to_vec(), e.message)),
                    Err(PublishFailure::Retryable(e)) => {
                        failure = Some(e);
                        break 'bisect;
                    }
                }
            }
        }
        self.record_isolated(chunk, rest, &outcome, failure, report)
            .await
    }

    /// Records what the bisection decided; releases the rest if it failed.
    async fn record_isolated(
        &self,
        chunk: Vec<(&StoredEvent, Completion)>,
        rest: &[StoredEvent],
        outcome: &BTreeMap<Point, Outcome>,
        failure: Option<SinkError>,
        report: &mut SettleReport,
    ) -> Result<(), IngestError> {
        let mut completions = Vec::new();
        let mut unfinished = Vec::new();
        let mut refused = Vec::new();
        for (c, (record, mut completion)) in chunk.into_iter().enumerate() {
            // A data point neither accepted nor refused keeps its metric in `todo`.
            let mut pending: BTreeSet<String> = BTreeSet::new();
            let mut kept = Vec::new();
            for (i, mut m) in std::mem::take(&mut completion.measurements)
                .into_iter()
                .enumerate()
            {
                match outcome.get(&(c, i)) {
                    _ if m.delivery != Delivery::Published => {}
                    Some(Outcome::Accepted) => {}
                    Some(Outcome::Refused(message)) => {
                        tracing::warn!(
                            metric = %m.metric,
                            aggregate_id = %m.aggregate_id,
                            event_id = %m.event_id,
                            dimensions = ?m.dimensions,
                            value = m.value,
                            refusal = %message,
                            "data point refused by the metric sink: recorded as refused, not retried"
                        );
                        m.delivery = Delivery::Refused;
                        m.refusal = Some(message.clone());
                        refused.push(m.clone());
                    }
                    None => {
                        pending.insert(m.metric.clone());
                        continue;
                    }
                }
                kept.push(m);
            }
            completion.measurements = kept;
            completion
                .finished
                .retain(|metric| !pending.contains(metric));
            if completion.finished.is_empty() {
                unfinished.push(record);
            } else {
                completions.push(completion);
            }
        }
        if !completions.is_empty() {
            self.store().complete(&completions).await?;
        }
        for m in completions.into_iter().flat_map(|c| c.measurements) {
            match m.delivery {
                Delivery::Published => report.published.push(m),
                Delivery::Refused => {}
                _ => report.unsent.push(m),
            }
        }
        if !refused.is_empty() {
            let counts = refused_counts(
                &refused,
                self.settings().environment.as_deref(),
                self.clock().now(),
            );
            if let Err(e) = self.sink().publish(&counts).await {
                tracing::warn!(error = %e, refused = refused.len(), "could not count the refused data points");
            }
        }
        report.refused.extend(refused);
        let Some(error) = failure else {
            return Ok(());
        };
        for record in unfinished.into_iter().chain(rest) {
            if let Some(lease) = &record.lease {
                if let Err(e) = self
                    .store()
                    .release(&[record.reference()], &lease.token)
                    .await
                {
                    tracing::warn!(error = %e, "could not release a lease after a failed publish; it will expire");
                }
            }
        }
        Err(error.into())
    }
}
