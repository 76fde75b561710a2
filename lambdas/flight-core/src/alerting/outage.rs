//! How long a total outage takes to alert, per SLO and severity (issue 11
//! design §2), found by the evaluation model itself rather than by a
//! formula: steady traffic of one value a minute, all good until `t0` and
//! all bad from `t0`, evaluated every minute with the publishing delay.

use crate::catalog::{Catalog, Severity, Slo};
use crate::duration::Seconds;
use crate::envelope::Millis;
use crate::names::Deployment;

use super::evaluate::{episodes, History, Point, SloAlarms, MINUTE_MILLIS};

/// When a severity's composite alarm first fires in a total outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeToAlert {
    pub severity: Severity,
    /// Seconds from the first bad value to the first minute in ALARM;
    /// `None` when it does not fire within twice the longest window.
    pub after: Option<Seconds>,
}

/// Per severity the SLO alerts (page, then ticket), how long a total outage
/// takes to fire it with the catalog's publishing delay.
pub fn time_to_alert(catalog: &Catalog, slo: &Slo) -> Vec<TimeToAlert> {
    time_to_alert_with_delay(catalog, slo, catalog.alerting.publish_delay())
}

/// [`time_to_alert`] with another publishing delay (the local stack's).
pub fn time_to_alert_with_delay(
    catalog: &Catalog,
    slo: &Slo,
    publish_delay: Seconds,
) -> Vec<TimeToAlert> {
    let alarms = SloAlarms::new(catalog, &Deployment::new("model"), slo);
    let longest = alarms.windows.iter().map(|w| w.window).max().unwrap_or(0);
    let t0: Millis = 0;
    let span = 2 * longest as Millis * 1000;
    let history = History::from_points(outage_points(t0, span, span, publish_delay));
    let found = episodes(&alarms, &history, t0, t0 + span);
    alarms
        .composites
        .iter()
        .map(|c| TimeToAlert {
            severity: c.severity,
            after: found
                .iter()
                .find(|e| e.alarm == c.name)
                .map(|e| ((e.fired_at - t0) / 1000) as Seconds),
        })
        .collect()
}

/// One value a minute from `t0 − before` to `t0 + after`: good before `t0`,
/// bad from `t0`, each visible `publish_delay` after its minute.
pub fn outage_points(
    t0: Millis,
    before: Millis,
    after: Millis,
    publish_delay: Seconds,
) -> Vec<Point> {
    let delay = publish_delay as Millis * 1000;
    (-(before / MINUTE_MILLIS)..=after / MINUTE_MILLIS)
        .map(|k| {
            let timestamp = t0 + k * MINUTE_MILLIS;
            Point {
                timestamp,
                visible_at: timestamp + delay,
                good: k < 0,
            }
        })
        .collect()
}
