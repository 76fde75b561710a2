//! `flightctl replay`'s fast path (issue 13) reads the common shape of
//! PutEvents entry straight into its event. It must be invisible: for every
//! entry it takes, the event is the one the functions' validation builds
//! (`entry_to_event` + `Event::all_from_eventbridge`, the slow path), and an
//! entry it does not take goes the slow path as the JSON value it was, so
//! rejections keep their messages. Proven over the committed events, the
//! AWS examples, the fuzz corpus, generated histories, and each of those
//! broken one field at a time; then whole replays against the slow path.

use flight_core::engine::{format_measurement, measure_all, EventFacts};
use flight_core::replay::{entry_to_event, fast_event, replay_sources, QuickReader, RawEntry};
use flight_core::{Catalog, Event};
use flight_testkit::clock::NOW;
use flight_testkit::fixtures::catalog;
use flight_testkit::stories::{commonest_shape, history, Draws, Spec};
use serde_json::{json, Value};

/// The slow path: the events the functions' validation gives an entry.
fn slow(catalog: &Catalog, entry: &Value, ordinal: usize) -> Result<Vec<Event>, String> {
    let event = entry_to_event(entry, &format!("replay-{}", ordinal + 1), NOW)?;
    Event::all_from_eventbridge(&event, catalog).map_err(|r| r.to_string())
}

thread_local! {
    /// Entries (as written) that the quickest path read from their bytes.
    static SCANNED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The quickest path's reader, one for all the entries of a test, as a
    /// replay has one for all its entries: what it remembers of earlier
    /// entries (payloads, the types they passed the checks for) must not
    /// change what it reads of later ones.
    static QUICK: std::cell::RefCell<QuickReader> = std::cell::RefCell::new(QuickReader::default());
}

/// What the engine reads of an event.
fn facts(e: &impl EventFacts) -> (String, String, String, i64, serde_json::Map<String, Value>) {
    let (t, a, i) = (e.event_type(), e.aggregate_id(), e.event_id());
    (t.into(), a.into(), i.into(), e.time(), e.payload().clone())
}

/// Checks one entry (JSON text); true when the fast path took it.
fn agrees(catalog: &Catalog, text: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let raw: RawEntry = serde_json::from_str(text).expect("what is JSON reads as an entry");
    let fast = fast_event(catalog, &raw);
    // The quickest path, from the bytes (as written, and pretty-printed, which
    // drops a repeated key): the fast path's event, or nothing.
    for bytes in [
        text.to_string(),
        serde_json::to_string_pretty(&value).unwrap(),
    ] {
        let read = QUICK.with_borrow_mut(|quick| quick.read(catalog, bytes.as_bytes()));
        if let Some((held, len)) = read {
            assert_eq!(len, bytes.trim_end().len(), "the whole entry: {bytes}");
            if bytes == text {
                SCANNED.set(SCANNED.get() + 1);
            }
            let same: RawEntry = serde_json::from_str(&bytes).unwrap();
            let event = fast_event(catalog, &same);
            assert_eq!(Some(facts(&held)), event.as_ref().map(facts), "{bytes}");
        }
    }
    assert_eq!(
        raw.into_value(),
        value,
        "the entry rebuilt for the slow path: {text}"
    );
    match fast {
        Some(event) => {
            assert_eq!(slow(catalog, &value, 0), Ok(vec![event]), "{text}");
            true
        }
        None => false,
    }
}

/// Entries of the committed files and the AWS documentation's examples.
fn committed() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let mut entries = Vec::new();
    for dir in [root.to_string(), format!("{root}/aws")] {
        for file in std::fs::read_dir(&dir).expect("events/") {
            let path = file.expect("a file").path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("readable");
                match serde_json::from_str::<Value>(&text).expect("JSON") {
                    Value::Array(items) => entries.extend(items.iter().map(Value::to_string)),
                    other => entries.push(other.to_string()),
                }
            }
        }
    }
    entries
}

/// The entry of a generated EventBridge event, without `Time` (as the bench's).
fn plain_entry(event: &Value) -> Value {
    json!({
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": event["detail"].to_string(),
        "EventBusName": "flight-controller",
    })
}

/// Generated entries of every domain and envelope shape, each also in the
/// commonest shape (replay reads that detail where it lies).
fn generated(seeds: u64) -> Vec<Value> {
    let mut out = Vec::new();
    for seed in 0..seeds {
        let mut draws = Draws(seed);
        let specs: Vec<Spec> = (0..100).map(|_| Spec::from_raw(draws.next())).collect();
        for entry in history(&specs, "f").iter().map(plain_entry) {
            out.push(commonest_shape(&entry));
            out.push(entry);
        }
    }
    out
}

