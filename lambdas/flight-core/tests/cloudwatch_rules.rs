//! The door checks what CloudWatch will check (issue 15): a hostile producer's
//! partition values that CloudWatch refuses as dimension values (blank, a tab,
//! a NUL, non-ASCII, too long), and a negative value for a metric whose SLO
//! reads a percentile, are rejected at validation, naming the field and the
//! rule; so ingest, `replay`, `put-events` and `validate`, which all validate
//! with [`Event::from_eventbridge`], agree. The catalog is held to
//! CloudWatch's rules for dimension names too.

use std::sync::Arc;

use flight_core::handler::handle_event;
use flight_core::memory::{ManualClock, MemoryStore};
use flight_core::strict_sink::StrictSink;
use flight_core::{Catalog, Event, FlightController, Settings};
use serde_json::{json, Value};

/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200_000;

fn guardrail_activated(guardrail_id: Value) -> Value {
    json!({
        "version": "0", "id": "eb-1", "detail-type": "GuardrailActivated", "source": "tests",
        "time": "2026-11-01T00:00:00Z",
        "detail": {
            "event_id": "e-1", "event_type": "GuardrailActivated", "aggregate_id": "res-1",
            "time": NOW / 1000 - 60, "guardrail_id": guardrail_id,
        }
    })
}

/// The rejection of an event by validation, as `field: reason`.
fn rejection(event: &Value, catalog: &Catalog) -> String {
    match Event::from_eventbridge(event, catalog) {
        Ok(_) => panic!("accepted, but CloudWatch would refuse it: {event}"),
        Err(rejection) => rejection.to_string(),
    }
}

#[test]
fn each_dimension_value_rule_is_enforced_at_the_door_with_a_clear_message() {
    let catalog = Catalog::default_catalog();
    let cases = [
        (
            "blank",
            json!("   "),
            "detail.payload.guardrail_id: is blank; CloudWatch needs a dimension value with at least one character other than whitespace",
        ),
        (
            "tab",
            json!("tab\there"),
            "detail.payload.guardrail_id: holds the control character U+0009 (a tab) at byte 3; CloudWatch refuses control characters in a dimension value",
        ),
        (
            "NUL",
            json!("nul\u{0}here"),
            "detail.payload.guardrail_id: holds the control character U+0000 (NUL) at byte 3",
        ),
        (
            "non-ASCII",
            json!("ünï\u{0}code"),
            "detail.payload.guardrail_id: holds `ü` (U+00FC) at byte 0, which is not ASCII; CloudWatch takes ASCII dimension values only",
        ),
        (
            // The store's own bound (512 bytes, for its keys) is below CloudWatch's 1,024.
            "too long",
            json!("g".repeat(1025)),
            "detail.payload.guardrail_id: must be 1 to 512 bytes",
        ),
        (
            "empty",
            json!(""),
            "detail.payload.guardrail_id: must be 1 to 512 bytes",
        ),
    ];
    for (rule, value, expected) in cases {
        let message = rejection(&guardrail_activated(value), &catalog);
        assert!(
            message.starts_with(expected),
            "{rule}: wanted `{expected}…`, got `{message}`"
        );
        if !message.contains("512") {
            assert!(
                message.contains("partitions by it, so it becomes a CloudWatch dimension value"),
                "{rule}: the message says why the rule applies: {message}"
            );
        }
    }
    // What CloudWatch takes passes: printable ASCII, inner spaces, a leading colon.
    for fine in ["gr-1", "a b", ":colon", "~!@#$%^&*()"] {
        Event::from_eventbridge(&guardrail_activated(json!(fine)), &catalog)
            .unwrap_or_else(|r| panic!("{fine:?} refused: {r}"));
    }
}

