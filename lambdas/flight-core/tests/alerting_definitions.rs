//! The alarms the default catalog generates (issue 11 design §4): names,
//! thresholds, statistics and expressions exactly as CloudWatch gets them
//! from Terraform, and the composites that pair the windows.

use flight_core::alerting::{alarm_definitions, slo_alarms, CompositeAlarm, WindowAlarm};
use flight_core::catalog::{Severity, DEFAULT_CATALOG_YAML};
use flight_core::names::Deployment;
use flight_core::Catalog;

fn of<'a>(windows: &'a [WindowAlarm], slo: &str) -> Vec<&'a WindowAlarm> {
    windows.iter().filter(|w| w.slo == slo).collect()
}

#[test]
fn a_page_slo_gets_a_window_alarm_per_window_and_factor_and_two_composites() {
    let catalog = Catalog::default_catalog();
    let (windows, composites) = alarm_definitions(&catalog, &Deployment::new("dev"));
    let guardrail = of(&windows, "guardrail-lead-time");
    let names: Vec<&str> = guardrail.iter().map(|w| w.name.as_str()).collect();
    let p = "flight-controller-dev-slo-guardrail-lead-time";
    assert_eq!(
        names,
        [
            format!("{p}-burn-1h-x10"),
            format!("{p}-burn-15m-x10"),
            format!("{p}-burn-6h-x5.6"),
            format!("{p}-burn-30m-x5.6"),
            format!("{p}-burn-3d-x0.93"),
            format!("{p}-burn-6h-x0.93"),
        ]
    );
    let hour = guardrail[0];
    assert_eq!(
        (
            hour.window,
            hour.factor,
            hour.min_values,
            hour.budget_percent
        ),
        (3_600, 10.0, 3, 5.0)
    );
    assert_eq!(hour.good_statistic, "PR(:86400)");
    assert_eq!(hour.expression, "IF(n >= 3, (100 - good) / 5, 0)");
    assert_eq!(
        (
            hour.namespace.as_str(),
            hour.environment.as_str(),
            hour.metric.as_str()
        ),
        ("FlightController", "dev", "GuardrailLeadTime")
    );

    let mine: Vec<&CompositeAlarm> = composites
        .iter()
        .filter(|c| c.slo == "guardrail-lead-time")
        .collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(
        (mine[0].name.as_str(), mine[0].severity),
        (
            "flight-controller-dev-slo-guardrail-lead-time-page",
            Severity::Page
        )
    );
    assert_eq!(
        mine[0].rule,
        format!(
            "(ALARM(\"{p}-burn-1h-x10\") AND ALARM(\"{p}-burn-15m-x10\")) OR (ALARM(\"{p}-burn-6h-x5.6\") AND ALARM(\"{p}-burn-30m-x5.6\"))"
        )
    );
    assert_eq!(
        mine[1].pairs,
        [(format!("{p}-burn-3d-x0.93"), format!("{p}-burn-6h-x0.93"))]
    );
}

#[test]
fn a_ticket_slo_sends_every_rule_to_one_ticket_composite() {
    let catalog = Catalog::default_catalog();
    let slo = catalog
        .slos
        .iter()
        .find(|s| s.name == "project-lead-time")
        .unwrap();
    let (windows, composites) = slo_alarms(&catalog, &Deployment::new("prod"), slo);
    // 90 %: the highest burn is 10, so both page rules are capped at 5.
    let factors: Vec<(u64, f64)> = windows.iter().map(|w| (w.window, w.factor)).collect();
    assert_eq!(
        factors,
        [
            (3_600, 5.0),
            (900, 5.0),
            (21_600, 5.0),
            (1_800, 5.0),
            (259_200, 0.93),
            (21_600, 0.93)
        ]
    );
    assert_eq!(composites.len(), 1);
    assert_eq!(composites[0].severity, Severity::Ticket);
    assert_eq!(
        composites[0].name,
        "flight-controller-prod-slo-project-lead-time-ticket"
    );
    assert_eq!(composites[0].pairs.len(), 3);
    assert_eq!(windows[0].expression, "IF(n >= 3, (100 - good) / 10, 0)");
}

#[test]
fn an_inclusive_lower_threshold_is_the_exclusive_bound_just_below_it() {
    let catalog = Catalog::default_catalog();
    let (windows, _) = alarm_definitions(&catalog, &Deployment::new("dev"));
    let patch = of(&windows, "patch-compliance");
    // at_least 95: PR(n:m) counts values in (n, m], so 95 itself is counted
    // by the bound 1e-10 below it.
    assert_eq!(patch[0].good_statistic, "PR(94.9999999999:)");
    let lead = of(&windows, "project-lead-time");
    assert_eq!(lead[0].good_statistic, "PR(:259200)");
}

#[test]
fn rules_that_share_a_window_and_factor_share_its_alarm() {
    let source = format!(
        "{DEFAULT_CATALOG_YAML}\nalerting:\n  rules:\n    - {{severity: page, long_window: 1h, short_window: 15m, factor: 4}}\n    - {{severity: ticket, long_window: 6h, short_window: 15m, factor: 4}}\n",
    );
    let catalog = Catalog::parse(&source).unwrap_or_else(|e| panic!("{e}"));
    let slo = catalog
        .slos
        .iter()
        .find(|s| s.severity == Severity::Page)
        .unwrap();
    let (windows, composites) = slo_alarms(&catalog, &Deployment::new("dev"), slo);
    // 1h, 15m and 6h at factor 4: the 15m alarm serves both rules.
    assert_eq!(windows.len(), 3, "{windows:#?}");
    assert_eq!(composites[0].pairs[0].1, composites[1].pairs[0].1);
}

#[test]
fn two_rules_with_the_same_windows_and_factor_are_one_pair_of_the_composite() {
    let source = format!(
        "{DEFAULT_CATALOG_YAML}\nalerting:\n  rules:\n    - {{severity: page, long_window: 1h, short_window: 15m, factor: 4}}\n    - {{severity: page, long_window: 1h, short_window: 15m, budget_spent: 0.5952381}}\n",
    );
    let catalog = Catalog::parse(&source).unwrap_or_else(|e| panic!("{e}"));
    let slo = &catalog.slos[0];
    // 28 days over 1 hour × 0.5952381 % = 4.0000000: the same alarm as factor 4.
    let (windows, composites) = slo_alarms(&catalog, &Deployment::new("dev"), slo);
    assert_eq!(windows.len(), 2, "{windows:#?}");
    assert_eq!(composites[0].pairs.len(), 1);
}