/// An entry broken (or merely changed) in one way, for each way.
fn variants(entry: &Value) -> Vec<String> {
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap_or("{}")).unwrap();
    let with_detail = |change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut d = detail.as_object().cloned().unwrap_or_default();
        change(&mut d);
        let mut e = entry.clone();
        e["Detail"] = json!(Value::Object(d).to_string());
        e.to_string()
    };
    let with_entry = |change: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut e = entry.as_object().cloned().unwrap_or_default();
        change(&mut e);
        Value::Object(e).to_string()
    };
    let mut out = vec![entry.to_string()];
    for field in [
        "event_id",
        "event_type",
        "aggregate_id",
        "aggregate_type",
        "time",
        "payload",
    ] {
        out.push(with_detail(&|d| _ = d.remove(field)));
        for bad in [
            json!(null),
            json!(""),
            json!("  "),
            json!(7),
            json!(1.5),
            json!("x".repeat(600)),
            json!([]),
            json!({}),
            json!("NoSuchType"),
            json!("2026-13-01T00:00:00Z"),
        ] {
            out.push(with_detail(&|d| _ = d.insert(field.into(), bad.clone())));
        }
    }
    out.push(with_detail(&|d| {
        _ = d.insert("test_run_id".into(), json!("run-1"))
    }));
    out.push(with_detail(&|d| {
        _ = d.insert("timestamp".into(), json!("1700000000"))
    }));
    out.push(with_detail(&|d| {
        _ = d.insert("event_version".into(), json!(2))
    }));
    out.push(with_detail(&|d| {
        _ = d.insert("payload".into(), json!({"guardrail_id": 5, "x": [1]}))
    }));
    out.push(with_detail(&|d| {
        _ = d.insert("payload".into(), json!({"guardrail_id": ""}))
    }));
    for (key, value) in [
        ("Time", json!("2026-11-01T00:00:00Z")),
        ("Time", json!("yesterday")),
        ("Time", json!(1_700_000_000)),
        ("Time", json!(null)),
        ("Source", json!("aws.config")),
        ("Source", json!(3)),
        ("DetailType", json!(null)),
        ("Detail", detail.clone()),
        ("Detail", json!("not json")),
        ("Detail", json!("[1]")),
        ("detail-type", json!("X")),
        ("Resources", json!(["arn:aws:s3:::b"])),
        ("Other", json!(1)),
    ] {
        out.push(with_entry(&|e| _ = e.insert(key.into(), value.clone())));
    }
    out.push(with_entry(&|e| _ = e.remove("DetailType")));
    // A key twice (JSON text only): the last one counts, as serde_json reads it.
    let text = entry.to_string();
    out.push(text.replacen('{', r#"{"Source":"aws.config","#, 1));
    if let Some(d) = entry["Detail"].as_str() {
        let twice = d.replacen('{', r#"{"aggregate_id":"other","#, 1);
        let mut e = entry.clone();
        e["Detail"] = json!(twice);
        out.push(e.to_string());
    }
    out
}

#[test]
fn the_fast_path_builds_the_functions_event_for_every_entry_it_takes() {
    let catalog = catalog();
    let mut taken = 0;
    let mut seen = 0;
    let mut texts = committed();
    texts.extend(generated(4).iter().flat_map(variants));
    for text in &texts {
        seen += 1;
        taken += usize::from(agrees(&catalog, text));
    }
    // The fast path is taken where it should be (most generated entries are
    // of the common shape), and refuses the rest.
    assert!(taken > 600 && taken < seen / 2, "{taken} of {seen}");
    // The quickest path takes most of those (not those with a payload's \u escapes, ...).
    let scanned = SCANNED.get();
    assert!(
        scanned > taken / 2 && scanned <= taken,
        "{scanned} of {taken}"
    );
    // And most of those have the commonest detail, read where it lies.
    let in_place = QUICK.with_borrow(QuickReader::details_read_in_place);
    assert!(in_place > scanned / 2, "{in_place} of {scanned}");
}

#[test]
fn fuzz_corpus_details_read_alike_on_both_paths() {
    let catalog = catalog();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/envelope");
    let mut read = 0;
    for file in std::fs::read_dir(dir).expect("fuzz/corpus/envelope") {
        let bytes = std::fs::read(file.expect("a file").path()).expect("readable");
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        read += 1;
        // As a detail, and as an entry.
        for detail_type in ["GuardrailPassed", "ProjectRequested"] {
            let entry = json!({"Source": "fuzz", "DetailType": detail_type, "Detail": text});
            agrees(&catalog, &entry.to_string());
        }
        agrees(&catalog, &text);
    }
    assert!(read > 1000, "{read} corpus inputs");
}

#[test]
fn a_replay_measures_and_rejects_as_the_slow_path_does() {
    let catalog = catalog();
    let mut entries: Vec<Value> = Vec::new();
    for e in generated(6) {
        for text in variants(&e).into_iter().step_by(7) {
            entries.push(serde_json::from_str(&text).expect("JSON"));
        }
    }
    let mut events = Vec::new();
    let mut expected_rejections = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match slow(&catalog, entry, i) {
            Ok(e) => events.extend(e),
            Err(reason) => expected_rejections.push(format!("f.json: entry {i}: {reason}")),
        }
    }
    let expected: Vec<String> = measure_all(&catalog, &events, None)
        .iter()
        .map(format_measurement)
        .collect();
    let file = Value::Array(entries.clone()).to_string();
    let outcome = replay_sources(&catalog, [("f.json".into(), file.as_bytes())], None, NOW)
        .expect("reading from memory");
    let got: Vec<String> = outcome
        .measurements
        .iter()
        .map(format_measurement)
        .collect();
    let rejections: Vec<String> = outcome.rejections.iter().map(|r| r.to_string()).collect();
    assert_eq!(got, expected);
    assert_eq!(rejections, expected_rejections);
    assert!(!expected.is_empty() && !rejections.is_empty());
    assert_eq!(outcome.entries, entries.len());
}
