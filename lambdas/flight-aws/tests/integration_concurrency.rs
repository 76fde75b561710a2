//! Concurrency against DynamoDB Local: sixteen workers, each a service with a
//! DynamoDB client of its own (as sixteen Lambda instances), ingest two
//! thousand generated events on a few aggregates in a shuffled order, every
//! event twice at the same moment (the two copies released together by a
//! barrier), then sixteen sweeps run at once, then everything is delivered
//! once more while sweeps run. Every data point is published exactly once
//! and equals `measure_all` over the set of events; every event is stored
//! once with nothing left pending; the measurement records agree.
//!
//! DynamoDB Local serialises transactions, but conditional writes still
//! conflict: the concurrent appends of one event, and the claims of sweeps
//! racing for the same due events.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use flight_aws::{aws_config, dynamodb_client, DynamoStore};
use flight_core::engine::completions;
use flight_core::memory::{CollectingSink, ManualClock};
use flight_core::ports::EventRef;
use flight_core::{Event, FlightController, Millis, Settings};
// `common::…`: the local stack's endpoints, unique names, stores and polling.
use flight_testkit::aws as common;
use flight_testkit::clock::{HOUR, MINUTE, NOW};
use flight_testkit::fixtures::catalog;
use flight_testkit::stories::{self, expected, history, identity, Comparison, Draws, Spec};
use serde_json::Value;
use tokio::sync::Barrier;

const WORKERS: usize = 16;
const EVENTS: usize = 2_000;
const WINDOW: Millis = HOUR;

type Worker = FlightController<DynamoStore, Arc<CollectingSink>, Arc<ManualClock>>;

struct Setup {
    workers: Vec<Arc<Worker>>,
    sink: Arc<CollectingSink>,
    clock: Arc<ManualClock>,
    reader: DynamoStore,
}

async fn setup(test: &str, window: Millis) -> Option<Setup> {
    let reader = common::new_store(test).await?;
    let config = aws_config(None).await;
    let table = reader.table().to_string();
    let sink = Arc::new(CollectingSink::new());
    let clock = Arc::new(ManualClock::new(NOW));
    let catalog = catalog();
    let workers = (0..WORKERS)
        .map(|_| {
            Arc::new(FlightController::new(
                catalog.clone(),
                DynamoStore::new(dynamodb_client(&config, None), &table),
                sink.clone(),
                clock.clone(),
                Settings {
                    environment: Some("conc".into()),
                    lateness_window: window,
                    lease: 2 * MINUTE,
                    enforce_cloudwatch_range: true,
                },
            ))
        })
        .collect();
    Some(Setup {
        workers,
        sink,
        clock,
        reader,
    })
}

/// The events in a shuffled order, each twice, side by side, so that two
/// workers of one wave send the two copies at the same moment.
fn shuffled_pairs(events: &[Value], draws: &mut Draws) -> (Vec<usize>, Vec<Value>) {
    let mut order: Vec<usize> = (0..events.len()).collect();
    draws.shuffle(&mut order);
    let deliveries = order
        .iter()
        .flat_map(|&i| [events[i].clone(), events[i].clone()])
        .collect();
    (order, deliveries)
}

/// Every worker takes the `w`-th delivery of each wave, all released together.
async fn deliver_in_waves(
    workers: &[Arc<Worker>],
    deliveries: &[Value],
    window: Millis,
) -> (usize, usize) {
    let barrier = Arc::new(Barrier::new(workers.len()));
    let deliveries = Arc::new(deliveries.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for (w, worker) in workers.iter().enumerate() {
        let (worker, barrier, deliveries) = (worker.clone(), barrier.clone(), deliveries.clone());
        let n = workers.len();
        tasks.spawn(async move {
            let (mut stored, mut duplicates) = (0, 0);
            for wave in 0..deliveries.len().div_ceil(n) {
                barrier.wait().await;
                if let Some(event) = deliveries.get(wave * n + w) {
                    let report = worker
                        .ingest(event, None)
                        .await
                        .unwrap_or_else(|e| panic!("worker {w}: {e} for {event}"));
                    if window > 0 {
                        assert!(
                            report.published.is_empty(),
                            "nothing settles within the window"
                        );
                    }
                    if report.duplicate {
                        duplicates += 1;
                    } else {
                        stored += 1;
                    }
                }
            }
            (stored, duplicates)
        });
    }
    let (mut stored, mut duplicates) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (s, d) = done.expect("worker");
        stored += s;
        duplicates += d;
    }
    (stored, duplicates)
}

