//! The data of the HTML report, per SLO: what `flightctl report` computed
//! (its [`SloReport`]: status over the period, burn rates, alerts firing)
//! and the measurement records behind it, arranged for the charts: each
//! value with its side of the threshold, the error budget left after each
//! value (the burn-down), the objective's percentile, and the alerts that
//! fired over the period. No new arithmetic: good and bad are
//! [`flight_core::slo::is_good`], the budget is [`SloStatus::budget`], the
//! last point of the burn-down is [`SloStatus::budget_left_percent`], the
//! alerts are flight-core's evaluation model ([`episodes`], the backtest's).

use anyhow::Result;
use flight_core::alerting::{episodes, CompositeAlarm, Episode, History, SloAlarms, WindowReading};
use flight_core::catalog::GoodWhen;
use flight_core::names::Deployment;
use flight_core::reads::MeasurementLog;
use flight_core::slo::{is_good, SloStatus};
use flight_core::{Catalog, Millis};

use crate::instant::floor_minute;
use crate::records;
use crate::report::{Options, SloReport};

/// The whole report: where it comes from and one view per SLO, in catalog order.
#[derive(Debug, Clone)]
pub struct Report {
    /// The environment the records come from (`dev`, `local`, ...).
    pub environment: String,
    /// The instant the report describes (`report --at`, default now).
    pub at: Millis,
    /// How long after its time a record counts as visible to the alarms.
    pub publish_delay: u64,
    /// Where the records were read, for people (`table fc-dev-events`).
    pub source: String,
    pub slos: Vec<SloView>,
}

/// One SLO's data, ready to draw.
#[derive(Debug, Clone)]
pub struct SloView {
    /// The report's numbers for the SLO (the same as `report --json`).
    pub status: SloStatus,
    /// The metric's unit (`Seconds`, `Percent`, `Count`, ...).
    pub unit: String,
    /// The SLO's values in its period, in time order.
    pub points: Vec<Point>,
    /// Percent of the period's error budget left after each value, starting
    /// at 100 % at the start of the period; empty when the objective allows
    /// no bad value (no data).
    pub burn_down: Vec<(Millis, f64)>,
    /// The value the objective's share of values respects (the 95th
    /// percentile of an `at_most` 95 % SLO, the 10th of an `at_least` 90 %
    /// one); on the good side of the threshold exactly when the SLO is met.
    pub percentile: Option<f64>,
    /// Each window alarm's burn rate at the report's instant.
    pub burn_rates: Vec<WindowReading>,
    /// The composite alarms (page, ticket) in ALARM at the instant.
    pub firing: Vec<CompositeAlarm>,
    /// The alerts that fired over the period (the backtest's episodes).
    pub episodes: Vec<Episode>,
}

/// A value of the SLO's metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at: Millis,
    pub value: f64,
    /// On the good side of the threshold (the threshold itself is good).
    pub good: bool,
}

impl Report {
    /// The report of `reports` (as `report::reports` computed them with
    /// `options`): the records of each metric are read once, from a window
    /// before the earliest period (the alarms look back that far), and the
    /// alerts of each SLO are evaluated every minute of its period, with the
    /// report's publishing delay.
    pub async fn build<S: MeasurementLog + ?Sized>(
        store: &S,
        catalog: &Catalog,
        deployment: &Deployment,
        options: &Options,
        reports: &[SloReport],
        source: &str,
    ) -> Result<Report> {
        let alarms: Vec<SloAlarms> = reports
            .iter()
            .map(|r| SloAlarms::new(catalog, deployment, &r.status.slo))
            .collect();
        let from = alarms
            .iter()
            .zip(reports)
            .map(|(a, r)| {
                let longest = a.windows.iter().map(|w| w.window).max().unwrap_or(0);
                r.status.since - longest as Millis * 1000
            })
            .min()
            .unwrap_or(options.at);
        let until = reports
            .iter()
            .map(|r| r.status.until)
            .max()
            .unwrap_or(options.at);
        let metrics = reports.iter().map(|r| r.status.slo.metric.as_str());
        let records = records::from_store(store, metrics, from, until, |_, _| {}).await?;
        let slos = reports
            .iter()
            .zip(&alarms)
            .map(|(report, alarms)| {
                let status = &report.status;
                let all = records.of(&status.slo.metric);
                let values: Vec<(Millis, f64)> = all
                    .iter()
                    .filter(|m| (status.since..status.until).contains(&m.timestamp))
                    .map(|m| (m.timestamp, m.value))
                    .collect();
                let unit = catalog
                    .metric(&status.slo.metric)
                    .map_or("", |m| m.unit.as_str());
                let history = History::new(&status.slo, all, options.publish_delay);
                let since = floor_minute(status.since + 59_999);
                SloView {
                    burn_rates: report.burn_rates.clone(),
                    firing: report.firing.clone(),
                    episodes: episodes(alarms, &history, since, floor_minute(options.at)),
                    ..SloView::new(status.clone(), unit, &values)
                }
            })
            .collect();
        Ok(Report {
            environment: deployment.environment.clone(),
            at: options.at,
            publish_delay: options.publish_delay,
            source: source.to_string(),
            slos,
        })
    }
}

