//! Settle: publish every data point whose lateness window has passed. One
//! invocation sweeps the `due` shards of its [`Sweep`] ([`crate::shard`]);
//! parallel invocations take disjoint sweeps, so they do not compete for the
//! same events. Within a round, the span reads of the claimed events are in
//! flight together ([`SETTLE_CONCURRENCY`], see `publish.rs`); rounds
//! overlap two at a time: the next round is found, claimed and measured
//! while this one is sent and recorded. A round asks again only the shards
//! that may hold more, and each aggregate gets a budget of write units a
//! second (`pace.rs`). Claims keep exactly-once whatever overlaps (a stale
//! sweep, a retried invocation).

use std::collections::BTreeSet;

use super::pace::Pace;
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
    /// [`SETTLE_BATCH`] events at a time, until no shard asked may hold more
    /// that is not someone else's (what the index shows later is the next
    /// sweep's).
    ///
    /// Two rounds are in flight: while round k is sent and recorded, round
    /// k+1 is found, claimed and its spans read (the next round's calls
    /// start first). Sends and records keep their order, round after round.
    /// Stops at the first failure, with what was recorded kept: when round
    /// k fails, round k+1 is not sent and its leases are released (or
    /// expire); when round k+1 fails, round k is still sent and recorded.
    pub async fn settle_sweep(&self, sweep: Sweep) -> Result<SettleReport, IngestError> {
        let mut report = SettleReport::default();
        let mut pace = Pace::default();
        let shards: Vec<u64> = sweep.shards().collect();
        let mut round = self
            .next_round(&shards, &BTreeSet::new(), &mut pace)
            .await?;
        while let Some((current, open)) = round {
            let held = current.held();
            let next = async {
                if open.is_empty() {
                    // Every shard gave all it had due: nothing to ask again.
                    return Ok(None);
                }
                self.next_round(&open, &held, &mut pace).await
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
    /// show their lease yet) and those of an aggregate out of write units
    /// ([`Pace`]; a round of nothing else waits for them). Returns it with
    /// the shards that may still hold due events after it (the only ones
    /// the round after asks again: a shard whose query returned less than
    /// its page gave all it had due as of that read; what becomes due or
    /// visible later is the next minute's sweep's). None when nothing is
    /// due, everything due is being published by someone else, or the
    /// clock cannot wait for a paced aggregate (a later sweep takes it).
    async fn next_round(
        &self,
        shards: &[u64],
        held: &BTreeSet<EventRef>,
        pace: &mut Pace,
    ) -> Result<Option<(Round, Vec<u64>)>, IngestError> {
        let mut shards = shards.to_vec();
        let (due, open) = loop {
            let now = self.clock.now();
            let DuePage {
                events: mut due,
                mut open,
            } = self
                .store
                .due_page(&shards, now, SETTLE_BATCH + held.len())
                .await?;
            due.retain(|e| !held.contains(&e.reference()));
            let paced = pace.admit(due, SETTLE_BATCH, now);
            for later in paced.waiting.iter().chain(&paced.left) {
                open.insert(due_shard(&later.event.aggregate_id));
            }
            if !paced.admitted.is_empty() || paced.waiting.is_empty() {
                break (paced.admitted, open);
            }
            let wait = pace.wait_for(&paced.waiting, now);
            tracing::debug!(
                waiting = paced.waiting.len(),
                wait_ms = wait,
                "settle: a hot aggregate waits for its write units"
            );
            if !self.clock.pause(wait).await || self.clock.now() <= now {
                return Ok(None);
            }
            shards = open.into_iter().collect();
        };
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
