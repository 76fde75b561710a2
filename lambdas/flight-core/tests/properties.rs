//! Property-based tests: generated event histories (many aggregates, two
//! partitions, activate/pass cycles, every metric kind of the default
//! catalog, equal times, every envelope shape) delivered in every order,
//! duplicated, split into batches that run concurrently, yield exactly the
//! measurements of the definition (`measure_all` over the set of events),
//! through the service and through `flight_core::replay::replay` (the engine
//! of `flightctl replay`). Events that arrive after their window closed are
//! counted as late and change nothing already published.
//!
//! The cases are drawn from a fixed seed, so the figures printed (lines
//! starting `reliability:`) are the same on every run; `FC_PROPTEST_CASES`
//! changes how many, `FC_PROPTEST_RANDOM=1` draws new ones.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use flight_core::catalog::LATE_EVENTS_METRIC;
use flight_core::engine::Measurement;
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::replay::replay;
use flight_core::{Catalog, Event, FlightController, Settings};
// `common::stories::build` in the tests below.
use flight_testkit as common;
use flight_testkit::clock::{HOUR, MINUTE, NOW};
use flight_testkit::fixtures::catalog;
use flight_testkit::oracle::oracle;
use flight_testkit::stories::{entry, expected, history, Comparison, Identity, Spec};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

type Service = FlightController<Arc<MemoryStore>, Arc<CollectingSink>, Arc<ManualClock>>;

const WINDOW: i64 = 24 * HOUR;
const MAX_EVENTS: usize = 32;

fn cases(default: u32) -> u32 {
    std::env::var("FC_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(default_cases: u32) -> TestRunner {
    let config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    };
    if std::env::var("FC_PROPTEST_RANDOM").is_ok_and(|v| v == "1") {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        0..Spec::MINUTES,
        any::<u8>(),
    )
        .prop_map(|(kind, aggregate, partition, minute, style)| Spec {
            kind,
            aggregate,
            partition,
            minute,
            // Mostly the usual shape; now and then the others.
            style: if style < 160 { 0 } else { style },
        })
}

/// A history and how it is delivered: which event each delivery carries (in
/// delivery order, with duplicates), and after which deliveries a batch ends.
#[derive(Debug, Clone)]
struct Delivery {
    specs: Vec<Spec>,
    order: Vec<usize>,
    cuts: Vec<bool>,
}

fn delivery() -> impl Strategy<Value = Delivery> {
    proptest::collection::vec(spec(), 1..=MAX_EVENTS)
        .prop_flat_map(|specs| {
            let n = specs.len();
            (Just(specs), proptest::collection::vec(1usize..=3, n))
        })
        .prop_flat_map(|(specs, copies)| {
            let order: Vec<usize> = copies
                .iter()
                .enumerate()
                .flat_map(|(i, &c)| std::iter::repeat_n(i, c))
                .collect();
            let m = order.len();
            (
                Just(specs),
                Just(order).prop_shuffle(),
                proptest::collection::vec(proptest::bool::weighted(0.2), m),
            )
        })
        .prop_map(|(specs, order, cuts)| Delivery { specs, order, cuts })
}

impl Delivery {
    /// The deliveries, as batches of events.
    fn batches<'a>(&self, events: &'a [Value]) -> Vec<Vec<&'a Value>> {
        let mut batches = vec![Vec::new()];
        for (i, &d) in self.order.iter().enumerate() {
            batches.last_mut().unwrap().push(&events[d]);
            if self.cuts[i] && i + 1 < self.order.len() {
                batches.push(Vec::new());
            }
        }
        batches
    }
}

fn service(catalog: Arc<Catalog>) -> Arc<Service> {
    Arc::new(FlightController::new(
        catalog,
        Arc::new(MemoryStore::new()),
        Arc::new(CollectingSink::new()),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: Some("prop".into()),
            lateness_window: WINDOW,
            lease: 2 * MINUTE,
            enforce_cloudwatch_range: true,
        },
    ))
}

/// Delivers each batch concurrently (as parallel invocations), a minute
/// apart, with a sweep after each (which must find nothing due yet).
async fn deliver(service: &Arc<Service>, batches: &[Vec<&Value>]) -> Result<(), TestCaseError> {
    for batch in batches {
        let mut tasks = tokio::task::JoinSet::new();
        for event in batch {
            let (service, event) = (service.clone(), (*event).clone());
            tasks.spawn(async move { service.ingest(&event, None).await });
        }
        while let Some(done) = tasks.join_next().await {
            let report = done
                .map_err(|e| TestCaseError::fail(format!("ingest panicked: {e}")))?
                .map_err(|e| TestCaseError::fail(format!("ingest failed: {e}")))?;
            prop_assert!(
                report.published.is_empty(),
                "published before its window closed"
            );
        }
        service.clock().advance(MINUTE);
        let report = service
            .settle()
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            report.published.is_empty(),
            "the sweep published before the window closed"
        );
    }
    Ok(())
}

