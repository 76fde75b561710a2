//! flightctl as a user runs it: validate and replay, from any directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs flightctl from a directory outside the repository, as an installed binary would be.
fn flightctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("flightctl runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sample(name: &str) -> String {
    repo().join("events").join(name).display().to_string()
}

#[test]
fn validate_accepts_the_default_catalog_wherever_it_runs() {
    let out = flightctl(&["validate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("valid: 12 event types, 9 metrics, 8 SLOs"));
}

#[test]
fn validate_shows_each_slos_rules_and_how_long_a_total_outage_takes_to_alert() {
    let out = flightctl(&["validate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // guardrail-lead-time: 95 % over 28 days, highest burn 20; its 1h page
    // asks for 13.44 and gets 10 (half of 20).
    let section: Vec<&str> = stdout
        .split("\n\n")
        .find(|s| s.starts_with("SLO guardrail-lead-time:"))
        .unwrap_or_default()
        .lines()
        .collect();
    assert_eq!(
        section,
        [
            "SLO guardrail-lead-time: 95% <= 1d over 28d (highest burn 20x); notifies at most: page",
            "  page              long   1h  short  15m  2% of the budget: factor 13.44 requested, 10 effective (capped at half the highest burn)",
            "  page              long   6h  short  30m  5% of the budget: factor 5.6",
            "  ticket            long   3d  short   6h  10% of the budget: factor 0.93",
            "  time to alert in a total outage: page 33m, ticket 3h26m",
        ],
        "{stdout}"
    );
    assert!(
        stdout
            .contains("time to alert in a total outage: page never (severity: ticket), ticket 33m"),
        "{stdout}"
    );

    let out = flightctl(&["validate", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["valid"], true);
    let guardrail = json["alerting"]["slos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "guardrail-lead-time")
        .unwrap();
    let first = &guardrail["rules"][0];
    assert_eq!(
        (
            first["requested_factor"].as_f64(),
            first["effective_factor"].as_f64(),
            first["capped"].as_bool()
        ),
        (Some(13.44), Some(10.0), Some(true))
    );
    assert_eq!(guardrail["total_outage_seconds_to"]["page"], 33 * 60);
    assert_eq!(guardrail["total_outage_seconds_to"]["ticket"], 206 * 60);
}

#[test]
fn validate_reports_a_broken_catalog_with_file_and_line_and_exits_1() {
    let dir = tempdir();
    let path = dir.join("broken.yaml");
    let original = std::fs::read_to_string(repo().join("events/catalog.yaml")).unwrap();
    let broken = original.replacen("start: ProjectRequested", "start: ProjectRequestd", 1);
    std::fs::write(&path, &broken).unwrap();
    let line = broken
        .lines()
        .position(|l| l.contains("ProjectRequestd"))
        .unwrap()
        + 1;

    let out = flightctl(&["validate", "--catalog", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let expected = format!("{}:{line}:", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("unknown event type `ProjectRequestd` (did you mean `ProjectRequested`?)"),
        "{stderr}"
    );
}

#[test]
fn validate_says_when_the_file_cannot_be_read() {
    let out = flightctl(&["validate", "--catalog", "/nonexistent/catalog.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the catalog /nonexistent/catalog.yaml"));
}

#[test]
fn replay_prints_every_sample_storys_measurements() {
    let files: Vec<String> = [
        "project.json",
        "guardrail.json",
        "account.json",
        "identity.json",
        "compliance.json",
        "patch.json",
    ]
    .iter()
    .map(|f| sample(f))
    .collect();
    let args: Vec<&str> = std::iter::once("replay")
        .chain(files.iter().map(String::as_str))
        .collect();
    let out = flightctl(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let values = |metric: &str| -> Vec<f64> {
        lines
            .iter()
            .filter(|l| l["metric"] == metric)
            .map(|l| l["value"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(values("ProjectAssignedLeadTime"), vec![14400.0]);
    assert_eq!(values("ProjectLeadTime"), vec![109800.0]);
    assert_eq!(values("GuardrailLeadTime"), vec![10800.0, 2700.0]);
    assert_eq!(values("GuardrailMaxActivation"), vec![2.0, 1.0]);
    assert_eq!(values("GuardrailActivationCount").len(), 3);
    assert_eq!(values("AccountLeadTime"), vec![2520.0]);
    assert_eq!(values("IdentityLeadTime"), vec![450.0]);
    assert_eq!(values("ResourceComplianceLeadTime"), vec![108000.0]);
    assert_eq!(values("PatchCompliancePercentage"), vec![90.0, 100.0]);
    let first = &lines[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "metric",
        "value",
        "unit",
        "timestamp",
        "aggregate_id",
        "dimensions",
    ] {
        assert!(keys.contains(&key), "{first}");
    }
    let guardrail = lines
        .iter()
        .find(|l| l["metric"] == "GuardrailLeadTime")
        .unwrap();
    assert_eq!(
        guardrail["dimensions"]["guardrail_id"],
        "s3-bucket-public-read"
    );
    assert_eq!(guardrail["timestamp"], "2026-11-10T11:00:00Z");
}

#[test]
fn replay_reports_each_rejected_entry_and_still_measures_the_rest() {
    let dir = tempdir();
    let path = dir.join("mixed.json");
    let entry = |detail: serde_json::Value| {
        serde_json::json!({
            "Source": "tests", "DetailType": "Test Event", "EventBusName": "b", "Detail": detail.to_string()
        })
    };
    let entries = serde_json::json!([
        entry(serde_json::json!({"event_type": "AccountRequested", "aggregate_id": "a", "time": 1_700_000_000})),
        entry(serde_json::json!({"event_type": "AccountRequested", "time": 1_700_000_000})),
        {"Source": "tests", "DetailType": "x", "Detail": "{not json"},
        entry(serde_json::json!({"event_type": "AccountCreated", "aggregate_id": "a", "time": 1_700_000_600})),
    ]);
    std::fs::write(&path, entries.to_string()).unwrap();
    let out = flightctl(&["replay", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let name = path.display().to_string();
    assert!(
        stderr.contains(&format!("{name}: entry 1: detail.aggregate_id: missing")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{name}: entry 2: Detail: not JSON")),
        "{stderr}"
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("\"AccountLeadTime\",\"value\":600.0"),
        "{stdout}"
    );
}

#[test]
fn help_explains_each_verb_with_an_example() {
    for verb in [
        "validate",
        "replay",
        "put-events",
        "report",
        "backfill",
        "health",
    ] {
        let out = flightctl(&[verb, "--help"]);
        assert!(out.status.success());
        let help = text(&out.stdout);
        assert!(
            help.contains("Examples:") && help.contains(&format!("flightctl {verb}")),
            "{help}"
        );
    }
}

/// flightctl with no environment and no local endpoint configured.
fn flightctl_nowhere(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(args)
        .env_remove("FC_AWS_ENDPOINT")
        .env_remove("FC_DYNAMODB_ENDPOINT")
        .env_remove("FC_ENV")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("flightctl runs")
}

#[test]
fn verbs_that_talk_to_an_environment_say_how_to_name_one() {
    for verb in [
        &["report"][..],
        &["health"],
        &["backfill", "--metric", "ProjectLeadTime"],
        &["alerts", "backtest"],
    ] {
        let out = flightctl_nowhere(verb);
        assert_eq!(out.status.code(), Some(2), "{verb:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("which environment? Give --env NAME"),
            "{stderr}"
        );
        assert!(stderr.contains("scripts/local.sh --keep"), "{stderr}");
    }
    let out = flightctl_nowhere(&["health", "--env", "Prod"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`Prod` is not an environment name"));
    let out = flightctl_nowhere(&["report", "--env", "dev", "--since", "a week"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("e.g. 15m, 24h, 7d"));
    let out = flightctl_nowhere(&["report", "--env", "dev", "--at", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("neither an RFC 3339 time"));
}

#[test]
fn put_events_dry_run_validates_offline_and_refuses_what_would_be_rejected() {
    let out = flightctl_nowhere(&["put-events", "--dry-run", &sample("guardrail.json")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches(": valid: Guardrail").count(), 5, "{stdout}");
    assert!(text(&out.stderr).contains("5 valid, 0 refused; nothing sent"));

    let dir = tempdir();
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        serde_json::json!([{"Source": "s", "DetailType": "Test Event", "Detail": serde_json::json!({
            "event_type": "PatchRunSummary", "aggregate_id": "run-1", "time": 1_700_000_000, "successful_instances": "i-1"
        }).to_string()}])
        .to_string(),
    )
    .unwrap();
    let out = flightctl_nowhere(&["put-events", "--dry-run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("entry 0: refused, not sent: detail.payload.failed_instances: missing"),
        "{}",
        text(&out.stdout)
    );
    let out = flightctl_nowhere(&["put-events", "--dry-run", "/nonexistent.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent.json"));
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "flightctl-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
