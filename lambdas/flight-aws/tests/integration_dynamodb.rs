//! Integration tests of the DynamoDB event store against DynamoDB Local
//! (`scripts/services.sh start`, then `eval "$(scripts/services.sh env)"`).
//!
//! Most tests run every operation against both the DynamoDB store and the
//! in-memory reference store and require the same results and the same
//! stored state: the contract is whatever `MemoryStore` does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use flight_aws::{aws_config, dynamodb_client, DynamoStore};
use flight_core::catalog::LATE_EVENTS_METRIC;
use flight_core::engine::{order_key, Delivery, Measurement};
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::ports::{
    Appended, Completion, Direction, EventRef, EventStore, Lease, StoredEvent, TimelineEntry,
};
use flight_core::{Catalog, Event, FlightController, Millis, Settings};
// `common::…`: the local stack's endpoints, unique names, stores and polling.
use flight_testkit::aws as common;
use serde_json::{json, Value};

const T0: Millis = 1_700_000_000_000;

async fn dynamo(test: &str) -> Option<DynamoStore> {
    common::new_store(test).await
}

fn event(aggregate: &str, id: &str, event_type: &str, time: Millis) -> Event {
    let payload =
        json!({"guardrail_id": "g1", "nested": {"list": [1, 2.5, null, "x"], "ok": true}});
    Event {
        event_id: id.into(),
        event_type: event_type.into(),
        event_version: 1,
        aggregate_id: aggregate.into(),
        aggregate_type: Some("Resource".into()),
        aggregate_version: None,
        time,
        payload: payload.as_object().cloned().unwrap_or_default(),
    }
}

fn stored(event: Event, timeline: Option<&str>, todo: &[&str], due: Option<Millis>) -> StoredEvent {
    StoredEvent {
        event,
        stored_at: T0,
        timeline: timeline.map(String::from),
        todo: todo.iter().map(|s| s.to_string()).collect(),
        done: BTreeSet::new(),
        due,
        lease: None,
        sealed_at: None,
    }
}

fn at(aggregate: &str, id: &str) -> EventRef {
    EventRef {
        aggregate_id: aggregate.into(),
        event_id: id.into(),
    }
}

fn lease(token: &str, until: Millis) -> Lease {
    Lease {
        token: token.into(),
        until,
    }
}

fn measurement(metric: &str, r: &EventRef, ts: Millis, value: f64) -> Measurement {
    Measurement {
        metric: metric.into(),
        value,
        unit: "Seconds".into(),
        timestamp: ts,
        aggregate_id: r.aggregate_id.clone(),
        event_id: r.event_id.clone(),
        dimensions: BTreeMap::from([("guardrail_id".to_string(), "g1".to_string())]),
        delivery: Delivery::Published,
        test_run_id: None,
        refusal: None,
    }
}

fn completion(
    r: &EventRef,
    token: &str,
    finished: &[&str],
    measurements: Vec<Measurement>,
) -> Completion {
    Completion {
        event: r.clone(),
        token: token.into(),
        finished: finished.iter().map(|s| s.to_string()).collect(),
        measurements,
    }
}

fn refs(events: &[StoredEvent]) -> Vec<EventRef> {
    events.iter().map(StoredEvent::reference).collect()
}

/// The DynamoDB store beside the reference.
struct Both {
    dynamo: DynamoStore,
    memory: MemoryStore,
}

impl Both {
    async fn new(test: &str) -> Option<Both> {
        Some(Both {
            dynamo: dynamo(test).await?,
            memory: MemoryStore::new(),
        })
    }

    async fn append(&self, e: &StoredEvent) -> Appended {
        let d = self.dynamo.append(e).await.expect("dynamo append");
        let m = self.memory.append(e).await.expect("memory append");
        assert_eq!(d, m, "append of {:?}", e.reference());
        d
    }

