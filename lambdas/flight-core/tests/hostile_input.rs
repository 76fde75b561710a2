//! Hostile input (docs/envelope.md, docs/metrics.md): oversized details, deep nesting, invalid
//! UTF-8, numbers out of range, times far in the past or the future,
//! unknown fields and wrong types. Nothing panics; every rejection names the
//! field and the reason; the rest of a batch is processed; data points that
//! CloudWatch would refuse never reach it.
//!
//! (The envelope tests list the ordinary rejections one by one; these push
//! the same paths to their extremes, through the handler and the replay.)

use std::sync::Arc;

use async_trait::async_trait;
use flight_core::engine::Measurement;
use flight_core::envelope::cloudwatch_accepts;
use flight_core::handler::handle_event;
use flight_core::memory::{ManualClock, MemoryStore};
use flight_core::ports::{MetricSink, SinkError};
use flight_core::replay::{read_entries, replay};
use flight_core::{Catalog, Delivery, Event, FlightController, Settings};
use flight_testkit::clock::{EPOCH, HOUR, MINUTE, NOW};
use flight_testkit::fixtures::catalog;
use flight_testkit::stories::{entry, expected, Comparison};
use serde_json::{json, Value};

/// A sink that refuses a whole request the way PutMetricData does: a value
/// out of range, NaN or infinite, more than 1000 data points, or a timestamp
/// more than 14 days old or 2 hours ahead of `now`.
#[derive(Default)]
struct StrictSink {
    published: std::sync::Mutex<Vec<Measurement>>,
}

#[async_trait]
impl MetricSink for StrictSink {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        let refuse = |message: String| Err(SinkError { message });
        if measurements.len() > 1000 {
            return refuse(format!("{} data points in one request", measurements.len()));
        }
        for m in measurements {
            if !cloudwatch_accepts(m.value) {
                return refuse(format!(
                    "InvalidParameterValue: {} has value {}",
                    m.metric, m.value
                ));
            }
            if m.timestamp < NOW - 14 * 24 * HOUR || m.timestamp > NOW + 2 * HOUR {
                return refuse(format!(
                    "InvalidParameterValue: {} stamped {}",
                    m.metric, m.timestamp
                ));
            }
        }
        self.published
            .lock()
            .unwrap()
            .extend_from_slice(measurements);
        Ok(())
    }
}

type Strict = FlightController<Arc<MemoryStore>, Arc<StrictSink>, Arc<ManualClock>>;

fn strict(catalog: Arc<Catalog>, window: i64) -> Strict {
    FlightController::new(
        catalog,
        Arc::new(MemoryStore::new()),
        Arc::new(StrictSink::default()),
        Arc::new(ManualClock::new(NOW)),
        Settings {
            environment: None,
            lateness_window: window,
            lease: 2 * MINUTE,
            enforce_cloudwatch_range: true,
        },
    )
}

fn eventbridge(detail: Value) -> Value {
    json!({"version": "0", "id": "eb-1", "detail-type": "Test Event", "source": "tests",
           "time": "2026-11-01T00:00:00Z", "detail": detail})
}

fn guardrail(id: &str, event_type: &str, minute: i64) -> Value {
    eventbridge(json!({
        "event_id": id, "event_type": event_type, "aggregate_id": "res-1",
        "time": (EPOCH + minute * MINUTE) / 1000, "guardrail_id": "g1",
    }))
}

