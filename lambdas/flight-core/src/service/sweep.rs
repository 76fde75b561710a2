//! Settle: publish every data point whose lateness window has passed. One
//! invocation sweeps the `due` shards of its [`Sweep`] ([`crate::shard`]);
//! parallel invocations take disjoint sweeps, so they do not compete for the
//! same events. Within a round, the span reads of the claimed events are in
//! flight together ([`SETTLE_CONCURRENCY`], see `publish.rs`); rounds
//! overlap two at a time: the next round is found, claimed and measured
//! while this one is sent and recorded. Claims keep exactly-once whatever
//! overlaps (a stale sweep, a retried invocation).

use std::collections::BTreeSet;

use super::publish::Round;
use super::{FlightController, IngestError, SettleReport};
use crate::ports::{Clock, EventRef, EventStore, MetricSink};
use crate::shard::{due_shard, DuePage, Sweep};

/// Events claimed and published per round.
const SETTLE_BATCH: usize = 100;
/// Span reads (timeline queries) one invocation has in flight together.
pub const SETTLE_CONCURRENCY: usize = 32;

impl<S: EventStore, M: MetricSink, C: Clock> FlightController<S, M, C> {
    /// Publishes every data point whose lateness window has passed, in every shard.
    pub async fn settle(&self) -> Result<SettleReport, IngestError> {
        self.settle_sweep(Sweep::ALL).await
    }

    /// Publishes the data points due in the shards of `sweep`, a round of
    /// [`SETTLE_BATCH`] events at a time, until none is left that is not
    /// someone else's.
    ///
    /// Two rounds are in flight: while round k is sent and recorded, round
    /// k+1 is found, claimed and its spans read (the next round's calls
    /// start first). Sends and records keep their order, round after round.
    /// Stops at the first failure, with what was recorded kept: when round
    /// k fails, round k+1 is not sent and its leases are released (or
    /// expire); when round k+1 fails, round k is still sent and recorded.
    pub async fn settle_sweep(&self, sweep: Sweep) -> Result<SettleReport, IngestError> {
        let mut report = SettleReport::default();
        let shards: Vec<u64> = sweep.shards().collect();
        let mut round = self.next_round(&shards, &BTreeSet::new()).await?;
        while let Some((current, open)) = round {
            let held = current.held();
            let next = async {
                if open.is_empty() {
                    // Every shard gave all it had due: nothing to ask again.
                    return Ok(None);
                }
                self.next_round(&open, &held).await
            };
            let (next, sent) = futures_util::future::join(next, self.send_round(current)).await;
            match sent {
                Ok(sent) => report.absorb(sent),
                Err(error) => {
                    if let Ok(Some((next, _))) = &next {
                        self.release_round(next).await;
                    }
                    return Err(error);
                }
            }
            round = next?;
        }
        Ok(report)
    }

    /// Finds, claims and measures the next round in `shards`, leaving out
    /// the events of the round in flight (`held`: the `due` index may not
    /// show their lease yet). Returns it with the shards that may still hold
    /// due events after it (the only ones the round after asks again: a
    /// shard whose query returned less than its page gave all it had due as
    /// of that read; what becomes due or visible later is the next minute's
    /// sweep's). None when nothing is due, or everything due is being
    /// published by someone else.
    async fn next_round(
        &self,
        shards: &[u64],
        held: &BTreeSet<EventRef>,
    ) -> Result<Option<(Round, Vec<u64>)>, IngestError> {
        let DuePage {
            events: mut due,
            mut open,
        } = self
            .store
            .due_page(shards, self.clock.now(), SETTLE_BATCH + held.len())
            .await?;
        due.retain(|e| !held.contains(&e.reference()));
        for left in due.iter().skip(SETTLE_BATCH) {
            open.insert(due_shard(&left.event.aggregate_id));
        }
        due.truncate(SETTLE_BATCH);
        if due.is_empty() {
            return Ok(None);
        }
        let claimed = self.claim(due).await?;
        if claimed.is_empty() {
            return Ok(None);
        }
        let round = self.measure_round(claimed).await?;
        Ok(Some((round, open.into_iter().collect())))
    }
}

impl SettleReport {
    /// Adds what another round did.
    fn absorb(&mut self, other: SettleReport) {
        self.events += other.events;
        self.published.extend(other.published);
        self.unsent.extend(other.unsent);
        self.refused.extend(other.refused);
    }
}
