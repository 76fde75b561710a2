//! The `by-metric` index's write shards on DynamoDB Local
//! (`scripts/services.sh start`, then `eval "$(scripts/services.sh env)"`):
//! a metric's records are written under its [`METRIC_SHARDS`] keys, and the
//! report path (`DynamoStore::measurements`, behind `flightctl report`,
//! `alerts backtest`, series reports and backfills) reads them all back in
//! report order, records written before the index was sharded included.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use flight_aws::item::{by_metric_key, METRIC_SHARDS};
use flight_aws::DynamoStore;
use flight_core::engine::{sort_measurements, Delivery, Measurement};
use flight_core::metric_shard::metric_shard;
use flight_core::ports::{Completion, EventRef, EventStore, Lease, StoredEvent};
use flight_core::reads::BackfillStore;
use flight_core::{Event, Millis};
use flight_testkit::aws as common;

const T0: Millis = 1_700_000_000_000;
const METRIC: &str = "GuardrailLeadTime";

/// Event `id` of aggregate `aggregate`, settled long ago.
fn stored(aggregate: &str, id: &str) -> StoredEvent {
    StoredEvent {
        event: Event {
            event_id: id.into(),
            event_type: "GuardrailPassed".into(),
            event_version: 1,
            aggregate_id: aggregate.into(),
            aggregate_type: None,
            aggregate_version: None,
            time: T0,
            payload: Default::default(),
        },
        stored_at: T0,
        timeline: None,
        todo: BTreeSet::new(),
        done: BTreeSet::new(),
        due: None,
        lease: None,
        sealed_at: None,
    }
}

/// The data point of `metric` event `id` of `aggregate` completes at `timestamp`.
fn point(metric: &str, aggregate: &str, id: &str, timestamp: Millis) -> Measurement {
    Measurement {
        metric: metric.into(),
        value: (timestamp - T0) as f64 / 1_000.0,
        unit: "Seconds".into(),
        timestamp,
        aggregate_id: aggregate.into(),
        event_id: id.into(),
        dimensions: BTreeMap::from([("guardrail_id".to_string(), "g1".to_string())]),
        delivery: Delivery::Published,
        test_run_id: None,
        refusal: None,
    }
}

/// Event ids of which every shard gets `per_shard`, in the order they were found.
fn ids_covering_every_shard(per_shard: usize) -> Vec<String> {
    let mut count: HashMap<u64, usize> = HashMap::new();
    let mut ids = Vec::new();
    for i in 0.. {
        if ids.len() == per_shard * METRIC_SHARDS as usize {
            break;
        }
        let id = format!("passed-{i}");
        let n = count.entry(metric_shard(&id)).or_default();
        if *n < per_shard {
            *n += 1;
            ids.push(id);
        }
    }
    ids
}

/// Records `points` through the store's completion path (a backfill's claim,
/// then the completion under it), as settle and `flightctl backfill` do.
async fn record(store: &DynamoStore, points: &[Measurement]) {
    let lease = Lease {
        token: "backfill".into(),
        until: Millis::MAX,
    };
    let mut completions = Vec::new();
    for m in points {
        let event = EventRef {
            aggregate_id: m.aggregate_id.clone(),
            event_id: m.event_id.clone(),
        };
        store
            .append(&stored(&m.aggregate_id, &m.event_id))
            .await
            .expect("append");
        assert!(store
            .claim_backfill(&event, &m.metric, &lease, T0)
            .await
            .expect("claim"));
        completions.push(Completion {
            event,
            token: lease.token.clone(),
            finished: BTreeSet::from([m.metric.clone()]),
            measurements: vec![m.clone()],
        });
    }
    store.complete(&completions).await.expect("complete");
}

/// The `m_metric` values of the table's measurement records, by event id.
async fn stored_keys(store: &DynamoStore) -> BTreeMap<String, String> {
    let page = store
        .client()
        .scan()
        .table_name(store.table())
        .filter_expression("begins_with(#sk, :m)")
        .expression_attribute_names("#sk", "sk")
        .expression_attribute_values(":m", AttributeValue::S("M#".into()))
        .send()
        .await
        .expect("scan");
    assert!(page.last_evaluated_key().is_none(), "one page holds them");
    page.items()
        .iter()
        .map(|item| {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(text)) => text.clone(),
                other => panic!("{name}: {other:?}"),
            };
            (text("event_id"), text("m_metric"))
        })
        .collect()
}

