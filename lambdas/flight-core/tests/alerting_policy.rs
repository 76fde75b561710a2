//! The default policy's table in `docs/alerting.md` (factors asked for and
//! used, time for a total outage to page and to ticket, per period and
//! objective) is what the catalog and the evaluation model compute: this
//! test renders it and finds it in the page, word for word.

use flight_core::alerting::time_to_alert;
use flight_core::catalog::Severity;
use flight_core::duration::decimal_text;
use flight_core::Catalog;

const PAGE: &str = include_str!("../../../docs/alerting.md");

fn catalog(period: &str, objective: f64) -> Catalog {
    let source = format!(
        "namespace: Test
event_types:
  - name: Opened
    description: o
metrics:
  - name: A
    kind: count
    event: Opened
    unit: Count
slos:
  - name: s
    metric: A
    objective: {objective}
    threshold: 1
    good_when: at_most
    period: {period}
"
    );
    Catalog::parse(&source).unwrap_or_else(|e| panic!("{e}"))
}

/// `33 min`, `3 h 26 min`, `never`.
fn minutes_text(seconds: Option<u64>) -> String {
    match seconds.map(|s| s / 60) {
        None => "never".into(),
        Some(m) if m < 60 => format!("{m} min"),
        Some(m) if m % 60 == 0 => format!("{} h", m / 60),
        Some(m) => format!("{} h {} min", m / 60, m % 60),
    }
}

fn table() -> String {
    let mut rows = vec![
        "| period | objective | highest burn | page 1h/15m | page 6h/30m | ticket 3d/6h | total outage pages after | and tickets after |".to_string(),
        "|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for period in ["28d", "30d", "7d"] {
        for objective in [90.0, 95.0, 99.0, 99.9] {
            let catalog = catalog(period, objective);
            let slo = &catalog.slos[0];
            let factors: Vec<String> = slo
                .alerting
                .rules
                .iter()
                .map(|r| {
                    let asked = decimal_text(r.requested_factor, 2);
                    let used = decimal_text(r.factor, 2);
                    if r.capped {
                        format!("{asked} → **{used}**")
                    } else {
                        used
                    }
                })
                .collect();
            let times = time_to_alert(&catalog, slo);
            let after = |severity| {
                minutes_text(
                    times
                        .iter()
                        .find(|t| t.severity == severity)
                        .and_then(|t| t.after),
                )
            };
            rows.push(format!(
                "| {period} | {} % | {} | {} | {} | {} | {} | {} |",
                decimal_text(objective, 2),
                decimal_text(100.0 / (100.0 - objective), 2),
                factors[0],
                factors[1],
                factors[2],
                after(Severity::Page),
                after(Severity::Ticket),
            ));
        }
    }
    rows.join("\n")
}

#[test]
fn the_documented_table_of_factors_and_times_to_alert_is_the_computed_one() {
    let table = table();
    assert!(
        PAGE.contains(&table),
        "docs/alerting.md must hold this table:\n\n{table}\n"
    );
}
