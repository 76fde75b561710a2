//! `flightctl replay`'s streaming (issue 13): streaming replay of input grouped
//! by aggregate gives the measurements of the in-memory replay, holds one
//! aggregate at a time, and refuses input whose aggregates are interleaved
//! rather than measure part of a history.

use flight_core::engine::{format_measurement, Measurement};
use flight_core::replay::{replay_grouped, replay_sources, GroupedError, GroupedOutcome};
use flight_core::{Catalog, Event};
use flight_testkit::clock::NOW;
use flight_testkit::fixtures::{catalog, guardrail};
use flight_testkit::stories::{entry, history, Draws, Spec};
use serde_json::Value;

/// A measurement in full (event id and delivery included), for comparing sets.
fn shown(m: &Measurement) -> String {
    format!("{m:?}")
}

/// A data point's line as `flightctl replay` writes it.
fn line_of<E: flight_core::engine::EventFacts>(
    point: &flight_core::engine::Point<'_, E>,
) -> Vec<u8> {
    let mut line = Vec::new();
    point.write_line(&mut line).expect("writing to memory");
    line
}

/// The in-memory replay of one file of entries: every measurement, shown, sorted.
fn in_memory(catalog: &Catalog, entries: &[Value]) -> Vec<String> {
    let file = Value::Array(entries.to_vec()).to_string();
    let outcome = replay_sources(
        catalog,
        [("f.json".to_string(), file.as_bytes())],
        None,
        NOW,
    )
    .expect("reading from memory");
    let mut lines: Vec<String> = outcome.measurements.iter().map(shown).collect();
    lines.sort();
    lines
}

/// The grouped replay of one file: what it emitted (shown, in emitted order) and its outcome.
fn grouped(
    catalog: &Catalog,
    entries: &[Value],
) -> (Vec<String>, Result<GroupedOutcome, GroupedError>) {
    let file = Value::Array(entries.to_vec()).to_string();
    let mut emitted = Vec::new();
    let outcome = replay_grouped(
        catalog,
        [("f.json".to_string(), file.as_bytes())],
        None,
        NOW,
        |point| {
            let measured = point.measurement();
            assert_eq!(
                String::from_utf8(line_of(&point)).unwrap(),
                format_measurement(&measured),
                "a point's line is its measurement's"
            );
            emitted.push(shown(&measured));
            Ok(())
        },
    );
    (emitted, outcome)
}

/// The aggregate an EventBridge event belongs to, as the functions read it.
fn aggregate(catalog: &Catalog, event: &Value) -> String {
    Event::from_eventbridge(event, catalog)
        .map(|e| e.aggregate_id)
        .unwrap_or_default()
}

#[test]
fn grouped_input_is_measured_as_the_in_memory_replay_measures_any_order_of_it() {
    let catalog = catalog();
    for seed in 0..24 {
        let mut draws = Draws(seed);
        let specs: Vec<Spec> = (0..150).map(|_| Spec::from_raw(draws.next())).collect();
        let mut events = history(&specs, "g");
        draws.shuffle(&mut events);
        let expected = in_memory(&catalog, &events.iter().map(entry).collect::<Vec<_>>());

        // The same events with each aggregate's together (stable: the
        // delivery order within an aggregate is kept), aggregates in the
        // order they first appear.
        let mut first_seen: Vec<String> = Vec::new();
        for e in &events {
            let a = aggregate(&catalog, e);
            if !first_seen.contains(&a) {
                first_seen.push(a);
            }
        }
        let mut together = events.clone();
        together.sort_by_key(|e| {
            let a = aggregate(&catalog, e);
            first_seen.iter().position(|s| *s == a)
        });
        let (emitted, outcome) = grouped(&catalog, &together.iter().map(entry).collect::<Vec<_>>());
        let outcome = outcome.unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let mut got = emitted;
        got.sort();
        assert_eq!(got, expected, "seed {seed}");
        assert_eq!(outcome.measurements, expected.len());
        assert_eq!(outcome.entries, events.len());
        assert_eq!(outcome.aggregates, first_seen.len(), "seed {seed}");
    }
}

