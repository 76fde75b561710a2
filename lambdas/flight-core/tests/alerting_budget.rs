//! Where an SLO stands at an instant (`flightctl report`'s model): the
//! error budget over a calendar period that resets at the month boundary in
//! its time zone, and values exactly at the threshold, good for `at_most`
//! and `at_least` alike, in the exact count and in the alarm's statistic.

use flight_core::alerting::{backtest, period_budget, SloAlarms};
use flight_core::catalog::{Slo, DEFAULT_CATALOG_YAML};
use flight_core::names::Deployment;
use flight_core::slo::is_good;
use flight_core::{Catalog, Millis};
use flight_testkit::alerting::{across_boundary, at_threshold, bad_value, traffic};
use flight_testkit::clock::{HOUR, MINUTE, NOW};

/// The default catalog with one SLO more: 90 % over the calendar month in Amsterdam.
fn calendar_catalog() -> Catalog {
    let source = format!(
        "{DEFAULT_CATALOG_YAML}  - name: monthly-account-lead-time\n    metric: AccountLeadTime\n    objective: 90\n    threshold: 3600\n    good_when: at_most\n    period: month\n    time_zone: Europe/Amsterdam\n"
    );
    Catalog::parse(&source).unwrap_or_else(|e| panic!("{e}"))
}

fn at(text: &str) -> Millis {
    flight_core::time::parse_time("t", &serde_json::json!(text)).unwrap()
}

#[test]
fn a_calendar_budget_resets_at_midnight_of_the_first_in_its_time_zone() {
    let catalog = calendar_catalog();
    let slo = catalog.slos.last().unwrap().clone();
    let alarms = SloAlarms::new(&catalog, &Deployment::new("dev"), &slo);
    // Midnight of 1 December in Amsterdam is 23:00 UTC on 30 November.
    let boundary = at("2026-11-30T23:00:00Z");
    // Hourly values for ten days before it, one in five bad; good after it.
    let history = across_boundary(&slo, boundary, 240 * HOUR, 24 * HOUR, 5);

    let november = period_budget(&alarms, &history, boundary - 30 * MINUTE, 0);
    assert_eq!(november.status.since, at("2026-10-31T23:00:00Z"));
    assert_eq!((november.status.values, november.spent()), (240, 48));
    assert_eq!((november.budget_total(), november.left()), (24.0, -24.0));
    assert_eq!(november.left_percent(), Some(-100.0));

    let december = period_budget(&alarms, &history, boundary + 90 * MINUTE, 0);
    assert_eq!(december.status.since, boundary);
    assert_eq!((december.status.values, december.spent()), (2, 0));
    assert_eq!(december.left_percent(), Some(100.0));
    // The budget resets; the burn-rate windows do not: the 3d and 6h windows
    // still hold November's bad values (1 in 5 and 1 in 6: burn 2 and 1.67,
    // above the ticket's factor 1 of a 30-day month), so the ticket fires.
    assert_eq!(
        december.firing,
        ["flight-controller-dev-slo-monthly-account-lead-time-ticket"]
    );
    let burns: Vec<(String, u64, f64)> = december
        .burn_rates
        .iter()
        .map(|r| {
            (
                r.alarm.rsplit("-burn-").next().unwrap().to_string(),
                r.values,
                r.burn,
            )
        })
        .collect();
    assert_eq!(burns[4].0, "3d-x1");
    assert_eq!(burns[4].1, 72);
    assert!((burns[4].2 - 14.0 / 72.0 * 10.0).abs() < 1e-9, "{burns:?}");
}

/// Whether CloudWatch's `PR(n:m)` statistic counts `value`: the interval (n, m].
fn percentile_rank_counts(statistic: &str, value: f64) -> bool {
    let bounds = statistic.trim_start_matches("PR(").trim_end_matches(')');
    let (low, high) = bounds.split_once(':').unwrap();
    let above_low = low.is_empty() || value > low.parse::<f64>().unwrap();
    let within_high = high.is_empty() || value <= high.parse::<f64>().unwrap();
    above_low && within_high
}

fn default_slo(name: &str) -> Slo {
    let catalog = Catalog::default_catalog();
    catalog.slos.into_iter().find(|s| s.name == name).unwrap()
}

#[test]
fn a_value_exactly_at_the_threshold_is_good_both_ways_in_the_count_and_the_alarm() {
    let catalog = Catalog::default_catalog();
    for name in ["guardrail-lead-time", "patch-compliance"] {
        let slo = default_slo(name);
        let alarms = SloAlarms::new(&catalog, &Deployment::new("dev"), &slo);
        let statistic = &alarms.windows[0].good_statistic;
        let bad = bad_value(&slo);
        assert!(is_good(&slo, slo.threshold), "{name}");
        assert!(
            percentile_rank_counts(statistic, slo.threshold),
            "{name} {statistic}"
        );
        assert!(!is_good(&slo, bad), "{name}");
        assert!(
            !percentile_rank_counts(statistic, bad),
            "{name} {statistic}"
        );

        let history = at_threshold(&slo, NOW - 3 * 24 * HOUR, NOW + 6 * HOUR);
        let budget = period_budget(&alarms, &history, NOW + 6 * HOUR, 0);
        assert_eq!(budget.spent(), 0, "{name}");
        assert!(budget.burn_rates.iter().all(|r| r.burn == 0.0), "{name}");
        let mut only = catalog.clone();
        only.slos.retain(|s| s.name == name);
        let quiet = backtest(
            &only,
            &Deployment::new("dev"),
            &history,
            360,
            NOW,
            NOW + 6 * HOUR,
        );
        assert_eq!(quiet, [], "{name}");

        // One unit past the threshold from NOW: the same stream pages.
        let past = traffic(&slo, NOW - 3 * 24 * HOUR, NOW + 6 * HOUR, MINUTE, |_, t| {
            t >= NOW
        });
        let loud = backtest(
            &only,
            &Deployment::new("dev"),
            &past,
            360,
            NOW,
            NOW + 6 * HOUR,
        );
        assert!(!loud.is_empty(), "{name}");
    }
}

#[test]
fn a_value_less_than_1e_10_below_an_at_least_threshold_is_the_documented_exception() {
    let slo = default_slo("patch-compliance");
    let catalog = Catalog::default_catalog();
    let alarms = SloAlarms::new(&catalog, &Deployment::new("dev"), &slo);
    let just_below = 95.0 - 1e-11;
    assert!(!is_good(&slo, just_below));
    assert!(percentile_rank_counts(
        &alarms.windows[0].good_statistic,
        just_below
    ));
}
