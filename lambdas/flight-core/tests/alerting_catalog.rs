//! The catalog's period and alerting keys (issue 11 design §1-§3): what they
//! read as, and every refusal with the path and line it names.

use flight_core::alerting::{time_to_alert, TimeToAlert};
use flight_core::catalog::{
    CalendarUnit, Period, RuleThreshold, Severity, DEFAULT_LATENESS_WINDOW,
};
use flight_core::Catalog;

/// A catalog with one metric `A` and the SLO block `slo` (indented as an
/// item of `slos`), after the top-level `extra`. Line 12 is `slos:`.
fn source(extra: &str, slo: &str) -> String {
    format!(
        "namespace: Test
event_types:
  - name: Opened
    description: o
metrics:
  - name: A
    kind: count
    event: Opened
    unit: Count
{extra}
# the SLO
slos:
  - name: s
    metric: A
    objective: 95
    threshold: 1
    good_when: at_most
{slo}"
    )
}

/// The issues of a catalog that must be refused, as `line:column: path: message`.
fn refusals(extra: &str, slo: &str) -> Vec<String> {
    match Catalog::parse(&source(extra, slo)) {
        Ok(_) => panic!("accepted:\n{}", source(extra, slo)),
        Err(e) => e.issues.iter().map(ToString::to_string).collect(),
    }
}

fn accepted(extra: &str, slo: &str) -> Catalog {
    Catalog::parse(&source(extra, slo)).unwrap_or_else(|e| panic!("{e}"))
}

fn has(issues: &[String], prefix: &str, words: &str) -> bool {
    issues
        .iter()
        .any(|i| i.starts_with(prefix) && i.contains(words))
}