/// What `measurements(METRIC, since, until)` returns once the index has caught up.
async fn read_back(
    store: &DynamoStore,
    since: Millis,
    until: Millis,
    expected: usize,
) -> Vec<Measurement> {
    common::eventually(
        &format!("{expected} {METRIC} records"),
        Duration::from_secs(10),
        || async move {
            let found = store
                .measurements(METRIC, since, until)
                .await
                .map_err(|e| e.to_string())?;
            if found.len() == expected {
                Ok(found)
            } else {
                Err(format!("{} records", found.len()))
            }
        },
    )
    .await
}

#[tokio::test]
async fn a_metrics_records_on_every_shard_are_read_back_in_report_order() {
    let Some(store) = common::new_store("by_metric_shards").await else {
        return;
    };
    // Three events per shard on three aggregates, stamped out of shard order,
    // with ties on the timestamp (ordered by aggregate, then event).
    let points: Vec<Measurement> = ids_covering_every_shard(3)
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let at = T0 + ((i as i64 * 7) % 20) * 1_000;
            point(METRIC, &format!("resource-{}", i % 3), id, at)
        })
        .collect();
    // Another metric's records are never read as this one's.
    let other = point("GuardrailMaxActivation", "resource-0", "activated-0", T0);
    let mut written = points.clone();
    written.push(other);
    record(&store, &written).await;

    let keys = stored_keys(&store).await;
    let used: BTreeSet<&String> = keys.values().filter(|k| k.starts_with(METRIC)).collect();
    assert_eq!(
        used.len() as u64,
        METRIC_SHARDS,
        "written under every key: {used:?}"
    );
    for m in &points {
        assert_eq!(keys[&m.event_id], by_metric_key(METRIC, &m.event_id));
    }

    let mut expected = points.clone();
    sort_measurements(&mut expected);
    let all = read_back(&store, 0, Millis::MAX, points.len()).await;
    assert_eq!(all, expected, "every shard, merged in report order");

    // A window [since, until) is cut the same way on every shard.
    let (since, until) = (T0 + 5_000, T0 + 12_000);
    let window: Vec<Measurement> = expected
        .iter()
        .filter(|m| (since..until).contains(&m.timestamp))
        .cloned()
        .collect();
    assert!(!window.is_empty() && window.len() < expected.len());
    assert_eq!(read_back(&store, since, until, window.len()).await, window);
}

#[tokio::test]
async fn a_record_written_before_the_index_was_sharded_is_still_read() {
    let Some(store) = common::new_store("by_metric_unsharded").await else {
        return;
    };
    // The layout of earlier releases: `m_metric` is the metric's bare name,
    // whatever shard the event falls in today.
    let old_id = ids_covering_every_shard(1)
        .into_iter()
        .find(|id| metric_shard(id) != 0)
        .expect("an event off shard 0");
    let s = |text: &str| AttributeValue::S(text.into());
    let n = |number: Millis| AttributeValue::N(number.to_string());
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", s("resource-old"))
        .item("sk", s(&format!("M#{METRIC}#{old_id}")))
        .item("m_metric", s(METRIC))
        .item("m_ts", n(T0 + 1_000))
        .item("value", n(1))
        .item("unit", s("Seconds"))
        .item(
            "dimensions",
            AttributeValue::M(HashMap::from([("guardrail_id".into(), s("g1"))])),
        )
        .item("delivery", s("published"))
        .item("event_id", s(&old_id))
        .item("aggregate_id", s("resource-old"))
        .item("published_at", n(T0 + 2_000))
        .send()
        .await
        .expect("put an old record");
    let new = point(METRIC, "resource-new", "passed-new", T0);
    record(&store, std::slice::from_ref(&new)).await;

    let found = read_back(&store, 0, Millis::MAX, 2).await;
    let old = point(METRIC, "resource-old", &old_id, T0 + 1_000);
    assert_eq!(found, vec![new, old], "the old record read as shard 0's");
}
