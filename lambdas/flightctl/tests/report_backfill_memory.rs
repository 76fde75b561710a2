//! `report` and `backfill` over the in-memory store, the contract of the
//! operator ports ([`flight_core::reads`]): the same stories as the DynamoDB
//! Local ones in `verbs.rs`, and the corners a backfill must get right (a
//! settling event, another backfill's claim, a failed publish), without sockets.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use flight_core::engine::Measurement;
use flight_core::memory::{CollectingSink, MemoryStore};
use flight_core::names::Deployment;
use flight_core::ports::{EventRef, Lease, MetricSink, SinkError};
use flight_core::reads::BackfillStore;
use flight_core::{Catalog, Delivery, FlightController, Millis, Settings, SystemClock};
use flightctl::{backfill, report};
use serde_json::{json, Value};

mod common;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

/// The shared test catalog: one duration metric and its SLO (lead times of at
/// most an hour, 90% of the time).
fn small_catalog() -> Catalog {
    Catalog::parse(common::SMALL_CATALOG).expect("a valid test catalog")
}

/// The small catalog with a count of created accounts added, as after a catalog change.
fn catalog_with_new_metric() -> Catalog {
    Catalog::parse(&common::catalog_with_new_metric()).expect("a valid changed catalog")
}

fn now() -> Millis {
    flight_core::replay::system_now()
}

/// An EventBridge event as a rule's target receives it.
fn event(event_type: &str, aggregate: &str, id: &str, time: Millis) -> Value {
    json!({
        "version": "0", "id": format!("eb-{id}"), "detail-type": event_type, "source": "tests",
        "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"event_id": id, "event_type": event_type, "aggregate_id": aggregate, "time": time / 1000},
    })
}

/// Ingests events into `store` as the deployed functions do in environment
/// `dev`, with `lateness_window` (0: published and recorded at once).
async fn ingest(store: &Arc<MemoryStore>, lateness_window: Millis, events: &[Value]) {
    let service = FlightController::new(
        Arc::new(small_catalog()),
        Arc::clone(store),
        CollectingSink::new(),
        SystemClock,
        Settings {
            environment: Some("dev".into()),
            lateness_window,
            ..Settings::default()
        },
    );
    for e in events {
        service.ingest(e, None).await.expect("ingested");
    }
}

/// The events of the backfill stories: two accounts created within CloudWatch's
/// range, one 15 days ago (too old to send), one with no request.
fn backfill_events(t: Millis) -> Vec<Value> {
    vec![
        event("AccountRequested", "a1", "r1", t - 3 * HOUR),
        event("AccountCreated", "a1", "c1", t - 2 * HOUR),
        event("AccountRequested", "a2", "r2", t - 20 * DAY),
        event("AccountCreated", "a2", "c2", t - 15 * DAY),
        event("AccountCreated", "a3", "c3", t - HOUR),
    ]
}

fn created(id: &str) -> EventRef {
    let aggregate = id.replace('c', "a");
    EventRef {
        aggregate_id: aggregate,
        event_id: id.into(),
    }
}

/// A sink that refuses every publish.
struct RefusingSink;

#[async_trait]
impl MetricSink for RefusingSink {
    async fn publish(&self, _: &[Measurement]) -> Result<(), SinkError> {
        Err(SinkError {
            message: "CloudWatch is down".into(),
        })
    }
}

