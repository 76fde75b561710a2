//! `flightctl alerts backtest --from-files` as an operator runs it, on a
//! generated month of history written as PutEvents entry files: one account
//! a minute, created 10 minutes after it was requested (good: at most an
//! hour), except during a four-hour outage when every account takes two
//! hours (bad). The backtest must page and ticket at the minutes `flightctl
//! validate` predicts for a total outage (flight-core's `time_to_alert`),
//! and both must clear once the accounts are fast again.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flight_core::alerting::time_to_alert;
use flight_core::catalog::Severity;
use flight_core::envelope::format_time;
use flight_core::{Catalog, Millis};
use serde_json::{json, Value};

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;
const DAY: Millis = 24 * HOUR;
/// 2026-10-01T00:00:00Z: the month starts.
const START: Millis = 1_790_812_800_000;
/// The outage: from 10 days in, for 4 hours.
const OUTAGE_START: Millis = START + 10 * DAY;
const OUTAGE_END: Millis = OUTAGE_START + 4 * HOUR;

const CATALOG: &str = r#"
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
  - name: account-lead-time
    metric: AccountLeadTime
    objective: 95
    threshold: 3600
    good_when: at_most
    period: 28d
"#;

fn entry(event_type: &str, id: String, time: Millis) -> Value {
    let detail = json!({
        "event_type": event_type,
        "event_id": id,
        "aggregate_id": id.trim_start_matches(|c: char| c.is_ascii_alphabetic()),
        "time": format_time(time),
    });
    json!({
        "Source": "tests.history",
        "DetailType": event_type,
        "Detail": detail.to_string(),
        "EventBusName": "flight-controller",
    })
}

/// A month of history, a file per day: the account created at minute `k` was
/// requested 10 minutes before, or 2 hours before during the outage.
fn write_month(dir: &Path) -> Vec<PathBuf> {
    (0..30)
        .map(|day| {
            let entries: Vec<Value> = (0..1440)
                .flat_map(|minute| {
                    let created = START + day * DAY + minute * MINUTE;
                    let lead = if (OUTAGE_START..OUTAGE_END).contains(&created) {
                        2 * HOUR
                    } else {
                        10 * MINUTE
                    };
                    let k = day * 1440 + minute;
                    [
                        entry("AccountRequested", format!("r{k}"), created - lead),
                        entry("AccountCreated", format!("c{k}"), created),
                    ]
                })
                .collect();
            let path = dir.join(format!("day-{day:02}.json"));
            std::fs::write(&path, serde_json::to_vec(&entries).unwrap()).unwrap();
            path
        })
        .collect()
}

