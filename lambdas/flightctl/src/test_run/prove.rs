//! Proving a test run asynchronously: what should have arrived is computed by
//! running the same (stamped) entry files through the offline replay; the
//! capture table is polled until all of it arrived or the time is up; then
//! what arrived, what was expected and what is missing are reported, and per
//! metric the measurements and the SLO status.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use flight_core::capture::{CaptureStore, CapturedRun};
use flight_core::catalog::{GoodWhen, Slo};
use flight_core::engine::{format_measurement, Measurement};
use flight_core::envelope::format_time;
use flight_core::replay::{read_entries, replay, system_now, EntryRejection};
use flight_core::Catalog;
use serde_json::{json, Value};

/// How often the capture table is read while waiting.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Values closer than this are equal (the store keeps decimal text).
const TOLERANCE: f64 = 1e-6;

/// What a test run should produce.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// The data points the offline replay computes from the same files.
    pub measurements: Vec<Measurement>,
    /// Event ids of the entries put (those that carry one).
    pub event_ids: BTreeSet<String>,
    /// Entries put, in all files.
    pub entries: usize,
    /// Entries the functions will reject (so they produce nothing).
    pub rejections: Vec<EntryRejection>,
}

/// The measurements and events a set of stamped entry files should produce.
pub async fn expected(catalog: Arc<Catalog>, files: &[(String, String)]) -> Expected {
    let outcome = replay(catalog, files, None, system_now()).await;
    let mut event_ids = BTreeSet::new();
    for (_, text) in files {
        for entry in read_entries(text).unwrap_or_default() {
            let detail = match entry.get("Detail") {
                Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
                other => other.cloned(),
            };
            if let Some(id) = detail
                .as_ref()
                .and_then(|d| d.get("event_id"))
                .and_then(Value::as_str)
            {
                event_ids.insert(id.to_string());
            }
        }
    }
    Expected {
        measurements: outcome.measurements,
        event_ids,
        entries: outcome.entries,
        rejections: outcome.rejections,
    }
}

/// Expected against captured, by data point identity (metric, completing event).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Comparison {
    /// Expected and arrived with the expected value.
    pub arrived: Vec<Measurement>,
    /// Expected and arrived with another value: (expected, arrived).
    pub wrong: Vec<(Measurement, Measurement)>,
    /// Expected, not (yet) arrived.
    pub missing: Vec<Measurement>,
    /// Arrived, not expected.
    pub unexpected: Vec<Measurement>,
}

impl Comparison {
    /// Whether everything expected arrived, as expected, and nothing else.
    pub fn passed(&self) -> bool {
        self.wrong.is_empty() && self.missing.is_empty() && self.unexpected.is_empty()
    }
}

fn identity(m: &Measurement) -> (String, String) {
    (m.metric.clone(), m.event_id.clone())
}

/// Compares expected and captured measurements.
pub fn compare(expected: &[Measurement], captured: &[Measurement]) -> Comparison {
    let mut got: BTreeMap<_, &Measurement> = captured.iter().map(|m| (identity(m), m)).collect();
    let mut comparison = Comparison::default();
    for want in expected {
        match got.remove(&identity(want)) {
            Some(m) if (m.value - want.value).abs() <= TOLERANCE => {
                comparison.arrived.push(m.clone())
            }
            Some(m) => comparison.wrong.push((want.clone(), m.clone())),
            None => comparison.missing.push(want.clone()),
        }
    }
    comparison.unexpected = got.into_values().cloned().collect();
    comparison
}

/// Polls the capture store until every expected measurement and event of the
/// run arrived or `timeout` passed; progress goes to stderr.
pub async fn wait(
    capture: &impl CaptureStore,
    run_id: &str,
    expected: &Expected,
    timeout: Duration,
) -> Result<(CapturedRun, Comparison)> {
    let started = Instant::now();
    let mut last = None;
    loop {
        let run = capture.run(run_id).await?;
        let comparison = compare(&expected.measurements, &run.measurements);
        let captured_ids: BTreeSet<&str> = run.events.iter().map(|e| e.event_id.as_str()).collect();
        let events_in = expected
            .event_ids
            .iter()
            .filter(|id| captured_ids.contains(id.as_str()))
            .count();
        let progress = (comparison.arrived.len() + comparison.wrong.len(), events_in);
        let done = comparison.missing.is_empty() && events_in == expected.event_ids.len();
        if last != Some(progress) || done {
            eprintln!(
                "  waiting for run {run_id}: {}/{} measurements, {}/{} events captured ({:.0} s)",
                progress.0,
                expected.measurements.len(),
                progress.1,
                expected.event_ids.len(),
                started.elapsed().as_secs_f64()
            );
            last = Some(progress);
        }
        if done || started.elapsed() >= timeout {
            return Ok((run, comparison));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// A value for people: `5400 Seconds (1h 30m)`, `90 Percent`, `3 Count`.
pub fn human(value: f64, unit: &str) -> String {
    let number = if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    };
    if unit == "Seconds" && value >= 60.0 {
        let total = value.round() as i64;
        let (d, h, m, s) = (
            total / 86_400,
            total % 86_400 / 3600,
            total % 3600 / 60,
            total % 60,
        );
        let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n}{u}"))
            .collect();
        format!("{number} {unit} ({})", parts.join(" "))
    } else {
        format!("{number} {unit}")
    }
}

/// One line about a measurement.
fn line(m: &Measurement) -> String {
    let dimensions: Vec<String> = m
        .dimensions
        .iter()
        .filter(|(k, _)| k.as_str() != "Environment")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{:<28} at {}  {}{}",
        human(m.value, &m.unit),
        format_time(m.timestamp),
        m.aggregate_id,
        if dimensions.is_empty() {
            String::new()
        } else {
            format!("  [{}]", dimensions.join(", "))
        }
    )
}

