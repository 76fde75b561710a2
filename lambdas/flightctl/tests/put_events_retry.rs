//! `put-events` against a bus that fails on purpose: entries reported in
//! `FailedEntryCount` are sent again with backoff, permanent failures are not,
//! whole-call failures are retried when they may pass, and calls stay within
//! PutEvents' limits. (The happy path against moto is in `verbs.rs`.)

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use flight_core::Catalog;
use flightctl::put_events::{
    prepare, receipts, send, CallError, Delivery, EntryResult, EventBus, Outcome, OutgoingEntry,
    RetryPolicy, MAX_ENTRIES_PER_CALL,
};

/// A bus that answers each call from a script, and records what it was sent.
#[derive(Default)]
struct ScriptedBus {
    /// Per detail: the error codes of its first sends, in order (then accepted).
    failures: BTreeMap<String, Vec<&'static str>>,
    /// Whole calls that fail before any entry is looked at: (retryable).
    failing_calls: Mutex<Vec<bool>>,
    sent: Mutex<Vec<Vec<String>>>,
}

impl ScriptedBus {
    fn sends_of(&self, detail: &str) -> usize {
        let sent = self.sent.lock().unwrap();
        sent.iter().flatten().filter(|d| *d == detail).count()
    }
}

#[async_trait]
impl EventBus for ScriptedBus {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn put_events(&self, entries: &[OutgoingEntry]) -> Result<Vec<EntryResult>, CallError> {
        if let Some(retryable) = self.failing_calls.lock().unwrap().pop() {
            return Err(CallError {
                message: "the call failed".into(),
                retryable,
            });
        }
        let details: Vec<String> = entries.iter().map(|e| e.detail.clone()).collect();
        let mut sent = self.sent.lock().unwrap();
        let results = details
            .iter()
            .map(|detail| {
                let earlier = sent.iter().flatten().filter(|d| *d == detail).count();
                match self
                    .failures
                    .get(detail)
                    .and_then(|codes| codes.get(earlier))
                {
                    Some(code) => EntryResult::Failed {
                        code: code.to_string(),
                        message: format!("{code} on purpose"),
                    },
                    None => EntryResult::Accepted {
                        eventbridge_id: format!("eb-{detail}"),
                    },
                }
            })
            .collect();
        sent.push(details);
        Ok(results)
    }
}

fn entry(n: usize) -> OutgoingEntry {
    OutgoingEntry {
        source: "tests".into(),
        detail_type: "AccountRequested".into(),
        detail: format!("d{n}"),
        time: None,
        resources: Vec::new(),
        trace_header: None,
    }
}

fn fast(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    }
}

#[tokio::test]
async fn entries_reported_failed_are_sent_again_until_accepted() {
    let bus = ScriptedBus {
        failures: BTreeMap::from([
            ("d3".to_string(), vec!["ThrottlingException"]),
            ("d7".to_string(), vec!["InternalFailure", "InternalFailure"]),
        ]),
        ..ScriptedBus::default()
    };
    let entries: Vec<_> = (0..12).map(entry).collect();
    let (deliveries, stats) = send(&bus, &entries, &fast(5), |_| {}).await;
    for (i, d) in deliveries.iter().enumerate() {
        let expected_attempts = match i {
            3 => 2,
            7 => 3,
            _ => 1,
        };
        assert_eq!(
            d,
            &Delivery::Sent {
                eventbridge_id: format!("eb-d{i}"),
                attempts: expected_attempts
            }
        );
    }
    // 12 entries: two calls, then one retry call for d3 and d7, then one for d7.
    assert_eq!(stats.calls, 4, "{stats:?}");
    assert_eq!(stats.retries, 3);
    assert_eq!(
        (bus.sends_of("d3"), bus.sends_of("d7"), bus.sends_of("d0")),
        (2, 3, 1)
    );
    let sent = bus.sent.lock().unwrap();
    assert!(sent.iter().all(|call| call.len() <= MAX_ENTRIES_PER_CALL));
    assert_eq!(sent[2], vec!["d3".to_string(), "d7".to_string()]);
}