impl SloView {
    /// The view of one SLO from its status and its values `(timestamp, value)`
    /// in the status's period (any order).
    pub fn new(status: SloStatus, unit: &str, values: &[(Millis, f64)]) -> SloView {
        let mut points: Vec<Point> = values
            .iter()
            .map(|&(at, value)| Point {
                at,
                value,
                good: is_good(&status.slo, value),
            })
            .collect();
        points.sort_by(|a, b| a.at.cmp(&b.at).then(a.value.total_cmp(&b.value)));
        SloView {
            burn_down: burn_down(&status, &points),
            percentile: objective_percentile(&status, &points),
            unit: unit.to_string(),
            points,
            status,
            burn_rates: Vec::new(),
            firing: Vec::new(),
            episodes: Vec::new(),
        }
    }
}

/// The budget left after each value, as a percent of the period's budget.
fn burn_down(status: &SloStatus, points: &[Point]) -> Vec<(Millis, f64)> {
    let budget = status.budget();
    if status.values == 0 || budget <= 0.0 {
        return Vec::new();
    }
    let mut line = vec![(status.since, 100.0)];
    let mut bad = 0u64;
    for p in points {
        if !p.good {
            bad += 1;
        }
        line.push((p.at, (budget - bad as f64) * 100.0 / budget));
    }
    // The end of the period: exactly the report's number.
    let left = status.budget_left_percent().unwrap_or(0.0);
    line.push((status.until - 1, left));
    line
}

/// The objective's percentile (nearest rank): the value such that the
/// objective's share of values is on its good side.
fn objective_percentile(status: &SloStatus, points: &[Point]) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = points.iter().map(|p| p.value).collect();
    values.sort_by(f64::total_cmp);
    if status.slo.good_when == GoodWhen::AtLeast {
        values.reverse();
    }
    let rank = (status.slo.objective / 100.0 * values.len() as f64 - 1e-9).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

#[cfg(test)]
mod tests {
    use flight_core::catalog::{Period, Severity, Slo, SloAlerting};
    use flight_core::slo::evaluate;

    use super::*;

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

    fn status(slo: &Slo, values: &[(Millis, f64)]) -> SloStatus {
        let mut status = evaluate(slo, &[], 0, 1000);
        status.values = values.len() as u64;
        status.good = values.iter().filter(|(_, v)| is_good(slo, *v)).count() as u64;
        status
    }

    #[test]
    fn the_burn_down_spends_the_budget_value_by_value_and_ends_at_the_reports_number() {
        let slo = slo(80.0, 10.0, GoodWhen::AtMost);
        // 10 values, 2 bad: a budget of 2 bad values, all spent.
        let values: Vec<(Millis, f64)> = (0..10)
            .map(|i| (i * 10, if i == 3 || i == 7 { 50.0 } else { 5.0 }))
            .collect();
        let view = SloView::new(status(&slo, &values), "Seconds", &values);
        let left: Vec<f64> = view.burn_down.iter().map(|(_, l)| *l).collect();
        assert_eq!(left.first(), Some(&100.0));
        assert_eq!(left[4], 50.0, "after the first bad value");
        assert_eq!(left.last(), Some(&0.0));
        assert_eq!(view.points.iter().filter(|p| !p.good).count(), 2);
    }

    #[test]
    fn the_percentile_is_on_the_good_side_exactly_when_the_objective_is_met() {
        let values: Vec<(Millis, f64)> = (1..=20).map(|i| (i, i as f64)).collect();
        // 95 % at most 19: the 19th of 20 values.
        let at_most = SloView::new(
            status(&slo(95.0, 19.0, GoodWhen::AtMost), &values),
            "",
            &values,
        );
        assert_eq!(at_most.percentile, Some(19.0));
        // 90 % at least 3: 18 of 20 values are >= 3, the 18th largest is 3.
        let at_least = SloView::new(
            status(&slo(90.0, 3.0, GoodWhen::AtLeast), &values),
            "",
            &values,
        );
        assert_eq!(at_least.percentile, Some(3.0));
    }

    #[test]
    fn an_slo_without_values_has_no_burn_down_and_no_percentile() {
        let slo = slo(90.0, 1.0, GoodWhen::AtMost);
        let view = SloView::new(status(&slo, &[]), "Count", &[]);
        assert!(view.burn_down.is_empty() && view.percentile.is_none());
    }
}
