//! The one evaluation model of the generated alarms (issue 11 design §5),
//! used by the backtest, by `report` and by [`super::time_to_alert`].
//!
//! A window alarm evaluated at minute `t` sees the values stamped in
//! `[t − window, t)` that are visible by `t` (published: stamped
//! `timestamp`, visible at `timestamp + publish_delay` unless said
//! otherwise). No value is missing data, which is not breaching; fewer than
//! `min_values` read as burn 0; otherwise the burn rate is
//! `(100 − good %) / (100 − objective)` and the alarm fires when it is above
//! the factor. A composite fires when both alarms of one of its pairs fire.

use crate::catalog::{Catalog, Severity, Slo};
use crate::duration::Seconds;
use crate::engine::Measurement;
use crate::envelope::Millis;
use crate::names::Deployment;
use crate::slo::is_good;

use super::definitions::{slo_alarms, CompositeAlarm, WindowAlarm};

/// Milliseconds in a minute: alarms evaluate on whole minutes.
pub const MINUTE_MILLIS: Millis = 60_000;

/// One data point of an SLO's metric, as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub timestamp: Millis,
    /// When CloudWatch can see it (never before `timestamp`).
    pub visible_at: Millis,
    /// On the good side of the SLO's threshold ([`is_good`]).
    pub good: bool,
}

/// An SLO's data points, ordered by time, counted fast over any window.
#[derive(Debug, Clone, Default)]
pub struct History {
    points: Vec<Point>,
    /// `prefix[i]` = (values, good) among the first `i` points.
    prefix: Vec<(u64, u64)>,
    /// The longest `visible_at − timestamp`.
    max_delay: Millis,
}

impl History {
    /// The measurements of `slo`'s metric, each visible `publish_delay` after its timestamp.
    pub fn new(slo: &Slo, measurements: &[Measurement], publish_delay: Seconds) -> History {
        let delay = publish_delay as Millis * 1000;
        History::from_points(
            measurements
                .iter()
                .filter(|m| m.metric == slo.metric)
                .map(|m| Point {
                    timestamp: m.timestamp,
                    visible_at: m.timestamp + delay,
                    good: is_good(slo, m.value),
                })
                .collect(),
        )
    }

    /// A history of points in any order.
    pub fn from_points(mut points: Vec<Point>) -> History {
        for p in &mut points {
            p.visible_at = p.visible_at.max(p.timestamp);
        }
        points.sort_by_key(|p| p.timestamp);
        let mut prefix = Vec::with_capacity(points.len() + 1);
        let (mut values, mut good) = (0, 0);
        prefix.push((0, 0));
        for p in &points {
            values += 1;
            good += u64::from(p.good);
            prefix.push((values, good));
        }
        let max_delay = points
            .iter()
            .map(|p| p.visible_at - p.timestamp)
            .max()
            .unwrap_or(0);
        History {
            points,
            prefix,
            max_delay,
        }
    }

    /// (values, good) stamped in `[since, until)` and visible at `at`.
    pub fn counts(&self, since: Millis, until: Millis, at: Millis) -> (u64, u64) {
        let index = |t: Millis| self.points.partition_point(|p| p.timestamp < t);
        let (first, last) = (index(since), index(until));
        if last <= first {
            return (0, 0);
        }
        let (mut values, mut good) = (
            self.prefix[last].0 - self.prefix[first].0,
            self.prefix[last].1 - self.prefix[first].1,
        );
        // Only points stamped within the longest delay of `at` can still be hidden.
        let hidden_from = index(at - self.max_delay).max(first);
        for p in &self.points[hidden_from.min(last)..last] {
            if p.visible_at > at {
                values -= 1;
                good -= u64::from(p.good);
            }
        }
        (values, good)
    }
}

/// What a window alarm sees at an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowReading {
    /// The window alarm's name.
    pub alarm: String,
    pub window: Seconds,
    pub factor: f64,
    pub values: u64,
    pub good: u64,
    /// The burn rate (0 under `min_values` values).
    pub burn: f64,
    /// In ALARM: the burn rate above the factor.
    pub firing: bool,
}

/// What `alarm` sees at `at`.
pub fn read_window(alarm: &WindowAlarm, history: &History, at: Millis) -> WindowReading {
    let (values, good) = history.counts(at - alarm.window as Millis * 1000, at, at);
    let burn = if values >= alarm.min_values && values > 0 {
        let good_percent = good as f64 * 100.0 / values as f64;
        (100.0 - good_percent) / alarm.budget_percent
    } else {
        0.0
    };
    WindowReading {
        alarm: alarm.name.clone(),
        window: alarm.window,
        factor: alarm.factor,
        values,
        good,
        burn,
        firing: burn > alarm.factor,
    }
}

/// One SLO's alarm definitions, evaluated together.
#[derive(Debug, Clone, PartialEq)]
pub struct SloAlarms {
    pub slo: Slo,
    pub windows: Vec<WindowAlarm>,
    pub composites: Vec<CompositeAlarm>,
}

impl SloAlarms {
    /// The alarms `catalog` generates for `slo` in `deployment`.
    pub fn new(catalog: &Catalog, deployment: &Deployment, slo: &Slo) -> SloAlarms {
        let (windows, composites) = slo_alarms(catalog, deployment, slo);
        SloAlarms {
            slo: slo.clone(),
            windows,
            composites,
        }
    }

