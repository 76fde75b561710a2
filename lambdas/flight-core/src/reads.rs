//! Operator ports: what `flightctl report` and `flightctl backfill` need of
//! the event store beyond [`EventStore`], which the functions use (the
//! measurement records, the series each metric has published, scans and
//! backfill claims). The
//! in-memory store ([`crate::memory::MemoryStore`]) is their contract; the
//! DynamoDB store (flight-aws) implements them on the same table.

use async_trait::async_trait;

use crate::engine::Measurement;
use crate::envelope::Millis;
use crate::ports::{EventRef, EventStore, Lease, StoreError, StoredEvent};

/// The measurement records kept beside the events (a report reads them).
#[async_trait]
pub trait MeasurementLog: Send + Sync {
    /// The measurement records of `metric` stamped in `[since, until)`, in
    /// report order ([`crate::engine::sort_measurements`]). May lag a little
    /// behind the latest writes.
    async fn measurements_between(
        &self,
        metric: &str,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError>;
}

/// The distinct partitions (CloudWatch series) the metrics have published,
/// as admitted by [`EventStore::admit_series`] (see [`crate::series_budget`]).
#[async_trait]
pub trait SeriesLog: Send + Sync {
    /// How many distinct partitions `metric` has published (0 for a metric
    /// without partitions or none yet).
    async fn series_count(&self, metric: &str) -> Result<usize, StoreError>;
}

/// Told how a scan goes: items read so far, events found so far.
pub type ScanProgress<'a> = &'a mut (dyn FnMut(u64, usize) + Send);

/// What a backfill needs of the store: every event of some types, the
/// measurement records, a claim on an event for one metric, and the
/// [`EventStore`] methods that publish under a lease (`complete`, `release`).
#[async_trait]
pub trait BackfillStore: EventStore + MeasurementLog {
    /// Where the events are, for people (`table fc-dev-events`).
    fn location(&self) -> String;

    /// Every stored event of these types (none when `event_types` is empty),
    /// in no particular order. It may read everything the store holds, so it
    /// is for an operator's occasional backfill, not for a hot path;
    /// `progress` is told how far it got as it goes.
    async fn scan_events(
        &self,
        event_types: &[&str],
        progress: ScanProgress<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Claims an event's data point of `metric` for a backfill: adds `metric`
    /// to its `todo` and takes the lease, provided the event exists, is not
    /// pending with the settle function (no `due`, so settle never sees the
    /// claim), `metric` is not `done`, and no unexpired lease is held at
    /// `now`. `false` when any of that fails. Finish with
    /// [`EventStore::complete`] (which moves `metric` to `done` and keeps the
    /// measurement record), or give up with [`EventStore::release`]; a claim
    /// left behind by a crash is taken over once its lease expired.
    async fn claim_backfill(
        &self,
        event: &EventRef,
        metric: &str,
        lease: &Lease,
        now: Millis,
    ) -> Result<bool, StoreError>;
}
