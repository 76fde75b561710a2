//! The CloudWatch alarms a catalog generates (issue 11 design §4): per SLO,
//! one metric-math burn-rate alarm per distinct (window, factor) of its
//! rules, and one composite alarm per severity, `(long AND short) OR …`.
//! The Terraform catalog module creates the same definitions (its
//! `slo_window_alarms` and `slo_composite_alarms` outputs); a test in
//! flightctl checks that both agree.

use crate::catalog::{Catalog, GoodWhen, Severity, Slo};
use crate::duration::{decimal_text, duration_text, just_below_text, Seconds};
use crate::names::Deployment;

/// How every generated alarm treats a period without data: not breaching.
pub const TREAT_MISSING_DATA: &str = "notBreaching";

/// The metric-math alarm on one window's burn rate.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowAlarm {
    pub name: String,
    pub slo: String,
    pub metric: String,
    pub namespace: String,
    /// The `Environment` dimension of the metric.
    pub environment: String,
    /// The alarm's period: the window.
    pub window: Seconds,
    /// The threshold: ALARM when the burn rate is above it.
    pub factor: f64,
    /// The low-traffic rule: fewer values than this read as burn 0.
    pub min_values: u64,
    /// `100 − objective`, as the expression divides by it.
    pub budget_percent: f64,
    /// The statistic `good` reads: `PR(:T)` or `PR(L:)`.
    pub good_statistic: String,
    /// The `burn` expression over `good` and `n`.
    pub expression: String,
}

/// The composite alarm of an SLO and a severity, with its SNS actions.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeAlarm {
    pub name: String,
    pub slo: String,
    pub severity: Severity,
    /// `(ALARM("long") AND ALARM("short")) OR (...)`, rules in catalog order.
    pub rule: String,
    /// (long window alarm, short window alarm) per rule.
    pub pairs: Vec<(String, String)>,
}

/// Every window and composite alarm of the catalog's SLOs, in catalog order.
pub fn alarm_definitions(
    catalog: &Catalog,
    deployment: &Deployment,
) -> (Vec<WindowAlarm>, Vec<CompositeAlarm>) {
    let mut windows = Vec::new();
    let mut composites = Vec::new();
    for slo in &catalog.slos {
        let (w, c) = slo_alarms(catalog, deployment, slo);
        windows.extend(w);
        composites.extend(c);
    }
    (windows, composites)
}

/// The window and composite alarms of one SLO.
pub fn slo_alarms(
    catalog: &Catalog,
    deployment: &Deployment,
    slo: &Slo,
) -> (Vec<WindowAlarm>, Vec<CompositeAlarm>) {
    let mut windows: Vec<WindowAlarm> = Vec::new();
    let mut alarm = |window: Seconds, factor: f64| -> String {
        let name = deployment.slo_window_alarm(&slo.name, window, factor);
        if !windows.iter().any(|w| w.name == name) {
            windows.push(window_alarm(
                catalog,
                deployment,
                slo,
                name.clone(),
                window,
                factor,
            ));
        }
        name
    };
    let pairs: Vec<(Severity, (String, String))> = slo
        .alerting
        .rules
        .iter()
        .map(|rule| {
            let long = alarm(rule.long_window, rule.factor);
            let short = alarm(rule.short_window, rule.factor);
            (rule.severity, (long, short))
        })
        .collect();
    let composites = Severity::ALL
        .into_iter()
        .filter_map(|severity| {
            let mut mine: Vec<(String, String)> = Vec::new();
            for (_, pair) in pairs.iter().filter(|(s, _)| *s == severity) {
                // Two rules with the same windows and factor are one pair.
                if !mine.contains(pair) {
                    mine.push(pair.clone());
                }
            }
            let pairs = mine;
            (!pairs.is_empty()).then(|| CompositeAlarm {
                name: deployment.slo_composite_alarm(&slo.name, severity.as_str()),
                slo: slo.name.clone(),
                severity,
                rule: composite_rule(&pairs),
                pairs,
            })
        })
        .collect();
    (windows, composites)
}

fn window_alarm(
    catalog: &Catalog,
    deployment: &Deployment,
    slo: &Slo,
    name: String,
    window: Seconds,
    factor: f64,
) -> WindowAlarm {
    let budget_text = budget_percent_text(slo.objective);
    WindowAlarm {
        name,
        slo: slo.name.clone(),
        metric: slo.metric.clone(),
        namespace: catalog.namespace.clone(),
        environment: deployment.environment.clone(),
        window,
        factor,
        min_values: slo.alerting.min_values,
        budget_percent: budget_text.parse().unwrap_or(100.0 - slo.objective),
        good_statistic: good_statistic(slo),
        expression: format!(
            "IF(n >= {}, (100 - good) / {budget_text}, 0)",
            slo.alerting.min_values
        ),
    }
}

/// `100 − objective` with up to 10 decimals, trailing zeros trimmed (`10`, `5`, `0.1`).
pub fn budget_percent_text(objective: f64) -> String {
    decimal_text(100.0 - objective, 10)
}

/// The percentile-rank statistic counting good values: `PR(:T)` for
/// `at_most T`; for `at_least T`, `PR(L:)` with `L` just below `T` (CloudWatch's
/// `PR(n:m)` is the interval (n, m], so the inclusive bound T is written as
/// the exclusive bound 1e-10 below it).
pub fn good_statistic(slo: &Slo) -> String {
    match slo.good_when {
        GoodWhen::AtMost => format!("PR(:{})", decimal_text(slo.threshold, 10)),
        GoodWhen::AtLeast => format!("PR({}:)", just_below_text(slo.threshold)),
    }
}

/// The composite rule over (long, short) pairs.
fn composite_rule(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(long, short)| format!("(ALARM(\"{long}\") AND ALARM(\"{short}\"))"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The label of the burn series of a window alarm: `burn rate 1h`.
pub fn burn_label(window: Seconds) -> String {
    format!("burn rate {}", duration_text(window))
}