    /// Every window alarm's reading at `at`, in definition order.
    pub fn readings_at(&self, history: &History, at: Millis) -> Vec<WindowReading> {
        self.windows
            .iter()
            .map(|w| read_window(w, history, at))
            .collect()
    }

    /// The composites in ALARM given the window readings of one instant.
    pub fn firing<'a>(&'a self, readings: &[WindowReading]) -> Vec<&'a CompositeAlarm> {
        let fires = |name: &str| readings.iter().any(|r| r.alarm == name && r.firing);
        self.composites
            .iter()
            .filter(|c| c.pairs.iter().any(|(l, s)| fires(l) && fires(s)))
            .collect()
    }
}

/// A composite alarm's stay in ALARM.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub slo: String,
    pub severity: Severity,
    /// The composite alarm's name.
    pub alarm: String,
    /// The first minute it was in ALARM.
    pub fired_at: Millis,
    /// The first minute it was OK again; `None` when still firing at the end.
    pub cleared_at: Option<Millis>,
    /// The readings of its pairs' windows when it fired.
    pub burn_rates: Vec<WindowReading>,
}

/// The first whole minute at or after `t`.
pub fn minute_at_or_after(t: Millis) -> Millis {
    t.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS
        + if t.rem_euclid(MINUTE_MILLIS) == 0 {
            0
        } else {
            MINUTE_MILLIS
        }
}

/// Every episode of `alarms` evaluated at each whole minute in `[since, until]`.
pub fn episodes(
    alarms: &SloAlarms,
    history: &History,
    since: Millis,
    until: Millis,
) -> Vec<Episode> {
    let mut open: Vec<Option<usize>> = vec![None; alarms.composites.len()];
    let mut found: Vec<Episode> = Vec::new();
    let mut t = minute_at_or_after(since);
    while t <= until {
        let readings = alarms.readings_at(history, t);
        let firing = alarms.firing(&readings);
        for (i, composite) in alarms.composites.iter().enumerate() {
            let now = firing.iter().any(|c| c.name == composite.name);
            match (open[i], now) {
                (None, true) => {
                    let in_pairs = |r: &&WindowReading| {
                        composite
                            .pairs
                            .iter()
                            .any(|(l, s)| r.alarm == *l || r.alarm == *s)
                    };
                    open[i] = Some(found.len());
                    found.push(Episode {
                        slo: alarms.slo.name.clone(),
                        severity: composite.severity,
                        alarm: composite.name.clone(),
                        fired_at: t,
                        cleared_at: None,
                        burn_rates: readings.iter().filter(in_pairs).cloned().collect(),
                    });
                }
                (Some(e), false) => {
                    found[e].cleared_at = Some(t);
                    open[i] = None;
                }
                _ => {}
            }
        }
        t += MINUTE_MILLIS;
    }
    found
}

/// The episodes of every SLO of `catalog` over `[since, until]`, in the order
/// they fired (catalog order within a minute), from measurement records
/// visible `publish_delay` after their timestamps.
pub fn backtest(
    catalog: &Catalog,
    deployment: &Deployment,
    measurements: &[Measurement],
    publish_delay: Seconds,
    since: Millis,
    until: Millis,
) -> Vec<Episode> {
    let mut found: Vec<Episode> = catalog
        .slos
        .iter()
        .flat_map(|slo| {
            let alarms = SloAlarms::new(catalog, deployment, slo);
            let history = History::new(slo, measurements, publish_delay);
            episodes(&alarms, &history, since, until)
        })
        .collect();
    found.sort_by_key(|e| e.fired_at);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(timestamp: Millis, delay: Millis, good: bool) -> Point {
        Point {
            timestamp,
            visible_at: timestamp + delay,
            good,
        }
    }

    #[test]
    fn a_window_counts_the_values_stamped_in_it_that_are_visible_by_then() {
        // Stamped at 0..10 minutes, each visible 0 to 9 minutes later.
        let points: Vec<Point> = (0..10)
            .map(|k| point(k * MINUTE_MILLIS, (k % 4) * 3 * MINUTE_MILLIS, k % 3 != 0))
            .collect();
        let history = History::from_points(points.clone());
        for at in (0..25).map(|m| m * MINUTE_MILLIS) {
            for since in [0, 3 * MINUTE_MILLIS, at - 5 * MINUTE_MILLIS] {
                let seen: Vec<&Point> = points
                    .iter()
                    .filter(|p| p.timestamp >= since && p.timestamp < at && p.visible_at <= at)
                    .collect();
                let naive = (
                    seen.len() as u64,
                    seen.iter().filter(|p| p.good).count() as u64,
                );
                assert_eq!(
                    history.counts(since, at, at),
                    naive,
                    "at {at} since {since}"
                );
            }
        }
    }

    #[test]
    fn whole_minutes_round_up() {
        assert_eq!(minute_at_or_after(0), 0);
        assert_eq!(minute_at_or_after(1), MINUTE_MILLIS);
        assert_eq!(minute_at_or_after(-1), 0);
        assert_eq!(minute_at_or_after(MINUTE_MILLIS), MINUTE_MILLIS);
    }
}
