//! Engine throughput (criterion; `scripts/bench.sh` runs it and checks the budgets).
//!
//! - `short_aggregates`: 1,000 projects of 3 events each (requested, assigned,
//!   created), as EventBridge events, through the service over the in-memory
//!   store: with a lateness window of 0 (each completing event publishes at
//!   once, as a function with `LATENESS_WINDOW_SECONDS=0` does) and with every
//!   data point settled at the end (as `flightctl replay` does); and the pure
//!   engine (`measure_all`, which `flightctl replay` runs) over the same
//!   events, parsed.
//! - `long_aggregate`: one resource that activates and passes a guardrail
//!   10,000 times (20,000 events), window 0; and the first and the last 1,000
//!   cycles of it timed alone, whose cost per event must be the same.
//!
//! Throughput is in events (criterion's elements).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flight_core::engine::measure_all;
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::{Catalog, Event, FlightController, Settings};
use serde_json::{json, Value};

/// 2026-11-01T00:00:00Z in seconds.
const START: i64 = 1_793_491_200;
const PROJECTS: usize = 1_000;
const CYCLES: usize = 10_000;
/// The slice of the long aggregate timed alone, at its start and at its end.
const SLICE: usize = 1_000;

type Service = FlightController<MemoryStore, CollectingSink, ManualClock>;

fn event(event_type: &str, aggregate: &str, seconds: i64, id: &str, payload: Value) -> Value {
    json!({
        "version": "0",
        "id": format!("eb-{id}"),
        "detail-type": event_type,
        "source": "bench",
        "time": "2026-11-01T00:00:00Z",
        "detail": {
            "event_id": id,
            "event_type": event_type,
            "aggregate_id": aggregate,
            "aggregate_type": "Project",
            "time": START + seconds,
            "payload": payload,
        }
    })
}

/// `PROJECTS` projects, each requested, assigned and created.
fn short_aggregates() -> Vec<Value> {
    let mut events = Vec::with_capacity(3 * PROJECTS);
    for p in 0..PROJECTS {
        let aggregate = format!("project-{p:06}");
        let t = 60 * p as i64;
        for (i, (event_type, after)) in [
            ("ProjectRequested", 0),
            ("ProjectAssigned", 3_600),
            ("ProjectCreated", 86_400),
        ]
        .into_iter()
        .enumerate()
        {
            let id = format!("{aggregate}-{i}");
            events.push(event(event_type, &aggregate, t + after, &id, json!({})));
        }
    }
    events
}

/// Cycles `from..to` of one resource's guardrail: activated, then passed a minute later.
fn guardrail_cycles(from: usize, to: usize) -> Vec<Value> {
    let payload = json!({ "guardrail_id": "s3-bucket-public-read" });
    let mut events = Vec::with_capacity(2 * (to - from));
    for c in from..to {
        let t = 120 * c as i64;
        events.push(event(
            "GuardrailActivated",
            "arn:aws:s3:::long-lived-bucket",
            t,
            &format!("a{c}"),
            payload.clone(),
        ));
        events.push(event(
            "GuardrailPassed",
            "arn:aws:s3:::long-lived-bucket",
            t + 60,
            &format!("p{c}"),
            payload.clone(),
        ));
    }
    events
}

fn service(catalog: &Arc<Catalog>, window: i64) -> Service {
    FlightController::new(
        catalog.clone(),
        MemoryStore::new(),
        CollectingSink::new(),
        ManualClock::new(START * 1000),
        Settings {
            environment: Some("bench".into()),
            lateness_window: window,
            lease: 120_000,
            enforce_cloudwatch_range: false,
        },
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

async fn ingest_all(service: &Service, events: &[Value]) {
    for e in events {
        black_box(service.ingest(e, None).await.expect("ingest"));
    }
}

fn short(c: &mut Criterion) {
    let catalog = Arc::new(Catalog::default_catalog());
    let events = short_aggregates();
    let parsed: Vec<Event> = events
        .iter()
        .map(|e| Event::from_eventbridge(e, &catalog).expect("valid event"))
        .collect();
    let rt = runtime();
    let mut group = c.benchmark_group("short_aggregates");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("service_window_0", |b| {
        b.iter_batched(
            || service(&catalog, 0),
            // Returned, so that it is dropped outside the timing.
            |s| {
                rt.block_on(ingest_all(&s, &events));
                s
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("service_settle_at_end", |b| {
        b.iter_batched(
            || service(&catalog, 1),
            |s| {
                rt.block_on(async {
                    ingest_all(&s, &events).await;
                    s.clock().advance(1_000);
                    black_box(s.settle().await.expect("settle"));
                });
                s
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("measure_all", |b| {
        b.iter(|| black_box(measure_all(&catalog, &parsed, Some("bench"))))
    });
    group.finish();
}

fn long(c: &mut Criterion) {
    let catalog = Arc::new(Catalog::default_catalog());
    let all = guardrail_cycles(0, CYCLES);
    let rt = runtime();
    let mut group = c.benchmark_group("long_aggregate");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(all.len() as u64));
    group.bench_function("service_window_0_10000_cycles", |b| {
        b.iter_batched(
            || service(&catalog, 0),
            |s| {
                rt.block_on(ingest_all(&s, &all));
                s
            },
            BatchSize::PerIteration,
        )
    });
    // The same slice of cycles timed on a fresh resource and after 9,000
    // cycles: equal times mean the cost per event does not grow with the aggregate.
    group.throughput(Throughput::Elements(2 * SLICE as u64));
    for (name, before) in [
        ("first_1000_cycles", 0),
        ("last_1000_cycles", CYCLES - SLICE),
    ] {
        let history = &all[..2 * before];
        let slice = &all[2 * before..2 * (before + SLICE)];
        group.bench_function(format!("service_window_0_{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let s = service(&catalog, 0);
                    rt.block_on(ingest_all(&s, history));
                    let started = Instant::now();
                    rt.block_on(ingest_all(&s, slice));
                    total += started.elapsed();
                    drop(s);
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, short, long);
criterion_main!(benches);
