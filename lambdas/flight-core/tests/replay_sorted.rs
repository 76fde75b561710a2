//! `flightctl replay --in-memory` (issue 13) sorts the data points and
//! writes each one's line as it hands it over, instead of building and
//! sorting a measurement per point: its output must be, byte for byte and in
//! order, the lines of `replay_sources`' measurements, and its rejections
//! and counts the same, for input in any order, with and without an
//! environment, over several files, and with entries refused among them.
//! Both put the events in order of aggregate first; the engine measuring
//! the whole set of events at once is the reference for that.

use flight_core::engine::{measure_all, sort_measurements, write_measurement};
use flight_core::envelope::Event;
use flight_core::replay::{entry_to_event, replay_sorted, replay_sources, SortedOutcome};
use flight_core::Catalog;
use flight_testkit::clock::NOW;
use flight_testkit::fixtures::catalog;
use flight_testkit::stories::{commonest_shape, entry, history, Draws, Spec};
use serde_json::{json, Value};

/// The files, as `replay_sources` measures them: its lines, rejections and entry count.
fn expected(
    catalog: &Catalog,
    files: &[String],
    environment: Option<&str>,
) -> (Vec<u8>, Vec<String>, usize) {
    let sources = files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}.json"), f.as_bytes()));
    let outcome =
        replay_sources(catalog, sources, environment.map(str::to_string), NOW).expect("memory");
    let mut text = Vec::new();
    for m in &outcome.measurements {
        write_measurement(&mut text, m).expect("memory");
        text.push(b'\n');
    }
    let rejections = outcome.rejections.iter().map(ToString::to_string).collect();
    (text, rejections, outcome.entries)
}

/// The files as the sorted replay hands them over.
fn sorted(
    catalog: &Catalog,
    files: &[String],
    environment: Option<&str>,
) -> (Vec<u8>, SortedOutcome) {
    let sources = files
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("f{i}.json"), f.as_bytes()));
    let mut text = Vec::new();
    let outcome = replay_sorted(catalog, sources, environment, NOW, |line| {
        text.extend_from_slice(line);
        Ok(())
    })
    .expect("memory");
    (text, outcome)
}

/// Generated histories of every domain, their entries shuffled, half of
/// them in the commonest shape (read where the detail lies), some broken.
fn shuffled_entries(seed: u64) -> Vec<Value> {
    let mut draws = Draws(seed);
    let specs: Vec<Spec> = (0..150).map(|_| Spec::from_raw(draws.next())).collect();
    let mut entries: Vec<Value> = history(&specs, "s").iter().map(entry).collect();
    for e in entries.iter_mut().step_by(2) {
        *e = commonest_shape(e);
    }
    for i in (0..entries.len()).rev() {
        let j = (draws.next() % (i as u64 + 1)) as usize;
        entries.swap(i, j);
    }
    for (i, e) in entries.iter_mut().enumerate() {
        if i % 37 == 0 {
            e["Detail"] = json!("not json");
        }
    }
    entries
}

#[test]
fn in_memory_lines_are_the_measurements_lines_in_their_order() {
    let catalog = catalog();
    for seed in 0..4 {
        let entries = shuffled_entries(seed);
        let (half, rest) = entries.split_at(entries.len() / 2);
        let files = [
            Value::Array(half.to_vec()).to_string(),
            Value::Array(rest.to_vec()).to_string(),
        ];
        for environment in [None, Some("dev")] {
            let (text, rejections, entries_read) = expected(&catalog, &files, environment);
            let (got, outcome) = sorted(&catalog, &files, environment);
            assert!(
                !text.is_empty(),
                "seed {seed}: the histories measure something"
            );
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(text.clone()).unwrap(),
                "seed {seed}"
            );
            let lines = text.iter().filter(|&&b| b == b'\n').count();
            assert_eq!(outcome.measurements, lines);
            let got_rejections: Vec<String> =
                outcome.rejections.iter().map(ToString::to_string).collect();
            assert_eq!(got_rejections, rejections);
            assert!(
                !rejections.is_empty(),
                "seed {seed}: some entries are refused"
            );
            assert_eq!(outcome.entries, entries_read);
        }
    }
}

#[test]
fn shuffled_entries_over_files_measure_as_the_whole_set_of_their_events_at_once() {
    let catalog = catalog();
    for seed in 10..13 {
        let entries = shuffled_entries(seed);
        // The reference: every event, read the slow way, measured together.
        let mut events = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let read = entry_to_event(entry, &format!("replay-{}", i + 1), NOW)
                .and_then(|e| Event::all_from_eventbridge(&e, &catalog).map_err(|r| r.to_string()));
            events.extend(read.unwrap_or_default());
        }
        let mut whole = measure_all(&catalog, &events, None);
        sort_measurements(&mut whole);
        let mut text = Vec::new();
        for m in &whole {
            write_measurement(&mut text, m).expect("memory");
            text.push(b'\n');
        }
        // An aggregate's events are spread over the three files.
        let files: Vec<String> = entries
            .chunks(entries.len() / 3 + 1)
            .map(|part| Value::Array(part.to_vec()).to_string())
            .collect();
        let (got, outcome) = sorted(&catalog, &files, None);
        assert!(whole.len() > 50, "seed {seed}: {} data points", whole.len());
        assert_eq!(outcome.measurements, whole.len());
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(text).unwrap(),
            "seed {seed}"
        );
    }
}

#[test]
fn a_caller_that_cannot_take_a_line_stops_the_replay_with_its_error() {
    let catalog = catalog();
    let file = Value::Array(shuffled_entries(9)).to_string();
    let mut taken = 0;
    let result = replay_sorted(
        &catalog,
        [("f.json".to_string(), file.as_bytes())],
        None,
        NOW,
        |_| {
            taken += 1;
            if taken == 3 {
                Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "closed",
                ))
            } else {
                Ok(())
            }
        },
    );
    assert!(result.is_err_and(|e| e.to_string().contains("closed")));
    assert_eq!(taken, 3, "nothing is handed over after the error");
}

#[test]
fn a_file_that_turns_out_not_to_be_an_entry_file_adds_none_of_its_events() {
    let catalog = catalog();
    let entries = shuffled_entries(5);
    let third = entries.len() / 3;
    let good = Value::Array(entries[..third].to_vec()).to_string();
    let other = Value::Array(entries[2 * third..].to_vec()).to_string();
    // Entries that read well, then text that is not JSON: found late.
    let spoilt = Value::Array(entries[third..2 * third].to_vec()).to_string();
    let spoilt = format!("{} oops", &spoilt[..spoilt.len() - 1]);
    let without = expected(&catalog, &[good.clone(), other.clone()], None).0;
    for run in [
        sorted(
            &catalog,
            &[good.clone(), spoilt.clone(), other.clone()],
            None,
        )
        .0,
        {
            expected(
                &catalog,
                &[good.clone(), spoilt.clone(), other.clone()],
                None,
            )
            .0
        },
    ] {
        assert_eq!(
            String::from_utf8(run).unwrap(),
            String::from_utf8(without.clone()).unwrap()
        );
    }
    let (_, outcome) = sorted(&catalog, &[good, spoilt, other], None);
    assert!(
        outcome
            .rejections
            .iter()
            .any(|r| r.file == "f1.json" && r.reason.starts_with("file unreadable")),
        "{:?}",
        outcome.rejections
    );
}
