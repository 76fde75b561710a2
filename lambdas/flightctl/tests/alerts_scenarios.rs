//! `flightctl report` and `flightctl alerts backtest` on the generated
//! histories of issue 11 (flight-testkit's alerting scenarios), read from a
//! measurement log as the verbs read the event store: each scenario with
//! the exact alerts the backtest prints and the exact numbers the report
//! shows.
//!
//! Unless said otherwise the SLO is the default catalog's
//! `guardrail-lead-time`: 95 % of lead times at most a day over 28 days.
//! Its budget share is 5 % (highest burn 20); its window alarms are 1h and
//! 15m at factor 10 (13.44 capped at half of 20), 6h and 30m at 5.6 (page),
//! 3d and 6h at 0.93 (ticket). The backtest sees each value 6 minutes after
//! its time (lateness window 5m + sweep 1m); the report, every stored value.

use async_trait::async_trait;
use flight_core::catalog::Slo;
use flight_core::names::Deployment;
use flight_core::ports::StoreError;
use flight_core::reads::MeasurementLog;
use flight_core::{Catalog, Measurement, Millis};
use flight_testkit::alerting::{
    across_boundary, at_threshold, healthy_month, low_traffic, recovery, slow_burn, sudden_outage,
};
use flight_testkit::clock::{HOUR, MINUTE, NOW};
use flightctl::backtest::{self, Options, Plan};
use flightctl::instant::When;
use flightctl::records;
use flightctl::report::{self, SloReport};

const DAY: Millis = 24 * HOUR;

/// The measurement records of a history, as the event store's `by-metric` index serves them.
struct History(Vec<Measurement>);

#[async_trait]
impl MeasurementLog for History {
    async fn measurements_between(
        &self,
        metric: &str,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError> {
        Ok(self
            .0
            .iter()
            .filter(|m| m.metric == metric && (since..until).contains(&m.timestamp))
            .cloned()
            .collect())
    }
}

fn slo<'a>(catalog: &'a Catalog, name: &str) -> &'a Slo {
    catalog.slos.iter().find(|s| s.name == name).unwrap()
}