#[tokio::test]
async fn permanent_failures_are_not_retried_and_retries_stop_at_the_limit() {
    let bus = ScriptedBus {
        failures: BTreeMap::from([
            ("d0".to_string(), vec!["MalformedDetail"]),
            ("d1".to_string(), vec!["ThrottlingException"; 10]),
        ]),
        ..ScriptedBus::default()
    };
    let (deliveries, _) = send(&bus, &[entry(0), entry(1), entry(2)], &fast(3), |_| {}).await;
    assert!(
        matches!(&deliveries[0], Delivery::Failed { code, attempts: 1, .. } if code == "MalformedDetail")
    );
    assert!(
        matches!(&deliveries[1], Delivery::Failed { code, attempts: 3, .. } if code == "ThrottlingException")
    );
    assert!(matches!(&deliveries[2], Delivery::Sent { attempts: 1, .. }));
    assert_eq!((bus.sends_of("d0"), bus.sends_of("d1")), (1, 3));
}

#[tokio::test]
async fn failed_calls_are_retried_when_they_may_pass_and_reported_when_not() {
    // pop() takes from the end: first a retryable failure, then none.
    let bus = ScriptedBus {
        failing_calls: Mutex::new(vec![true]),
        ..ScriptedBus::default()
    };
    let (deliveries, stats) = send(&bus, &[entry(0), entry(1)], &fast(3), |_| {}).await;
    assert!(deliveries
        .iter()
        .all(|d| matches!(d, Delivery::Sent { attempts: 2, .. })));
    assert_eq!(stats.calls, 2);

    let refusing = ScriptedBus {
        failing_calls: Mutex::new(vec![false]),
        ..ScriptedBus::default()
    };
    let (deliveries, stats) = send(&refusing, &[entry(0)], &fast(3), |_| {}).await;
    assert!(
        matches!(&deliveries[0], Delivery::Failed { code, attempts: 1, .. } if code == "CallRefused")
    );
    assert_eq!(stats.calls, 1);
}

#[tokio::test]
async fn receipts_say_per_entry_what_was_sent_refused_or_failed() {
    let catalog = Catalog::default_catalog();
    let detail = |body: &str| {
        serde_json::json!({"Source": "tests", "DetailType": "Test Event", "Detail": body})
            .to_string()
    };
    let file = format!(
        "[{}, {}, {}]",
        detail(
            r#"{"event_type": "AccountRequested", "aggregate_id": "a", "event_id": "e1", "time": 1700000000}"#
        ),
        detail(r#"{"event_type": "GuardrailPassed", "aggregate_id": "r", "time": 1700000000}"#),
        detail(
            r#"{"event_type": "AccountCreated", "aggregate_id": "a", "event_id": "e2", "time": 1700000600}"#
        ),
    );
    let prepared = prepare(&catalog, "f.json", &file, 0).unwrap();
    let sendable: Vec<OutgoingEntry> = prepared
        .iter()
        .filter_map(|p| p.check.as_ref().ok().map(|c| c.entry.clone()))
        .collect();
    assert_eq!(sendable.len(), 2);
    let bus = ScriptedBus {
        failures: BTreeMap::from([(sendable[1].detail.clone(), vec!["AccessDeniedException"])]),
        ..ScriptedBus::default()
    };
    let (deliveries, _) = send(&bus, &sendable, &fast(3), |_| {}).await;
    let receipts = receipts(&prepared, Some(&deliveries));
    let lines: Vec<String> = receipts.iter().map(ToString::to_string).collect();
    assert!(
        lines[0]
            .starts_with("f.json: entry 0: sent: AccountRequested event e1 (EventBridge id eb-"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "f.json: entry 1: refused, not sent: detail.payload.guardrail_id: missing; GuardrailPassed events must carry it"
    );
    assert!(
        lines[2].contains("failed: event e2: AccessDeniedException"),
        "{lines:?}"
    );
    assert!(lines[2].contains("check the IAM policy"), "{lines:?}");
    assert!(matches!(receipts[1].outcome, Outcome::Refused { .. }));
    assert!(receipts[0].ok() && !receipts[1].ok() && !receipts[2].ok());
}