#[test]
fn an_slo_without_period_or_alerting_gets_28_days_and_the_default_policy() {
    let catalog = accepted("", "");
    let slo = &catalog.slos[0];
    assert_eq!(
        slo.period,
        Period::Rolling {
            seconds: 28 * 86_400
        }
    );
    assert_eq!(slo.severity, Severity::Page);
    assert_eq!(slo.alerting.min_values, 3);
    assert_eq!(catalog.alerting.lateness_window, DEFAULT_LATENESS_WINDOW);
    assert_eq!(catalog.alerting.publish_delay(), 360);
    let rules: Vec<(Severity, u64, u64, f64, bool)> = slo
        .alerting
        .rules
        .iter()
        .map(|r| {
            (
                r.severity,
                r.long_window,
                r.short_window,
                r.factor,
                r.capped,
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            (Severity::Page, 3_600, 900, 10.0, true),
            (Severity::Page, 21_600, 1_800, 5.6, false),
            (Severity::Ticket, 259_200, 21_600, 0.93, false),
        ]
    );
    assert!((slo.alerting.rules[0].requested_factor - 13.44).abs() < 1e-9);
}

#[test]
fn legacy_window_hours_reads_as_a_rolling_period() {
    let catalog = accepted("", "    window_hours: 168\n    severity: ticket\n");
    let slo = &catalog.slos[0];
    assert_eq!(slo.period.text(), "7d");
    // 7 days: the 1h page rule asks 168 × 2 % = 3.36; a ticket SLO pages no one.
    assert_eq!(slo.alerting.rules[0].factor, 3.36);
    assert!(slo
        .alerting
        .rules
        .iter()
        .all(|r| r.severity == Severity::Ticket));
}

#[test]
fn a_calendar_month_in_a_time_zone_scales_factors_as_30_days() {
    let catalog = accepted("", "    period: month\n    time_zone: Europe/Amsterdam\n");
    let slo = &catalog.slos[0];
    assert!(matches!(
        slo.period,
        Period::Calendar {
            unit: CalendarUnit::Month,
            ..
        }
    ));
    let factors: Vec<f64> = slo.alerting.rules.iter().map(|r| r.factor).collect();
    assert_eq!(factors, [10.0, 6.0, 1.0]);
}

#[test]
fn the_global_block_and_an_slos_own_override_the_defaults() {
    let global = "alerting:
  min_values: 5
  lateness_window: 2m
  rules:
    - severity: page
      long_window: 2h
      short_window: 10m
      factor: 8
";
    let own = "    alerting:
      min_values: 1
";
    let catalog = accepted(global, own);
    let slo = &catalog.slos[0];
    assert_eq!(catalog.alerting.publish_delay(), 180);
    assert_eq!(slo.alerting.min_values, 1);
    assert_eq!(slo.alerting.rules.len(), 1);
    let rule = &slo.alerting.rules[0];
    assert_eq!(rule.threshold, RuleThreshold::Factor(8.0));
    assert_eq!((rule.factor, rule.capped), (8.0, false));
}

#[test]
fn a_period_is_refused_when_ambiguous_unknown_or_shorter_than_a_window() {
    let both = refusals("", "    period: 28d\n    window_hours: 24\n");
    assert!(
        has(&both, "19:", "slos[0].window_hours: give `period`"),
        "{both:#?}"
    );

    let zone = refusals("", "    period: month\n    time_zone: Europe/Atlantis\n");
    assert!(
        has(&zone, "19:", "unknown time zone `Europe/Atlantis`"),
        "{zone:#?}"
    );

    let rolling_zone = refusals("", "    period: 28d\n    time_zone: UTC\n");
    assert!(
        has(&rolling_zone, "19:", "only to a calendar period"),
        "{rolling_zone:#?}"
    );

    let bad = refusals("", "    period: 2w\n");
    assert!(
        has(&bad, "18:", "slos[0].period: `2w` is not a duration"),
        "{bad:#?}"
    );

    let short = refusals("", "    period: 48h\n");
    assert!(
        has(
            &short,
            "18:",
            "the period (2d) is shorter than the long window 3d of alerting.rules[2]"
        ),
        "{short:#?}"
    );
    let legacy = refusals("", "    window_hours: 24\n");
    assert!(
        has(&legacy, "18:", "slos[0].window_hours: the period (1d)"),
        "{legacy:#?}"
    );
}

#[test]
fn a_rule_is_refused_with_its_path_when_a_cloudwatch_alarm_cannot_take_it() {
    let rules = "alerting:
  rules:
    - severity: page
      long_window: 1h
      short_window: 5m
      budget_spent: 2
    - severity: page
      long_window: 8d
      short_window: 1h
      budget_spent: 2
    - severity: ticket
      long_window: 1h
      short_window: 2h
      budget_spent: 2
    - severity: ticket
      long_window: 1h
      short_window: 15m
      budget_spent: 2
      factor: 3
    - severity: ticket
      long_window: 90s
      short_window: 15m
      budget_spent: 150
";
    let issues = refusals(rules, "");
    // The publishing delay (5m + 1m) would leave a 5m window empty.
    assert!(
        has(
            &issues,
            "14:",
            "alerting.rules[0].short_window: 5m is shorter than twice the publishing delay (6m"
        ) && has(&issues, "14:", "a lateness window of at most 1m"),
        "{issues:#?}"
    );
    assert!(
        has(
            &issues,
            "17:",
            "alerting.rules[1].long_window: must be at most 7d"
        ),
        "{issues:#?}"
    );
    assert!(
        has(
            &issues,
            "21:",
            "alerting.rules[2].long_window: must be longer than the short window (2h)"
        ),
        "{issues:#?}"
    );
    assert!(
        has(
            &issues,
            "24:",
            "alerting.rules[3]: give either `budget_spent` or `factor`"
        ),
        "{issues:#?}"
    );
    assert!(
        has(
            &issues,
            "30:",
            "alerting.rules[4].long_window: `90s` is not a duration"
        ),
        "{issues:#?}"
    );
    assert!(
        has(
            &issues,
            "32:",
            "alerting.rules[4].budget_spent: must be a percentage"
        ),
        "{issues:#?}"
    );
}

#[test]
fn an_explicit_factor_the_objective_cannot_reach_is_refused_naming_the_slo() {
    // At 95 % every value bad burns 20: a factor of 20 never fires.
    let rules = "alerting:
  rules:
    - severity: page
      long_window: 1h
      short_window: 15m
      factor: 20
";
    let issues = refusals(rules, "");
    assert!(
        has(
            &issues,
            "15:",
            "alerting.rules[0].factor: factor 20 can never fire for SLO `s` (slos[0])"
        ),
        "{issues:#?}"
    );
    let own = "    alerting:
      rules:
        - {severity: page, long_window: 1h, short_window: 15m, factor: 25}
";
    let issues = refusals("", own);
    assert!(
        has(
            &issues,
            "20:",
            "slos[0].alerting.rules[0].factor: factor 25"
        ),
        "{issues:#?}"
    );
    // Just below the highest burn is reachable.
    accepted(&rules.replace("factor: 20", "factor: 19.99"), "");
}

#[test]
fn deployment_wide_keys_belong_to_the_global_block_only() {
    let issues = refusals("", "    alerting:\n      lateness_window: 1m\n");
    assert!(
        has(&issues, "19:", "unknown field `lateness_window`"),
        "{issues:#?}"
    );
    let issues = refusals("alerting:\n  min_values: 0\n  sweep_interval: 0m\n", "");
    assert!(
        has(&issues, "11:", "alerting.min_values: must be at least 1"),
        "{issues:#?}"
    );
    assert!(
        has(
            &issues,
            "12:",
            "alerting.sweep_interval: must be at least 1m"
        ),
        "{issues:#?}"
    );
}

#[test]
fn a_rule_whose_short_window_never_holds_min_values_never_fires() {
    // One value a minute: a 15m or 30m window sees at most 25 visible values.
    let catalog = accepted("alerting:\n  min_values: 100\n", "");
    let times = time_to_alert(&catalog, &catalog.slos[0]);
    assert_eq!(
        times,
        [
            TimeToAlert {
                severity: Severity::Page,
                after: None
            },
            TimeToAlert {
                severity: Severity::Ticket,
                after: Some(206 * 60)
            },
        ]
    );
}