/// The backtest of one SLO over `[since, until]`, as (severity, fired,
/// cleared) in minutes after `t0`, and the text the verb prints.
async fn backtest(
    catalog: &Catalog,
    name: &str,
    history: &History,
    t0: Millis,
    (since, until): (Millis, Millis),
) -> (Vec<(&'static str, i64, Option<i64>)>, String) {
    let options = Options {
        since: Some(When::At(since)),
        until: Some(When::At(until)),
        slo: Some(name.into()),
        publish_delay: None,
    };
    let plan = Plan::new(catalog, &Deployment::new("dev"), &options, None, NOW).unwrap();
    let records = records::from_store(
        history,
        plan.metrics(),
        plan.read_from(),
        plan.until,
        |_, _| {},
    )
    .await
    .unwrap();
    let results = backtest::run(&plan, &records);
    let minutes = |t: Millis| (t - t0) / MINUTE;
    let found = results
        .iter()
        .flat_map(|r| &r.episodes)
        .map(|e| {
            (
                e.severity.as_str(),
                minutes(e.fired_at),
                e.cleared_at.map(minutes),
            )
        })
        .collect();
    (found, backtest::text(&plan, "test history", &results))
}

/// The report of one SLO at `at`.
async fn report_at(catalog: &Catalog, name: &str, history: &History, at: Millis) -> SloReport {
    let reports = report::reports(
        history,
        catalog,
        &Deployment::new("dev"),
        &report::Options::at(at),
    )
    .await
    .unwrap();
    reports
        .into_iter()
        .find(|r| r.status.slo.name == name)
        .unwrap()
}

/// (window, factor, values, bad, burn rate rounded to 2 decimals, in ALARM) per window alarm.
fn burn_rates(report: &SloReport) -> Vec<(u64, f64, u64, u64, f64, bool)> {
    report
        .burn_rates
        .iter()
        .map(|r| {
            let burn = (r.burn * 100.0).round() / 100.0;
            (
                r.window / 60,
                r.factor,
                r.values,
                r.values - r.good,
                burn,
                r.firing,
            )
        })
        .collect()
}

/// (values, good, budget total, budget left, left %) rounded to 2 decimals.
fn budget(report: &SloReport) -> (u64, u64, f64, f64, f64) {
    let s = &report.status;
    let round = |v: f64| (v * 100.0).round() / 100.0;
    (
        s.values,
        s.good,
        round(s.budget()),
        round(s.budget_left()),
        round(s.budget_left_percent().unwrap()),
    )
}

fn firing(report: &SloReport) -> Vec<&str> {
    report.firing.iter().map(|c| c.severity.as_str()).collect()
}

#[tokio::test]
async fn a_sudden_outage_pages_at_minute_33_and_the_report_shows_the_page_firing() {
    let catalog = Catalog::default_catalog();
    let name = "guardrail-lead-time";
    let t0 = NOW;
    let history = History(sudden_outage(slo(&catalog, name), t0, 3 * DAY, 4 * HOUR));
    let (found, text) = backtest(&catalog, name, &history, t0, (t0 - HOUR, t0 + 4 * HOUR)).await;
    // The minutes `flightctl validate` prints for this SLO: page 33m, ticket 3h26m.
    assert_eq!(found, [("page", 33, None), ("ticket", 206, None)]);
    assert!(
        text.contains("PAGE    fired 2026-11-01T00:33:00Z  still firing  flight-controller-dev-slo-guardrail-lead-time-page"),
        "{text}"
    );
    assert!(text.contains("1 page(s), 1 ticket(s)"), "{text}");

    // 40 minutes in, every stored value counted: 3 days of good values and 40 bad.
    let report = report_at(&catalog, name, &history, t0 + 40 * MINUTE).await;
    assert_eq!(budget(&report), (4360, 4320, 218.0, 178.0, 81.65));
    assert_eq!(
        burn_rates(&report),
        [
            (60, 10.0, 60, 40, 13.33, true),
            (15, 10.0, 15, 15, 20.0, true),
            (360, 5.6, 360, 40, 2.22, false),
            (30, 5.6, 30, 30, 20.0, true),
            (4320, 0.93, 4320, 40, 0.19, false),
            (360, 0.93, 360, 40, 2.22, true),
        ]
    );
    assert_eq!(firing(&report), ["page"]);
}

#[tokio::test]
async fn a_slow_burn_tickets_within_minutes_and_never_pages() {
    let catalog = Catalog::default_catalog();
    let name = "guardrail-lead-time";
    let t0 = NOW;
    // One value a minute, one in ten bad: a burn of 2 in every window.
    let history = History(slow_burn(slo(&catalog, name), t0, 12 * HOUR, 10));
    let (found, _) = backtest(&catalog, name, &history, t0, (t0, t0 + 12 * HOUR)).await;
    assert_eq!(found, [("ticket", 15, None)]);

    let report = report_at(&catalog, name, &history, t0 + 6 * HOUR).await;
    assert_eq!(budget(&report), (360, 324, 18.0, -18.0, -100.0));
    let rates = burn_rates(&report);
    // The 15m window holds minutes 345-359: the 349th and 359th are bad.
    assert_eq!(rates[1], (15, 10.0, 15, 2, 2.67, false));
    assert_eq!(rates[5], (360, 0.93, 360, 36, 2.0, true));
    assert_eq!(firing(&report), ["ticket"]);
}

#[tokio::test]
async fn a_healthy_month_raises_nothing_and_keeps_most_of_its_budget() {
    let catalog = Catalog::default_catalog();
    let name = "guardrail-lead-time";
    let start = NOW;
    // A value every 10 minutes for 30 days, one in a hundred bad.
    let history = History(healthy_month(slo(&catalog, name), start, 100));
    let (found, text) = backtest(&catalog, name, &history, start, (start, start + 30 * DAY)).await;
    assert_eq!(found, []);
    assert!(text.contains("nothing fired"), "{text}");

    // The last 28 days hold values 288 to 4319, of which 299, 399, ... 4299 (41) are bad.
    let report = report_at(&catalog, name, &history, start + 30 * DAY).await;
    assert_eq!(budget(&report), (4032, 3991, 201.6, 160.6, 79.66));
    assert_eq!(firing(&report), Vec::<&str>::new());
}

#[tokio::test]
async fn a_low_traffic_slo_with_one_bad_value_never_pages() {
    let catalog = Catalog::default_catalog();
    let name = "guardrail-lead-time";
    let start = NOW;
    // Three values a day for a week; the 11th (day 3, 16:00) is bad.
    let history = History(low_traffic(slo(&catalog, name), start, 7, 3, 10));
    let (found, _) = backtest(&catalog, name, &history, start, (start, start + 7 * DAY)).await;
    assert_eq!(found, []);

    // An hour after the bad value, its windows up to 6h hold it alone:
    // fewer than min_values (3) values, so a burn of 0.
    let bad_at = start + 10 * 8 * HOUR;
    let report = report_at(&catalog, name, &history, bad_at + HOUR).await;
    let rates = burn_rates(&report);
    assert_eq!(rates[0], (60, 10.0, 1, 1, 0.0, false));
    assert_eq!(rates[5], (360, 0.93, 1, 1, 0.0, false));
    // The 3d window holds 9 values, one bad: a burn of 2.22, but its short window is quiet.
    assert_eq!(rates[4], (4320, 0.93, 9, 1, 2.22, true));
    assert_eq!(firing(&report), Vec::<&str>::new());
}

#[tokio::test]
async fn after_a_four_hour_outage_every_alert_clears() {
    let catalog = Catalog::default_catalog();
    let name = "guardrail-lead-time";
    let t0 = NOW;
    let history = History(recovery(slo(&catalog, name), t0, 3 * DAY, 4 * HOUR, DAY));
    let (found, text) = backtest(&catalog, name, &history, t0, (t0, t0 + DAY)).await;
    assert_eq!(found, [("page", 33, Some(263)), ("ticket", 206, Some(584))]);
    assert!(
        text.contains(
            "PAGE    fired 2026-11-01T00:33:00Z  cleared 2026-11-01T04:23:00Z (after 3h50m)"
        ),
        "{text}"
    );
    assert!(!text.contains("still firing"), "{text}");

    // A day later: 3 days and a day of values, the 240 of the outage bad.
    let report = report_at(&catalog, name, &history, t0 + DAY).await;
    assert_eq!(budget(&report), (5760, 5520, 288.0, 48.0, 16.67));
    assert_eq!(firing(&report), Vec::<&str>::new());
}

const CALENDAR_CATALOG: &str = r#"
namespace: FlightControllerTest
event_types:
  - name: AccountRequested
    description: A team asked for an account.
  - name: AccountCreated
    description: The account exists.
metrics:
  - name: AccountLeadTime
    kind: duration
    start: AccountRequested
    end: AccountCreated
    unit: Seconds
slos:
  - name: monthly-account-lead-time
    metric: AccountLeadTime
    objective: 90
    threshold: 3600
    good_when: at_most
    period: month
    time_zone: Europe/Amsterdam
"#;

#[tokio::test]
async fn a_calendar_slo_starts_a_new_budget_at_local_midnight_of_the_first() {
    let catalog = Catalog::parse(CALENDAR_CATALOG).unwrap();
    let name = "monthly-account-lead-time";
    // 1 November 2026, 00:00 in Amsterdam (CET, UTC+1).
    let boundary = NOW - HOUR;
    // A value an hour for 10 days before and 2 days after; one in 20 bad before.
    let history = History(across_boundary(
        slo(&catalog, name),
        boundary,
        10 * DAY,
        2 * DAY,
        20,
    ));

    // An hour before: October's values 0 to 238, of which 19, 39, ... 219 bad.
    let before = report_at(&catalog, name, &history, boundary - HOUR).await;
    // October began at 00:00 in Amsterdam, still summer time (UTC+2).
    assert_eq!(before.status.since, NOW - 31 * DAY - 2 * HOUR);
    assert_eq!(budget(&before), (239, 228, 23.9, 12.9, 53.97));
    // An hour after: November holds one value, good; the budget is whole again.
    let after = report_at(&catalog, name, &history, boundary + HOUR).await;
    assert_eq!(after.status.since, boundary);
    assert_eq!(budget(&after), (1, 1, 0.1, 0.1, 100.0));

    // 5 % bad against a 10 % budget never burns fast enough to alert, across the boundary too.
    let (found, _) = backtest(
        &catalog,
        name,
        &history,
        boundary,
        (boundary - 10 * DAY, boundary + 2 * DAY),
    )
    .await;
    assert_eq!(found, []);
}

#[tokio::test]
async fn a_value_exactly_at_the_threshold_is_good_for_at_most_and_at_least() {
    let catalog = Catalog::default_catalog();
    let t0 = NOW;
    // guardrail-lead-time: at most a day; patch-compliance: at least 95 %.
    for name in ["guardrail-lead-time", "patch-compliance"] {
        let history = History(at_threshold(slo(&catalog, name), t0, t0 + 2 * HOUR));
        let (found, _) = backtest(&catalog, name, &history, t0, (t0, t0 + 2 * HOUR)).await;
        assert_eq!(found, [], "{name}");
        let report = report_at(&catalog, name, &history, t0 + 2 * HOUR).await;
        assert_eq!(
            (report.status.values, report.status.good),
            (120, 120),
            "{name}"
        );
        assert!(report.burn_rates.iter().all(|r| r.burn == 0.0), "{name}");
        assert_eq!(firing(&report), Vec::<&str>::new(), "{name}");
    }
}