    async fn timeline(
        &self,
        aggregate: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Vec<TimelineEntry> {
        let d = self
            .dynamo
            .timeline(aggregate, timeline, from, direction, limit)
            .await
            .expect("dynamo timeline");
        let m = self
            .memory
            .timeline(aggregate, timeline, from, direction, limit)
            .await
            .expect("memory timeline");
        assert_eq!(
            d, m,
            "timeline {aggregate}/{timeline} from {from:?} {direction:?} limit {limit}"
        );
        d
    }

    async fn mark_late(&self, r: &EventRef, due: Millis) {
        self.dynamo
            .mark_late(r, due)
            .await
            .expect("dynamo mark_late");
        self.memory
            .mark_late(r, due)
            .await
            .expect("memory mark_late");
    }

    async fn due(&self, now: Millis, limit: usize) -> Vec<EventRef> {
        let d = refs(&self.dynamo.due(now, limit).await.expect("dynamo due"));
        let m = refs(&self.memory.due(now, limit).await.expect("memory due"));
        assert_eq!(d, m, "due at {now} limit {limit}");
        d
    }

    async fn claim(&self, events: &[StoredEvent], lease: &Lease, now: Millis) -> Vec<EventRef> {
        let mut d = self
            .dynamo
            .claim(events, lease, now)
            .await
            .expect("dynamo claim");
        let mut m = self
            .memory
            .claim(events, lease, now)
            .await
            .expect("memory claim");
        d.sort();
        m.sort();
        assert_eq!(d, m, "claim by {} at {now}", lease.token);
        d
    }

    async fn complete(&self, completions: &[Completion]) {
        self.dynamo
            .complete(completions)
            .await
            .expect("dynamo complete");
        self.memory
            .complete(completions)
            .await
            .expect("memory complete");
    }

    async fn release(&self, events: &[EventRef], token: &str) {
        self.dynamo
            .release(events, token)
            .await
            .expect("dynamo release");
        self.memory
            .release(events, token)
            .await
            .expect("memory release");
    }

    /// The event as both store it now (as a fresh `due()` would return it).
    async fn current(&self, r: &EventRef) -> StoredEvent {
        let m = self
            .memory
            .events()
            .into_iter()
            .find(|e| &e.reference() == r)
            .unwrap_or_else(|| panic!("{r:?} is not in the memory store"));
        let d = self.dynamo.event(r).await.expect("dynamo get");
        assert_eq!(d.as_ref(), Some(&m), "stored state of {r:?}");
        m
    }

    /// Every event is stored identically in both.
    async fn assert_same(&self) {
        for expected in self.memory.events() {
            let actual = self
                .dynamo
                .event(&expected.reference())
                .await
                .expect("dynamo get");
            assert_eq!(
                actual.as_ref(),
                Some(&expected),
                "stored state of {:?}",
                expected.reference()
            );
        }
    }

    /// The measurement records of `metric` are the same in both.
    async fn assert_same_measurements(&self, metric: &str) {
        let mut expected: Vec<_> = self
            .memory
            .measurements()
            .into_iter()
            .filter(|m| m.metric == metric)
            .collect();
        flight_core::engine::sort_measurements(&mut expected);
        let store = &self.dynamo;
        common::eventually(
            &format!("the {metric} records"),
            Duration::from_secs(10),
            || {
                let expected = expected.clone();
                async move {
                    let actual = store
                        .measurements(metric, 0, Millis::MAX)
                        .await
                        .map_err(|e| e.to_string())?;
                    if actual == expected {
                        Ok(())
                    } else {
                        Err(format!(
                            "{} records, expected {}",
                            actual.len(),
                            expected.len()
                        ))
                    }
                }
            },
        )
        .await;
    }
}

#[tokio::test]
async fn integration_append_is_idempotent_and_returns_the_stored_state() {
    let Some(both) = Both::new("append").await else {
        return;
    };
    let mut first = stored(
        event("res-1", "e1", "GuardrailPassed", T0),
        Some("guardrail_id=g1"),
        &["GuardrailLeadTime", "GuardrailMaxActivation"],
        Some(T0),
    );
    first.lease = Some(lease("tok", T0 + 120_000));
    first.sealed_at = Some(T0);
    first.event.aggregate_version = Some(42);
    assert_eq!(both.append(&first).await, Appended::Stored);
    assert_eq!(
        both.dynamo.request_count(),
        1,
        "a new event costs one request"
    );

    // A redelivery, processed later: the store answers with what it stored first.
    let again = StoredEvent {
        stored_at: T0 + 5_000,
        todo: BTreeSet::new(),
        due: None,
        lease: None,
        sealed_at: None,
        ..first.clone()
    };
    let before = both.dynamo.request_count();
    assert_eq!(
        both.append(&again).await,
        Appended::Duplicate(Box::new(first.clone()))
    );
    assert!(
        both.dynamo.request_count() - before <= 2,
        "a duplicate costs at most a put and a get"
    );

    // Same id in another aggregate is another event.
    let other = stored(event("res-2", "e1", "GuardrailPassed", T0), None, &[], None);
    assert_eq!(both.append(&other).await, Appended::Stored);
    both.assert_same().await;
}

#[tokio::test]
async fn integration_concurrent_appends_of_one_event_store_it_exactly_once() {
    let Some(store) = dynamo("concurrent-append").await else {
        return;
    };
    // A second client, as a second Lambda instance would have.
    let config = aws_config(None).await;
    let other = DynamoStore::new(dynamodb_client(&config, None), store.table());
    for i in 0..10 {
        let id = format!("e{i}");
        let a = stored(
            event("res-1", &id, "GuardrailActivated", T0 + i),
            Some("guardrail_id=g1"),
            &["GuardrailActivationCount"],
            Some(T0),
        );
        let b = StoredEvent {
            stored_at: T0 + 1,
            ..a.clone()
        };
        let (ra, rb) = tokio::join!(store.append(&a), other.append(&b));
        let (ra, rb) = (ra.expect("append a"), rb.expect("append b"));
        match (&ra, &rb) {
            (Appended::Stored, Appended::Duplicate(seen)) => assert_eq!(**seen, a),
            (Appended::Duplicate(seen), Appended::Stored) => assert_eq!(**seen, b),
            _ => panic!("exactly one append must store {id}: got {ra:?} and {rb:?}"),
        }
    }
}

#[tokio::test]
async fn integration_timeline_reads_both_directions_with_exclusive_bounds_and_paging() {
    let Some(both) = Both::new("timeline").await else {
        return;
    };
    let tl = "guardrail_id=g1";
    // Seven entries on one timeline, two of them at the same time (ordered by id).
    let times = [
        (0, "a"),
        (1, "b"),
        (2, "c"),
        (2, "c2"),
        (3, "d"),
        (5, "e"),
        (8, "f"),
    ];
    for (t, id) in times {
        let kind = if id == "d" {
            "GuardrailPassed"
        } else {
            "GuardrailActivated"
        };
        both.append(&stored(
            event("res-1", id, kind, T0 + t * 1000),
            Some(tl),
            &["X"],
            Some(T0),
        ))
        .await;
    }
    // Neighbours that must never show up: another timeline, no timeline, another aggregate.
    both.append(&stored(
        event("res-1", "g2", "GuardrailActivated", T0),
        Some("guardrail_id=g2"),
        &[],
        None,
    ))
    .await;
    both.append(&stored(
        event("res-1", "none", "ProjectRequested", T0),
        None,
        &[],
        None,
    ))
    .await;
    both.append(&stored(
        event("res-2", "a", "GuardrailActivated", T0),
        Some(tl),
        &[],
        None,
    ))
    .await;
    // A timeline id that is a prefix of the first one.
    both.append(&stored(
        event("res-1", "pre", "GuardrailActivated", T0),
        Some("guardrail_id=g"),
        &[],
        None,
    ))
    .await;

    let ids = |entries: &[TimelineEntry]| {
        entries
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<Vec<_>>()
    };
    let all = both
        .timeline("res-1", tl, "", Direction::Forward, 100)
        .await;
    assert_eq!(ids(&all), ["a", "b", "c", "c2", "d", "e", "f"]);
    let back = both
        .timeline("res-1", tl, "~", Direction::Backward, 100)
        .await;
    assert_eq!(ids(&back), ["f", "e", "d", "c2", "c", "b", "a"]);

    // Paging by the last key, as the service does, in pages of 3.
    for (direction, start, expected) in [
        (Direction::Forward, "", ids(&all)),
        (Direction::Backward, "~", ids(&back)),
    ] {
        let mut from = start.to_string();
        let mut seen = Vec::new();
        loop {
            let page = both.timeline("res-1", tl, &from, direction, 3).await;
            seen.extend(ids(&page));
            match page.last() {
                Some(last) if page.len() == 3 => from = order_key(last.time, &last.event_id),
                _ => break,
            }
        }
        assert_eq!(seen, expected, "{direction:?} in pages of 3");
    }

    // `from` is exclusive, whether or not an entry sits there.
    let c = order_key(T0 + 2000, "c");
    assert_eq!(
        ids(&both.timeline("res-1", tl, &c, Direction::Forward, 2).await),
        ["c2", "d"]
    );
    assert_eq!(
        ids(&both.timeline("res-1", tl, &c, Direction::Backward, 5).await),
        ["b", "a"]
    );
    let between = order_key(T0 + 4000, "zzz");
    assert_eq!(
        ids(&both
            .timeline("res-1", tl, &between, Direction::Forward, 1)
            .await),
        ["e"]
    );
    assert_eq!(
        ids(&both
            .timeline("res-1", tl, &between, Direction::Backward, 1)
            .await),
        ["d"]
    );
    // The ends, and nothing.
    assert!(both
        .timeline("res-1", tl, "~", Direction::Forward, 5)
        .await
        .is_empty());
    assert!(both
        .timeline("res-1", tl, "", Direction::Backward, 5)
        .await
        .is_empty());
    assert!(both
        .timeline("res-1", tl, "", Direction::Forward, 0)
        .await
        .is_empty());
    assert!(both
        .timeline("res-9", tl, "", Direction::Forward, 5)
        .await
        .is_empty());
    assert_eq!(
        ids(&both
            .timeline("res-1", "guardrail_id=g", "", Direction::Forward, 5)
            .await),
        ["pre"]
    );

    // A claim seals an entry; the timeline shows it at once (strongly consistent).
    let d = both.current(&at("res-1", "d")).await;
    both.claim(std::slice::from_ref(&d), &lease("t", T0 + 60_000), T0 + 10)
        .await;
    let entries = both.timeline("res-1", tl, &c, Direction::Forward, 2).await;
    assert_eq!(entries[1].sealed_at, Some(T0 + 10));
}

#[tokio::test]
async fn integration_mark_late_is_idempotent() {
    let Some(both) = Both::new("mark-late").await else {
        return;
    };
    let a = at("res-1", "a");
    let b = at("res-1", "b");
    both.append(&stored(
        event("res-1", "a", "GuardrailActivated", T0),
        Some("guardrail_id=g1"),
        &[],
        None,
    ))
    .await;
    both.append(&stored(
        event("res-1", "b", "GuardrailActivated", T0),
        Some("guardrail_id=g1"),
        &["GuardrailActivationCount"],
        Some(T0 + 5),
    ))
    .await;

    both.mark_late(&a, T0 + 10).await;
    both.mark_late(&a, T0 + 20).await; // again: no change, `due` stays the first
    both.mark_late(&b, T0 + 99).await; // `due` already set: kept
    both.assert_same().await;
    let stored_a = both.dynamo.event(&a).await.expect("get").expect("a");
    assert_eq!(
        stored_a.todo,
        BTreeSet::from([LATE_EVENTS_METRIC.to_string()])
    );
    assert_eq!(stored_a.due, Some(T0 + 10));

    // Published: the marker is done, and marking again changes nothing.
    assert_eq!(
        both.claim(&[stored_a], &lease("t", T0 + 1000), T0 + 10)
            .await
            .len(),
        1
    );
    both.complete(&[completion(&a, "t", &[LATE_EVENTS_METRIC], vec![])])
        .await;
    both.mark_late(&a, T0 + 30).await;
    both.assert_same().await;
    let stored_a = both.dynamo.event(&a).await.expect("get").expect("a");
    assert!(stored_a.todo.is_empty() && stored_a.due.is_none());
    assert!(stored_a.done.contains(LATE_EVENTS_METRIC));
}

#[tokio::test]
async fn integration_due_claim_complete_release() {
    let Some(both) = Both::new("lifecycle").await else {
        return;
    };
    let tl = Some("guardrail_id=g1");
    let e1 = stored(
        event("agg-1", "e1", "GuardrailPassed", T0),
        tl,
        &["GuardrailLeadTime", "GuardrailMaxActivation"],
        Some(T0 + 100),
    );
    let e2 = stored(
        event("agg-2", "e2", "GuardrailPassed", T0),
        tl,
        &["GuardrailLeadTime"],
        Some(T0 + 200),
    );
    let e3 = stored(
        event("agg-3", "e3", "GuardrailActivated", T0),
        tl,
        &[],
        None,
    );
    let mut e4 = stored(
        event("agg-4", "e4", "GuardrailActivated", T0),
        tl,
        &["GuardrailActivationCount"],
        Some(T0 + 50),
    );
    e4.lease = Some(lease("other", T0 + 1000));
    e4.sealed_at = Some(T0 + 50);
    let e5 = stored(
        event("agg-1", "e5", "GuardrailActivated", T0),
        tl,
        &["GuardrailActivationCount"],
        Some(T0 + 5000),
    );
    for e in [&e1, &e2, &e3, &e4, &e5] {
        both.append(e).await;
    }
    let (r1, r2, r4) = (e1.reference(), e2.reference(), e4.reference());

    // Due: at or before now, not leased; oldest first.
    assert_eq!(both.due(T0 + 150, 10).await, std::slice::from_ref(&r1));
    assert_eq!(
        both.due(T0 + 1500, 10).await,
        [r4.clone(), r1.clone(), r2.clone()]
    );
    assert_eq!(both.due(T0 + 1500, 2).await, [r4.clone(), r1.clone()]);
    assert!(both.due(T0, 10).await.is_empty());

    // Two claimers at once: each event goes to exactly one of them.
    let pair = [e1.clone(), e2.clone()];
    let pair_refs = refs(&pair);
    let (l1, l2) = (lease("L1", T0 + 60_300), lease("L2", T0 + 60_300));
    let (c1, c2) = tokio::join!(
        both.dynamo.claim(&pair, &l1, T0 + 300),
        both.dynamo.claim(&pair, &l2, T0 + 300)
    );
    let (c1, c2) = (c1.expect("claim 1"), c2.expect("claim 2"));
    let mut all: Vec<_> = c1.iter().chain(&c2).cloned().collect();
    all.sort();
    assert_eq!(
        all, pair_refs,
        "claims {c1:?} and {c2:?} must split the pair"
    );
    // The reference, the same way.
    let won_by = |c: &[EventRef]| -> Vec<StoredEvent> {
        pair.iter()
            .filter(|e| c.contains(&e.reference()))
            .cloned()
            .collect()
    };
    both.memory
        .claim(&won_by(&c1), &l1, T0 + 300)
        .await
        .expect("memory");
    both.memory
        .claim(&won_by(&c2), &l2, T0 + 300)
        .await
        .expect("memory");
    both.assert_same().await;
    let token_of = |r: &EventRef| if c1.contains(r) { "L1" } else { "L2" };

    // Leased: nobody else gets them, and due() hides them.
    assert!(both
        .claim(&pair, &lease("L3", T0 + 90_000), T0 + 400)
        .await
        .is_empty());
    assert!(!both.due(T0 + 400, 10).await.contains(&r1));

    // A wrong token completes nothing.
    both.complete(&[completion(
        &r1,
        "nope",
        &["GuardrailLeadTime", "GuardrailMaxActivation"],
        vec![measurement("GuardrailLeadTime", &r1, T0, 1.0)],
    )])
    .await;
    both.assert_same().await;

    // The lease expires (until <= now): someone else claims; `sealed_at` keeps the first claim's time.
    let l3 = lease("L3", T0 + 200_000);
    assert_eq!(both.claim(&pair, &l3, T0 + 60_300).await, pair_refs);
    both.assert_same().await;
    assert_eq!(
        both.dynamo
            .event(&r1)
            .await
            .expect("get")
            .expect("e1")
            .sealed_at,
        Some(T0 + 300)
    );
    // The old holder's completion is now refused.
    both.complete(&[completion(
        &r2,
        token_of(&r2),
        &["GuardrailLeadTime"],
        vec![],
    )])
    .await;
    both.assert_same().await;

    // Completion under the lease: todo to done, records kept, lease and due gone.
    let m1 = vec![
        measurement("GuardrailLeadTime", &r1, T0, 1800.0),
        measurement("GuardrailMaxActivation", &r1, T0, 2.0),
    ];
    both.complete(&[completion(
        &r1,
        "L3",
        &["GuardrailLeadTime", "GuardrailMaxActivation"],
        m1,
    )])
    .await;
    both.assert_same().await;
    let done = both.dynamo.event(&r1).await.expect("get").expect("e1");
    assert!(done.todo.is_empty() && done.due.is_none() && done.lease.is_none());
    assert_eq!(done.done.len(), 2);
    both.assert_same_measurements("GuardrailLeadTime").await;
    both.assert_same_measurements("GuardrailMaxActivation")
        .await;

    // A late marker arrives while e2 is being published: `due` stays for it.
    both.mark_late(&r2, T0 + 70_000).await;
    both.complete(&[completion(
        &r2,
        "L3",
        &["GuardrailLeadTime"],
        vec![measurement("GuardrailLeadTime", &r2, T0, 60.0)],
    )])
    .await;
    both.assert_same().await;
    let e2_now = both.dynamo.event(&r2).await.expect("get").expect("e2");
    assert_eq!(
        e2_now.todo,
        BTreeSet::from([LATE_EVENTS_METRIC.to_string()])
    );
    assert_eq!(e2_now.due, Some(T0 + 200));
    assert!(e2_now.lease.is_none());
    assert!(both.due(T0 + 70_000, 10).await.contains(&r2));

    // Release: only with the right token.
    let l4 = lease("L4", T0 + 500_000);
    assert_eq!(
        both.claim(&[both.current(&r2).await], &l4, T0 + 80_000)
            .await,
        std::slice::from_ref(&r2)
    );
    both.release(std::slice::from_ref(&r2), "wrong").await;
    both.assert_same().await;
    assert!(!both.due(T0 + 80_000, 10).await.contains(&r2));
    both.release(std::slice::from_ref(&r2), "L4").await;
    both.assert_same().await;
    assert!(both.due(T0 + 80_000, 10).await.contains(&r2));
    // Releasing what is not leased, or not there, is fine.
    both.release(&[r2.clone(), at("nowhere", "x")], "L4").await;
    both.assert_same().await;
}

#[tokio::test]
async fn integration_a_stale_copy_is_never_claimed() {
    let Some(both) = Both::new("stale-claim").await else {
        return;
    };
    let tl = Some("guardrail_id=g1");
    let late = LATE_EVENTS_METRIC;
    let make = |id: &str, todo: &[&str]| {
        stored(
            event("agg-s", id, "GuardrailPassed", T0),
            tl,
            todo,
            Some(T0),
        )
    };
    // Each copy is what `due()` returned before the store changed.
    // s1 is published, then a late marker makes it due again: todo = {late}.
    let s1 = make("s1", &["GuardrailLeadTime"]);
    // s2 gains a late marker while due: todo = {GuardrailLeadTime, late}.
    let s2 = make("s2", &["GuardrailLeadTime"]);
    // s3 is due with nothing to do (todo absent), then gains a late marker.
    let s3 = make("s3", &[]);
    // s4 is unchanged, but the copy names another metric of the same count.
    let s4 = make("s4", &["A", "B"]);
    let wrong4 = StoredEvent {
        todo: BTreeSet::from(["A".to_string(), "C".to_string()]),
        ..s4.clone()
    };
    // Fresh copies: one with a todo, one with none.
    let f5 = make("f5", &["GuardrailLeadTime"]);
    let f6 = make("f6", &[]);
    for e in [&s1, &s2, &s3, &s4, &f5, &f6] {
        both.append(e).await;
    }
    let r1 = s1.reference();
    assert_eq!(
        both.claim(std::slice::from_ref(&s1), &lease("t", T0 + 1000), T0 + 1)
            .await,
        std::slice::from_ref(&r1)
    );
    both.complete(&[completion(&r1, "t", &["GuardrailLeadTime"], vec![])])
        .await;
    for e in [&s1, &s2, &s3] {
        both.mark_late(&e.reference(), T0 + 10).await;
    }
    both.assert_same().await;
    let now1 = both.current(&r1).await;
    assert_eq!(now1.todo, BTreeSet::from([late.to_string()]));
    assert!(now1.done.contains("GuardrailLeadTime") && now1.due.is_some());
    let stale = [s1.clone(), s2.clone(), s3.clone(), wrong4.clone()];
    let mut before = Vec::new();
    for copy in &stale {
        before.push(both.current(&copy.reference()).await);
    }

    // Alone (one UpdateItem each) and together (a transaction): none is claimed.
    let l = lease("L", T0 + 60_000);
    for copy in &stale {
        assert!(
            both.claim(std::slice::from_ref(copy), &l, T0 + 20)
                .await
                .is_empty(),
            "{:?} with todo {:?}",
            copy.reference(),
            copy.todo
        );
    }
    assert!(both.claim(&stale, &l, T0 + 20).await.is_empty());
    both.assert_same().await;
    // Mixed with fresh copies, the fresh ones alone are claimed.
    let mixed = [
        s1.clone(),
        f5.clone(),
        s2.clone(),
        f6.clone(),
        wrong4.clone(),
    ];
    let mut claimed = both.claim(&mixed, &l, T0 + 20).await;
    claimed.sort();
    assert_eq!(claimed, [f5.reference(), f6.reference()]);
    both.assert_same().await;
    for was in &before {
        let now = both.current(&was.reference()).await;
        assert_eq!(&now, was, "stale copies leave the stored event as it was");
        assert!(now.lease.is_none());
    }

    // The current copies are claimed, even after a stale copy of the same event.
    let current: Vec<StoredEvent> = stale
        .iter()
        .cloned()
        .zip(before)
        .flat_map(|(s, c)| [s, c])
        .collect();
    let mut claimed = both.claim(&current, &l, T0 + 30).await;
    claimed.sort();
    assert_eq!(claimed, refs(&stale));
    both.assert_same().await;
}

#[tokio::test]
async fn integration_batched_claims_and_completions_match_the_reference() {
    let Some(both) = Both::new("batches").await else {
        return;
    };
    let events: Vec<StoredEvent> = (0..150)
        .map(|i| {
            stored(
                event(
                    &format!("agg-{}", i % 40),
                    &format!("e{i:03}"),
                    "GuardrailPassed",
                    T0 + i,
                ),
                Some("guardrail_id=g1"),
                &["A", "B"],
                Some(T0),
            )
        })
        .collect();
    for e in &events {
        both.append(e).await;
    }
    // Someone else holds ten of them: the transactions holding those are cancelled.
    let taken: Vec<_> = events.iter().step_by(15).cloned().collect();
    assert_eq!(
        both.claim(&taken, &lease("other", T0 + 60_000), T0 + 1)
            .await
            .len(),
        10
    );
    let before = both.dynamo.request_count();
    let mine = both
        .claim(&events, &lease("mine", T0 + 60_000), T0 + 2)
        .await;
    assert_eq!(mine.len(), 140);
    eprintln!(
        "claiming 150 events (10 taken) took {} requests",
        both.dynamo.request_count() - before
    );
    both.assert_same().await;

    // Complete them all, two records each; one with a wrong token and one whose
    // todo gained a late marker meanwhile spoil their transactions.
    let late = mine[7].clone();
    both.mark_late(&late, T0 + 3).await;
    let completions: Vec<Completion> = mine
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let token = if i == 50 { "stale" } else { "mine" };
            completion(
                r,
                token,
                &["A", "B"],
                vec![
                    measurement("A", r, T0 + i as i64, i as f64),
                    measurement("B", r, T0, 0.5),
                ],
            )
        })
        .collect();
    let before = both.dynamo.request_count();
    both.complete(&completions).await;
    eprintln!(
        "completing 140 events took {} requests",
        both.dynamo.request_count() - before
    );
    both.assert_same().await;
    both.assert_same_measurements("A").await;
    both.assert_same_measurements("B").await;
    let late_now = both.dynamo.event(&late).await.expect("get").expect("late");
    assert_eq!(
        late_now.todo,
        BTreeSet::from([LATE_EVENTS_METRIC.to_string()])
    );
    assert!(late_now.due.is_some());
    // Due now: the ten taken (their lease expired), the stale one and the late one.
    assert_eq!(both.due(T0 + 60_000, 100).await.len(), 12);
}

