//! The alert policy of a catalog: multi-window, multi-burn-rate rules (the
//! SRE Workbook's), the low-traffic rule (`min_values`) and the publishing
//! delay (`lateness_window` + `sweep_interval`). The catalog-wide block is
//! [`Alerting`]; each SLO resolves it, with its own overrides, into an
//! [`SloAlerting`] whose [`AlertRule`]s carry the effective factors.
//!
//! A rule's factor from `budget_spent` is `period / long_window ×
//! budget_spent / 100`, capped at half the highest burn the objective allows
//! (`100 / (100 − objective) / 2`) so that a total outage always reaches it,
//! then rounded to 2 decimals. An explicit `factor` is used as written
//! (rounded) and refused when the objective can never reach it.

use super::model::Severity;
use crate::duration::{round2, Seconds, DAY, HOUR, MINUTE};

/// The default low-traffic rule: a window with fewer values never alerts.
pub const DEFAULT_MIN_VALUES: u64 = 3;
/// The default lateness window of settle (`LATENESS_WINDOW_SECONDS`).
pub const DEFAULT_LATENESS_WINDOW: Seconds = 5 * MINUTE;
/// How often settle runs (its schedule in AWS).
pub const DEFAULT_SWEEP_INTERVAL: Seconds = MINUTE;
/// The longest window a CloudWatch alarm evaluates (period × evaluation periods).
pub const MAX_WINDOW: Seconds = 7 * DAY;

/// The catalog-wide alerting block, with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerting {
    /// A window with fewer values never alerts (both windows of a rule).
    pub min_values: u64,
    /// The deployment's lateness window: how long settle waits for late events.
    pub lateness_window: Seconds,
    /// How often settle runs.
    pub sweep_interval: Seconds,
    /// The rules every SLO uses unless it gives its own.
    pub rules: Vec<RuleSpec>,
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting {
            min_values: DEFAULT_MIN_VALUES,
            lateness_window: DEFAULT_LATENESS_WINDOW,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            rules: default_rules(),
        }
    }
}

impl Alerting {
    /// How long after its timestamp a data point becomes visible to
    /// CloudWatch: the lateness window and the next sweep.
    pub fn publish_delay(&self) -> Seconds {
        self.lateness_window + self.sweep_interval
    }
}

/// The Workbook's policy for this project: page on 1 h / 15 m spending 2 %
/// or 6 h / 30 m spending 5 %, ticket on 3 d / 6 h spending 10 % of the budget.
pub fn default_rules() -> Vec<RuleSpec> {
    let rule = |severity, long_window, short_window, spent| RuleSpec {
        severity,
        long_window,
        short_window,
        threshold: RuleThreshold::BudgetSpent(spent),
    };
    vec![
        rule(Severity::Page, HOUR, 15 * MINUTE, 2.0),
        rule(Severity::Page, 6 * HOUR, 30 * MINUTE, 5.0),
        rule(Severity::Ticket, 3 * DAY, 6 * HOUR, 10.0),
    ]
}

/// How a rule's burn-rate threshold is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RuleThreshold {
    /// Percent of the period's error budget the long window spends at the threshold.
    BudgetSpent(f64),
    /// An explicit burn-rate factor.
    Factor(f64),
}

/// A rule as written, before it meets an SLO's objective and period.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSpec {
    pub severity: Severity,
    pub long_window: Seconds,
    pub short_window: Seconds,
    pub threshold: RuleThreshold,
}

/// A rule of one SLO: both windows' burn rates above `factor` alert `severity`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    /// The severity it notifies, after the SLO's `severity` cap.
    pub severity: Severity,
    /// The severity the rule was written with.
    pub rule_severity: Severity,
    pub long_window: Seconds,
    pub short_window: Seconds,
    /// `budget_spent` or `factor`, as written.
    pub threshold: RuleThreshold,
    /// The factor asked for: from `budget_spent`, or the explicit one.
    pub requested_factor: f64,
    /// The alarm threshold: the requested factor, capped at half the
    /// highest possible burn (from `budget_spent` only), rounded to 2 decimals.
    pub factor: f64,
    /// Whether the cap lowered the requested factor.
    pub capped: bool,
}

/// An SLO's resolved alerting: the global block with its overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct SloAlerting {
    pub min_values: u64,
    /// In catalog order.
    pub rules: Vec<AlertRule>,
}

/// The highest burn rate an objective allows: every value bad, `100 / (100 − objective)`.
pub fn max_burn(objective: f64) -> f64 {
    100.0 / (100.0 - objective)
}

impl RuleSpec {
    /// The factor asked for with a period of `period_seconds` (nominal length).
    pub fn requested_factor(&self, period_seconds: Seconds) -> f64 {
        match self.threshold {
            RuleThreshold::BudgetSpent(spent) => {
                period_seconds as f64 / self.long_window as f64 * spent / 100.0
            }
            RuleThreshold::Factor(factor) => factor,
        }
    }

    /// The rule for an SLO of `objective` over `period_seconds`, notifying at most `cap`.
    pub fn resolve(&self, objective: f64, period_seconds: Seconds, cap: Severity) -> AlertRule {
        let requested = self.requested_factor(period_seconds);
        let half = max_burn(objective) / 2.0;
        let (factor, capped) = match self.threshold {
            RuleThreshold::BudgetSpent(_) if requested > half => (half, true),
            _ => (requested, false),
        };
        AlertRule {
            severity: self.severity.capped_at(cap),
            rule_severity: self.severity,
            long_window: self.long_window,
            short_window: self.short_window,
            threshold: self.threshold,
            requested_factor: requested,
            factor: round2(factor),
            capped,
        }
    }
}

impl Severity {
    /// This severity, or `cap` when `cap` is less urgent (`page` capped at `ticket` is `ticket`).
    pub fn capped_at(self, cap: Severity) -> Severity {
        if cap == Severity::Ticket {
            Severity::Ticket
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_factors_scale_to_the_period_and_are_capped_by_the_objective() {
        let factors = |objective, days| -> Vec<(f64, bool)> {
            default_rules()
                .iter()
                .map(|r| r.resolve(objective, days * DAY, Severity::Page))
                .map(|r| (r.factor, r.capped))
                .collect()
        };
        assert_eq!(
            factors(99.9, 28),
            [(13.44, false), (5.6, false), (0.93, false)]
        );
        assert_eq!(
            factors(99.9, 30),
            [(14.4, false), (6.0, false), (1.0, false)]
        );
        // 95 %: the highest burn is 20, the cap 10.
        assert_eq!(
            factors(95.0, 28),
            [(10.0, true), (5.6, false), (0.93, false)]
        );
        // 90 %: the highest burn is 10, the cap 5.
        assert_eq!(factors(90.0, 28), [(5.0, true), (5.0, true), (0.93, false)]);
    }

    #[test]
    fn a_ticket_slo_sends_its_pages_to_the_ticket_topic() {
        let page = &default_rules()[0];
        let rule = page.resolve(95.0, 28 * DAY, Severity::Ticket);
        assert_eq!(
            (rule.severity, rule.rule_severity),
            (Severity::Ticket, Severity::Page)
        );
    }
}
