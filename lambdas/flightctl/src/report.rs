//! `flightctl report`: where each SLO stands, computed exactly from the
//! measurement records in the event store ([`MeasurementLog`]: the
//! `by-metric` index in DynamoDB), over each SLO's window or over `--since`.
//! See [`flight_core::slo`] for the arithmetic.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Result;
use flight_core::catalog::GoodWhen;
use flight_core::envelope::format_time;
use flight_core::reads::MeasurementLog;
use flight_core::slo::{evaluate, SloStatus};
use flight_core::{Catalog, Measurement, Millis};
use serde_json::{json, Value};

use crate::duration;

/// The period an SLO is reported over: `since` back from `now`, or its own window.
fn period(window_hours: u32, since: Option<Millis>, now: Millis) -> (Millis, Millis) {
    let length = since.unwrap_or(Millis::from(window_hours) * 3_600_000);
    (now - length, now + 1)
}

/// The status of every SLO of the catalog, from the store's measurement
/// records: one read per metric (in DynamoDB, a paginated query of the
/// `by-metric` index), over the longest period any of its SLOs needs.
pub async fn statuses<S: MeasurementLog + ?Sized>(
    store: &S,
    catalog: &Catalog,
    since: Option<Millis>,
    now: Millis,
) -> Result<Vec<SloStatus>> {
    let mut earliest: BTreeMap<&str, Millis> = BTreeMap::new();
    for slo in &catalog.slos {
        let (start, _) = period(slo.period.nominal_hours(), since, now);
        earliest
            .entry(slo.metric.as_str())
            .and_modify(|e| *e = (*e).min(start))
            .or_insert(start);
    }
    let mut records: BTreeMap<&str, Vec<Measurement>> = BTreeMap::new();
    for (metric, start) in earliest {
        records.insert(
            metric,
            store.measurements_between(metric, start, now + 1).await?,
        );
    }
    Ok(catalog
        .slos
        .iter()
        .map(|slo| {
            let (start, end) = period(slo.period.nominal_hours(), since, now);
            let points = records
                .get(slo.metric.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            evaluate(slo, points, start, end)
        })
        .collect())
}

/// A threshold in its unit, for people: `1d`, `95%`, `3`.
pub fn threshold_text(value: f64, unit: &str) -> String {
    match unit {
        "Seconds" if value >= 1.0 && value.fract() == 0.0 => {
            duration::format(value as Millis * 1000)
        }
        "Percent" => format!("{value}%"),
        "Count" | "None" => format!("{value}"),
        _ => format!("{value} {unit}"),
    }
}

fn objective_text(status: &SloStatus, unit: &str) -> String {
    let side = match status.slo.good_when {
        GoodWhen::AtMost => "<=",
        GoodWhen::AtLeast => ">=",
    };
    format!(
        "{}% {side} {}",
        status.slo.objective,
        threshold_text(status.slo.threshold, unit)
    )
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}%"))
}

fn budget_text(status: &SloStatus) -> String {
    match status.budget_left_percent() {
        _ if status.values == 0 => "-".to_string(),
        Some(p) => format!("{p:.1}%"),
        None => "exhausted".to_string(),
    }
}

fn unit_of<'a>(catalog: &'a Catalog, metric: &str) -> &'a str {
    catalog.metric(metric).map_or("", |m| m.unit.as_str())
}

/// The statuses as a table, for people.
pub fn table(catalog: &Catalog, statuses: &[SloStatus]) -> String {
    let header = [
        "SLO",
        "METRIC",
        "OBJECTIVE",
        "WINDOW",
        "VALUES",
        "GOOD",
        "BAD",
        "ATTAINMENT",
        "BUDGET LEFT",
        "STATUS",
    ];
    let rows: Vec<[String; 10]> = statuses
        .iter()
        .map(|s| {
            [
                s.slo.name.clone(),
                s.slo.metric.clone(),
                objective_text(s, unit_of(catalog, &s.slo.metric)),
                duration::format(s.until - 1 - s.since),
                s.values.to_string(),
                s.good.to_string(),
                s.bad().to_string(),
                percent(s.attainment()),
                budget_text(s),
                s.verdict().as_str().to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (c, w))| {
                // Numbers right-aligned, text left-aligned.
                if (4..=8).contains(&i) {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The statuses as JSON, for scripts.
pub fn to_json(catalog: &Catalog, environment: &str, now: Millis, statuses: &[SloStatus]) -> Value {
    let slos: Vec<Value> = statuses
        .iter()
        .map(|s| {
            json!({
                "name": s.slo.name,
                "metric": s.slo.metric,
                "unit": unit_of(catalog, &s.slo.metric),
                "objective_percent": s.slo.objective,
                "threshold": s.slo.threshold,
                "good_when": match s.slo.good_when { GoodWhen::AtMost => "at_most", GoodWhen::AtLeast => "at_least" },
                "since": format_time(s.since),
                "until": format_time(s.until - 1),
                "values": s.values,
                "good": s.good,
                "bad": s.bad(),
                "attainment_percent": s.attainment(),
                "error_budget": {
                    "allowed_bad": s.budget(),
                    "bad": s.bad(),
                    "left": s.budget_left(),
                    "left_percent": s.budget_left_percent(),
                },
                "status": s.verdict().as_str(),
            })
        })
        .collect();
    json!({
        "environment": environment,
        "generated_at": format_time(now),
        "source": "measurement records in the event store",
        "slos": slos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_in_their_units() {
        assert_eq!(threshold_text(86_400.0, "Seconds"), "1d");
        assert_eq!(threshold_text(95.0, "Percent"), "95%");
        assert_eq!(threshold_text(3.0, "Count"), "3");
        assert_eq!(threshold_text(0.5, "Seconds"), "0.5 Seconds");
    }

    #[test]
    fn the_table_has_a_row_per_slo_under_its_header() {
        let catalog = Catalog::default_catalog();
        let now = 1_800_000_000_000;
        let statuses: Vec<SloStatus> = catalog
            .slos
            .iter()
            .map(|slo| {
                let (since, until) = period(slo.period.nominal_hours(), None, now);
                evaluate(slo, &[], since, until)
            })
            .collect();
        let text = table(&catalog, &statuses);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + catalog.slos.len());
        assert!(lines[0].starts_with("SLO"), "{text}");
        assert!(text.contains("95% <= 1d"), "{text}");
        assert!(text.contains("no data"), "{text}");
        let json = to_json(&catalog, "dev", now, &statuses);
        assert_eq!(json["slos"][0]["status"], "no data");
    }
}
