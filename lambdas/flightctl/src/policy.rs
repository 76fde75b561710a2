//! `flightctl validate`'s account of a valid catalog's alert policy: per
//! SLO its period, its rules with the factor asked for and the effective one
//! (flagged when capped at half the highest burn the objective allows), and
//! how long a total outage takes to page and to ticket, which flight-core's
//! evaluation model finds ([`time_to_alert`]). The policy itself is
//! flight-core's ([`flight_core::catalog::Alerting`]).

use std::fmt::Write as _;

use flight_core::alerting::{time_to_alert, TimeToAlert};
use flight_core::catalog::{max_burn, AlertRule, GoodWhen, RuleThreshold, Severity, Slo};
use flight_core::duration::{decimal_text, duration_text};
use flight_core::Catalog;
use serde_json::{json, Value};

use crate::report::threshold_text;

/// When a severity fires in a total outage, for people: `33m`, `3h26m`,
/// `never`, or why it has no alarm of that severity.
fn after_text(slo: &Slo, times: &[TimeToAlert], severity: Severity) -> String {
    match times.iter().find(|t| t.severity == severity) {
        Some(TimeToAlert { after: Some(s), .. }) => crate::duration::format(*s as i64 * 1000),
        Some(TimeToAlert { after: None, .. }) => "never".into(),
        None if severity == Severity::Page && slo.severity == Severity::Ticket => {
            "never (severity: ticket)".into()
        }
        None => format!("never (no {} rule)", severity.as_str()),
    }
}

fn threshold_written(rule: &AlertRule) -> String {
    match rule.threshold {
        RuleThreshold::BudgetSpent(spent) => format!("{}% of the budget", decimal_text(spent, 4)),
        RuleThreshold::Factor(_) => "explicit factor".into(),
    }
}

fn objective_text(catalog: &Catalog, slo: &Slo) -> String {
    let unit = catalog.metric(&slo.metric).map_or("", |m| m.unit.as_str());
    let side = match slo.good_when {
        GoodWhen::AtMost => "<=",
        GoodWhen::AtLeast => ">=",
    };
    format!(
        "{}% {side} {}",
        slo.objective,
        threshold_text(slo.threshold, unit)
    )
}

/// The policy of every SLO, for people, after the "valid" line.
pub fn text(catalog: &Catalog) -> String {
    let alerting = &catalog.alerting;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "alerting: publishing delay {} (lateness window {} + sweep {}); a window with fewer than {} values never alerts",
        duration_text(alerting.publish_delay()),
        duration_text(alerting.lateness_window),
        duration_text(alerting.sweep_interval),
        alerting.min_values
    );
    let severity_text = |rule: &AlertRule| {
        if rule.severity == rule.rule_severity {
            rule.severity.as_str().to_string()
        } else {
            format!(
                "{} (as {})",
                rule.rule_severity.as_str(),
                rule.severity.as_str()
            )
        }
    };
    let width = catalog
        .slos
        .iter()
        .flat_map(|s| &s.alerting.rules)
        .map(|r| severity_text(r).len())
        .max()
        .unwrap_or(0);
    for slo in &catalog.slos {
        let times = time_to_alert(catalog, slo);
        let _ = writeln!(
            out,
            "\nSLO {}: {} over {} (highest burn {}x); notifies at most: {}",
            slo.name,
            objective_text(catalog, slo),
            slo.period.text(),
            decimal_text(max_burn(slo.objective), 2),
            slo.severity.as_str()
        );
        if slo.alerting.min_values != alerting.min_values {
            let _ = writeln!(out, "  min_values {}", slo.alerting.min_values);
        }
        for rule in &slo.alerting.rules {
            let severity = severity_text(rule);
            let factor = if rule.capped {
                format!(
                    "factor {} requested, {} effective (capped at half the highest burn)",
                    decimal_text(rule.requested_factor, 2),
                    decimal_text(rule.factor, 2)
                )
            } else {
                format!("factor {}", decimal_text(rule.factor, 2))
            };
            let _ = writeln!(
                out,
                "  {severity:<width$}  long {:>4}  short {:>4}  {}: {factor}",
                duration_text(rule.long_window),
                duration_text(rule.short_window),
                threshold_written(rule),
            );
        }
        let _ = writeln!(
            out,
            "  time to alert in a total outage: page {}, ticket {}",
            after_text(slo, &times, Severity::Page),
            after_text(slo, &times, Severity::Ticket)
        );
    }
    out
}

fn seconds_json(times: &[TimeToAlert], severity: Severity) -> Value {
    times
        .iter()
        .find(|t| t.severity == severity)
        .and_then(|t| t.after)
        .map_or(Value::Null, Value::from)
}

/// The policy of every SLO as JSON, for `validate --json`.
pub fn to_json(catalog: &Catalog) -> Value {
    let alerting = &catalog.alerting;
    let slos: Vec<Value> = catalog
        .slos
        .iter()
        .map(|slo| {
            let times = time_to_alert(catalog, slo);
            let rules: Vec<Value> = slo
                .alerting
                .rules
                .iter()
                .map(|rule| {
                    let (budget_spent, factor) = match rule.threshold {
                        RuleThreshold::BudgetSpent(s) => (Some(s), None),
                        RuleThreshold::Factor(f) => (None, Some(f)),
                    };
                    json!({
                        "severity": rule.severity.as_str(),
                        "rule_severity": rule.rule_severity.as_str(),
                        "long_window": duration_text(rule.long_window),
                        "short_window": duration_text(rule.short_window),
                        "budget_spent_percent": budget_spent,
                        "factor_written": factor,
                        "requested_factor": rule.requested_factor,
                        "effective_factor": rule.factor,
                        "capped": rule.capped,
                    })
                })
                .collect();
            json!({
                "name": slo.name,
                "metric": slo.metric,
                "objective_percent": slo.objective,
                "period": slo.period.text(),
                "period_nominal_seconds": slo.period.nominal_seconds(),
                "severity": slo.severity.as_str(),
                "max_burn": max_burn(slo.objective),
                "min_values": slo.alerting.min_values,
                "rules": rules,
                "total_outage_seconds_to": {
                    "page": seconds_json(&times, Severity::Page),
                    "ticket": seconds_json(&times, Severity::Ticket),
                },
            })
        })
        .collect();
    json!({
        "publish_delay_seconds": alerting.publish_delay(),
        "lateness_window_seconds": alerting.lateness_window,
        "sweep_interval_seconds": alerting.sweep_interval,
        "min_values": alerting.min_values,
        "slos": slos,
    })
}