#[tokio::test]
async fn a_rejected_dimension_value_goes_to_the_dead_letter_path_and_never_reaches_the_sink() {
    let clock = Arc::new(ManualClock::new(NOW));
    let service = FlightController::new(
        Arc::new(Catalog::default_catalog()),
        Arc::new(MemoryStore::new()),
        Arc::new(StrictSink::new(clock.clone())),
        clock,
        Settings {
            lateness_window: 0,
            ..Settings::default()
        },
    );
    let error = handle_event(&service, &guardrail_activated(json!("tab\there")), None)
        .await
        .expect_err("rejected");
    assert!(!error.retryable, "a rejection is not retried: {error}");
    assert!(
        error
            .message
            .starts_with("rejected: detail.payload.guardrail_id: holds the control character"),
        "{}",
        error.message
    );
    assert!(service.store().events().is_empty());
    assert_eq!(service.sink().calls(), 0);

    handle_event(&service, &guardrail_activated(json!("gr-1")), None)
        .await
        .expect("a valid event is taken");
    assert_eq!(service.sink().accepted().len(), 1);
}

const QUEUE_CATALOG: &str = "namespace: Test
event_types:
  - name: QueueMeasured
    description: a queue's depth and its change
    payload_fields: [depth, change, queue]
metrics:
  - name: QueueDepth
    kind: value
    event: QueueMeasured
    field: depth
    unit: Count
    partition_by: [queue]
  - name: QueueChange
    kind: value
    event: QueueMeasured
    field: change
    unit: Count
slos:
  - name: shallow-queues
    metric: QueueDepth
    objective: 99
    threshold: 100
    good_when: at_most
    period: 28d
    severity: ticket
";

fn queue_measured(depth: f64, change: f64) -> Value {
    json!({
        "detail-type": "QueueMeasured", "time": "2026-11-01T00:00:00Z",
        "detail": {"aggregate_id": "q-1", "depth": depth, "change": change, "queue": "orders"}
    })
}

#[test]
fn a_negative_value_is_refused_for_a_metric_whose_slo_reads_a_percentile() {
    let catalog = Catalog::parse(QUEUE_CATALOG).unwrap_or_else(|e| panic!("{e}"));
    let message = rejection(&queue_measured(-5.0, 0.0), &catalog);
    assert_eq!(
        message,
        "detail.payload.depth: makes QueueDepth -5, below 0; its SLO `shallow-queues` is read as a percentile, and CloudWatch gives no percentile for a metric with any negative value"
    );
    // Zero is fine, and a metric without an SLO may go negative.
    Event::from_eventbridge(&queue_measured(0.0, -3.0), &catalog).expect("accepted");
}

#[test]
fn the_catalog_is_held_to_cloudwatch_s_dimension_name_and_count_rules() {
    let fields: Vec<String> = (0..30).map(|i| format!("f{i}")).collect();
    let source = format!(
        "namespace: ':Test'
event_types:
  - name: Seen
    description: s
    payload_fields: [':odd', {all}]
metrics:
  - name: A
    kind: count
    event: Seen
    unit: Count
    partition_by: [':odd']
  - name: B
    kind: count
    event: Seen
    unit: Count
    partition_by: [{all}]
  - name: RefusedDataPoints
    kind: count
    event: Seen
    unit: Count
",
        all = fields.join(", ")
    );
    let issues: Vec<String> = Catalog::parse(&source)
        .unwrap_err()
        .issues
        .iter()
        .map(ToString::to_string)
        .collect();
    let has = |text: &str| issues.iter().any(|i| i.contains(text));
    assert!(
        has("namespace: starts with `:`, which CloudWatch refuses in a namespace"),
        "{issues:#?}"
    );
    assert!(
        has("metrics[0].partition_by[0]: `:odd` starts with `:`"),
        "{issues:#?}"
    );
    assert!(
        has("metrics[1].partition_by: 30 fields; with `Environment` a data point may carry at most 30 CloudWatch dimensions"),
        "{issues:#?}"
    );
    assert!(
        has("metrics[2].name: `RefusedDataPoints` is reserved"),
        "{issues:#?}"
    );
}
