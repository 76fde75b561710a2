//! DynamoDB as the load model sees it: the in-memory store behind each
//! [`EventStore`] call, preceded by the requests [`flight_aws::DynamoStore`]
//! sends for that call, each with a latency drawn from [`Latencies`] and the
//! capacity it takes from the partition keys it writes or reads (base table,
//! the `due` index by shard, the by-metric index by metric shard, the series
//! items; [`KeyKind`]). A key holds
//! 1,000 write and 3,000 read units per second, as DynamoDB's per-partition
//! limits do; a request beyond them waits until the key has the units again
//! (what the SDK's retries of a throttled request amount to) and counts as
//! throttled. The mapping of calls to requests is written out in
//! `docs/scale.md` ("What one call costs").

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use flight_aws::dynamo::DUE_QUERIES_IN_FLIGHT;
use flight_aws::item::by_metric_key;
use flight_aws::{Operation, RequestCounts};
use flight_core::memory::MemoryStore;
use flight_core::ports::{
    Appended, Completion, Direction, EventRef, EventStore, Lease, StoreError, StoredEvent,
    TimelineEntry,
};
use flight_core::shard::{due_shard, shard_page, DuePage, Sweep};
use flight_core::Millis;

use super::exec::{Latency, Rng, Sim};

/// Units a partition key serves per second (DynamoDB's per-partition limits).
pub const KEY_WRITE_UNITS: f64 = 1_000.0;
pub const KEY_READ_UNITS: f64 = 3_000.0;
/// Size assumed for an event item (payload, todo/done, lease), in KB: one write unit.
const EVENT_ITEM_KB: f64 = 1.0;
/// Size of a timeline index entry (four projected attributes), in KB.
const TIMELINE_ENTRY_KB: f64 = 0.1;
/// Items in one TransactWriteItems ([`flight_aws::DynamoStore`]'s limit).
const TRANSACTION_ITEMS: usize = 100;

/// The latency of each kind of request.
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    /// PutItem, UpdateItem, GetItem, Query of one page.
    pub single: Latency,
    /// TransactWriteItems: its median grows by `per_item_ms` per action.
    pub transaction: Latency,
    pub per_item_ms: f64,
}

impl Default for Latencies {
    fn default() -> Self {
        Self {
            single: Latency {
                p50_ms: 4.0,
                p99_ms: 15.0,
            },
            transaction: Latency {
                p50_ms: 8.0,
                p99_ms: 30.0,
            },
            per_item_ms: 0.1,
        }
    }
}

/// The kinds of partition key the model charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyKind {
    /// An aggregate's items (events, records, timeline entries).
    Table,
    /// A shard of the `due` index.
    Due,
    /// A shard key of a metric on the `by-metric` index.
    ByMetric,
    /// A metric's series item.
    Series,
}

impl KeyKind {
    const ALL: [KeyKind; 4] = [
        KeyKind::Table,
        KeyKind::Due,
        KeyKind::ByMetric,
        KeyKind::Series,
    ];

    fn name(self) -> &'static str {
        match self {
            KeyKind::Table => "table",
            KeyKind::Due => "due",
            KeyKind::ByMetric => "by-metric",
            KeyKind::Series => "series",
        }
    }
}

/// A partition key: its kind and its value.
type Key = (KeyKind, String);

/// What the modelled table served.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub requests: u64,
    pub write_units: f64,
    pub read_units: f64,
    /// Requests that waited for a partition key's capacity.
    pub throttled: u64,
    /// The requests by operation, as [`flight_aws::DynamoStore::request_counts`]
    /// counts them (`items_read` is not modelled).
    pub operations: RequestCounts,
    /// Write and read units by operation, indexed by `Operation as usize`.
    pub units_by_operation: [(f64, f64); 5],
    /// Of those, by the kind of the key they waited longest for ([`KeyKind::ALL`]'s order).
    pub throttled_by_kind: [u64; 4],
}

impl Usage {
    /// The throttled requests by kind of key, e.g. `due 120, by-metric 0`
    /// (the kinds that throttled; `none` when nothing did).
    pub fn throttled_keys(&self) -> String {
        let kinds: Vec<String> = KeyKind::ALL
            .iter()
            .zip(self.throttled_by_kind)
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{} {n}", kind.name()))
            .collect();
        if kinds.is_empty() {
            "none".into()
        } else {
            kinds.join(", ")
        }
    }
}