#[test]
fn a_long_aggregate_is_the_most_held_and_short_ones_are_emitted_as_they_end() {
    let catalog = catalog();
    let mut events = Vec::new();
    for c in 0..500 {
        let id = |kind: &str| format!("long-{kind}{c}");
        events.push(guardrail(
            "GuardrailActivated",
            "res-long",
            "g1",
            2 * c,
            &id("a"),
        ));
        events.push(guardrail(
            "GuardrailPassed",
            "res-long",
            "g1",
            2 * c + 1,
            &id("p"),
        ));
    }
    for r in 0..50 {
        let res = format!("res-{r}");
        events.push(guardrail(
            "GuardrailActivated",
            &res,
            "g1",
            r,
            &format!("s-a{r}"),
        ));
        events.push(guardrail(
            "GuardrailPassed",
            &res,
            "g1",
            r + 5,
            &format!("s-p{r}"),
        ));
    }
    let entries: Vec<Value> = events.iter().map(entry).collect();
    let (emitted, outcome) = grouped(&catalog, &entries);
    let outcome = outcome.expect("grouped input");
    assert_eq!(outcome.most_events_held, 1_000, "the long aggregate, whole");
    assert_eq!(outcome.aggregates, 51);
    let long = in_memory(&catalog, &entries[..1_000]).len();
    assert!(long >= 500, "a data point or more per cycle");
    assert!(emitted[..long].iter().all(|m| m.contains("res-long")));
    assert!(emitted[long..].iter().all(|m| !m.contains("res-long")));
    let mut sorted = emitted;
    sorted.sort();
    assert_eq!(sorted, in_memory(&catalog, &entries));
}

#[test]
fn an_aggregate_reappearing_after_it_ended_stops_the_replay_naming_the_entry() {
    let catalog = catalog();
    let entries: Vec<Value> = [
        guardrail("GuardrailActivated", "res-a", "g1", 0, "a1"),
        guardrail("GuardrailPassed", "res-a", "g1", 5, "a2"),
        guardrail("GuardrailActivated", "res-b", "g1", 0, "b1"),
        guardrail("GuardrailPassed", "res-b", "g1", 7, "b2"),
        guardrail("GuardrailActivated", "res-a", "g1", 10, "a3"),
        guardrail("GuardrailPassed", "res-a", "g1", 12, "a4"),
    ]
    .iter()
    .map(entry)
    .collect();
    let (emitted, outcome) = grouped(&catalog, &entries);
    match outcome {
        Err(GroupedError::NotGrouped {
            file,
            index,
            aggregate_id,
        }) => {
            assert_eq!(
                (file.as_str(), index, aggregate_id.as_str()),
                ("f.json", 4, "res-a")
            );
        }
        other => panic!("expected NotGrouped, got {other:?}"),
    }
    assert_eq!(
        emitted.len(),
        in_memory(&catalog, &entries[..2]).len(),
        "res-a's first cycle, closed when res-b began, and nothing else"
    );
    assert!(emitted.iter().all(|m| m.contains("res-a")));
    let message = GroupedError::NotGrouped {
        file: "f.json".into(),
        index: 4,
        aggregate_id: "res-a".into(),
    }
    .to_string();
    assert!(
        message.contains("f.json: entry 4: aggregate res-a reappears"),
        "{message}"
    );
    assert!(message.contains("with --in-memory"), "{message}");
}

#[test]
fn rejected_entries_are_reported_as_the_in_memory_replay_reports_them() {
    let catalog = catalog();
    let mut entries: Vec<Value> = [
        guardrail("GuardrailActivated", "res-a", "g1", 0, "a1"),
        guardrail("GuardrailPassed", "res-a", "g1", 5, "a2"),
    ]
    .iter()
    .map(entry)
    .collect();
    entries.insert(
        1,
        serde_json::json!({"Source": "s", "DetailType": "GuardrailPassed"}),
    );
    let file = Value::Array(entries.clone()).to_string();
    let memory = replay_sources(
        &catalog,
        [("f.json".to_string(), file.as_bytes())],
        None,
        NOW,
    )
    .expect("reading from memory");
    let (emitted, outcome) = grouped(&catalog, &entries);
    let outcome = outcome.expect("grouped input");
    assert_eq!(outcome.rejections, memory.rejections);
    assert_eq!(outcome.rejections.len(), 1);
    assert_eq!(emitted.len(), memory.measurements.len());
}

#[test]
fn a_file_that_is_not_an_entry_file_stops_the_grouped_replay() {
    let catalog = catalog();
    let files = [("bad.json".to_string(), &b"[{\"Source\": "[..])];
    let outcome = replay_grouped(&catalog, files, None, NOW, |_| Ok(()));
    match outcome {
        Err(GroupedError::Unreadable { file, reason }) => {
            assert_eq!(file, "bad.json");
            assert!(reason.starts_with("not JSON"), "{reason}");
        }
        other => panic!("expected Unreadable, got {other:?}"),
    }
}
