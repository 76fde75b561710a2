//! SLO attainment and error budget, computed exactly from measurement records
//! (not from CloudWatch's percentile approximations): over a period, every
//! data point of the SLO's metric is good or bad by its threshold, and the
//! objective allows a share of bad ones, the error budget.
//!
//! With `n` data points of which `good` are good and an objective of `o` %:
//! attainment = `good / n` (as a percentage); the budget allows
//! `n × (100 − o) / 100` bad data points; the budget left is what that
//! allowance leaves once the `n − good` bad ones are spent, in data points and
//! as a percentage of the allowance (negative when overspent). The objective
//! is met exactly when the budget left is not negative.

use crate::catalog::{GoodWhen, Slo};
use crate::engine::Measurement;
use crate::envelope::Millis;

/// Tolerance of the comparison of attainment with the objective: objectives
/// such as 99.9 are not exact in binary floating point.
const EPSILON: f64 = 1e-9;

/// What an SLO's data points in a period say.
#[derive(Debug, Clone, PartialEq)]
pub struct SloStatus {
    pub slo: Slo,
    /// Start of the period (inclusive), by data point time.
    pub since: Millis,
    /// End of the period (exclusive).
    pub until: Millis,
    /// Data points of the SLO's metric in the period.
    pub values: u64,
    /// Those on the good side of the threshold.
    pub good: u64,
}

/// Where an SLO stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No data point in the period.
    NoData,
    /// Attainment at or above the objective.
    Met,
    /// Attainment below the objective: the error budget is overspent.
    Breached,
}

impl Verdict {
    /// A short name for tables and JSON: `no data`, `met`, `breached`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NoData => "no data",
            Verdict::Met => "met",
            Verdict::Breached => "breached",
        }
    }
}

/// Whether a value is on the good side of the SLO's threshold (the threshold itself is good).
pub fn is_good(slo: &Slo, value: f64) -> bool {
    match slo.good_when {
        GoodWhen::AtMost => value <= slo.threshold,
        GoodWhen::AtLeast => value >= slo.threshold,
    }
}

/// The status of `slo` over `[since, until)`, from measurements of any metric
/// (those of other metrics, or stamped outside the period, are ignored).
pub fn evaluate(
    slo: &Slo,
    measurements: &[Measurement],
    since: Millis,
    until: Millis,
) -> SloStatus {
    let mut values = 0;
    let mut good = 0;
    for m in measurements {
        if m.metric != slo.metric || m.timestamp < since || m.timestamp >= until {
            continue;
        }
        values += 1;
        if is_good(slo, m.value) {
            good += 1;
        }
    }
    SloStatus {
        slo: slo.clone(),
        since,
        until,
        values,
        good,
    }
}

impl SloStatus {
    /// Data points on the bad side of the threshold.
    pub fn bad(&self) -> u64 {
        self.values - self.good
    }

    /// Percent of data points that are good; `None` without data points.
    pub fn attainment(&self) -> Option<f64> {
        (self.values > 0).then(|| self.good as f64 * 100.0 / self.values as f64)
    }

    /// Bad data points the objective allows in the period: `values × (100 − objective) / 100`.
    pub fn budget(&self) -> f64 {
        self.values as f64 * (100.0 - self.slo.objective) / 100.0
    }

    /// Bad data points still allowed: the budget less the bad ones (negative when overspent).
    pub fn budget_left(&self) -> f64 {
        let left = self.budget() - self.bad() as f64;
        if left.abs() < EPSILON * self.values.max(1) as f64 {
            0.0
        } else {
            left
        }
    }

    /// The budget left as a percentage of the budget: 100 when nothing is
    /// spent, 0 when all is, negative when overspent. `None` when the
    /// objective allows no bad data point (100 %, or no data) and one was bad.
    pub fn budget_left_percent(&self) -> Option<f64> {
        let budget = self.budget();
        if budget > EPSILON {
            Some(self.budget_left() * 100.0 / budget)
        } else if self.bad() == 0 {
            Some(100.0)
        } else {
            None
        }
    }

