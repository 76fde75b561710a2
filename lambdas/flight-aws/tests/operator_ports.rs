//! The operator ports ([`flight_core::reads`]) behave the same on DynamoDB
//! (DynamoDB Local, from `scripts/services.sh`) as on the in-memory store
//! that `flightctl`'s fast tests use: one contract, run against both.

use std::collections::{BTreeMap, BTreeSet};

use flight_core::engine::{Delivery, Measurement};
use flight_core::memory::MemoryStore;
use flight_core::ports::{Completion, EventRef, Lease, StoredEvent};
use flight_core::reads::BackfillStore;
use flight_core::{Event, Millis};

/// The event `id` of type `event_type` in aggregate `a-<id>`.
fn stored(id: &str, event_type: &str, time: Millis) -> StoredEvent {
    StoredEvent {
        event: Event {
            event_id: id.into(),
            event_type: event_type.into(),
            event_version: 1,
            aggregate_id: format!("a-{id}"),
            aggregate_type: None,
            aggregate_version: None,
            time,
            payload: Default::default(),
        },
        stored_at: time,
        timeline: None,
        todo: BTreeSet::new(),
        done: BTreeSet::new(),
        due: None,
        lease: None,
        sealed_at: None,
    }
}

fn reference(id: &str) -> EventRef {
    EventRef {
        aggregate_id: format!("a-{id}"),
        event_id: id.into(),
    }
}

fn lease(token: &str, until: Millis) -> Lease {
    Lease {
        token: token.into(),
        until,
    }
}

/// The data point of `metric` that event `id` completes, stamped `timestamp`.
fn point(metric: &str, id: &str, timestamp: Millis) -> Measurement {
    Measurement {
        metric: metric.into(),
        value: 1.0,
        unit: "Count".into(),
        timestamp,
        aggregate_id: format!("a-{id}"),
        event_id: id.into(),
        dimensions: BTreeMap::from([("Environment".to_string(), "dev".to_string())]),
        delivery: Delivery::Published,
        test_run_id: None,
        refusal: None,
    }
}

fn ids(events: &[StoredEvent]) -> BTreeSet<String> {
    events.iter().map(|e| e.event.event_id.clone()).collect()
}

/// Scans, backfill claims and measurement reads, as `flightctl backfill`
/// and `flightctl report` use them.
async fn operator_ports_keep_the_contract(store: &dyn BackfillStore) {
    let free = stored("free", "Created", 1_000);
    let other_type = stored("other", "Requested", 1_500);
    let settling = StoredEvent {
        todo: BTreeSet::from(["Lead".to_string()]),
        due: Some(5_000),
        ..stored("settling", "Created", 2_000)
    };
    let published = StoredEvent {
        done: BTreeSet::from(["Count".to_string()]),
        ..stored("published", "Created", 3_000)
    };
    for e in [&free, &other_type, &settling, &published] {
        store.append(e).await.unwrap();
    }

    // Scans: every event of the types asked, nothing for no type.
    let mut pages = Vec::new();
    let created = store
        .scan_events(&["Created"], &mut |read, found| pages.push((read, found)))
        .await
        .unwrap();
    assert_eq!(
        ids(&created),
        BTreeSet::from(["free", "settling", "published"].map(String::from))
    );
    assert_eq!(
        pages.last().map(|p| p.1),
        Some(3),
        "progress is told: {pages:?}"
    );
    assert!(
        pages.last().is_some_and(|p| p.0 >= 4),
        "every item read: {pages:?}"
    );
    let both = store
        .scan_events(&["Created", "Requested"], &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(both.len(), 4);
    assert!(store
        .scan_events(&[], &mut |_, _| {})
        .await
        .unwrap()
        .is_empty());

    // Backfill claims: not while settling, not when done, not twice, not for
    // a missing event; an expired claim is taken over.
    let now = 10_000;
    let mine = lease("mine", now + 60_000);
    assert!(store
        .claim_backfill(&reference("free"), "Count", &mine, now)
        .await
        .unwrap());
    assert!(!store
        .claim_backfill(
            &reference("free"),
            "Count",
            &lease("theirs", now + 60_000),
            now
        )
        .await
        .unwrap());
    assert!(!store
        .claim_backfill(&reference("settling"), "Count", &mine, now)
        .await
        .unwrap());
    assert!(!store
        .claim_backfill(&reference("published"), "Count", &mine, now)
        .await
        .unwrap());
    assert!(!store
        .claim_backfill(&reference("missing"), "Count", &mine, now)
        .await
        .unwrap());
    assert!(store
        .claim_backfill(
            &reference("other"),
            "Count",
            &lease("crashed", now - 1),
            now - 5_000
        )
        .await
        .unwrap());
    assert!(store
        .claim_backfill(&reference("other"), "Count", &mine, now)
        .await
        .unwrap());

    // Completing the claims keeps their records; reads are by metric, in
    // [since, until), in report order.
    let completion = |id: &str, timestamp| Completion {
        event: reference(id),
        token: "mine".into(),
        finished: BTreeSet::from(["Count".to_string()]),
        measurements: vec![point("Count", id, timestamp)],
    };
    store
        .complete(&[completion("other", 1_500), completion("free", 1_000)])
        .await
        .unwrap();
    let all = store.measurements_between("Count", 0, 2_000).await.unwrap();
    let order: Vec<&str> = all.iter().map(|m| m.event_id.as_str()).collect();
    assert_eq!(order, ["free", "other"]);
    assert_eq!(all[0], point("Count", "free", 1_000));
    let first = store
        .measurements_between("Count", 1_000, 1_500)
        .await
        .unwrap();
    assert_eq!(first.len(), 1, "until is excluded: {first:?}");
    assert!(store
        .measurements_between("Lead", 0, 2_000)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .measurements_between("Count", 2_000, 1_000)
        .await
        .unwrap()
        .is_empty());

    let after = store
        .scan_events(&["Created"], &mut |_, _| {})
        .await
        .unwrap();
    let free = after.iter().find(|e| e.event.event_id == "free").unwrap();
    assert_eq!(
        (
            free.done.contains("Count"),
            free.todo.is_empty(),
            &free.lease,
            free.due
        ),
        (true, true, &None, None),
        "recorded as done: {free:?}"
    );
}

#[tokio::test]
async fn the_in_memory_store_keeps_the_operator_contract() {
    operator_ports_keep_the_contract(&MemoryStore::new()).await;
}

#[tokio::test]
async fn the_dynamodb_store_keeps_the_operator_contract() {
    let test = "operator_contract";
    if std::env::var("FC_SKIP_INTEGRATION").is_ok_and(|v| v == "1") {
        eprintln!("{test}: skipped (FC_SKIP_INTEGRATION=1)");
        return;
    }
    let endpoint = std::env::var(flight_aws::DYNAMODB_ENDPOINT_ENV).unwrap_or_else(|_| {
        panic!(
            "{test}: {} is not set. Start the local stack first: \
             scripts/services.sh start && eval \"$(scripts/services.sh env)\" \
             (or set FC_SKIP_INTEGRATION=1 to skip the integration tests)",
            flight_aws::DYNAMODB_ENDPOINT_ENV
        )
    });
    let config = flight_aws::aws_config(None).await;
    let client = flight_aws::dynamodb_client(&config, Some(&endpoint));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let table = format!("fc-{test}-{}", nanos % 1_000_000_000_000);
    flight_aws::DynamoStore::create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table} at {endpoint}: {e}"));
    let store = flight_aws::DynamoStore::new(client, &table);
    assert_eq!(store.location(), format!("table {table}"));
    operator_ports_keep_the_contract(&store).await;
}
