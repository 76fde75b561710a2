//! Reading the SLOs and the alerting block: raw records to [`Slo`]s with
//! their period and resolved alert rules, every problem an issue with its
//! path. The checks are those the Terraform catalog module makes too: what a
//! CloudWatch alarm takes (windows of whole minutes up to 7 days), what the
//! publishing delay leaves visible, and alerts an objective can reach.

use serde::Deserialize;

use super::alerting::{
    max_burn, Alerting, RuleSpec, RuleThreshold, SloAlerting, DEFAULT_LATENESS_WINDOW,
    DEFAULT_MIN_VALUES, DEFAULT_SWEEP_INTERVAL, MAX_WINDOW,
};
use super::model::{GoodWhen, Metric, Severity, Slo};
use super::parse::{suggest, Issues};
use super::period::{Period, PeriodError, DEFAULT_PERIOD};
use crate::duration::{duration_text, parse_duration, Seconds, MINUTE};

const WINDOW_UNITS: [char; 3] = ['m', 'h', 'd'];

/// The catalog-wide `alerting` block as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerting {
    min_values: Option<u64>,
    lateness_window: Option<String>,
    sweep_interval: Option<String>,
    rules: Option<Vec<RawRule>>,
}

/// An SLO's own `alerting` block: no deployment-wide keys.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSloAlerting {
    min_values: Option<u64>,
    rules: Option<Vec<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    severity: Severity,
    long_window: String,
    short_window: String,
    budget_spent: Option<f64>,
    factor: Option<f64>,
}

/// An SLO as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlo {
    name: String,
    metric: String,
    objective: f64,
    threshold: f64,
    good_when: GoodWhen,
    period: Option<String>,
    time_zone: Option<String>,
    window_hours: Option<u32>,
    severity: Option<Severity>,
    alerting: Option<RawSloAlerting>,
    #[serde(default)]
    description: Option<String>,
}

/// The catalog-wide alerting, defaults filled in.
pub(super) fn global(raw: Option<RawAlerting>, issues: &mut Issues<'_>) -> Alerting {
    let raw = raw.unwrap_or_default();
    let duration = |text: Option<String>, key: &str, default, issues: &mut Issues<'_>| {
        text.map_or(default, |text| {
            parse_duration(&text, &WINDOW_UNITS).unwrap_or_else(|e| {
                issues.add(format!("alerting.{key}"), e);
                default
            })
        })
    };
    let lateness_window = duration(
        raw.lateness_window,
        "lateness_window",
        DEFAULT_LATENESS_WINDOW,
        issues,
    );
    let sweep_interval = duration(
        raw.sweep_interval,
        "sweep_interval",
        DEFAULT_SWEEP_INTERVAL,
        issues,
    );
    if sweep_interval < MINUTE {
        issues.add("alerting.sweep_interval", "must be at least 1m");
    }
    let mut alerting = Alerting {
        min_values: min_values(raw.min_values, "alerting", DEFAULT_MIN_VALUES, issues),
        lateness_window,
        sweep_interval,
        ..Alerting::default()
    };
    if let Some(rules) = raw.rules {
        let delay = (alerting.publish_delay(), alerting.sweep_interval);
        alerting.rules = rule_specs(rules, "alerting", delay, issues);
    }
    alerting
}

fn min_values(raw: Option<u64>, at: &str, default: u64, issues: &mut Issues<'_>) -> u64 {
    match raw {
        Some(0) => {
            issues.add(format!("{at}.min_values"), "must be at least 1");
            default
        }
        Some(n) => n,
        None => default,
    }
}

