//! The alerting scenarios of issue 11, replayed through the evaluation model
//! (the backtest's core) on the default catalog, each with the exact alerts
//! it must raise: severity, the minute it fires and the minute it clears.
//!
//! `guardrail-lead-time` is 95 % over 28 days: its budget share is 5 %, the
//! highest burn 20. Its page rules are 1h/15m at factor 10 (13.44 capped at
//! half of 20) and 6h/30m at 5.6; its ticket rule 3d/6h at 0.93. The
//! publishing delay is 6 minutes: at minute `m` after the first bad value a
//! window sees the values stamped up to minute `m − 6`.

use flight_core::alerting::{backtest, time_to_alert, Episode, TimeToAlert};
use flight_core::catalog::{Severity, Slo};
use flight_core::names::Deployment;
use flight_core::{Catalog, Measurement, Millis};
use flight_testkit::alerting::{
    healthy_month, low_traffic, recovery, slow_burn, sudden_outage, traffic,
};
use flight_testkit::clock::{HOUR, MINUTE, NOW};

const DAY: Millis = 24 * HOUR;

fn catalog() -> Catalog {
    Catalog::default_catalog()
}

fn slo<'a>(catalog: &'a Catalog, name: &str) -> &'a Slo {
    catalog.slos.iter().find(|s| s.name == name).unwrap()
}

/// The alerts of `slo` over `[since, until]`, as (severity, fired, cleared)
/// in minutes after `t0`.
fn alerts(
    catalog: &Catalog,
    name: &str,
    history: &[Measurement],
    t0: Millis,
    since: Millis,
    until: Millis,
) -> Vec<(Severity, i64, Option<i64>)> {
    let mut only = catalog.clone();
    only.slos.retain(|s| s.name == name);
    let minutes = |t: Millis| (t - t0) / MINUTE;
    backtest(
        &only,
        &Deployment::new("dev"),
        history,
        catalog.alerting.publish_delay(),
        since,
        until,
    )
    .iter()
    .map(|e: &Episode| (e.severity, minutes(e.fired_at), e.cleared_at.map(minutes)))
    .collect()
}

#[test]
fn a_sudden_outage_pages_at_the_minute_validate_predicts_then_tickets() {
    let catalog = catalog();
    let t0 = NOW;
    let history = sudden_outage(slo(&catalog, "guardrail-lead-time"), t0, 3 * DAY, 4 * HOUR);
    let found = alerts(
        &catalog,
        "guardrail-lead-time",
        &history,
        t0,
        t0 - HOUR,
        t0 + 4 * HOUR,
    );
    // Page: the 1h window sees 55 values (minutes m−60 to m−6), of which
    // m−5 bad; above factor 10 means more than half bad: m−5 ≥ 28, m = 33
    // (its 15m window, 10 values, is past half bad from minute 11).
    // Ticket: the 3d window sees 4315 values; above 0.93 means more than
    // 4.65 % bad: m−5 ≥ 201, m = 206.
    assert_eq!(
        found,
        [(Severity::Page, 33, None), (Severity::Ticket, 206, None)]
    );
    let predicted = time_to_alert(&catalog, slo(&catalog, "guardrail-lead-time"));
    assert_eq!(
        predicted,
        [
            TimeToAlert {
                severity: Severity::Page,
                after: Some(33 * 60)
            },
            TimeToAlert {
                severity: Severity::Ticket,
                after: Some(206 * 60)
            },
        ]
    );
}

#[test]
fn a_sudden_outage_of_every_default_slo_alerts_when_time_to_alert_says() {
    let catalog = catalog();
    let t0 = NOW;
    for s in &catalog.slos {
        let history = sudden_outage(s, t0, 3 * DAY, 8 * HOUR);
        let found = alerts(&catalog, &s.name, &history, t0, t0, t0 + 8 * HOUR);
        let predicted: Vec<(Severity, i64, Option<i64>)> = time_to_alert(&catalog, s)
            .iter()
            .map(|t| (t.severity, t.after.unwrap() as i64 / 60, None))
            .collect();
        assert_eq!(found, predicted, "{}", s.name);
    }
}

