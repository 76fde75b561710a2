//! Publishing under a lease: claim events, compute their pending data points,
//! send them in chunks and record each chunk as done once the sink took it.

use std::collections::BTreeSet;

use futures_util::stream::{self, StreamExt};

use super::{
    cloudwatch_delivery, new_token, FlightController, IngestError, SettleReport, PUBLISH_CHUNK,
    SETTLE_CONCURRENCY,
};
use crate::catalog::LATE_EVENTS_METRIC;
use crate::engine::{
    data_point, immediate_value, is_span, late_measurement, span_value, Delivery, Measurement,
};
use crate::envelope::Millis;
use crate::ports::{
    Clock, Completion, EventRef, EventStore, Lease, MetricSink, StoreError, StoredEvent,
    TimelineEntry,
};

impl<S: EventStore, M: MetricSink, C: Clock> FlightController<S, M, C> {
    /// Claims events for publishing; returns those this process now holds.
    pub(super) async fn claim(
        &self,
        events: Vec<StoredEvent>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
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

    /// Computes, sends and records the pending data points of claimed events
    /// ([`FlightController::measure_round`], then [`FlightController::send_round`]).
    pub(super) async fn publish(
        &self,
        claimed: Vec<StoredEvent>,
    ) -> Result<SettleReport, IngestError> {
        let round = self.measure_round(claimed).await?;
        self.send_round(round).await
    }

    /// Computes the data points of claimed events: their span reads in
    /// flight together ([`SETTLE_CONCURRENCY`], in order), each data point's
    /// delivery, and the series budget. Sends nothing; on a failure the
    /// leases expire and the work is redone.
    pub(super) async fn measure_round(
        &self,
        claimed: Vec<StoredEvent>,
    ) -> Result<Round, IngestError> {
        let now = self.clock.now();
        let mut completions = Vec::with_capacity(claimed.len());
        {
            let reads: Vec<_> = claimed.iter().map(|record| self.measure(record)).collect();
            let mut measured = stream::iter(reads).buffered(SETTLE_CONCURRENCY);
            for record in &claimed {
                let Some(measurements) = measured.next().await else {
                    break;
                };
                let mut measurements = measurements?;
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
                completions.push(Completion {
                    event: record.reference(),
                    token: record
                        .lease
                        .as_ref()
                        .map(|l| l.token.clone())
                        .unwrap_or_default(),
                    finished: record.todo.clone(),
                    measurements,
                });
            }
        }
        Ok(Round {
            claimed,
            completions,
        })
    }

    /// Sends and records a measured round, in chunks of at most
    /// [`PUBLISH_CHUNK`] data points, each recorded as done as soon as the
    /// sink accepted it: a failure part-way leaves only the unsent chunks to
    /// retry (their leases released), so a retry never sends accepted data again.
    pub(super) async fn send_round(&self, round: Round) -> Result<SettleReport, IngestError> {
        let Round {
            claimed,
            completions,
        } = round;
        let mut report = SettleReport::default();
        let mut chunk: Vec<(&StoredEvent, Completion)> = Vec::new();
        let mut chunk_points = 0;
        for (index, (record, completion)) in claimed.iter().zip(completions).enumerate() {
            let sendable = completion
                .measurements
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
            chunk.push((record, completion));
        }
        self.send_chunk(chunk, &[], &mut report).await?;
        report.events = claimed.len();
        Ok(report)
    }

    /// Gives up the leases of a round that will not be sent (best effort:
    /// a lease that cannot be released expires), so that a retry takes its
    /// events at once.
    pub(super) async fn release_round(&self, round: &Round) {
        let claimed: Vec<&StoredEvent> = round.claimed.iter().collect();
        release_all(&self.store, &claimed).await;
    }

    /// Sends one chunk and records it; on a sink failure, releases the leases
    /// of this chunk and of the claimed events not yet sent (`rest`).
    pub(super) async fn send_chunk(
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
                let unsent: Vec<&StoredEvent> = chunk.iter().map(|(r, _)| *r).chain(rest).collect();
                release_all(&self.store, &unsent).await;
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

    pub(super) fn delivery(&self, timestamp: Millis, now: Millis) -> Delivery {
        if self.settings.enforce_cloudwatch_range {
            cloudwatch_delivery(timestamp, now)
        } else {
            Delivery::Published
        }
    }

    /// The data points of a claimed event's `todo`, computed from the store as it is now.
    pub(super) async fn measure(
        &self,
        record: &StoredEvent,
    ) -> Result<Vec<Measurement>, StoreError> {
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
}

/// A round of claimed events and their computed data points (one
/// [`Completion`] per event, in the same order), not yet sent.
pub(super) struct Round {
    claimed: Vec<StoredEvent>,
    completions: Vec<Completion>,
}

impl Round {
    /// The events it holds under its lease.
    pub(super) fn held(&self) -> BTreeSet<EventRef> {
        self.claimed.iter().map(StoredEvent::reference).collect()
    }
}

/// Releases each event's lease, one call per event as before; a lease that
/// cannot be released is logged and left to expire.
async fn release_all<S: EventStore>(store: &S, records: &[&StoredEvent]) {
    for record in records {
        if let Some(lease) = &record.lease {
            if let Err(e) = store.release(&[record.reference()], &lease.token).await {
                tracing::warn!(error = %e, "could not release a lease after a failed publish; it will expire");
            }
        }
    }
}
