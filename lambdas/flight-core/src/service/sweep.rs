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

use super::known::Known;
use super::pace::Pace;
use super::publish::Round;
use super::{FlightController, IngestError, SettleReport};
use crate::ports::{Clock, EventRef, EventStore, MetricSink};
use crate::shard::Sweep;

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
        let mut known = Known::new(sweep.shards());
        let mut round = self
            .next_round(&mut known, &BTreeSet::new(), &mut pace)
            .await?;
        while let Some(current) = round {
            let held = current.held();
            let next = self.next_round(&mut known, &held, &mut pace);
            let (next, sent) = futures_util::future::join(next, self.send_round(current)).await;
            match sent {
                Ok(sent) => report.absorb(sent),
                Err(error) => {
                    if let Ok(Some(next)) = &next {
                        self.release_round(next).await;
                    }
                    return Err(error);
                }
            }
            round = next?;
        }
        Ok(report)
    }

    /// Finds, claims and measures the next round: the earliest due events
    /// known ([`Known`]: the shards with nothing known that may hold more
    /// are asked first), leaving out the events of the round in flight
    /// (`held`: the `due` index may not show their lease yet) and those of
    /// an aggregate out of write units ([`Pace`]; a round of nothing else
    /// waits for them). None when nothing more is due in the shards asked,
    /// everything due is being published by someone else, or the clock
    /// cannot wait for a paced aggregate (a later sweep takes it).
    async fn next_round(
        &self,
        known: &mut Known,
        held: &BTreeSet<EventRef>,
        pace: &mut Pace,
    ) -> Result<Option<Round>, IngestError> {
        let due = loop {
            let now = self.clock.now();
            let ask = known.to_ask();
            if !ask.is_empty() {
                let page = self
                    .store
                    .due_page(&ask, now, SETTLE_BATCH + held.len())
                    .await?;
                known.file(&ask, page);
            }
            let paced = pace.admit(known.take_all(held), SETTLE_BATCH, now);
            let wait = (paced.admitted.is_empty() && !paced.waiting.is_empty())
                .then(|| pace.wait_for(&paced.waiting, now));
            known.put_back(paced.waiting);
            known.put_back(paced.left);
            let Some(wait) = wait else {
                break paced.admitted;
            };
            tracing::debug!(
                wait_ms = wait,
                "settle: a hot aggregate waits for its write units"
            );
            if !self.clock.pause(wait).await || self.clock.now() <= now {
                return Ok(None);
            }
        };
        if due.is_empty() {
            return Ok(None);
        }
        let claimed = self.claim(due).await?;
        if claimed.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.measure_round(claimed).await?))
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
