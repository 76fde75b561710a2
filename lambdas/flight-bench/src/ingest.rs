//! The ingest handler end to end against DynamoDB Local and moto's CloudWatch,
//! with the deployed settings (lateness window 300 s, the settle sweep
//! publishing what is due), counting every AWS request it sends.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use flight_aws::{
    aws_config, cloudwatch_client, dynamodb_client, CloudWatchSink, DynamoStore, RequestCounts,
};
use flight_core::engine::measure_all;
use flight_core::handler::{handle_event, handle_settle};
use flight_core::{Catalog, Clock, Event, FlightController, Millis, Settings, SystemClock};

use crate::gen::{eventbridge, long_guardrail, stories, Generated};
use crate::Results;

/// The deployed lateness window (`LATENESS_WINDOW_SECONDS` = 300).
pub const WINDOW: Millis = 300_000;
/// Long-aggregate cycles ingested between two sweeps.
const BLOCK: usize = 50;

/// The system clock moved forward by a settable amount, so a sweep can run
/// "after the lateness window" without waiting for it.
#[derive(Default)]
pub struct ShiftedClock {
    shift: AtomicI64,
}

impl ShiftedClock {
    /// Moves the clock `by` milliseconds forward.
    pub fn advance(&self, by: Millis) {
        self.shift.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Millis {
        SystemClock.now() + self.shift.load(Ordering::SeqCst)
    }

    fn pause(&self, ms: Millis) -> flight_core::ports::BoxFuture<'_, bool> {
        SystemClock.pause(ms)
    }
}

type Service = FlightController<Arc<DynamoStore>, Arc<CloudWatchSink>, Arc<ShiftedClock>>;