fn flightctl(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("flightctl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_backtest_of_a_month_with_an_outage_pages_and_tickets_when_validate_says_and_clears() {
    let dir = std::env::temp_dir().join(format!("flightctl-backtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog_path = dir.join("catalog.yaml");
    std::fs::write(&catalog_path, CATALOG).unwrap();
    let files = write_month(&dir);

    let catalog = Catalog::parse(CATALOG).expect("a valid catalog");
    let predicted = time_to_alert(&catalog, &catalog.slos[0]);
    let after = |severity: Severity| -> Millis {
        let seconds = predicted
            .iter()
            .find(|t| t.severity == severity)
            .and_then(|t| t.after)
            .expect("a total outage alerts");
        seconds as Millis * 1000
    };
    let page_at = OUTAGE_START + after(Severity::Page);
    let ticket_at = OUTAGE_START + after(Severity::Ticket);
    assert!(
        ticket_at < OUTAGE_END,
        "the outage is long enough to ticket"
    );

    let mut args: Vec<String> = ["alerts", "backtest", "--catalog"]
        .map(String::from)
        .to_vec();
    args.push(catalog_path.display().to_string());
    args.push("--from-files".into());
    args.extend(files.iter().map(|f| f.display().to_string()));

    let out = flightctl(&[args.clone(), vec!["--json".into()]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("measured 43200 records offline from 30 file(s)"),
        "{}",
        text(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let episodes = report["slos"][0]["episodes"].as_array().unwrap().clone();
    let summary: Vec<(&str, &str, bool)> = episodes
        .iter()
        .map(|e| {
            (
                e["severity"].as_str().unwrap(),
                e["fired_at"].as_str().unwrap(),
                e["still_firing"].as_bool().unwrap(),
            )
        })
        .collect();
    let (page_text, ticket_text) = (format_time(page_at), format_time(ticket_at));
    assert_eq!(
        summary,
        [
            ("page", page_text.as_str(), false),
            ("ticket", ticket_text.as_str(), false)
        ],
        "{episodes:#?}"
    );
    for e in &episodes {
        let cleared = e["cleared_at"].as_str().unwrap();
        assert!(cleared > format_time(OUTAGE_END).as_str(), "{e:#}");
        assert!(cleared < format_time(OUTAGE_END + DAY).as_str(), "{e:#}");
        // When it fired, some pair of its windows burned above its factor.
        let firing: Vec<&Value> = e["burn_rates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == "ALARM")
            .collect();
        assert!(firing.len() >= 2, "{e:#}");
        for r in firing {
            assert!(r["burn_rate"].as_f64() > r["factor"].as_f64(), "{r:#}");
        }
    }

    let out = flightctl(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("PAGE    fired {page_text}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("TICKET  fired {ticket_text}")),
        "{stdout}"
    );
    assert!(stdout.contains("1 page(s), 1 ticket(s)"), "{stdout}");
    assert!(!stdout.contains("still firing"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_from_files_at_the_page_shows_it_firing_with_the_exact_budget_and_writes_the_html() {
    let dir = std::env::temp_dir().join(format!("flightctl-report-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog_path = dir.join("catalog.yaml");
    std::fs::write(&catalog_path, CATALOG).unwrap();
    let files = write_month(&dir);
    let catalog = Catalog::parse(CATALOG).expect("a valid catalog");
    let page_after = time_to_alert(&catalog, &catalog.slos[0])
        .iter()
        .find(|t| t.severity == Severity::Page)
        .and_then(|t| t.after)
        .expect("a total outage pages") as Millis
        * 1000;
    let report_at = |at: Millis, html: &Path| -> Value {
        let mut args: Vec<String> = ["report", "--json", "--publish-delay", "6m", "--catalog"]
            .map(String::from)
            .to_vec();
        args.push(catalog_path.display().to_string());
        args.extend(["--at".to_string(), format_time(at)]);
        args.extend(["--html".to_string(), html.display().to_string()]);
        args.push("--from-files".into());
        args.extend(files.iter().map(|f| f.display().to_string()));
        let out = flightctl(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };

    // At the minute the backtest pages, the report (same model, same delay) shows the page firing.
    let at = OUTAGE_START + page_after;
    let html = dir.join("report.html");
    let report = report_at(at, &html);
    let slo = &report["slos"][0];
    assert_eq!(
        slo["firing"][0]["alarm"], "flight-controller-offline-slo-account-lead-time-page",
        "{slo:#}"
    );
    // One account a minute since START, the bad ones since OUTAGE_START: exactly.
    let values = (at - START) / MINUTE;
    let bad = (at - OUTAGE_START) / MINUTE;
    assert_eq!(slo["values"], values, "{slo:#}");
    assert_eq!(slo["error_budget"]["spent"], bad, "{slo:#}");
    let total = slo["error_budget"]["total"].as_f64().unwrap();
    assert!((total - values as f64 * 0.05).abs() < 1e-9, "{slo:#}");
    let page = std::fs::read_to_string(&html).expect("the HTML report was written");
    assert!(page.contains("account-lead-time"), "the page shows the SLO");

    // A day after the outage ended, nothing fires.
    let later = report_at(OUTAGE_END + DAY, &html);
    assert_eq!(later["slos"][0]["firing"], json!([]), "{later:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn backtest_help_shows_examples_and_an_unknown_slo_is_named() {
    let out = flightctl(&["alerts".into(), "backtest".into(), "--help".into()]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(help.contains("--from-files"), "{help}");
    assert!(help.contains("Examples:"), "{help}");

    let empty = std::env::temp_dir().join(format!("flightctl-empty-{}.json", std::process::id()));
    std::fs::write(&empty, "[]").unwrap();
    let out = flightctl(&[
        "alerts".into(),
        "backtest".into(),
        "--slo".into(),
        "no-such-slo".into(),
        "--from-files".into(),
        empty.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no SLO `no-such-slo`; its SLOs: project-lead-time"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_file(&empty);
}
