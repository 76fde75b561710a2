//! The faulty ports: [`FaultyStore`] and [`FaultySink`] wrap an
//! [`EventStore`] and a [`MetricSink`] and fail their calls as one shared
//! [`FaultPlan`] says; [`faulty_service`] builds the service over them.

use std::sync::Arc;

use async_trait::async_trait;
use flight_core::engine::Measurement;
use flight_core::memory::{CollectingSink, ManualClock};
use flight_core::ports::{
    Appended, Completion, Direction, EventRef, EventStore, Lease, MetricSink, SinkError,
    StoreError, StoredEvent, TimelineEntry,
};
use flight_core::{FlightController, Millis};

use super::plan::{Fault, FaultPlan, Verdict};
use crate::clock::{MINUTE, NOW};

/// An [`EventStore`] that fails as its [`FaultPlan`] says.
pub struct FaultyStore<S> {
    /// The store the calls go to when they go through.
    pub inner: S,
    /// The plan shared with the sink.
    pub plan: Arc<FaultPlan>,
}

/// A [`MetricSink`] that fails as its [`FaultPlan`] says.
pub struct FaultySink<M> {
    /// The sink the data points go to when the call goes through.
    pub inner: M,
    /// The plan shared with the store.
    pub plan: Arc<FaultPlan>,
}

impl<S: EventStore> FaultyStore<S> {
    fn error(&self, call: &str, fault: Option<Fault>) -> StoreError {
        StoreError {
            message: self.plan.message(call, fault),
            retryable: true,
        }
    }
}

/// Runs a store call under the plan: `full` makes it, `part` makes its first
/// half (for [`Fault::Partial`]), `conflict` is the answer of a lost race.
macro_rules! guarded {
    ($self:ident, $call:literal, $full:expr, $part:expr, $conflict:expr) => {
        match $self.plan.verdict($call, None) {
            Verdict::Go => $full.await,
            Verdict::Conflict => Ok($conflict),
            Verdict::Refuse(fault) => Err($self.error($call, Some(fault))),
            Verdict::Dead => Err($self.error($call, None)),
            Verdict::EffectThenFail(fault) => {
                if fault == Fault::Partial {
                    let _ = $part.await;
                } else {
                    let _ = $full.await;
                }
                Err($self.error($call, Some(fault)))
            }
        }
    };
}

#[async_trait]
impl<S: EventStore> EventStore for FaultyStore<S> {
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        guarded!(
            self,
            "append",
            self.inner.append(event),
            self.inner.append(event),
            Appended::Stored
        )
    }

    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let read = || {
            self.inner
                .timeline(aggregate_id, timeline, from, direction, limit)
        };
        guarded!(self, "timeline", read(), read(), Vec::new())
    }

    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError> {
        guarded!(
            self,
            "mark_late",
            self.inner.mark_late(event, due_if_unset),
            self.inner.mark_late(event, due_if_unset),
            ()
        )
    }

    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        guarded!(
            self,
            "due",
            self.inner.due(now, limit),
            self.inner.due(now, limit),
            Vec::new()
        )
    }

    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        guarded!(
            self,
            "claim",
            self.inner.claim(events, lease, now),
            self.inner.claim(&events[..events.len() / 2], lease, now),
            Vec::new()
        )
    }

    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        guarded!(
            self,
            "complete",
            self.inner.complete(completions),
            self.inner.complete(&completions[..completions.len() / 2]),
            ()
        )
    }

    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        guarded!(
            self,
            "release",
            self.inner.release(events, token),
            self.inner.release(&events[..events.len() / 2], token),
            ()
        )
    }
}

#[async_trait]
impl<M: MetricSink> MetricSink for FaultySink<M> {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        let error = |fault| SinkError {
            message: self.plan.message("publish", fault),
        };
        match self.plan.verdict("publish", Some(measurements)) {
            Verdict::Go => self.inner.publish(measurements).await,
            Verdict::Refuse(fault) => Err(error(Some(fault))),
            Verdict::Conflict => Err(error(Some(Fault::Conflict))),
            Verdict::Dead => Err(error(None)),
            Verdict::EffectThenFail(fault) => {
                let accepted = if fault == Fault::Partial {
                    &measurements[..measurements.len() / 2]
                } else {
                    measurements
                };
                let _ = self.inner.publish(accepted).await;
                Err(error(Some(fault)))
            }
        }
    }
}

/// The service over faulty ports, a collecting sink and a manual clock.
pub type FaultyService<S> =
    FlightController<FaultyStore<S>, FaultySink<Arc<CollectingSink>>, Arc<ManualClock>>;

/// The service over `store` behind a [`FaultyStore`], a collecting sink
/// behind a [`FaultySink`] (one plan for both, with no fault armed), and a
/// manual clock at [`NOW`]; two-minute leases.
pub fn faulty_service<S: EventStore>(store: S, window: Millis) -> FaultyService<S> {
    let plan = FaultPlan::new();
    FlightController::new(
        crate::fixtures::catalog(),
        FaultyStore {
            inner: store,
            plan: plan.clone(),
        },
        FaultySink {
            inner: Arc::new(CollectingSink::new()),
            plan,
        },
        Arc::new(ManualClock::new(NOW)),
        flight_core::Settings {
            environment: Some("test".into()),
            lateness_window: window,
            lease: 2 * MINUTE,
            enforce_cloudwatch_range: true,
        },
    )
}