/// What an SLO says of a set of values: good values, all values, and whether
/// the objective is met.
pub fn attainment(slo: &Slo, values: &[f64]) -> (usize, usize, bool) {
    let good = values
        .iter()
        .filter(|v| match slo.good_when {
            GoodWhen::AtMost => **v <= slo.threshold,
            GoodWhen::AtLeast => **v >= slo.threshold,
        })
        .count();
    let met = values.is_empty() || good as f64 * 100.0 >= slo.objective * values.len() as f64;
    (good, values.len(), met)
}

/// The summary of a run: counts, then what is missing, wrong or unexpected.
pub fn summary(run_id: &str, expected: &Expected, run: &CapturedRun, c: &Comparison) -> String {
    let mut out = String::new();
    let missing_events = events_not_captured(expected, run);
    let _ = writeln!(
        out,
        "Run {run_id}: {} of {} entries captured as events; {} of {} expected measurements arrived{}.",
        run.events.len(),
        expected.entries,
        c.arrived.len(),
        expected.measurements.len(),
        if c.passed() && missing_events.is_empty() {
            ", as expected"
        } else {
            ""
        }
    );
    for rejection in &expected.rejections {
        let _ = writeln!(out, "  note: the functions reject {rejection}");
    }
    let sections: [(&str, Vec<String>); 4] = [
        (
            "MISSING (expected, not captured)",
            c.missing
                .iter()
                .map(|m| format!("{} {}", m.metric, line(m)))
                .collect(),
        ),
        (
            "WRONG VALUE (expected -> captured)",
            c.wrong
                .iter()
                .map(|(want, got)| {
                    format!(
                        "{} {} -> {}",
                        want.metric,
                        line(want),
                        human(got.value, &got.unit)
                    )
                })
                .collect(),
        ),
        (
            "UNEXPECTED (captured, not expected)",
            c.unexpected
                .iter()
                .map(|m| format!("{} {}", m.metric, line(m)))
                .collect(),
        ),
        (
            "EVENTS NOT CAPTURED (event ids)",
            missing_events.iter().map(|id| id.to_string()).collect(),
        ),
    ];
    for (title, lines) in sections {
        if !lines.is_empty() {
            let _ = writeln!(out, "{title}:");
            for l in lines {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    out
}

/// The expected events (by event id) the run did not capture.
pub fn events_not_captured<'a>(expected: &'a Expected, run: &CapturedRun) -> Vec<&'a String> {
    let captured: BTreeSet<&str> = run.events.iter().map(|e| e.event_id.as_str()).collect();
    expected
        .event_ids
        .iter()
        .filter(|id| !captured.contains(id.as_str()))
        .collect()
}

/// Whether a run passed: exactly the expected measurements arrived, with the
/// expected values, and every event put was captured.
pub fn passed(expected: &Expected, run: &CapturedRun, c: &Comparison) -> bool {
    c.passed() && events_not_captured(expected, run).is_empty()
}

/// The outcome of a run for scripts (`flightctl test-run --json`).
pub fn to_json(run_id: &str, expected: &Expected, run: &CapturedRun, c: &Comparison) -> Value {
    let measurements = |list: &mut dyn Iterator<Item = &Measurement>| -> Vec<Value> {
        list.map(|m| serde_json::from_str(&format_measurement(m)).unwrap_or(Value::Null))
            .collect()
    };
    json!({
        "run_id": run_id,
        "passed": passed(expected, run, c),
        "entries": expected.entries,
        "events_captured": run.events.len(),
        "expected_measurements": expected.measurements.len(),
        "arrived": measurements(&mut c.arrived.iter()),
        "missing": measurements(&mut c.missing.iter()),
        "wrong": c.wrong.iter().map(|(want, got)| json!({
            "expected": measurements(&mut std::iter::once(want)).pop(),
            "captured": measurements(&mut std::iter::once(got)).pop(),
        })).collect::<Vec<_>>(),
        "unexpected": measurements(&mut c.unexpected.iter()),
        "events_not_captured": events_not_captured(expected, run),
        "rejected_by_the_functions": expected.rejections.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// Per metric of the catalog: the run's measurements and, per SLO, its
/// status over them and the alarm's state (`alarms`: alarm name → state).
pub fn report(
    catalog: &Catalog,
    measurements: &[Measurement],
    alarms: &BTreeMap<String, String>,
    alarm_prefix: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Measurements of this run, per metric; SLO status over them{}.",
        if alarms.is_empty() {
            ""
        } else {
            " (alarm states as CloudWatch reports them: an emulator such as moto does not evaluate alarms)"
        }
    );
    for metric in &catalog.metrics {
        let mut mine: Vec<&Measurement> = measurements
            .iter()
            .filter(|m| m.metric == metric.name)
            .collect();
        mine.sort_by_key(|m| (m.timestamp, m.event_id.clone()));
        let _ = writeln!(
            out,
            "\n{} ({}{})",
            metric.name,
            metric.unit,
            if metric.partition_by.is_empty() {
                String::new()
            } else {
                format!(", by {}", metric.partition_by.join(", "))
            }
        );
        if mine.is_empty() {
            let _ = writeln!(out, "  (no measurements in this run)");
        }
        for m in &mine {
            let _ = writeln!(out, "  {}", line(m));
        }
        let values: Vec<f64> = mine.iter().map(|m| m.value).collect();
        for slo in catalog.slos.iter().filter(|s| s.metric == metric.name) {
            let (good, all, met) = attainment(slo, &values);
            let bound = match slo.good_when {
                GoodWhen::AtMost => "at most",
                GoodWhen::AtLeast => "at least",
            };
            let status = if all == 0 {
                "no data".to_string()
            } else {
                format!(
                    "{good}/{all} good = {:.0}% -> {}",
                    good as f64 * 100.0 / all as f64,
                    if met { "met" } else { "NOT MET" }
                )
            };
            let alarm_name = format!("{alarm_prefix}{}", slo.name);
            let alarm = alarms
                .get(&alarm_name)
                .map(|state| format!("; alarm {alarm_name}: {state}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  SLO {}: {}% of values {bound} {} over {}: {status}{alarm}",
                slo.name,
                slo.objective,
                human(slo.threshold, &metric.unit),
                slo.period.text()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flight_core::Delivery;

    fn m(metric: &str, event: &str, value: f64) -> Measurement {
        Measurement {
            metric: metric.into(),
            value,
            unit: "Seconds".into(),
            timestamp: 1_800_000_000_000,
            aggregate_id: "bucket~run-1".into(),
            event_id: event.into(),
            dimensions: BTreeMap::from([("guardrail_id".to_string(), "g".to_string())]),
            delivery: Delivery::Published,
            test_run_id: Some("run-1".into()),
        }
    }

    #[test]
    fn a_run_passes_only_when_exactly_the_expected_measurements_arrived() {
        let expected = vec![
            m("GuardrailLeadTime", "p1", 5400.0),
            m("GuardrailLeadTime", "p2", 2700.0),
        ];
        let partial = compare(&expected, &[m("GuardrailLeadTime", "p1", 5400.0)]);
        assert_eq!(partial.missing, vec![m("GuardrailLeadTime", "p2", 2700.0)]);
        assert!(!partial.passed());

        let wrong = compare(
            &expected,
            &[
                m("GuardrailLeadTime", "p1", 5400.0),
                m("GuardrailLeadTime", "p2", 60.0),
            ],
        );
        assert_eq!(wrong.wrong.len(), 1);
        assert!(!wrong.passed());

        let all = compare(&expected, &expected);
        assert!(all.passed());
        let extra = compare(
            &expected,
            &[expected.clone(), vec![m("LateEvents", "p2", 1.0)]].concat(),
        );
        assert_eq!(extra.unexpected.len(), 1);
        assert!(!extra.passed());
    }

    #[test]
    fn the_report_shows_values_for_people_and_the_slo_status() {
        let catalog = Catalog::default_catalog();
        let alarms = BTreeMap::from([(
            "fc-local-slo-guardrail-lead-time".to_string(),
            "OK".to_string(),
        )]);
        let text = report(
            &catalog,
            &[
                m("GuardrailLeadTime", "p1", 5400.0),
                m("GuardrailLeadTime", "p2", 2700.0),
            ],
            &alarms,
            "fc-local-slo-",
        );
        assert!(
            text.contains("GuardrailLeadTime (Seconds, by guardrail_id)"),
            "{text}"
        );
        assert!(text.contains("5400 Seconds (1h 30m)"), "{text}");
        assert!(
            text.contains("SLO guardrail-lead-time: 95% of values at most 86400 Seconds (1d) over 24 h: 2/2 good = 100% -> met; alarm fc-local-slo-guardrail-lead-time: OK"),
            "{text}"
        );
        assert!(
            text.contains("ProjectLeadTime (Seconds)\n  (no measurements in this run)"),
            "{text}"
        );
    }

    #[test]
    fn an_slo_counts_good_values_on_its_side_of_the_threshold() {
        let catalog = Catalog::default_catalog();
        let slo = catalog
            .slos
            .iter()
            .find(|s| s.good_when == GoodWhen::AtMost)
            .unwrap();
        let t = slo.threshold;
        assert_eq!(
            attainment(slo, &[t, t + 1.0]),
            (1, 2, slo.objective <= 50.0)
        );
        assert_eq!(attainment(slo, &[]), (0, 0, true));
    }
}
