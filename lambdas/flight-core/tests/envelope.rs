//! The envelope (docs/envelope.md): both original shapes, every alias, every rejection.

use flight_core::{Event, Rejection};
use flight_testkit::fixtures::catalog;
use serde_json::{json, Value};

fn parse(event: Value) -> Result<Event, Rejection> {
    Event::from_eventbridge(&event, &catalog())
}

fn eventbridge(detail: Value) -> Value {
    json!({"version": "0", "id": "e1", "detail-type": "Test Event", "source": "tests",
           "time": "2026-11-20T10:00:00Z", "detail": detail})
}

fn rejected(event: Value) -> Rejection {
    parse(event).expect_err("should be rejected")
}

#[test]
fn the_original_snake_case_shape_with_epoch_seconds_in_a_string() {
    let event = parse(eventbridge(json!({
        "event_type": "project_requested", "correlation_id": "p-1",
        "timestamp": "1700000000", "payload": {"who": "me"}
    })))
    .unwrap();
    assert_eq!(event.event_type, "ProjectRequested");
    assert_eq!(event.aggregate_id, "p-1");
    assert_eq!(event.time, 1_700_000_000_000);
    assert_eq!(event.aggregate_type.as_deref(), Some("Project"));
    assert_eq!(event.event_version, 1);
    assert_eq!(event.payload["who"], "me");
}