#[tokio::test]
async fn report_counts_the_measurement_records_exactly() {
    let store = Arc::new(MemoryStore::new());
    let t = now();
    let mut events = Vec::new();
    // Lead times 10m, 20m, 30m (good: at most 1h) and 2h (bad), all in the last day;
    // one of 5m two days ago, outside the SLO's 24h window.
    for (i, (minutes, ago)) in [
        (10, 3 * HOUR),
        (20, 4 * HOUR),
        (30, 5 * HOUR),
        (120, 6 * HOUR),
        (5, 2 * DAY),
    ]
    .into_iter()
    .enumerate()
    {
        let created = t - ago;
        events.push(event(
            "AccountRequested",
            &format!("a{i}"),
            &format!("r{i}"),
            created - minutes * 60_000,
        ));
        events.push(event(
            "AccountCreated",
            &format!("a{i}"),
            &format!("c{i}"),
            created,
        ));
    }
    ingest(&store, 0, &events).await;
    let catalog = small_catalog();

    let options = report::Options::at(t);
    let reports = report::reports(&*store, &catalog, &Deployment::new("dev"), &options)
        .await
        .unwrap();
    let json = report::to_json(&catalog, "dev", t, &options, &reports);
    let slo = &json["slos"][0];
    assert_eq!(slo["name"], "account-lead-time");
    assert_eq!(
        (
            slo["values"].as_u64(),
            slo["good"].as_u64(),
            slo["bad"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    assert_eq!(slo["attainment_percent"], 75.0);
    assert_eq!(slo["status"], "breached");
    // 4 values at 90%: 0.4 bad allowed, 1 bad: 0.6 over, -150% of the budget.
    assert!((slo["error_budget"]["allowed_bad"].as_f64().unwrap() - 0.4).abs() < 1e-9);
    assert!((slo["error_budget"]["left_percent"].as_f64().unwrap() + 150.0).abs() < 1e-6);

    let wider = report::statuses(&*store, &catalog, Some(3 * DAY), t)
        .await
        .unwrap();
    let table = report::table(&catalog, &wider);
    let row = table
        .lines()
        .find(|l| l.starts_with("account-lead-time"))
        .unwrap_or_default();
    let cells: Vec<&str> = row.split_whitespace().collect();
    // SLO, metric, objective (3 words), window, values, good, bad, attainment, budget, status.
    assert_eq!(&cells[5..10], ["3d", "5", "4", "1", "80.00%"], "{table}");
    assert!(row.ends_with("breached"), "{table}");
}

#[tokio::test]
async fn a_report_with_no_records_says_no_data() {
    let store = MemoryStore::new();
    let catalog = small_catalog();
    let statuses = report::statuses(&store, &catalog, None, now())
        .await
        .unwrap();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].values, 0);
    assert_eq!(statuses[0].verdict().as_str(), "no data");
}

#[tokio::test]
async fn backfill_publishes_what_was_never_published_once() {
    let store = Arc::new(MemoryStore::new());
    let t = now();
    ingest(&store, 0, &backfill_events(t)).await;
    let changed = catalog_with_new_metric();
    let sink = CollectingSink::new();
    let run = |dry_run| {
        backfill::run(
            &*store,
            &sink,
            &changed,
            "AccountCreatedCount",
            "dev",
            None,
            dry_run,
        )
    };

    let dry = run(true).await.unwrap();
    assert_eq!(dry.events_scanned, 3, "the AccountCreated events");
    assert_eq!(dry.plan.items.len(), 3);
    assert_eq!(dry.plan.sendable(), 2);
    assert!(sink.published().is_empty(), "a dry run publishes nothing");

    let first = run(false).await.unwrap();
    assert_eq!(first.published.len(), 2);
    assert_eq!(first.unsent.len(), 1);
    assert_eq!(first.unsent[0].delivery, Delivery::TooOld);
    let summary = backfill::summary("AccountCreatedCount", "dev", &first, false);
    assert!(
        summary.contains("not sent (too_old): AccountCreatedCount 1 at "),
        "{summary}"
    );

    // Recorded as the settle function records: a record per data point, with its delivery.
    let records = flight_core::reads::MeasurementLog::measurements_between(
        &*store,
        "AccountCreatedCount",
        0,
        t + HOUR,
    )
    .await
    .unwrap();
    let deliveries: BTreeMap<String, Delivery> = records
        .iter()
        .map(|m| (m.event_id.clone(), m.delivery))
        .collect();
    assert_eq!(
        deliveries,
        BTreeMap::from([
            ("c1".to_string(), Delivery::Published),
            ("c2".to_string(), Delivery::TooOld),
            ("c3".to_string(), Delivery::Published),
        ])
    );
    assert_eq!(
        records[2].timestamp,
        t - HOUR - (t - HOUR) % 1000,
        "original timestamps"
    );
    for e in store.events() {
        if e.event.event_type == "AccountCreated" {
            assert!(e.done.contains("AccountCreatedCount"), "{e:?}");
            assert_eq!(e.lease, None, "{e:?}");
        }
    }

    let second = run(false).await.unwrap();
    assert!(second.published.is_empty());
    assert_eq!(second.plan.published, 3);
    let summary = backfill::summary("AccountCreatedCount", "dev", &second, false);
    assert!(summary.contains("nothing to publish"), "{summary}");

    // The sink got each data point once, with the environment's dimension.
    let published = sink.published();
    assert_eq!(published.len(), 2, "{published:?}");
    assert!(published
        .iter()
        .all(|m| m.dimensions.get("Environment").map(String::as_str) == Some("dev")));
}

#[tokio::test]
async fn backfill_leaves_what_the_functions_published_or_are_settling() {
    let store = Arc::new(MemoryStore::new());
    let t = now();
    ingest(&store, 0, &backfill_events(t)).await;
    let sink = CollectingSink::new();
    let catalog = small_catalog();
    let published = backfill::run(
        &*store,
        &sink,
        &catalog,
        "AccountLeadTime",
        "dev",
        None,
        false,
    )
    .await
    .unwrap();
    // c1, c2 (recorded too old) and c3 (no start: done with no data point).
    assert!(published.published.is_empty());
    assert!(published.plan.items.is_empty(), "{:?}", published.plan);
    assert_eq!(published.plan.published, 3, "{:?}", published.plan);

    // A created account still within its lateness window: settle publishes it.
    ingest(
        &store,
        HOUR,
        &[
            event("AccountRequested", "a4", "r4", t - 30 * 60_000),
            event("AccountCreated", "a4", "c4", t - 10 * 60_000),
        ],
    )
    .await;
    let settling = backfill::run(
        &*store,
        &sink,
        &catalog_with_new_metric(),
        "AccountCreatedCount",
        "dev",
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(settling.plan.settling, 1, "{:?}", settling.plan);
    assert_eq!(settling.published.len(), 2, "c1 and c3, not c4");
    assert!(!sink.published().iter().any(|m| m.event_id == "c4"));
}

#[tokio::test]
async fn backfill_skips_another_backfills_claim_and_takes_over_an_expired_one() {
    let store = Arc::new(MemoryStore::new());
    let t = now();
    ingest(&store, 0, &backfill_events(t)).await;
    let other = |until| Lease {
        token: "another-backfill".into(),
        until,
    };
    assert!(store
        .claim_backfill(&created("c1"), "AccountCreatedCount", &other(t + HOUR), t)
        .await
        .unwrap());
    // A crashed backfill's claim, expired.
    assert!(store
        .claim_backfill(
            &created("c3"),
            "AccountCreatedCount",
            &other(t - 1),
            t - HOUR
        )
        .await
        .unwrap());

    let sink = CollectingSink::new();
    let outcome = backfill::run(
        &*store,
        &sink,
        &catalog_with_new_metric(),
        "AccountCreatedCount",
        "dev",
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(outcome.plan.busy, 1, "c1 is being published by the other");
    let sent: Vec<String> = sink.published().into_iter().map(|m| m.event_id).collect();
    assert_eq!(
        sent,
        ["c3"],
        "the expired claim is taken over; c2 is too old"
    );
}

#[tokio::test]
async fn a_failed_publish_releases_the_claims_and_the_next_run_publishes() {
    let store = Arc::new(MemoryStore::new());
    let t = now();
    ingest(&store, 0, &backfill_events(t)).await;
    let changed = catalog_with_new_metric();

    let failed = backfill::run(
        &*store,
        &RefusingSink,
        &changed,
        "AccountCreatedCount",
        "dev",
        None,
        false,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{failed:#}").contains("run the same command again"),
        "{failed:#}"
    );
    assert!(
        store.events().iter().all(|e| e.lease.is_none()),
        "released: nothing waits for a lease to expire"
    );

    let sink = CollectingSink::new();
    let retried = backfill::run(
        &*store,
        &sink,
        &changed,
        "AccountCreatedCount",
        "dev",
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(retried.published.len(), 2);
    assert_eq!(retried.lost, 0);
}

#[tokio::test]
async fn backfill_refuses_unknown_metrics_and_the_late_event_count() {
    let store = MemoryStore::new();
    let sink = CollectingSink::new();
    let catalog = small_catalog();
    let unknown = backfill::run(
        &store,
        &sink,
        &catalog,
        "AccountCreatedCount",
        "dev",
        None,
        true,
    )
    .await
    .unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("no metric `AccountCreatedCount` in the catalog"),
        "{unknown}"
    );
    let late = flight_core::catalog::LATE_EVENTS_METRIC;
    let own = backfill::run(&store, &sink, &catalog, late, "dev", None, true)
        .await
        .unwrap_err();
    assert!(own.to_string().contains("cannot be backfilled"), "{own}");
}