#[test]
fn a_slow_burn_on_a_new_metric_tickets_within_minutes_and_never_pages() {
    let catalog = catalog();
    let t0 = NOW;
    let s = slo(&catalog, "guardrail-lead-time");
    // One value in ten bad: a burn of 2, above the ticket's 0.93, below the
    // pages' 5.6 and 10 in every window. The first bad value is stamped at
    // minute 9, visible at 15, when both windows hold 10 values.
    let history = slow_burn(s, t0, 12 * HOUR, 10);
    let found = alerts(&catalog, &s.name, &history, t0, t0, t0 + 12 * HOUR);
    assert_eq!(found, [(Severity::Ticket, 15, None)]);
}

#[test]
fn a_slow_burn_after_three_good_days_tickets_once_the_3d_window_has_spent_its_share() {
    let catalog = catalog();
    let t0 = NOW;
    let s = slo(&catalog, "guardrail-lead-time");
    let mut history = traffic(s, t0 - 3 * DAY, t0, MINUTE, |_, _| false);
    history.extend(slow_burn(s, t0, 2 * DAY, 10));
    // The 3d window's 4315 values must hold more than 200.6 bad ones:
    // floor((m − 5) / 10) ≥ 201, m = 2015 (33 h 35 min): no page on the way.
    let found = alerts(&catalog, &s.name, &history, t0, t0, t0 + 2 * DAY);
    assert_eq!(found, [(Severity::Ticket, 2015, None)]);
}

#[test]
fn a_healthy_month_raises_nothing_on_any_slo() {
    let catalog = catalog();
    let start = NOW;
    // One value in a hundred bad, every 10 minutes: 1 % of 5 to 10 % budgets
    // (guardrail-max-activation's 1 % too: 1 in 200 there).
    let history: Vec<Measurement> = catalog
        .slos
        .iter()
        .flat_map(|s| healthy_month(s, start, if s.objective >= 99.0 { 200 } else { 100 }))
        .collect();
    let found = backtest(
        &catalog,
        &Deployment::new("dev"),
        &history,
        catalog.alerting.publish_delay(),
        start,
        start + 30 * DAY,
    );
    assert_eq!(found, []);
}

#[test]
fn a_low_traffic_slo_with_one_bad_value_raises_nothing_and_would_page_with_min_values_1() {
    let catalog = catalog();
    let start = NOW;
    let s = slo(&catalog, "guardrail-lead-time");
    // Three values a day (every 8 hours) for a week; the 11th is bad.
    let history = low_traffic(s, start, 7, 3, 10);
    let found = alerts(&catalog, &s.name, &history, start, start, start + 7 * DAY);
    // Every window short enough to page holds at most one value, fewer than
    // min_values 3: burn 0. The 3d window holds 9 values (11 % bad, burn
    // 2.2) but its 6h short window holds one: no ticket either.
    assert_eq!(found, []);

    let mut eager = catalog.clone();
    for slo in &mut eager.slos {
        slo.alerting.min_values = 1;
    }
    let bad_at = start + 10 * 8 * HOUR;
    let found = alerts(&eager, &s.name, &history, bad_at, start, start + 7 * DAY);
    // With min_values 1 the lone bad value pages from when it is visible
    // (minute 6) until it leaves the 30m window (minute 31: the 6h/30m pair
    // outlasts the 1h/15m one), and tickets until it leaves the 6h window,
    // where it is alone (minute 361).
    assert_eq!(
        found,
        [
            (Severity::Page, 6, Some(31)),
            (Severity::Ticket, 6, Some(361))
        ]
    );
}

#[test]
fn after_a_four_hour_outage_every_alert_clears() {
    let catalog = catalog();
    let t0 = NOW;
    let s = slo(&catalog, "guardrail-lead-time");
    let history = recovery(s, t0, 3 * DAY, 4 * HOUR, DAY);
    let found = alerts(&catalog, &s.name, &history, t0, t0, t0 + DAY);
    // The outage covers minutes 0 to 239. The page holds while its 30m
    // window (25 values) is over 28 % bad, to minute 262; the ticket while
    // its 6h window (355 values) holds 17 bad ones, to minute 583.
    assert_eq!(
        found,
        [
            (Severity::Page, 33, Some(263)),
            (Severity::Ticket, 206, Some(584))
        ]
    );
}