/// Rules as written, each checked on its own; the valid ones.
fn rule_specs(
    raw: Vec<RawRule>,
    at: &str,
    delay: (Seconds, Seconds),
    issues: &mut Issues<'_>,
) -> Vec<RuleSpec> {
    if raw.is_empty() {
        issues.add(
            format!("{at}.rules"),
            "must list at least one rule (leave `rules` out for the default ones)",
        );
    }
    let mut rules = Vec::new();
    for (j, rule) in raw.into_iter().enumerate() {
        let path = format!("{at}.rules[{j}]");
        let mut window = |key: &str, text: &str| match parse_duration(text, &WINDOW_UNITS) {
            Ok(0) => {
                issues.add(format!("{path}.{key}"), "must be at least 1m");
                None
            }
            Ok(seconds) => Some(seconds),
            Err(e) => {
                issues.add(format!("{path}.{key}"), e);
                None
            }
        };
        let (long, short) = (
            window("long_window", &rule.long_window),
            window("short_window", &rule.short_window),
        );
        let threshold = threshold(&rule, &path, issues);
        let (Some(long_window), Some(short_window), Some(threshold)) = (long, short, threshold)
        else {
            continue;
        };
        let before = issues.len();
        check_windows(&path, (long_window, short_window), delay, issues);
        if issues.len() == before {
            rules.push(RuleSpec {
                severity: rule.severity,
                long_window,
                short_window,
                threshold,
            });
        }
    }
    rules
}

fn threshold(rule: &RawRule, path: &str, issues: &mut Issues<'_>) -> Option<RuleThreshold> {
    match (rule.budget_spent, rule.factor) {
        (Some(spent), None) if spent > 0.0 && spent <= 100.0 => {
            Some(RuleThreshold::BudgetSpent(spent))
        }
        (Some(_), None) => {
            issues.add(
                format!("{path}.budget_spent"),
                "must be a percentage above 0 and at most 100",
            );
            None
        }
        (None, Some(factor)) if factor.is_finite() && factor > 0.0 => {
            Some(RuleThreshold::Factor(factor))
        }
        (None, Some(_)) => {
            issues.add(format!("{path}.factor"), "must be a burn rate above 0");
            None
        }
        (Some(_), Some(_)) => {
            issues.add(path, "give either `budget_spent` or `factor`, not both");
            None
        }
        (None, None) => {
            issues.add(
                path,
                "give `budget_spent` (percent of the period's error budget) or `factor` (a burn rate)",
            );
            None
        }
    }
}

/// `delay` is the publishing delay, of which `sweep` is the sweep interval.
fn check_windows(
    path: &str,
    (long, short): (Seconds, Seconds),
    (delay, sweep): (Seconds, Seconds),
    issues: &mut Issues<'_>,
) {
    if long <= short {
        issues.add(
            format!("{path}.long_window"),
            format!(
                "must be longer than the short window ({})",
                duration_text(short)
            ),
        );
    }
    if long > MAX_WINDOW {
        issues.add(
            format!("{path}.long_window"),
            "must be at most 7d (a CloudWatch alarm evaluates at most 7 days)",
        );
    }
    if short < 2 * delay {
        let allowed = (short / 2).saturating_sub(sweep) / MINUTE * MINUTE;
        issues.add(
            format!("{path}.short_window"),
            format!(
                "{} is shorter than twice the publishing delay ({} = lateness window + sweep interval): at least half the short window must be visible when the alarm evaluates; use a short window of at least {}, or a lateness window of at most {}",
                duration_text(short),
                duration_text(delay),
                duration_text((2 * delay).div_ceil(MINUTE) * MINUTE),
                duration_text(allowed)
            ),
        );
    }
}

