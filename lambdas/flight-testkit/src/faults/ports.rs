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
use flight_core::refusal::PublishFailure;
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

    async fn admit_series(
        &self,
        metric: &str,
        series: &str,
        budget: u32,
    ) -> Result<bool, StoreError> {
        let admit = || self.inner.admit_series(metric, series, budget);
        match self.plan.verdict("admit_series", None) {
            // A lost race on one conditional update: the store's answer stands.
            Verdict::Go | Verdict::Conflict => admit().await,
            Verdict::Refuse(fault) => Err(self.error("admit_series", Some(fault))),
            Verdict::Dead => Err(self.error("admit_series", None)),
            Verdict::EffectThenFail(fault) => {
                let _ = admit().await;
                Err(self.error("admit_series", Some(fault)))
            }
        }
    }
}

#[async_trait]
impl<M: MetricSink> MetricSink for FaultySink<M> {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        self.publish_or_refuse(measurements)
            .await
            .map_err(PublishFailure::into_sink_error)
    }

    /// The plan's faults are transient (retryable); what gets through goes to
    /// the inner sink's own `publish_or_refuse`, so a strict sink's refusals
    /// of the data itself stay refusals.
    async fn publish_or_refuse(&self, measurements: &[Measurement]) -> Result<(), PublishFailure> {
        let error = |fault| {
            PublishFailure::Retryable(SinkError {
                message: self.plan.message("publish", fault),
            })
        };
        match self.plan.verdict("publish", Some(measurements)) {
            Verdict::Go => self.inner.publish_or_refuse(measurements).await,
            Verdict::Refuse(fault) => Err(error(Some(fault))),
            Verdict::Conflict => Err(error(Some(Fault::Conflict))),
            Verdict::Dead => Err(error(None)),
            Verdict::EffectThenFail(fault) => {
                let accepted = if fault == Fault::Partial {
                    &measurements[..measurements.len() / 2]
                } else {
                    measurements
                };
                let _ = self.inner.publish_or_refuse(accepted).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use flight_core::strict_sink::StrictSink;

    fn datum(guardrail_id: &str) -> Measurement {
        Measurement {
            metric: "GuardrailActivationCount".into(),
            value: 1.0,
            unit: "Count".into(),
            timestamp: NOW - MINUTE,
            aggregate_id: "res-1".into(),
            event_id: "e-1".into(),
            dimensions: [("guardrail_id".to_string(), guardrail_id.to_string())].into(),
            delivery: flight_core::Delivery::Published,
            test_run_id: None,
            refusal: None,
        }
    }

    fn faulty_strict_sink() -> FaultySink<StrictSink> {
        FaultySink {
            inner: StrictSink::new(Arc::new(ManualClock::new(NOW))),
            plan: FaultPlan::new(),
        }
    }

    #[tokio::test]
    async fn the_inner_sinks_refusal_of_the_data_passes_through_as_a_refusal() {
        let sink = faulty_strict_sink();
        let failed = sink.publish_or_refuse(&[datum("tab\there")]).await;
        assert!(
            matches!(&failed, Err(PublishFailure::Refused(e)) if e.message.contains("control character")),
            "{failed:?}"
        );
        assert_eq!(sink.publish_or_refuse(&[datum("g-1")]).await, Ok(()));
    }

    #[tokio::test]
    async fn a_planned_fault_on_a_poisoned_call_stays_retryable() {
        let sink = faulty_strict_sink();
        sink.plan.arm(0, Fault::Error);
        let failed = sink.publish_or_refuse(&[datum("tab\there")]).await;
        assert!(
            matches!(&failed, Err(PublishFailure::Retryable(e)) if e.message.contains("503")),
            "{failed:?}"
        );
    }

    #[tokio::test]
    async fn admit_series_goes_through_the_plan() {
        let store = FaultyStore {
            inner: flight_core::memory::MemoryStore::new(),
            plan: FaultPlan::new(),
        };
        store.plan.arm(1, Fault::Error);
        assert_eq!(store.admit_series("M", "a", 1).await, Ok(true));
        let failed = store.admit_series("M", "b", 1).await;
        assert!(failed.as_ref().is_err_and(|e| e.retryable), "{failed:?}");
        assert_eq!(
            store.admit_series("M", "b", 1).await,
            Ok(false),
            "over the budget of 1"
        );
        assert_eq!(store.plan.log(), ["admit_series"; 3]);
    }
}