/// Every worker sweeps until a sweep finds nothing; returns the events settled.
async fn sweep_together(workers: &[Arc<Worker>]) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for worker in workers {
        let worker = worker.clone();
        tasks.spawn(async move {
            let mut settled = 0;
            loop {
                let report = worker.settle().await.expect("settle");
                if report.events == 0 {
                    return settled;
                }
                settled += report.events;
            }
        });
    }
    let mut settled = 0;
    while let Some(done) = tasks.join_next().await {
        settled += done.expect("sweeper");
    }
    settled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn integration_sixteen_workers_with_simultaneous_duplicates_publish_every_data_point_exactly_once(
) {
    let Some(setup) = setup("concurrency", WINDOW).await else {
        return;
    };
    let started = Instant::now();
    let mut draws = Draws(0x5EED_0005);
    let specs: Vec<Spec> = (0..EVENTS).map(|_| Spec::from_raw(draws.next())).collect();
    let events = history(&specs, "c-");
    let catalog = catalog();
    let parsed: Vec<Event> = events
        .iter()
        .map(|e| Event::from_eventbridge(e, &catalog).unwrap())
        .collect();
    let unique: BTreeSet<EventRef> = parsed
        .iter()
        .map(|e| EventRef {
            aggregate_id: e.aggregate_id.clone(),
            event_id: e.event_id.clone(),
        })
        .collect();
    let aggregates: BTreeSet<&str> = parsed.iter().map(|e| e.aggregate_id.as_str()).collect();
    let want = expected(&catalog, &events, Some("conc"));

    let (order, deliveries) = shuffled_pairs(&events, &mut draws);
    let (stored, duplicates) = deliver_in_waves(&setup.workers, &deliveries, WINDOW).await;
    assert_eq!(stored, unique.len(), "each event stored exactly once");
    assert_eq!(stored + duplicates, deliveries.len());
    let ingested_at = started.elapsed();

    setup.clock.advance(WINDOW + MINUTE);
    let settled = sweep_together(&setup.workers).await;
    let completing = parsed
        .iter()
        .filter(|e| !completions(&catalog, &e.event_type).is_empty())
        .map(|e| (&e.aggregate_id, &e.event_id))
        .collect::<BTreeSet<_>>()
        .len();
    assert_eq!(
        settled, completing,
        "every completing event settled by exactly one sweep"
    );
    let published = setup.sink.published();
    let comparison = Comparison::of(&want, &published);
    assert!(comparison.exact(), "{comparison:?}");

    // Everything once more, while sweeps run: nothing new, nothing twice.
    let mut again = order.clone();
    draws.shuffle(&mut again);
    let redeliveries: Vec<Value> = again.iter().map(|&i| events[i].clone()).collect();
    setup.clock.advance(MINUTE);
    let (redelivery, sweeps) = tokio::join!(
        deliver_in_waves(&setup.workers[..WORKERS / 2], &redeliveries, WINDOW),
        sweep_together(&setup.workers[WORKERS / 2..]),
    );
    assert_eq!(redelivery.0, 0, "a redelivered event was stored again");
    setup.clock.advance(WINDOW + HOUR);
    let late_sweeps = sweep_together(&setup.workers).await;
    assert_eq!(sweeps + late_sweeps, 0, "redeliveries gave the sweeps work");
    let published = setup.sink.published();
    let comparison = Comparison::of(&want, &published);
    assert!(comparison.exact(), "after redelivery: {comparison:?}");

    // The store: every event once, nothing pending, and the records agree.
    let mut pending = 0;
    for r in &unique {
        let e = setup.reader.event(r).await.expect("read").expect("stored");
        if !e.todo.is_empty() || e.due.is_some() || e.lease.is_some() {
            pending += 1;
        }
        assert_eq!(e.done, completions(&catalog, &e.event.event_type), "{r:?}");
    }
    assert_eq!(pending, 0, "events left pending");
    let mut records = Vec::new();
    for metric in &catalog.metrics {
        records.extend(
            setup
                .reader
                .measurements(&metric.name, 0, Millis::MAX)
                .await
                .expect("records"),
        );
    }
    let record_ids: BTreeSet<_> = records.iter().map(identity).collect();
    let want_ids: BTreeSet<_> = want.keys().cloned().collect();
    assert_eq!(record_ids.len(), records.len(), "a record twice");
    assert_eq!(record_ids, want_ids, "measurement records");

    eprintln!(
        "reliability: concurrency (DynamoDB Local): {WORKERS} workers, {} events on {} aggregates, {} deliveries \
         (every event twice at the same moment, then once more during sweeps); {settled} events settled by \
         {WORKERS} concurrent sweeps; {} data points published: lost 0, doubled 0, wrong 0; \
         ingest {:.1} s, total {:.1} s",
        unique.len(),
        aggregates.len(),
        deliveries.len() + redeliveries.len(),
        want.len(),
        ingested_at.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
}

/// With a window of 0 each ingest publishes what its event completes at once,
/// so sixteen workers race on the same timelines: the appends of the two
/// copies, the claims, and the lateness checks. Data points of counts and
/// ratios are exactly the definition's; duration and occurrences data points
/// depend on what had arrived (with no window there is no waiting for
/// stragglers), but none is published twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn integration_sixteen_workers_publishing_at_ingest_never_publish_a_data_point_twice() {
    let Some(setup) = setup("concurrency-at-once", 0).await else {
        return;
    };
    let started = Instant::now();
    let mut draws = Draws(0x5EED_0006);
    let specs: Vec<Spec> = (0..EVENTS / 2)
        .map(|_| Spec::from_raw(draws.next()))
        .collect();
    let events = history(&specs, "z-");
    let catalog = catalog();
    let want = expected(&catalog, &events, Some("conc"));
    let (_, deliveries) = shuffled_pairs(&events, &mut draws);
    deliver_in_waves(&setup.workers, &deliveries, 0).await;
    setup.clock.advance(HOUR);
    sweep_together(&setup.workers).await;
    let published = setup.sink.published();
    let (late, points): (Vec<_>, Vec<_>) = published
        .into_iter()
        .partition(|m| m.metric == flight_core::catalog::LATE_EVENTS_METRIC);
    let tally = stories::tally(&points);
    let twice: Vec<_> = tally.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(twice.is_empty(), "published twice: {twice:?}");
    let spans = [
        "GuardrailLeadTime",
        "GuardrailMaxActivation",
        "ProjectLeadTime",
        "ProjectAssignedLeadTime",
        "AccountLeadTime",
        "IdentityLeadTime",
        "ResourceComplianceLeadTime",
    ];
    for (id, value) in &want {
        if spans.contains(&id.0.as_str()) {
            continue;
        }
        assert_eq!(tally.get(id), Some(&vec![*value]), "{id:?}");
    }
    let late_ids: BTreeSet<_> = late.iter().map(|m| &m.event_id).collect();
    assert_eq!(late_ids.len(), late.len(), "a late event counted twice");
    eprintln!(
        "reliability: concurrency (DynamoDB Local, published at ingest): {WORKERS} workers, {} deliveries \
         (every event twice at the same moment): {} data points published, doubled 0; {} late events counted once; {:.1} s",
        deliveries.len(),
        points.len(),
        late.len(),
        started.elapsed().as_secs_f64(),
    );
}