#[test]
fn the_original_pascal_case_shape_with_rfc3339_time() {
    let event = parse(eventbridge(json!({
        "event_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "event_type": "GuardrailActivated",
        "event_version": 2, "aggregate_id": "arn:res", "aggregate_type": "Resource",
        "aggregate_version": 7, "time": "2026-11-20T09:15:30.250+01:00",
        "payload": {"guardrail_id": "g1"}
    })))
    .unwrap();
    assert_eq!(event.event_id, "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    assert_eq!(event.event_version, 2);
    assert_eq!(event.aggregate_version, Some(7));
    assert_eq!(event.time, 1_795_162_530_250);
}

#[test]
fn the_event_type_may_come_from_the_detail_type() {
    let mut event = eventbridge(json!({"aggregate_id": "a", "time": 1_700_000_000}));
    event["detail-type"] = json!("AccountRequested");
    assert_eq!(parse(event).unwrap().event_type, "AccountRequested");
}

#[test]
fn time_aliases_and_fallback() {
    let at = |detail: Value| parse(eventbridge(detail)).unwrap().time;
    let base = json!({"event_type": "AccountRequested", "aggregate_id": "a"});
    let with = |k: &str, v: Value| {
        let mut d = base.clone();
        d[k] = v;
        d
    };
    assert_eq!(
        at(with("timestamp", json!(1_700_000_000.5))),
        1_700_000_000_500
    );
    assert_eq!(
        at(with("payload", json!({"timestamp": "1700000001"}))),
        1_700_000_001_000
    );
    assert_eq!(
        at(with("time", json!("2023-11-14T22:13:20Z"))),
        1_700_000_000_000
    );
    // No time in the detail: the EventBridge event's time.
    assert_eq!(at(base.clone()), 1_795_168_800_000);
}

#[test]
fn top_level_fields_that_are_not_envelope_fields_are_payload() {
    let event = parse(eventbridge(json!({
        "event_type": "patch_run_summary", "aggregate_id": "run", "time": 1,
        "successful_instances": "i-1", "failed_instances": "", "payload": {"extra": true}
    })))
    .unwrap();
    assert_eq!(event.payload["successful_instances"], "i-1");
    assert_eq!(event.payload["extra"], true);
}

#[test]
fn a_missing_event_id_is_a_hash_of_the_content() {
    let detail = json!({"event_type": "AccountRequested", "aggregate_id": "a", "time": 5, "payload": {"b": 1, "a": 2}});
    let first = parse(eventbridge(detail.clone())).unwrap();
    let mut retried = eventbridge(detail);
    retried["id"] = json!("another-id");
    assert_eq!(first.event_id, parse(retried).unwrap().event_id);
    assert!(first.event_id.starts_with("sha256-"));
    let other = parse(eventbridge(
        json!({"event_type": "AccountRequested", "aggregate_id": "a", "time": 6}),
    ))
    .unwrap();
    assert_ne!(first.event_id, other.event_id);
}

#[test]
fn a_detail_sent_as_a_json_string_is_read() {
    let detail =
        json!({"event_type": "AccountRequested", "aggregate_id": "a", "time": 5}).to_string();
    assert_eq!(parse(eventbridge(json!(detail))).unwrap().aggregate_id, "a");
}

#[test]
fn every_rejection_names_the_field_and_the_reason() {
    let ok = json!({"event_type": "GuardrailPassed", "aggregate_id": "r", "time": 5, "payload": {"guardrail_id": "g"}});
    let change = |f: &dyn Fn(&mut Value)| {
        let mut d = ok.clone();
        f(&mut d);
        eventbridge(d)
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!("not an object"),
            "event",
            "expected an EventBridge event",
        ),
        (json!({"detail-type": "x"}), "detail", "missing"),
        (eventbridge(json!("{not json")), "detail", "not JSON"),
        (eventbridge(json!([1])), "detail", "expected a JSON object"),
        (
            change(&|d| {
                d.as_object_mut().unwrap().remove("aggregate_id");
            }),
            "detail.aggregate_id",
            "missing",
        ),
        (
            change(&|d| d["aggregate_id"] = json!("")),
            "detail.aggregate_id",
            "must not be empty",
        ),
        (
            change(&|d| d["aggregate_id"] = json!({"x": 1})),
            "detail.aggregate_id",
            "expected a string",
        ),
        (
            change(&|d| d["aggregate_id"] = json!("x".repeat(600))),
            "detail.aggregate_id",
            "at most 512",
        ),
        (
            change(&|d| d["event_id"] = json!(true)),
            "detail.event_id",
            "expected a string",
        ),
        (
            change(&|d| d["event_type"] = json!("GuardrailExploded")),
            "detail.event_type",
            "unknown event type `GuardrailExploded`",
        ),
        (
            change(&|d| d["event_type"] = json!(3)),
            "detail.event_type",
            "expected a string",
        ),
        (
            change(&|d| d["time"] = json!("yesterday")),
            "detail.time",
            "cannot read `yesterday`",
        ),
        (
            change(&|d| d["time"] = json!(1_700_000_000_000i64)),
            "detail.time",
            "looks like milliseconds",
        ),
        (
            change(&|d| d["time"] = json!(-5)),
            "detail.time",
            "outside 1970-01-01",
        ),
        (
            change(&|d| d["time"] = json!([1])),
            "detail.time",
            "expected RFC 3339",
        ),
        (
            change(&|d| d["event_version"] = json!(0)),
            "detail.event_version",
            "from 1",
        ),
        (
            change(&|d| d["aggregate_version"] = json!("seven")),
            "detail.aggregate_version",
            "whole number",
        ),
        (
            change(&|d| d["payload"] = json!([])),
            "detail.payload",
            "expected an object",
        ),
        (
            change(&|d| d["payload"] = json!({})),
            "detail.payload.guardrail_id",
            "missing",
        ),
        (
            change(&|d| d["payload"] = json!({"guardrail_id": {"a": 1}})),
            "detail.payload.guardrail_id",
            "expected a string or a number",
        ),
        (
            change(&|d| d["aggregate_type"] = json!(1)),
            "detail.aggregate_type",
            "expected a string",
        ),
    ];
    for (event, field, reason) in cases {
        let rejection = rejected(event.clone());
        assert_eq!(rejection.field, field, "{event}: {rejection}");
        assert!(rejection.reason.contains(reason), "{event}: {rejection}");
    }
}

#[test]
fn no_event_type_at_all_is_rejected_with_the_known_types() {
    let mut event = eventbridge(json!({"aggregate_id": "a", "time": 1}));
    let rejection = rejected(event.clone());
    assert_eq!(rejection.field, "detail.event_type");
    assert!(
        rejection
            .reason
            .contains("`Test Event` is not a known event type"),
        "{rejection}"
    );
    assert!(rejection.reason.contains("ProjectRequested"), "{rejection}");
    event.as_object_mut().unwrap().remove("detail-type");
    assert!(rejected(event).reason.contains("no detail-type"));
}

#[test]
fn payload_quantities_a_metric_needs_must_be_readable() {
    let rejection = rejected(eventbridge(json!({
        "event_type": "PatchRunSummary", "aggregate_id": "run", "time": 1,
        "payload": {"successful_instances": 3, "failed_instances": ""}
    })));
    assert_eq!(rejection.field, "detail.payload.successful_instances");
    assert!(
        rejection.reason.contains("comma-separated list of ids"),
        "{rejection}"
    );
    assert!(
        rejection.reason.contains("PatchCompliancePercentage"),
        "{rejection}"
    );
}
