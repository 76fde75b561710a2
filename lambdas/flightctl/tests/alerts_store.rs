//! `flightctl alerts backtest` and `flightctl report` against an event store
//! on DynamoDB Local (started by scripts/test.sh or scripts/services.sh), as
//! an operator runs them on the local stack or a deployed environment.
//!
//! The small test catalog's SLO: 90 % of accounts created within an hour
//! over 24 hours, its own ticket rule on 6h and 30m windows at factor 0.4
//! (24h / 6h × 10 %), at least 3 values per window.

mod common;

use common::{event, ingest, shown, Env, SMALL_CATALOG};
use flight_core::envelope::format_time;
use flight_core::Millis;
use serde_json::Value;

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;

#[tokio::test]
async fn an_hour_of_slow_accounts_tickets_once_three_are_visible_and_clears_when_they_leave_the_window(
) {
    let Some(env) = Env::new("backtest", SMALL_CATALOG).await else {
        return;
    };
    env.create_table().await;
    // A whole minute an hour ago; an account created every 5 minutes in the
    // hour before it (60 to 5 minutes before), each two hours after it was
    // requested (bad).
    let t = flight_core::replay::system_now() / MINUTE * MINUTE - HOUR;
    let mut events = Vec::new();
    for (i, before) in (5..=60).rev().step_by(5).enumerate() {
        let created = t - before * MINUTE;
        events.push(event(
            "AccountRequested",
            &format!("a{i}"),
            &format!("r{i}"),
            created - 2 * HOUR,
        ));
        events.push(event(
            "AccountCreated",
            &format!("a{i}"),
            &format!("c{i}"),
            created,
        ));
    }
    ingest(&env, env.catalog.clone(), &events).await;

    let out = env.flightctl("alerts backtest", &["--since", "1d", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let backtest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let episodes: Vec<(&str, &str, &str)> = backtest["slos"][0]["episodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["severity"].as_str().unwrap(),
                e["fired_at"].as_str().unwrap(),
                e["cleared_at"].as_str().unwrap_or("still firing"),
            )
        })
        .collect();
    // Visible 6 minutes after its time, the third account (t − 50m) brings
    // both windows to min_values at t − 44m: every value bad, a burn of 10.
    // At t + 16m the 30m window sees only the last two (t − 10m, t − 5m):
    // below min_values, a burn of 0.
    let (fired, cleared) = (format_time(t - 44 * MINUTE), format_time(t + 16 * MINUTE));
    assert_eq!(
        episodes,
        [("ticket", fired.as_str(), cleared.as_str())],
        "{}",
        shown(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("read 12 measurement records of AccountLeadTime"),
        "{}",
        shown(&out)
    );

    // At t, every stored record visible: the 30m window holds the last six accounts.
    let at = format_time(t);
    let out = env.flightctl("report", &["--at", &at, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let slo = &report["slos"][0];
    assert_eq!(slo["values"], 12);
    assert_eq!(slo["error_budget"]["spent"], 12);
    let rates: Vec<(&str, u64, f64, &str)> = slo["burn_rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["window"].as_str().unwrap(),
                r["values"].as_u64().unwrap(),
                r["burn_rate"].as_f64().unwrap(),
                r["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rates,
        [("6h", 12, 10.0, "ALARM"), ("30m", 6, 10.0, "ALARM")]
    );
    assert_eq!(slo["firing"][0]["severity"], "ticket");
}