#[tokio::test]
async fn integration_measurement_records_are_written_and_read_back() {
    let Some(both) = Both::new("records").await else {
        return;
    };
    let mut records = Vec::new();
    for (i, id) in ["p1", "p2", "p3"].into_iter().enumerate() {
        let e = stored(
            event("res-1", id, "GuardrailPassed", T0),
            None,
            &["GuardrailLeadTime"],
            Some(T0),
        );
        both.append(&e).await;
        let r = e.reference();
        both.claim(std::slice::from_ref(&e), &lease("t", T0 + 1000), T0)
            .await;
        let mut m = measurement(
            "GuardrailLeadTime",
            &r,
            T0 + 1000 * i as i64,
            1.25 * i as f64,
        );
        m.delivery = if i == 2 {
            Delivery::TooOld
        } else {
            Delivery::Published
        };
        m.dimensions.insert("Environment".into(), "test".into());
        records.push(m.clone());
        both.complete(&[completion(&r, "t", &["GuardrailLeadTime"], vec![m])])
            .await;
    }
    both.assert_same_measurements("GuardrailLeadTime").await;
    let read = both
        .dynamo
        .measurements("GuardrailLeadTime", T0, T0 + 2000)
        .await
        .expect("measurements");
    assert_eq!(
        read,
        records[..2],
        "[since, until): the one stamped at `until` is out"
    );
    assert_eq!(
        both.dynamo
            .measurements("GuardrailLeadTime", T0 + 2000, T0 + 2001)
            .await
            .expect("m"),
        records[2..]
    );
    assert!(both
        .dynamo
        .measurements("Nothing", 0, Millis::MAX)
        .await
        .expect("m")
        .is_empty());
    assert!(both
        .dynamo
        .measurements("GuardrailLeadTime", T0, T0)
        .await
        .expect("m")
        .is_empty());
}