/// Ingests each event through the handler: `Ok` events must be accepted, the
/// others rejected as not retryable with a message holding the given text.
async fn expect_outcomes<M: MetricSink>(
    service: &FlightController<Arc<MemoryStore>, M, Arc<ManualClock>>,
    cases: &[(Value, Result<(), &str>)],
) {
    for (event, want) in cases {
        let got = handle_event(service, event, None).await;
        let shown = {
            let text = event.to_string();
            text.chars().take(200).collect::<String>()
        };
        match (want, got) {
            (Ok(()), Ok(_)) => {}
            (Err(text), Err(error)) => {
                assert!(
                    !error.retryable,
                    "{shown}: a rejection is not retried: {error}"
                );
                assert!(
                    error.message.starts_with("rejected: ") && error.message.contains(text),
                    "{shown}: wanted a rejection holding `{text}`, got `{}`",
                    error.message
                );
                assert!(
                    error.message.len() < 2_000,
                    "the message stays short: {}",
                    error.message.len()
                );
            }
            (want, got) => panic!("{shown}: wanted {want:?}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn oversized_details_are_measured_or_refused_clearly_and_the_rest_goes_on() {
    let service = strict(catalog(), 0);
    let big = "x".repeat(1 << 20);
    let many_fields: serde_json::Map<String, Value> =
        (0..100_000).map(|i| (format!("f{i}"), json!(i))).collect();
    let ids_100k: String = (0..100_000)
        .map(|i| format!("i-{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut with_big = guardrail("big", "GuardrailActivated", 0);
    with_big["detail"]["notes"] = json!(big);
    let mut with_fields = guardrail("fields", "GuardrailActivated", 1);
    with_fields["detail"]["payload"] = Value::Object(many_fields);
    let patch = eventbridge(json!({
        "event_id": "patch", "event_type": "PatchRunSummary", "aggregate_id": "run-1",
        "time": EPOCH / 1000, "successful_instances": ids_100k, "failed_instances": "i-x",
    }));
    let mut long_id = guardrail(&"e".repeat(100_000), "GuardrailPassed", 2);
    long_id["detail"]["aggregate_id"] = json!("r".repeat(600));
    let mut long_partition = guardrail("lp", "GuardrailActivated", 3);
    long_partition["detail"]["guardrail_id"] = json!("g".repeat(100_000));
    expect_outcomes(
        &service,
        &[
            (with_big, Ok(())),
            (with_fields, Ok(())),
            (patch, Ok(())),
            (
                long_id,
                Err("detail.event_id: is 100000 bytes; at most 512"),
            ),
            (
                long_partition,
                Err("detail.payload.guardrail_id: must be 1 to 512 bytes"),
            ),
            (guardrail("p", "GuardrailPassed", 5), Ok(())),
        ],
    )
    .await;
    let published = service.sink().published.lock().unwrap().clone();
    let metrics: Vec<(&str, f64)> = published
        .iter()
        .map(|m| (m.metric.as_str(), m.value))
        .collect();
    assert!(
        metrics.contains(&("GuardrailLeadTime", 300.0)),
        "{metrics:?}"
    );
    assert!(
        metrics.contains(&("GuardrailMaxActivation", 2.0)),
        "{metrics:?}"
    );
    assert!(
        metrics.contains(&("PatchCompliancePercentage", 100_000.0 / 100_001.0 * 100.0)),
        "{metrics:?}"
    );
}

/// JSON nested `depth` arrays deep.
fn nested(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn deep_nesting_is_refused_by_the_json_parser_never_by_a_stack_overflow() {
    // The Lambda runtime and `replay` parse with serde_json, whose recursion
    // limit (128) refuses deeper input with an error instead of overflowing.
    for depth in [129, 10_000, 1_000_000] {
        let error = serde_json::from_str::<Value>(&nested(depth)).unwrap_err();
        assert!(
            error.to_string().contains("recursion limit exceeded"),
            "{error}"
        );
    }
    let service = strict(catalog(), 0);
    // A detail sent as a JSON string, nested too deep: rejected, naming `detail`.
    let mut deep_string = guardrail("a", "GuardrailActivated", 0);
    deep_string["detail"] = json!(format!("{{\"payload\": {}}}", nested(500)));
    // As deep as a whole event can be once parsed: stored and hashed fine.
    let deepest_with = |depth: usize| {
        let mut e = guardrail("b", "GuardrailActivated", 1);
        e["detail"]["payload"] = json!({
            "guardrail_id": "g1",
            "tree": serde_json::from_str::<Value>(&nested(depth)).unwrap(),
        });
        e["detail"].as_object_mut().unwrap().remove("event_id");
        e.to_string()
    };
    let depth = (1..128)
        .rev()
        .find(|&d| serde_json::from_str::<Value>(&deepest_with(d)).is_ok())
        .unwrap();
    assert!(depth >= 120, "{depth}");
    let reparsed: Value = serde_json::from_str(&deepest_with(depth)).unwrap();
    expect_outcomes(
        &service,
        &[
            (
                deep_string,
                Err("detail: not JSON: recursion limit exceeded"),
            ),
            (reparsed.clone(), Ok(())),
            (reparsed, Ok(())),
            (guardrail("p", "GuardrailPassed", 3), Ok(())),
        ],
    )
    .await;
    let stored = service.store().events();
    assert_eq!(
        stored.len(),
        2,
        "the deep event once (its content hash is stable), and the pass"
    );
}

#[tokio::test]
async fn invalid_utf8_and_lone_surrogates_are_refused_as_json_errors() {
    let valid = guardrail("a", "GuardrailActivated", 0).to_string();
    // A byte that cannot start a UTF-8 sequence, inside a string.
    let mut bytes = valid.clone().into_bytes();
    let at = valid.find("res-1").unwrap();
    bytes[at] = 0xff;
    let error = serde_json::from_slice::<Value>(&bytes).unwrap_err();
    assert!(
        error.to_string().contains("invalid unicode code point"),
        "{error}"
    );
    // Truncated in the middle of a multi-byte character.
    let error = serde_json::from_slice::<Value>(&"{\"a\": \"é\"}".as_bytes()[..8]).unwrap_err();
    assert!(error.is_eof() || error.is_syntax(), "{error}");
    // A lone surrogate escaped in a Detail string: that entry is refused, the file goes on.
    let file = json!([
        entry(&guardrail("a", "GuardrailActivated", 0)),
        {"Source": "s", "DetailType": "GuardrailActivated", "Detail": "{\"aggregate_id\": \"\\ud800\"}"},
        entry(&guardrail("p", "GuardrailPassed", 5)),
    ]);
    let outcome = replay(catalog(), &[("f.json".into(), file.to_string())], None, NOW).await;
    assert_eq!(outcome.rejections.len(), 1, "{:?}", outcome.rejections);
    assert_eq!(outcome.rejections[0].index, 1);
    assert!(
        outcome.rejections[0].reason.contains("Detail: not JSON"),
        "{:?}",
        outcome.rejections
    );
    assert_eq!(
        outcome.measurements.len(),
        3,
        "activation count, lead time, maximum"
    );
    // What a reader that replaces invalid bytes (U+FFFD) hands on is valid
    // JSON: the event is read, the odd character kept in its id.
    let lossy = String::from_utf8_lossy(&bytes).into_owned();
    let event: Value = serde_json::from_str(&lossy).unwrap();
    let parsed = Event::from_eventbridge(&event, &catalog()).unwrap();
    assert!(parsed.aggregate_id.starts_with('\u{fffd}'));
}

#[tokio::test]
async fn numbers_out_of_range_are_refused_with_the_field() {
    let service = strict(catalog(), 0);
    let with = |field: &str, value: Value| {
        let mut e = guardrail("n", "GuardrailActivated", 0);
        e["detail"][field] = value;
        e
    };
    let huge: Value = serde_json::from_str("1e300").unwrap();
    let big_int: Value = serde_json::from_str("18446744073709551615").unwrap();
    let bigger: Value = serde_json::from_str("1844674407370955161500").unwrap();
    expect_outcomes(
        &service,
        &[
            (
                with("time", huge.clone()),
                Err("detail.time: `1e+300` is outside 1970-01-01 to 9999-12-31"),
            ),
            (with("time", json!(-1)), Err("detail.time: `-1` is outside")),
            (
                with("time", json!("1e20")),
                Err("detail.time: `\"1e20\"` is outside"),
            ),
            (with("time", json!("253402300800")), Err("detail.time:")),
            (with("time", json!(i64::MIN)), Err("detail.time:")),
            (with("time", big_int.clone()), Err("detail.time:")),
            (
                with("time", json!("NaN")),
                Err("detail.time: `\"NaN\"` is not a finite number"),
            ),
            (with("time", json!("inf")), Err("detail.time:")),
            (
                with("time", json!("+10000-01-01T00:00:00Z")),
                Err("detail.time: cannot read"),
            ),
            (
                with("event_version", json!(1u64 << 40)),
                Err("detail.event_version: must be a whole number from 1"),
            ),
            (
                with("event_version", json!(-3)),
                Err("detail.event_version"),
            ),
            (
                with("event_version", json!(1.5)),
                Err("detail.event_version: expected a whole number"),
            ),
            (
                with("aggregate_version", huge),
                Err("detail.aggregate_version: expected a whole number"),
            ),
            (
                with("aggregate_version", big_int.clone()),
                Err("detail.aggregate_version"),
            ),
            (
                with("aggregate_id", json!(1.5)),
                Err("detail.aggregate_id: expected a string"),
            ),
            (
                with("aggregate_id", bigger),
                Err("detail.aggregate_id: expected a string"),
            ),
            // The largest whole numbers are fine as ids.
            (with("aggregate_id", big_int), Ok(())),
            (with("event_id", json!(i64::MIN)), Ok(())),
        ],
    )
    .await;
}

/// A catalog with a value metric and a ratio metric of plain numbers.
fn numbers_catalog() -> Arc<Catalog> {
    let yaml = r#"
namespace: Hostile
event_types:
  - name: JobFinished
    description: A job finished.
    help_url: https://example.com/jobs
    aggregate_type: Job
    payload_fields: [seconds, ok, failed]
metrics:
  - name: JobSeconds
    kind: value
    event: JobFinished
    field: seconds
    unit: Seconds
  - name: JobSuccess
    kind: ratio
    event: JobFinished
    numerator: [ok]
    denominator: [failed]
    quantity: number
    scale: 100
    unit: Percent
"#;
    Arc::new(Catalog::parse(yaml).unwrap_or_else(|e| panic!("{}", e.render_for("numbers"))))
}

fn job(id: &str, seconds: Value, ok: Value, failed: Value) -> Value {
    eventbridge(json!({
        "event_id": id, "event_type": "JobFinished", "aggregate_id": format!("job-{id}"),
        "time": EPOCH / 1000, "seconds": seconds, "ok": ok, "failed": failed,
    }))
}

#[tokio::test]
async fn a_value_cloudwatch_would_refuse_is_rejected_at_the_door_not_left_to_block_the_sweep() {
    // Before this was checked, such an event was stored, and every sweep then
    // failed on its PutMetricData and on the rest of the batch with it.
    let service = strict(numbers_catalog(), 5 * MINUTE);
    let n = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    expect_outcomes(
        &service,
        &[
            (job("ok", json!(12.5), json!(3), json!(1)), Ok(())),
            (job("huge", n("1e300"), json!(1), json!(1)), Err("detail.payload.seconds: `1e+300` is outside what CloudWatch accepts")),
            (job("tiny", n("1e-200"), json!(1), json!(1)), Err("detail.payload.seconds: make JobSeconds 1e-200, which CloudWatch refuses")),
            (job("neg", n("-1e150"), json!(1), json!(1)), Err("detail.payload.seconds: `-1e+150` is outside")),
            (
                job("ratio", json!(1), n("1e100"), n("1e-100")),
                Err("detail.payload.failed, detail.payload.ok: make JobSuccess 1e202, which CloudWatch refuses"),
            ),
            (job("overflow", json!(1), n("1e308"), n("1e308")), Err("detail.payload.failed: `1e+308` is outside what CloudWatch accepts")),
            (job("string", json!("1e400"), json!(1), json!(1)), Err("detail.payload.seconds: `\"1e400\"` is not a finite number")),
            (job("zero", json!(0), json!(0), json!(5)), Ok(())),
            (job("nothing", json!(1), json!(1), json!(0)), Ok(())),
            (job("ok2", json!(7), json!(1), json!(2)), Ok(())),
        ],
    )
    .await;
    service.clock().advance(10 * MINUTE);
    let report = service.settle().await.expect("the sweep is not blocked");
    let mut values: Vec<(String, String, f64)> = report
        .published
        .iter()
        .map(|m| (m.metric.clone(), m.event_id.clone(), m.value))
        .collect();
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(
        values,
        [
            ("JobSeconds".into(), "nothing".into(), 1.0),
            ("JobSeconds".into(), "ok".into(), 12.5),
            ("JobSeconds".into(), "ok2".into(), 7.0),
            ("JobSeconds".into(), "zero".into(), 0.0),
            ("JobSuccess".into(), "ok".into(), 300.0),
            ("JobSuccess".into(), "ok2".into(), 50.0),
            ("JobSuccess".into(), "zero".into(), 0.0),
        ]
    );
}

#[tokio::test]
async fn times_far_in_the_past_or_future_are_kept_and_reported_not_sent() {
    let service = strict(catalog(), 0);
    let at = |id: &str, t: &str, time: &str| {
        let mut e = guardrail(id, t, 0);
        e["detail"]["time"] = json!(time);
        e["detail"]["aggregate_id"] = json!(format!("res-{id}"));
        e
    };
    expect_outcomes(
        &service,
        &[
            (
                at("old", "GuardrailActivated", "1970-01-01T00:00:00Z"),
                Ok(()),
            ),
            (
                at("future", "GuardrailActivated", "9999-12-31T23:59:59.999Z"),
                Ok(()),
            ),
            (
                at("soon", "GuardrailActivated", "2026-11-01T01:59:00Z"),
                Ok(()),
            ),
            (
                at("later", "GuardrailActivated", "2026-11-01T02:01:00Z"),
                Ok(()),
            ),
            (
                at("before", "GuardrailActivated", "1969-12-31T23:59:59Z"),
                Err("detail.time: `1969-12-31T23:59:59Z` is outside"),
            ),
            (
                at("leap", "GuardrailActivated", "2026-02-30T00:00:00Z"),
                Err("detail.time: cannot read"),
            ),
            (guardrail("fine", "GuardrailActivated", 0), Ok(())),
        ],
    )
    .await;
    let sent: Vec<String> = service
        .sink()
        .published
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.aggregate_id.clone())
        .collect();
    assert_eq!(
        sent,
        ["res-soon", "res-1"],
        "only what CloudWatch takes is sent"
    );
    let mut kept: Vec<(String, Delivery)> = service
        .store()
        .measurements()
        .iter()
        .map(|m| (m.aggregate_id.clone(), m.delivery))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kept,
        [
            ("res-1".into(), Delivery::Published),
            ("res-future".into(), Delivery::TooNew),
            ("res-later".into(), Delivery::TooNew),
            ("res-old".into(), Delivery::TooOld),
            ("res-soon".into(), Delivery::Published),
        ]
    );
}

#[tokio::test]
async fn unknown_fields_anywhere_are_carried_or_ignored() {
    let service = strict(catalog(), 0);
    let mut event = guardrail("a", "GuardrailActivated", 0);
    event["unexpected-envelope-field"] = json!({"x": [1, 2]});
    event["detail"]["unknown"] = json!({"deep": [null, true]});
    event["detail"]["payload"] = json!({"other": "kept"});
    let report = service.ingest(&event, None).await.unwrap();
    assert_eq!(report.published.len(), 1);
    let stored = &service.store().events()[0].event;
    assert_eq!(stored.payload["unknown"], json!({"deep": [null, true]}));
    assert_eq!(stored.payload["other"], "kept");
    assert_eq!(stored.payload["guardrail_id"], "g1");
}

#[tokio::test]
async fn every_wrong_type_in_every_envelope_field_is_a_clear_rejection() {
    let service = strict(catalog(), 0);
    let fields = [
        "event_id",
        "event_type",
        "event_version",
        "aggregate_id",
        "aggregate_type",
        "aggregate_version",
        "time",
        "payload",
        "guardrail_id",
    ];
    let wrong = [
        json!(true),
        json!([1, 2]),
        json!({"a": 1}),
        json!(1.5),
        json!(""),
        json!(-7),
    ];
    let mut rejected = 0;
    for field in fields {
        for value in &wrong {
            let mut e = guardrail("w", "GuardrailActivated", 0);
            e["detail"][field] = value.clone();
            match handle_event(&service, &e, None).await {
                Ok(_) => {}
                Err(error) => {
                    rejected += 1;
                    assert!(!error.retryable);
                    let named = error.message.contains(&format!("detail.{field}"))
                        || error.message.contains(&format!("detail.payload.{field}"))
                        // `time` given wrongly is reported where it was read.
                        || (field == "payload" && error.message.contains("detail.payload"));
                    assert!(named, "{field} = {value}: {}", error.message);
                }
            }
        }
    }
    assert!(rejected >= 40, "{rejected} rejections");
    // The whole EventBridge event of the wrong type.
    for event in [
        json!(null),
        json!(1),
        json!("text"),
        json!([{}]),
        json!({}),
        json!({"detail": 5}),
    ] {
        let error = handle_event(&service, &event, None).await.unwrap_err();
        assert!(!error.retryable);
        assert!(
            error.message.starts_with("rejected: event")
                || error.message.starts_with("rejected: detail"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_replayed_file_with_bad_entries_between_good_ones_measures_the_good_ones() {
    let good = [
        guardrail("a1", "GuardrailActivated", 0),
        guardrail("a2", "GuardrailActivated", 10),
        guardrail("p1", "GuardrailPassed", 30),
    ];
    let bad: Vec<Value> = vec![
        json!("not an entry"),
        json!({"Source": "s", "DetailType": "x"}),
        json!({"Source": "s", "DetailType": "x", "Detail": "{not json"}),
        json!({"Source": "s", "DetailType": "x", "Detail": format!("{{\"a\": {}}}", nested(300))}),
        json!({"Source": "s", "DetailType": "GuardrailPassed", "Detail": "{\"aggregate_id\": \"r\", \"time\": 1e300}"}),
        json!({"Source": "s", "DetailType": "GuardrailPassed", "Detail": "{\"aggregate_id\": \"r\", \"time\": 5}"}),
        json!({"Source": "s", "DetailType": "GuardrailPassed", "Detail": 5}),
        json!({"Source": "s", "DetailType": "GuardrailPassed", "Detail": "{}", "Time": "never"}),
        json!({"Source": 1, "DetailType": "GuardrailPassed", "Detail": "{}"}),
    ];
    let mut entries = Vec::new();
    for (i, b) in bad.iter().enumerate() {
        entries.push(b.clone());
        if let Some(g) = good.get(i) {
            entries.push(entry(g));
        }
    }
    let files = vec![
        ("mixed.json".to_string(), Value::Array(entries).to_string()),
        ("not-json.json".to_string(), "\u{feff}[{".to_string()),
        ("deep.json".to_string(), nested(100_000)),
        ("object.json".to_string(), json!({"Entries": 5}).to_string()),
    ];
    let outcome = replay(catalog(), &files, None, NOW).await;
    assert_eq!(
        outcome.rejections.len(),
        bad.len() + 3,
        "{:#?}",
        outcome.rejections
    );
    for r in &outcome.rejections {
        assert!(!r.reason.is_empty() && r.reason.len() < 1_000, "{r}");
    }
    let deep = outcome
        .rejections
        .iter()
        .find(|r| r.file == "deep.json")
        .unwrap();
    assert!(deep.reason.contains("recursion limit exceeded"), "{deep}");
    let want = expected(&catalog(), &good, None);
    let comparison = Comparison::of(&want, &outcome.measurements);
    assert!(comparison.exact(), "{comparison:?}");
    assert!(read_entries("[]").unwrap().is_empty());
}