/// A partition key's units: tokens refilled at its limit, one second's worth at most.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at_us: i64,
}

#[derive(Default)]
struct Books {
    usage: Usage,
    writes: HashMap<Key, Bucket>,
    reads: HashMap<Key, Bucket>,
}

/// One request: its latency model and the units it takes from which keys.
struct Request {
    operation: Operation,
    /// Actions, for a TransactWriteItems.
    actions: usize,
    latency: Latency,
    writes: Vec<(Key, f64)>,
    reads: Vec<(Key, f64)>,
}

/// The in-memory store behind a latency and limit model of DynamoDB.
pub struct ModeledStore {
    inner: MemoryStore,
    sim: Arc<Sim>,
    latencies: Latencies,
    rng: Mutex<Rng>,
    books: Mutex<Books>,
    completed: std::sync::atomic::AtomicU64,
}

fn base(aggregate: &str) -> Key {
    (KeyKind::Table, aggregate.to_string())
}

fn due_key(aggregate: &str) -> Key {
    (KeyKind::Due, format!("P#{}", due_shard(aggregate)))
}

/// The `by-metric` key of the record of `metric` kept beside `event`: the
/// store's own rule ([`by_metric_key`]).
fn metric_key(metric: &str, event: &EventRef) -> Key {
    (KeyKind::ByMetric, by_metric_key(metric, &event.event_id))
}

impl ModeledStore {
    pub fn new(sim: Arc<Sim>, latencies: Latencies, seed: u64) -> Self {
        Self {
            inner: MemoryStore::new(),
            sim,
            latencies,
            rng: Mutex::new(Rng::new(seed)),
            books: Mutex::new(Books::default()),
            completed: Default::default(),
        }
    }

    /// Completions recorded (one per event settled; a late marker's adds one).
    pub fn completed(&self) -> u64 {
        self.completed.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn usage(&self) -> Usage {
        self.books.lock().unwrap_or_else(|e| e.into_inner()).usage
    }

    /// Sends requests together; waits for the slowest, throttling included.
    async fn send(&self, requests: Vec<Request>) {
        let now = self.sim.now_us();
        let mut slowest = 0;
        {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            let mut books = self.books.lock().unwrap_or_else(|e| e.into_inner());
            for request in requests {
                // The longest wait and the kind of key it was for.
                let mut wait = (0, KeyKind::Table);
                for (key, units) in &request.writes {
                    let w = take(&mut books.writes, key, *units, KEY_WRITE_UNITS, now);
                    wait = wait.max((w, key.0));
                    books.usage.write_units += units;
                }
                for (key, units) in &request.reads {
                    let w = take(&mut books.reads, key, *units, KEY_READ_UNITS, now);
                    wait = wait.max((w, key.0));
                    books.usage.read_units += units;
                }
                let (wait, kind) = wait;
                books.usage.requests += 1;
                count(&mut books.usage, &request);
                if wait > 0 {
                    books.usage.throttled += 1;
                    books.usage.throttled_by_kind[kind as usize] += 1;
                }
                slowest = slowest.max(wait + request.latency.draw(&mut rng));
            }
        }
        self.sim.sleep(slowest).await;
    }

    /// An UpdateItem, or a Query when it reads (PutItem: [`ModeledStore::put`]).
    fn single(&self, writes: Vec<(Key, f64)>, reads: Vec<(Key, f64)>) -> Request {
        Request {
            operation: if reads.is_empty() {
                Operation::UpdateItem
            } else {
                Operation::Query
            },
            actions: 0,
            latency: self.latencies.single,
            writes,
            reads,
        }
    }

    /// A PutItem.
    fn put(&self, writes: Vec<(Key, f64)>) -> Request {
        Request {
            operation: Operation::PutItem,
            ..self.single(writes, Vec::new())
        }
    }

    fn transaction(&self, writes: Vec<(Key, f64)>, actions: usize) -> Request {
        let mut latency = self.latencies.transaction;
        let extra = self.latencies.per_item_ms * actions as f64;
        latency.p50_ms += extra;
        latency.p99_ms += extra;
        Request {
            operation: Operation::TransactWriteItems,
            actions,
            latency,
            writes,
            reads: Vec::new(),
        }
    }
}

/// Counts `request` and its units by its operation.
fn count(usage: &mut Usage, request: &Request) {
    let units = &mut usage.units_by_operation[request.operation as usize];
    units.0 += request.writes.iter().map(|(_, u)| u).sum::<f64>();
    units.1 += request.reads.iter().map(|(_, u)| u).sum::<f64>();
    *usage.operations.of_mut(request.operation) += 1;
    usage.operations.transaction_actions += request.actions as u64;
}

/// Takes `units` from a key's bucket at `now`; returns how long (µs) the
/// request waits for them (0 when the key has them).
fn take(buckets: &mut HashMap<Key, Bucket>, key: &Key, units: f64, rate: f64, now: i64) -> i64 {
    let bucket = buckets.entry(key.clone()).or_insert(Bucket {
        tokens: rate,
        at_us: now,
    });
    let elapsed = (now - bucket.at_us).max(0) as f64 / 1e6;
    bucket.tokens = (bucket.tokens + elapsed * rate).min(rate) - units;
    bucket.at_us = bucket.at_us.max(now);
    if bucket.tokens >= 0.0 {
        0
    } else {
        (-bucket.tokens / rate * 1e6) as i64
    }
}

#[async_trait]
impl EventStore for ModeledStore {
    /// One conditional PutItem: the item, its timeline entry (a local index,
    /// same key) and its `due` index entry.
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        let aggregate = &event.event.aggregate_id;
        let mut writes = vec![(base(aggregate), EVENT_ITEM_KB)];
        if event.timeline.is_some() {
            writes.push((base(aggregate), 1.0));
        }
        if event.due.is_some() {
            writes.push((due_key(aggregate), EVENT_ITEM_KB));
        }
        self.send(vec![self.put(writes)]).await;
        self.inner.append(event).await
    }