// The service over the DynamoDB store.

/// 2026-11-01T00:00:00Z: "now" for the service tests.
const NOW: Millis = 1_793_491_200_000;

fn guardrail(event_type: &str, aggregate: &str, guardrail: &str, minutes: i64, id: &str) -> Value {
    json!({
        "version": "0",
        "id": format!("eb-{id}"),
        "detail-type": event_type,
        "source": "tests",
        "time": "2026-11-01T00:00:00Z",
        "detail": {
            "event_id": id,
            "event_type": event_type,
            "aggregate_id": aggregate,
            "time": (NOW - 10 * 24 * 3_600_000) / 1000 + minutes * 60,
            "payload": {"guardrail_id": guardrail},
        }
    })
}

type Service<S> = FlightController<Arc<S>, Arc<CollectingSink>, Arc<ManualClock>>;

fn service<S: EventStore>(store: Arc<S>, window: Millis) -> Service<S> {
    FlightController::new(
        Arc::new(Catalog::default_catalog()),
        store,
        Arc::new(CollectingSink::new()),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: Some("test".into()),
            lateness_window: window,
            lease: 120_000,
            enforce_cloudwatch_range: true,
        },
    )
}

fn summary(published: &[Measurement]) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = published
        .iter()
        .map(|m| {
            (
                m.metric.clone(),
                m.event_id.clone(),
                m.value.to_string(),
                format!("{:?}", m.dimensions),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn integration_flight_controller_publishes_the_guardrail_story_exactly_once() {
    let Some(store) = dynamo("guardrail-story").await else {
        return;
    };
    let store = Arc::new(store);
    let service = service(store.clone(), 0);
    let story = [
        guardrail("GuardrailActivated", "res-1", "g1", 0, "a1"),
        guardrail("GuardrailActivated", "res-1", "g1", 10, "a2"),
        guardrail("GuardrailPassed", "res-1", "g1", 30, "p1"),
    ];
    for e in &story {
        let report = service.ingest(e, None).await.expect("ingest");
        assert!(!report.duplicate && !report.late);
        service.clock().advance(1000);
    }
    let published = service.sink().published();
    let mut metrics: Vec<_> = published
        .iter()
        .map(|m| (m.metric.as_str(), m.value))
        .collect();
    metrics.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        metrics,
        [
            ("GuardrailActivationCount", 1.0),
            ("GuardrailActivationCount", 1.0),
            ("GuardrailLeadTime", 1800.0),
            ("GuardrailMaxActivation", 2.0),
        ]
    );
    for m in &published {
        assert_eq!(
            m.dimensions.get("guardrail_id").map(String::as_str),
            Some("g1")
        );
        assert!(!m.dimensions.contains_key("aggregate_id"));
    }

    // Every event again (EventBridge's at-least-once), then a settle run: nothing more.
    let requests = store.request_count();
    for e in &story {
        let report = service.ingest(e, None).await.expect("redelivery");
        assert!(report.duplicate);
        assert!(report.published.is_empty());
    }
    service.clock().advance(24 * 3_600_000);
    let settled = service.settle().await.expect("settle");
    assert!(settled.published.is_empty());
    assert_eq!(service.sink().published().len(), 4);
    eprintln!(
        "redelivering 3 events and settling took {} requests",
        store.request_count() - requests
    );

    // The records beside the events say the same.
    let lead = store
        .measurements("GuardrailLeadTime", 0, Millis::MAX)
        .await
        .expect("records");
    assert_eq!(lead.len(), 1);
    assert_eq!(lead[0].value, 1800.0);
    assert_eq!(lead[0].event_id, "p1");
}

#[tokio::test]
async fn integration_flight_controller_matches_the_memory_store_out_of_order() {
    let Some(store) = dynamo("out-of-order").await else {
        return;
    };
    let a1 = guardrail("GuardrailActivated", "res-1", "g1", 0, "a1");
    let a2 = guardrail("GuardrailActivated", "res-1", "g1", 10, "a2");
    let p1 = guardrail("GuardrailPassed", "res-1", "g1", 30, "p1");
    let a3 = guardrail("GuardrailActivated", "res-1", "g1", 100, "a3");
    let p2 = guardrail("GuardrailPassed", "res-1", "g1", 105, "p2");
    let b1 = guardrail("GuardrailActivated", "res-1", "g2", 5, "b1");
    let b2 = guardrail("GuardrailPassed", "res-1", "g2", 15, "b2");
    // Passes before their activations (late events), duplicates, two partitions.
    let order = [&p1, &a2, &b2, &a1, &p1, &p2, &b1, &a3, &a2, &p2];
    let dynamo = service(Arc::new(store), 0);
    let memory = service(Arc::new(MemoryStore::new()), 0);
    for e in order {
        let d = dynamo.ingest(e, None).await.expect("dynamo ingest");
        let m = memory.ingest(e, None).await.expect("memory ingest");
        assert_eq!(
            (d.duplicate, d.late, d.due),
            (m.duplicate, m.late, m.due),
            "ingesting {}",
            e["detail"]["event_id"]
        );
        assert_eq!(
            summary(&d.published),
            summary(&m.published),
            "published on ingesting {}",
            e["detail"]["event_id"]
        );
        dynamo.clock().advance(1000);
        memory.clock().advance(1000);
    }
    dynamo.clock().advance(3_600_000);
    memory.clock().advance(3_600_000);
    let d = dynamo.settle().await.expect("dynamo settle");
    let m = memory.settle().await.expect("memory settle");
    assert_eq!(summary(&d.published), summary(&m.published));
    let all = summary(&dynamo.sink().published());
    assert_eq!(all, summary(&memory.sink().published()));
    assert!(
        all.iter().any(|(metric, ..)| metric == LATE_EVENTS_METRIC),
        "late events are counted: {all:?}"
    );
    // Stored states agree too (no lease is left behind).
    for expected in memory.store().events() {
        let actual = dynamo
            .store()
            .event(&expected.reference())
            .await
            .expect("get");
        assert_eq!(actual.as_ref(), Some(&expected));
    }
}
