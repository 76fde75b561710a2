//! Settle: publish every data point whose lateness window has passed. One
//! invocation sweeps the `due` shards of its [`Sweep`] ([`crate::shard`]);
//! parallel invocations take disjoint sweeps, so they do not compete for the
//! same events. Within a round, the span reads of the claimed events are in
//! flight together ([`SETTLE_CONCURRENCY`], see `publish.rs`). Claims keep
//! exactly-once whatever overlaps (a stale sweep, a retried invocation).

use super::{FlightController, IngestError, SettleReport};
use crate::ports::{Clock, EventStore, MetricSink};
use crate::shard::Sweep;

/// Events claimed and published per round.
const SETTLE_BATCH: usize = 100;
/// Span reads (timeline queries) one invocation has in flight together.
pub const SETTLE_CONCURRENCY: usize = 16;

impl<S: EventStore, M: MetricSink, C: Clock> FlightController<S, M, C> {
    /// Publishes every data point whose lateness window has passed, in every shard.
    pub async fn settle(&self) -> Result<SettleReport, IngestError> {
        self.settle_sweep(Sweep::ALL).await
    }

    /// Publishes the data points due in the shards of `sweep`, a round of
    /// [`SETTLE_BATCH`] events at a time, until none is left that is not
    /// someone else's. Stops at the first failure (what was recorded stays).
    pub async fn settle_sweep(&self, sweep: Sweep) -> Result<SettleReport, IngestError> {
        let mut report = SettleReport::default();
        loop {
            let due = self
                .store
                .due_in(sweep, self.clock.now(), SETTLE_BATCH)
                .await?;
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
}