    /// Query pages of the timeline index, strongly consistent.
    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let entries = self
            .inner
            .timeline(aggregate_id, timeline, from, direction, limit)
            .await?;
        let units = (entries.len() as f64 * TIMELINE_ENTRY_KB / 4.0)
            .ceil()
            .max(1.0);
        let read = vec![(base(aggregate_id), units)];
        self.send(vec![self.single(Vec::new(), read)]).await;
        Ok(entries)
    }

    /// One UpdateItem (the item and its `due` entry).
    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError> {
        let writes = vec![
            (base(&event.aggregate_id), EVENT_ITEM_KB),
            (due_key(&event.aggregate_id), EVENT_ITEM_KB),
        ];
        self.send(vec![self.single(writes, Vec::new())]).await;
        self.inner.mark_late(event, due_if_unset).await
    }

    /// [`EventStore::due_page`] of every shard.
    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let shards: Vec<u64> = Sweep::ALL.shards().collect();
        Ok(self.due_page(&shards, now, limit).await?.events)
    }

    /// One Query per shard, eventually consistent, in waves of
    /// [`DUE_QUERIES_IN_FLIGHT`] as the store sends them, each reading up
    /// to [`shard_page`] items (the in-memory store merges the same pages).
    async fn due_page(
        &self,
        shards: &[u64],
        now: Millis,
        limit: usize,
    ) -> Result<DuePage, StoreError> {
        if limit == 0 {
            return Ok(DuePage::default());
        }
        let found = self.inner.due_page(shards, now, limit).await?;
        let page = shard_page(limit, shards.len()) as f64;
        let busy: BTreeSet<u64> = found
            .events
            .iter()
            .map(|e| due_shard(&e.event.aggregate_id))
            .chain(found.open.iter().copied())
            .collect();
        let requests = shards
            .iter()
            .map(|shard| {
                // A busy shard reads a whole page, whether or not the round uses it.
                let items = if busy.contains(shard) { page } else { 0.0 };
                let units = (items * EVENT_ITEM_KB / 4.0).ceil().max(1.0) / 2.0;
                self.single(
                    Vec::new(),
                    vec![((KeyKind::Due, format!("P#{shard}")), units)],
                )
            })
            .collect::<Vec<_>>();
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            self.send(requests.by_ref().take(DUE_QUERIES_IN_FLIGHT).collect())
                .await;
        }
        Ok(found)
    }

    /// TransactWriteItems of up to 100 conditional updates (one alone: an
    /// UpdateItem); each update rewrites the event's `due` entry (its lease).
    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        for chunk in events.chunks(TRANSACTION_ITEMS) {
            let mut writes = Vec::new();
            for e in chunk {
                writes.push((base(&e.event.aggregate_id), 2.0 * EVENT_ITEM_KB));
                writes.push((due_key(&e.event.aggregate_id), EVENT_ITEM_KB));
            }
            let request = if chunk.len() == 1 {
                self.single(writes, Vec::new())
            } else {
                self.transaction(writes, chunk.len())
            };
            self.send(vec![request]).await;
        }
        self.inner.claim(events, lease, now).await
    }

    /// TransactWriteItems of up to 100 actions: per completion its update
    /// (which drops its `due` entry) and a put of each measurement record
    /// (which lands on the by-metric index under its metric's shard key,
    /// [`by_metric_key`]).
    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        let mut writes = Vec::new();
        let mut actions = 0;
        for c in completions {
            let more = 1 + c.measurements.len();
            if actions > 0 && actions + more > TRANSACTION_ITEMS {
                let request = self.transaction(std::mem::take(&mut writes), actions);
                self.send(vec![request]).await;
                actions = 0;
            }
            actions += more;
            writes.push((base(&c.event.aggregate_id), 2.0 * EVENT_ITEM_KB));
            writes.push((due_key(&c.event.aggregate_id), EVENT_ITEM_KB));
            for m in &c.measurements {
                writes.push((base(&c.event.aggregate_id), 2.0));
                writes.push((metric_key(&m.metric, &c.event), 1.0));
            }
        }
        if actions > 0 {
            let request = if actions == 1 {
                self.single(writes, Vec::new())
            } else {
                self.transaction(writes, actions)
            };
            self.send(vec![request]).await;
        }
        self.completed.fetch_add(
            completions.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.inner.complete(completions).await
    }

    /// One UpdateItem per event.
    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        let requests = events
            .iter()
            .map(|r| self.single(vec![(base(&r.aggregate_id), EVENT_ITEM_KB)], Vec::new()))
            .collect();
        self.send(requests).await;
        self.inner.release(events, token).await
    }

    /// One conditional UpdateItem on the metric's series item.
    async fn admit_series(
        &self,
        metric: &str,
        series: &str,
        budget: u32,
    ) -> Result<bool, StoreError> {
        let writes = vec![((KeyKind::Series, metric.to_string()), 1.0)];
        self.send(vec![self.single(writes, Vec::new())]).await;
        self.inner.admit_series(metric, series, budget).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_beyond_its_write_units_makes_requests_wait() {
        let mut buckets = HashMap::new();
        let k = base("k");
        // A full second's worth at once is served...
        assert_eq!(take(&mut buckets, &k, 1_000.0, KEY_WRITE_UNITS, 0), 0);
        // ...the next 500 units wait half a second for the refill.
        assert_eq!(take(&mut buckets, &k, 500.0, KEY_WRITE_UNITS, 0), 500_000);
        // Another key is not affected.
        assert_eq!(
            take(&mut buckets, &base("other"), 10.0, KEY_WRITE_UNITS, 0),
            0
        );
    }

    #[test]
    fn a_metrics_records_are_charged_to_its_shard_keys() {
        // 1,600 records of one metric in a second: over one key's 1,000
        // units, about 100 per key over the metric's 16.
        let mut buckets = HashMap::new();
        let mut keys = std::collections::BTreeSet::new();
        let mut waited = 0;
        for i in 0..1_600 {
            let event = EventRef {
                aggregate_id: "project-1".into(),
                event_id: format!("e-{i}"),
            };
            let key = metric_key("ProjectLeadTime", &event);
            waited += take(&mut buckets, &key, 1.0, KEY_WRITE_UNITS, 0);
            keys.insert(key.1);
        }
        assert_eq!(keys.len() as u64, flight_aws::item::METRIC_SHARDS);
        assert_eq!(waited, 0, "no shard key throttles");
    }

    #[test]
    fn throttles_are_told_by_kind_of_key() {
        let usage = Usage {
            throttled: 3,
            throttled_by_kind: [0, 2, 1, 0],
            ..Usage::default()
        };
        assert_eq!(usage.throttled_keys(), "due 2, by-metric 1");
        assert_eq!(Usage::default().throttled_keys(), "none");
    }
}