fn delta(after: RequestCounts, before: RequestCounts) -> RequestCounts {
    RequestCounts {
        get_item: after.get_item - before.get_item,
        put_item: after.put_item - before.put_item,
        update_item: after.update_item - before.update_item,
        query: after.query - before.query,
        transact_write_items: after.transact_write_items - before.transact_write_items,
        transaction_actions: after.transaction_actions - before.transaction_actions,
        items_read: after.items_read - before.items_read,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

async fn ingest(
    service: &Service,
    events: &[Generated],
    latencies: &mut Vec<Duration>,
) -> Result<()> {
    for (i, g) in events.iter().enumerate() {
        let event = eventbridge(g, &format!("eb-{i}"));
        let started = Instant::now();
        handle_event(service, &event, None)
            .await
            .map_err(|e| anyhow::anyhow!("ingest of event {i} failed: {}", e.message))?;
        latencies.push(started.elapsed());
    }
    Ok(())
}

/// Moves the clock past the lateness window and sweeps; returns the data points published.
async fn settle(service: &Service, clock: &ShiftedClock) -> Result<u64> {
    clock.advance(WINDOW + 1_000);
    let report = handle_settle(service)
        .await
        .map_err(|e| anyhow::anyhow!("settle failed: {}", e.message))?;
    Ok(report["published"].as_u64().unwrap_or(0))
}

/// The deployed settings: lateness window [`WINDOW`], lease 120 s,
/// CloudWatch's time range enforced.
pub fn deployed_settings() -> Settings {
    Settings {
        environment: Some("bench".into()),
        lateness_window: WINDOW,
        lease: 120_000,
        enforce_cloudwatch_range: true,
    }
}

/// A fresh table on DynamoDB Local (`FC_DYNAMODB_ENDPOINT`) and a sink on
/// moto's CloudWatch (`FC_AWS_ENDPOINT`), as `scripts/services.sh start` serves them.
pub async fn local_stack() -> Result<(Arc<DynamoStore>, Arc<CloudWatchSink>)> {
    let dynamodb = std::env::var("FC_DYNAMODB_ENDPOINT")
        .context("FC_DYNAMODB_ENDPOINT: not set (scripts/services.sh start)")?;
    let aws = std::env::var("FC_AWS_ENDPOINT")
        .context("FC_AWS_ENDPOINT: not set (scripts/services.sh start)")?;
    let config = aws_config(Some(&aws)).await;
    let client = dynamodb_client(&config, Some(&dynamodb));
    let table = format!("bench-{}", SystemClock.now());
    DynamoStore::create_table(&client, &table)
        .await
        .context("creating the benchmark table")?;
    let store = Arc::new(DynamoStore::new(client, &table));
    let sink = Arc::new(CloudWatchSink::new(
        cloudwatch_client(&config, Some(&aws)),
        "FlightControllerBench",
    ));
    Ok((store, sink))
}

/// Runs `events` mixed events, then a long aggregate of `cycles` guardrail cycles.
pub async fn run(events: usize, cycles: usize, results: &mut Results) -> Result<()> {
    let (store, sink) = local_stack().await?;
    let clock = Arc::new(ShiftedClock::default());
    let catalog = Arc::new(Catalog::default_catalog());
    let service: Service = FlightController::new(
        catalog.clone(),
        store.clone(),
        sink.clone(),
        clock.clone(),
        deployed_settings(),
    );

    // Mixed short stories, times in the last two days (inside CloudWatch's range).
    let start = SystemClock.now() - 2 * 86_400_000;
    let tag = format!("b{}", SystemClock.now() % 1_000_000);
    let mixed = stories(&tag, events, start, 20_000);
    let parsed: Vec<Event> = mixed
        .iter()
        .enumerate()
        .map(|(i, g)| Event::from_eventbridge(&eventbridge(g, &format!("eb-{i}")), &catalog))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("a generated event is invalid: {e}"))?;
    let expected = measure_all(&catalog, &parsed, Some("bench")).len() as u64;

    let mut latencies = Vec::with_capacity(events);
    let before = store.request_counts();
    let started = Instant::now();
    ingest(&service, &mixed, &mut latencies).await?;
    let ingest_time = started.elapsed();
    let settle_started = Instant::now();
    let published = settle(&service, &clock).await?;
    let settle_time = settle_started.elapsed();
    let counts = delta(store.request_counts(), before);
    let calls = sink.put_metric_data_calls();
    ensure!(
        published == expected,
        "the sweep published {published} data points; the events make {expected}"
    );
    latencies.sort();
    let n = events as f64;
    results.add("ingest.events", n);
    results.add("ingest.data_points", published as f64);
    results.add("ingest.ingest_seconds", ingest_time.as_secs_f64());
    results.add("ingest.settle_seconds", settle_time.as_secs_f64());
    results.add(
        "ingest.events_per_second",
        n / (ingest_time + settle_time).as_secs_f64(),
    );
    results.add(
        "ingest.p50_ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
    );
    results.add(
        "ingest.p99_ms",
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
    for (key, value) in [
        ("get_item", counts.get_item),
        ("put_item", counts.put_item),
        ("update_item", counts.update_item),
        ("query", counts.query),
        ("transact_write_items", counts.transact_write_items),
        ("transaction_actions", counts.transaction_actions),
        ("items_read", counts.items_read),
        ("reads", counts.reads()),
        ("writes", counts.writes()),
        ("requests", counts.total()),
    ] {
        results.add(&format!("ingest.ddb.{key}"), value as f64);
    }
    results.add("ingest.put_metric_data", calls as f64);
    ensure!(
        counts.total() == store.request_count(),
        "every DynamoDB request is counted by operation ({} of {})",
        counts.total(),
        store.request_count()
    );

    // One resource, `cycles` activate/pass cycles, a sweep after every block:
    // the reads per event of the last block against the first.
    let long_start = SystemClock.now() - 3 * 86_400_000;
    let mut blocks: Vec<(RequestCounts, usize)> = Vec::new();
    let mut c = 0;
    while c < cycles {
        let end = (c + BLOCK).min(cycles);
        let block = long_guardrail(&tag, c..end, long_start);
        let before = store.request_counts();
        ingest(&service, &block, &mut Vec::new()).await?;
        settle(&service, &clock).await?;
        blocks.push((delta(store.request_counts(), before), block.len()));
        c = end;
    }
    let per_event = |(counts, events): &(RequestCounts, usize)| {
        (
            counts.reads() as f64 / *events as f64,
            counts.items_read as f64 / *events as f64,
            counts.total() as f64 / *events as f64,
        )
    };
    if let (Some(first), Some(last)) = (blocks.first(), blocks.last()) {
        let (first_reads, first_items, first_requests) = per_event(first);
        let (last_reads, last_items, last_requests) = per_event(last);
        results.add("long.cycles", cycles as f64);
        results.add("long.first.reads_per_event", first_reads);
        results.add("long.last.reads_per_event", last_reads);
        results.add("long.first.items_read_per_event", first_items);
        results.add("long.last.items_read_per_event", last_items);
        results.add("long.first.requests_per_event", first_requests);
        results.add("long.last.requests_per_event", last_requests);
    }
    Ok(())
}