/// Settles everything (a day and more later) and returns what was published.
async fn settle_all(service: &Arc<Service>) -> Result<Vec<Measurement>, TestCaseError> {
    service.clock().advance(WINDOW + HOUR);
    service
        .settle()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    service.clock().advance(WINDOW + HOUR);
    let again = service
        .settle()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(again.published.is_empty(), "a second sweep published again");
    Ok(service.sink().published())
}

fn check(
    what: &str,
    expected: &BTreeMap<Identity, f64>,
    published: &[Measurement],
) -> Result<(), TestCaseError> {
    let comparison = Comparison::of(expected, published);
    prop_assert!(comparison.exact(), "{what}: {comparison:?}");
    Ok(())
}

static HISTORIES: AtomicUsize = AtomicUsize::new(0);
static DELIVERIES: AtomicUsize = AtomicUsize::new(0);
static BATCHES: AtomicUsize = AtomicUsize::new(0);
static POINTS: AtomicUsize = AtomicUsize::new(0);
static BY_METRIC: std::sync::Mutex<BTreeMap<String, usize>> =
    std::sync::Mutex::new(BTreeMap::new());

#[test]
fn any_order_duplication_and_batching_yields_the_in_order_measurements() {
    let catalog = catalog();
    let rt = runtime();
    let mut runner = runner(1000);
    let result = runner.run(&delivery(), |case| {
        let events = history(&case.specs, "");
        let want = expected(&catalog, &events, Some("prop"));
        // The definition the engine implements agrees with docs/metrics.md written
        // out naively.
        let parsed: Vec<Event> = events
            .iter()
            .map(|e| Event::from_eventbridge(e, &catalog).unwrap())
            .collect();
        prop_assert_eq!(
            &want,
            &oracle(&catalog, &parsed, Some("prop")),
            "measure_all vs docs/metrics.md"
        );
        let batches = case.batches(&events);

        // In order, once each: the reference run.
        let in_order = rt.block_on(async {
            let s = service(catalog.clone());
            let once: Vec<Vec<&Value>> = events.iter().map(|e| vec![e]).collect();
            deliver(&s, &once).await?;
            settle_all(&s).await
        })?;
        check("in order", &want, &in_order)?;

        // The generated delivery: shuffled, duplicated, in concurrent batches.
        let (published, records) = rt.block_on(async {
            let s = service(catalog.clone());
            deliver(&s, &batches).await?;
            let published = settle_all(&s).await?;
            Ok::<_, TestCaseError>((published, s.store().measurements()))
        })?;
        check("shuffled, duplicated, batched", &want, &published)?;
        // The records kept beside the events say the same.
        check("measurement records", &want, &records)?;

        // `flightctl replay`'s engine: each batch is a PutEvents file.
        let files: Vec<(String, String)> = batches
            .iter()
            .enumerate()
            .map(|(i, batch)| {
                let entries: Vec<Value> = batch.iter().map(|e| entry(e)).collect();
                (format!("batch-{i}.json"), Value::Array(entries).to_string())
            })
            .collect();
        let outcome = rt.block_on(replay(catalog.clone(), &files, Some("prop".into()), NOW));
        prop_assert!(outcome.rejections.is_empty(), "{:?}", outcome.rejections);
        prop_assert_eq!(outcome.entries, case.order.len());
        check("replay", &want, &outcome.measurements)?;

        HISTORIES.fetch_add(1, Ordering::Relaxed);
        DELIVERIES.fetch_add(case.order.len(), Ordering::Relaxed);
        BATCHES.fetch_add(batches.len(), Ordering::Relaxed);
        POINTS.fetch_add(want.len(), Ordering::Relaxed);
        let mut by_metric = BY_METRIC.lock().unwrap();
        for id in want.keys() {
            *by_metric.entry(id.0.clone()).or_default() += 1;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "reliability: properties: {} generated histories ({} data points), each delivered in order and in a \
         shuffled order with duplicates ({} deliveries in {} concurrent batches), through the service and \
         through replay: lost 0, doubled 0, wrong 0; data points by metric: {:?}",
        HISTORIES.load(Ordering::Relaxed),
        POINTS.load(Ordering::Relaxed),
        DELIVERIES.load(Ordering::Relaxed),
        BATCHES.load(Ordering::Relaxed),
        BY_METRIC.lock().unwrap(),
    );
}

/// A history split in two: the first part delivered and published, the
/// second arriving after the first's window closed (with redeliveries of
/// the first).
#[derive(Debug, Clone)]
struct Late {
    specs: Vec<Spec>,
    first: Vec<bool>,
    order: Vec<usize>,
    redeliver: Vec<usize>,
}

fn late() -> impl Strategy<Value = Late> {
    proptest::collection::vec(spec(), 2..=MAX_EVENTS)
        .prop_flat_map(|specs| {
            let n = specs.len();
            (
                Just(specs),
                proptest::collection::vec(any::<bool>(), n),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                proptest::collection::vec(0..n, 0..4),
            )
        })
        .prop_map(|(specs, first, order, redeliver)| Late {
            specs,
            first,
            order,
            redeliver,
        })
}

/// For an event of the second part: whether it is late whatever the order
/// of delivery (the next end after it, for a span metric it takes part in,
/// was published), and whether it may be (some later end was).
fn lateness(catalog: &Catalog, event: &Event, all: &[(Event, bool)]) -> (bool, bool) {
    let Some(plan) = catalog.plan(&event.event_type) else {
        return (false, false);
    };
    let mut surely = false;
    let mut maybe = false;
    for (metric, _) in &plan.spans {
        let metric = &catalog.metrics[*metric];
        // The plan's spans are the metrics with span roles: each has an end.
        let end = metric
            .kind
            .span_end()
            .expect("a span metric names the event type that ends it");
        let partition = event.partition(metric).unwrap_or_default();
        let key = (event.time, event.event_id.as_str());
        let mut later_ends: Vec<&(Event, bool)> = all
            .iter()
            .filter(|(e, _)| {
                e.aggregate_id == event.aggregate_id
                    && e.event_type == end
                    && e.partition(metric).unwrap_or_default() == partition
                    && (e.time, e.event_id.as_str()) > key
            })
            .collect();
        later_ends.sort_by(|a, b| (a.0.time, &a.0.event_id).cmp(&(b.0.time, &b.0.event_id)));
        if later_ends.first().is_some_and(|(_, first)| *first) {
            surely = true;
        }
        if later_ends.iter().any(|(_, first)| *first) {
            maybe = true;
        }
    }
    (surely, maybe)
}

static LATE_HISTORIES: AtomicUsize = AtomicUsize::new(0);
static LATE_EVENTS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn events_after_the_window_are_counted_late_and_change_nothing_published() {
    let catalog = catalog();
    let rt = runtime();
    let mut runner = runner(500);
    let result = runner.run(&late(), |case| {
        let events = history(&case.specs, "");
        let parsed: Vec<Event> = events
            .iter()
            .map(|e| Event::from_eventbridge(e, &catalog).unwrap())
            .collect();
        // An event is in the first part if any of its copies is (equal
        // content without an event id is one event).
        let key = |e: &Event| (e.aggregate_id.clone(), e.event_id.clone());
        let first_keys: BTreeSet<_> = parsed
            .iter()
            .zip(&case.first)
            .filter(|(_, f)| **f)
            .map(|(e, _)| key(e))
            .collect();
        let in_first = |i: usize| first_keys.contains(&key(&parsed[i]));
        let first: Vec<Value> = (0..events.len())
            .filter(|&i| in_first(i))
            .map(|i| events[i].clone())
            .collect();
        let completed_in_first: BTreeSet<String> =
            first_keys.iter().map(|(_, id)| id.clone()).collect();

        let published = rt.block_on(async {
            let s = service(catalog.clone());
            for &i in case.order.iter().filter(|&&i| in_first(i)) {
                s.ingest(&events[i], None)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            s.clock().advance(WINDOW + HOUR);
            s.settle()
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for &i in case.order.iter().filter(|&&i| !in_first(i)) {
                s.ingest(&events[i], None)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            for &i in &case.redeliver {
                s.ingest(&events[i], None)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            settle_all(&s).await
        })?;

        // Data points of the first part: as the first part alone defines
        // them; of the second: as all the events define them.
        let mut want: BTreeMap<Identity, f64> = expected(&catalog, &first, Some("prop"))
            .into_iter()
            .filter(|(id, _)| completed_in_first.contains(&id.2))
            .collect();
        want.extend(
            expected(&catalog, &events, Some("prop"))
                .into_iter()
                .filter(|(id, _)| !completed_in_first.contains(&id.2)),
        );
        let (late, points): (Vec<Measurement>, Vec<Measurement>) = published
            .into_iter()
            .partition(|m| m.metric == LATE_EVENTS_METRIC);
        check("first part, then the rest after its window", &want, &points)?;

        // Each late event counted once; those that must be late are.
        let all: Vec<(Event, bool)> = parsed
            .iter()
            .map(|e| (e.clone(), first_keys.contains(&key(e))))
            .collect();
        let counted: Vec<&str> = late.iter().map(|m| m.event_id.as_str()).collect();
        let unique: BTreeSet<&str> = counted.iter().copied().collect();
        prop_assert_eq!(unique.len(), counted.len(), "a late event counted twice");
        let mut seen = BTreeSet::new();
        for (e, in_first) in &all {
            if *in_first || !seen.insert(key(e)) {
                continue;
            }
            let (surely, maybe) = lateness(&catalog, e, &all);
            let is = unique.contains(e.event_id.as_str());
            prop_assert!(!surely || is, "{} must count as late", e.event_id);
            prop_assert!(!is || maybe, "{} cannot be late", e.event_id);
        }
        LATE_HISTORIES.fetch_add(1, Ordering::Relaxed);
        LATE_EVENTS.fetch_add(unique.len(), Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "reliability: properties: {} histories delivered in two parts, the second after the first's window closed: \
         {} late events counted once each, nothing published changed",
        LATE_HISTORIES.load(Ordering::Relaxed),
        LATE_EVENTS.load(Ordering::Relaxed),
    );
}

/// Every permutation of a small story (7 events: two partitions, two cycles)
/// gives the same measurements, through the service and through replay.
#[test]
fn every_permutation_of_a_guardrail_story_agrees() {
    let specs: Vec<Spec> = [
        (3, 0, 0),
        (3, 0, 10),
        (4, 0, 30),
        (3, 0, 40),
        (4, 0, 45),
        (3, 1, 5),
        (4, 1, 15),
    ]
    .iter()
    .map(|&(kind, partition, minute)| Spec {
        kind,
        aggregate: 0,
        partition,
        minute,
        style: 0,
    })
    .collect();
    let events = history(&specs, "");
    let catalog = catalog();
    let want = expected(&catalog, &events, Some("prop"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut order: Vec<usize> = (0..events.len()).collect();
    let mut permutations = 0;
    // Heap's algorithm, iteratively.
    let mut c = vec![0; order.len()];
    let mut i = 0;
    let run = |order: &[usize]| {
        let published = rt.block_on(async {
            let s = service(catalog.clone());
            for &d in order {
                s.ingest(&events[d], None).await.unwrap();
            }
            s.clock().advance(WINDOW + HOUR);
            s.settle().await.unwrap();
            s.sink().published()
        });
        let comparison = Comparison::of(&want, &published);
        assert!(comparison.exact(), "order {order:?}: {comparison:?}");
    };
    run(&order);
    permutations += 1;
    while i < order.len() {
        if c[i] < i {
            if i % 2 == 0 {
                order.swap(0, i);
            } else {
                order.swap(c[i], i);
            }
            run(&order);
            permutations += 1;
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    assert_eq!(permutations, 5040);
    eprintln!("reliability: properties: all {permutations} orders of a 7-event guardrail story: lost 0, doubled 0, wrong 0");
}

/// Found by the properties above: two events of different types carrying
/// the same detail (the type in the EventBridge `detail-type`, no event id)
/// were given the same content-hash id, and whichever arrived second was
/// dropped as a duplicate of the first.
#[test]
fn events_that_differ_only_in_their_detail_type_are_two_events() {
    let catalog = catalog();
    let make = |kind: u8| Spec {
        kind,
        aggregate: 0,
        partition: 0,
        minute: 49,
        style: 7,
    };
    let requested = common::stories::build(&make(0), 0, "");
    let assigned = common::stories::build(&make(1), 1, "");
    assert_eq!(requested["detail"], assigned["detail"], "the same detail");
    let parse = |e: &Value| Event::from_eventbridge(e, &catalog).unwrap();
    assert_ne!(parse(&requested).event_id, parse(&assigned).event_id);
    // A retried PutEvents (another EventBridge id and time) is still the same event.
    let mut retried = requested.clone();
    retried["id"] = serde_json::json!("another");
    retried["time"] = serde_json::json!("2026-11-01T00:05:00Z");
    assert_eq!(parse(&requested).event_id, parse(&retried).event_id);
}