    /// Met, breached, or no data.
    pub fn verdict(&self) -> Verdict {
        if self.values == 0 {
            Verdict::NoData
        } else if self.budget_left() >= 0.0 {
            Verdict::Met
        } else {
            Verdict::Breached
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::{Period, Severity, SloAlerting};
    use crate::engine::Delivery;

    fn slo(objective: f64, threshold: f64, good_when: GoodWhen) -> Slo {
        Slo {
            name: "s".into(),
            metric: "M".into(),
            objective,
            threshold,
            good_when,
            period: Period::from_hours(24),
            severity: Severity::Page,
            alerting: SloAlerting {
                min_values: 3,
                rules: Vec::new(),
            },
            description: None,
        }
    }

    fn point(metric: &str, value: f64, timestamp: Millis) -> Measurement {
        Measurement {
            metric: metric.into(),
            value,
            unit: "Seconds".into(),
            timestamp,
            aggregate_id: "a".into(),
            event_id: format!("e{timestamp}"),
            dimensions: BTreeMap::new(),
            delivery: Delivery::Published,
            test_run_id: None,
        }
    }

    #[test]
    fn attainment_and_budget_count_data_points_in_the_period_only() {
        let slo = slo(90.0, 100.0, GoodWhen::AtMost);
        let mut points: Vec<_> = (0..20).map(|i| point("M", 50.0, 1000 + i)).collect();
        points.push(point("M", 100.0, 1100)); // the threshold is good
        points.push(point("M", 101.0, 1101)); // bad
        points.push(point("M", 500.0, 999)); // before the period
        points.push(point("M", 500.0, 2000)); // at `until`: outside
        points.push(point("Other", 500.0, 1500));
        let status = evaluate(&slo, &points, 1000, 2000);
        assert_eq!((status.values, status.good, status.bad()), (22, 21, 1));
        assert!((status.attainment().unwrap() - 95.454_545).abs() < 1e-5);
        assert!((status.budget() - 2.2).abs() < 1e-9);
        assert!((status.budget_left() - 1.2).abs() < 1e-9);
        assert!((status.budget_left_percent().unwrap() - 54.545_454).abs() < 1e-5);
        assert_eq!(status.verdict(), Verdict::Met);
    }

    #[test]
    fn an_objective_met_exactly_is_met_and_one_bad_more_breaches_it() {
        let slo = slo(99.9, 10.0, GoodWhen::AtLeast);
        let mut points: Vec<_> = (0..999).map(|i| point("M", 10.0, i)).collect();
        points.push(point("M", 9.0, 999));
        let status = evaluate(&slo, &points, 0, 1000);
        assert_eq!((status.values, status.good), (1000, 999));
        assert_eq!(status.budget_left(), 0.0);
        assert_eq!(status.budget_left_percent(), Some(0.0));
        assert_eq!(status.verdict(), Verdict::Met);
        points.push(point("M", 9.0, 1000));
        let status = evaluate(&slo, &points, 0, 1001);
        assert_eq!(status.verdict(), Verdict::Breached);
        assert!(status.budget_left_percent().unwrap() < -99.0);
    }

    #[test]
    fn no_data_and_a_budget_of_zero_are_said_plainly() {
        let strict = slo(100.0, 1.0, GoodWhen::AtMost);
        let none = evaluate(&strict, &[], 0, 10);
        assert_eq!(none.verdict(), Verdict::NoData);
        assert_eq!(none.attainment(), None);
        assert_eq!(none.budget_left_percent(), Some(100.0));
        let bad = evaluate(&strict, &[point("M", 2.0, 1)], 0, 10);
        assert_eq!(bad.verdict(), Verdict::Breached);
        assert_eq!(bad.budget_left_percent(), None);
        assert_eq!(bad.attainment(), Some(0.0));
        let good = evaluate(&strict, &[point("M", 1.0, 1)], 0, 10);
        assert_eq!(good.verdict(), Verdict::Met);
        assert_eq!(good.budget_left_percent(), Some(100.0));
    }
}