/// The SLOs: each names a metric, its numbers are ones CloudWatch alarms
/// take, and its alert rules fit its period and objective.
pub(super) fn slos(
    raw: Vec<RawSlo>,
    alerting: &Alerting,
    metrics: &[Metric],
    issues: &mut Issues<'_>,
) -> Vec<Slo> {
    let mut slos: Vec<Slo> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let path = format!("slos[{i}]");
        if slos.iter().any(|s| s.name == raw.name) {
            issues.add(
                format!("{path}.name"),
                format!("duplicate SLO name `{}`", raw.name),
            );
        }
        if !metrics.iter().any(|m| m.name == raw.metric) {
            issues.add(
                format!("{path}.metric"),
                format!(
                    "unknown metric `{}`{}",
                    raw.metric,
                    suggest(&raw.metric, metrics.iter().map(|m| m.name.as_str()))
                ),
            );
        }
        let objective_ok = raw.objective > 0.0 && raw.objective < 100.0;
        if !objective_ok {
            issues.add(
                format!("{path}.objective"),
                "must be a percentage above 0 and below 100",
            );
        }
        if !(raw.threshold.is_finite() && raw.threshold >= 0.0) {
            issues.add(
                format!("{path}.threshold"),
                "must be a finite number, 0 or more",
            );
        }
        let (period, period_key) = period(&raw, &path, issues);
        let severity = raw.severity.unwrap_or(Severity::Page);
        let own = raw.alerting.unwrap_or_default();
        let own_path = format!("{path}.alerting");
        let min_values = min_values(own.min_values, &own_path, alerting.min_values, issues);
        let (specs, rules_path) = match own.rules {
            Some(rules) => (
                rule_specs(
                    rules,
                    &own_path,
                    (alerting.publish_delay(), alerting.sweep_interval),
                    issues,
                ),
                own_path,
            ),
            None => (alerting.rules.clone(), "alerting".to_string()),
        };
        let longest = specs.iter().enumerate().max_by_key(|(_, s)| s.long_window);
        let too_short = longest.filter(|(_, s)| s.long_window > period.nominal_seconds());
        if let Some((j, spec)) = too_short {
            issues.add(
                format!("{path}.{period_key}"),
                format!(
                    "the period ({}) is shorter than the long window {} of {rules_path}.rules[{j}]: use a period of at least {}, or give this SLO its own `alerting.rules`",
                    period.text(),
                    duration_text(spec.long_window),
                    duration_text(spec.long_window)
                ),
            );
        }
        let mut rules = Vec::new();
        for (j, spec) in specs.iter().enumerate() {
            if !objective_ok {
                continue;
            }
            let rule = spec.resolve(raw.objective, period.nominal_seconds(), severity);
            if let RuleThreshold::Factor(factor) = spec.threshold {
                if factor >= max_burn(raw.objective) {
                    issues.add(
                        format!("{rules_path}.rules[{j}].factor"),
                        format!(
                            "factor {factor} can never fire for SLO `{}` ({path}): at objective {} the highest burn rate, every value bad, is {}; use a factor below it",
                            raw.name,
                            raw.objective,
                            crate::duration::decimal_text(max_burn(raw.objective), 2)
                        ),
                    );
                }
            }
            rules.push(rule);
        }
        slos.push(Slo {
            name: raw.name,
            metric: raw.metric,
            objective: raw.objective,
            threshold: raw.threshold,
            good_when: raw.good_when,
            period,
            severity,
            alerting: SloAlerting { min_values, rules },
            description: raw.description,
        });
    }
    slos
}

/// The SLO's period, and the key it was written under (`period` or `window_hours`).
fn period(raw: &RawSlo, path: &str, issues: &mut Issues<'_>) -> (Period, &'static str) {
    match (&raw.period, raw.window_hours) {
        (Some(_), Some(_)) => {
            issues.add(
                format!("{path}.window_hours"),
                "give `period` or the legacy `window_hours`, not both",
            );
            (DEFAULT_PERIOD, "period")
        }
        (None, Some(0)) => {
            issues.add(format!("{path}.window_hours"), "must be at least 1");
            (DEFAULT_PERIOD, "window_hours")
        }
        (None, Some(hours)) => {
            if raw.time_zone.is_some() {
                issues.add(
                    format!("{path}.time_zone"),
                    "a time zone applies only to a calendar period (`month` or `week`)",
                );
            }
            (Period::from_hours(hours), "window_hours")
        }
        (text, None) => {
            let text = text.as_deref().unwrap_or("28d");
            match Period::parse(text, raw.time_zone.as_deref()) {
                Ok(period) => (period, "period"),
                Err(PeriodError::Period(e)) => {
                    issues.add(format!("{path}.period"), e);
                    (DEFAULT_PERIOD, "period")
                }
                Err(PeriodError::TimeZone(e)) => {
                    issues.add(format!("{path}.time_zone"), e);
                    (DEFAULT_PERIOD, "period")
                }
            }
        }
    }
}
