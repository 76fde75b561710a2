//! `flightctl report` for people: the SLO table (values, good, bad,
//! attainment, error budget over the period) and the burn-rate table (each
//! window alarm's burn rate at the instant against its factor, and the alerts
//! firing).

use std::fmt::Write as _;

use flight_core::catalog::{GoodWhen, Period};
use flight_core::duration::{decimal_text, duration_text};
use flight_core::envelope::format_time;
use flight_core::slo::SloStatus;
use flight_core::{Catalog, Millis};

use super::SloReport;
use crate::{burn, duration};

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

/// The span reported, for people: the calendar period's name (`month`) when
/// it is the SLO's own calendar period, else its length (`28d`, `3d`).
pub(super) fn span_text(status: &SloStatus) -> String {
    match status.slo.period {
        Period::Calendar { .. } if status.slo.period.bounds(status.until).0 == status.since => {
            status.slo.period.text()
        }
        _ => duration::format(status.until - status.since),
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}%"))
}

fn budget_left_text(status: &SloStatus) -> String {
    match status.budget_left_percent() {
        _ if status.values == 0 => "-".to_string(),
        Some(p) => format!("{p:.1}%"),
        None => "exhausted".to_string(),
    }
}

fn unit_of<'a>(catalog: &'a Catalog, metric: &str) -> &'a str {
    catalog.metric(metric).map_or("", |m| m.unit.as_str())
}

/// Rows under a header, columns padded; the columns in `right` right-aligned.
fn columns(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| {
                if right.contains(&i) {
                    format!("{c:>w$}")
                } else {
                    format!("{c:<w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The statuses as a table, for people: per SLO its span, values, good,
/// bad, attainment, error budget (bad values allowed), spent (bad values),
/// left (in values and percent of the budget) and whether it is met.
pub fn table(catalog: &Catalog, statuses: &[SloStatus]) -> String {
    let header = [
        "SLO",
        "METRIC",
        "OBJECTIVE",
        "PERIOD",
        "VALUES",
        "GOOD",
        "BAD",
        "ATTAINMENT",
        "BUDGET",
        "SPENT",
        "LEFT",
        "LEFT %",
        "STATUS",
    ];
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            vec![
                s.slo.name.clone(),
                s.slo.metric.clone(),
                objective_text(s, unit_of(catalog, &s.slo.metric)),
                span_text(s),
                s.values.to_string(),
                s.good.to_string(),
                s.bad().to_string(),
                percent(s.attainment()),
                format!("{:.2}", s.budget()),
                s.bad().to_string(),
                format!("{:.2}", s.budget_left()),
                budget_left_text(s),
                s.verdict().as_str().to_string(),
            ]
        })
        .collect();
    columns(&header, &rows, &[4, 5, 6, 7, 8, 9, 10, 11])
}

/// A window alarm's reading in a cell: `1h 13.33/10*` (window, burn rate /
/// factor, `*` when in ALARM).
fn reading_cell(r: &flight_core::alerting::WindowReading) -> String {
    format!(
        "{} {}/{}{}",
        duration_text(r.window),
        burn::burn_text(r),
        decimal_text(r.factor, 2),
        if r.firing { "*" } else { "" }
    )
}

/// Per SLO at the instant: the alerts firing (page, ticket) and each window
/// alarm's burn rate against its factor, for people.
pub fn burn_table(reports: &[SloReport], at: Millis, publish_delay: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nBurn rates at {} ({}): per window alarm, WINDOW BURN/FACTOR, * when in ALARM \
         (burn rate = bad share of the window's values / budget share)",
        format_time(at),
        if publish_delay == 0 {
            "every stored record visible; --publish-delay 6m shows what CloudWatch saw".to_string()
        } else {
            format!(
                "records visible {} after their time",
                duration_text(publish_delay)
            )
        }
    );
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let firing: Vec<&str> = r.firing.iter().map(|c| c.severity.as_str()).collect();
            let mut row = vec![
                r.status.slo.name.clone(),
                if firing.is_empty() {
                    "-".to_string()
                } else {
                    firing.join(",").to_uppercase()
                },
            ];
            row.extend(r.burn_rates.iter().map(reading_cell));
            row
        })
        .collect();
    let count = rows.iter().map(Vec::len).max().unwrap_or(2);
    let mut header = vec!["SLO", "FIRING", "BURN RATES"];
    header.resize(count.max(3), "");
    out.push_str(&columns(&header, &rows, &[]));
    let firing: Vec<String> = reports
        .iter()
        .flat_map(|r| &r.firing)
        .map(|c| format!("{} ({})", c.name, c.severity.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "Alerts firing: {}",
        if firing.is_empty() {
            "none".to_string()
        } else {
            firing.join(", ")
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flight_core::slo::evaluate;

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
                let (since, until) = slo.period.bounds(now);
                evaluate(slo, &[], since, until)
            })
            .collect();
        let text = table(&catalog, &statuses);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + catalog.slos.len());
        assert!(lines[0].starts_with("SLO"), "{text}");
        assert!(text.contains("95% <= 1d"), "{text}");
        assert!(text.contains("no data"), "{text}");
    }

    #[test]
    fn the_burn_table_has_a_line_per_slo_with_its_windows_and_what_fires() {
        use flight_core::alerting::SloAlarms;
        use flight_core::names::Deployment;

        let catalog = Catalog::default_catalog();
        let slo = &catalog.slos[2];
        let alarms = SloAlarms::new(&catalog, &Deployment::new("dev"), slo);
        let at = 1_800_000_000_000;
        let (since, until) = slo.period.bounds(at);
        let mut burn_rates: Vec<_> = alarms
            .windows
            .iter()
            .map(|w| flight_core::alerting::WindowReading {
                alarm: w.name.clone(),
                window: w.window,
                factor: w.factor,
                values: 60,
                good: 60,
                burn: 0.0,
                firing: false,
            })
            .collect();
        burn_rates[0].burn = 13.333;
        burn_rates[0].firing = true;
        let report = SloReport {
            status: evaluate(slo, &[], since, until),
            burn_rates,
            firing: alarms.composites[..1].to_vec(),
        };
        let text = burn_table(&[report], at, 0);
        let line = text
            .lines()
            .find(|l| l.starts_with(&slo.name))
            .unwrap_or_default();
        assert!(
            line.contains("PAGE    1h 13.33/10*  15m 0.00/10  6h 0.00/5.6"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "Alerts firing: {} (page)",
                alarms.composites[0].name
            )),
            "{text}"
        );
    }
}
