//! Every verb on the real local stack: the one `scripts/local.sh --keep`
//! provisions from the Terraform catalog module, with the dispatcher standing
//! in for Lambda. Ignored by a plain `cargo test`; scripts/test.sh runs it
//! once the stack is up:
//!
//! ```sh
//! eval "$(grep -v _PID= $FC_LOCAL_DIR/local.env)"
//! cargo test -p flightctl --test local_stack -- --ignored
//! ```

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn flightctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(args)
        .env_remove("FC_ENV")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("flightctl runs")
}

fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Values of the account-lead-time SLO in the last hour.
fn account_values() -> u64 {
    let out = flightctl(&["report", "--json", "--since", "1h"]);
    assert!(out.status.success(), "{}", shown(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["slos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "account-lead-time")
        .and_then(|s| s["values"].as_u64())
        .unwrap()
}

fn published_now(out: &Output) -> usize {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("published now"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `published now` in {}", shown(out)))
}

#[test]
#[ignore = "needs the local stack: scripts/local.sh --keep, then eval its local.env"]
fn every_verb_works_on_the_local_stack() {
    assert!(
        std::env::var("FC_AWS_ENDPOINT").is_ok_and(|v| !v.is_empty()),
        "FC_AWS_ENDPOINT is not set: start the stack (scripts/local.sh --keep) and \
         eval \"$(grep -v _PID= $FC_LOCAL_DIR/local.env)\""
    );
    let health = flightctl(&["health", "--json"]);
    assert_eq!(health.status.code(), Some(0), "{}", shown(&health));
    let parts: Value = serde_json::from_slice(&health.stdout).unwrap();
    assert!(
        parts["bus:flight-controller-local"]["healthy"] == true,
        "{parts}"
    );
    assert!(parts.as_object().unwrap().len() > 40, "{parts}");

    // A fresh account story: requested 30 minutes ago, created 10 minutes ago.
    let before = account_values();
    let now = flight_core::replay::system_now() / 1000;
    let id = format!("flightctl-{now}-{}", std::process::id());
    let entry = |event_type: &str, ago: i64| {
        json!({"Source": "flightctl.tests", "DetailType": event_type, "Detail": json!({
            "event_type": event_type, "aggregate_id": id, "event_id": format!("{id}-{event_type}"),
            "time": now - ago,
        }).to_string()})
    };
    let dir = std::env::temp_dir().join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("account.json");
    std::fs::write(
        &file,
        json!([
            entry("AccountRequested", 1800),
            entry("AccountCreated", 600)
        ])
        .to_string(),
    )
    .unwrap();
    let put = flightctl(&["put-events", file.to_str().unwrap()]);
    assert!(put.status.success(), "{}", shown(&put));
    assert_eq!(
        String::from_utf8_lossy(&put.stdout)
            .matches(": sent: Account")
            .count(),
        2
    );

    // The dispatcher ingests them, settle publishes the lead time: the report sees it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while account_values() < before + 1 {
        assert!(
            Instant::now() < deadline,
            "the new AccountLeadTime never reached the store"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // What settle published, backfill leaves alone.
    let existing = flightctl(&["backfill", "--metric", "AccountLeadTime"]);
    assert!(existing.status.success(), "{}", shown(&existing));
    assert_eq!(published_now(&existing), 0, "{}", shown(&existing));

    // A metric added to the catalog: backfilled once, then nothing.
    let catalog = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/catalog.yaml"))
        .unwrap()
        .replace(
            "\nslos:\n",
            "\n  - name: AccountCreatedCount\n    kind: count\n    event: AccountCreated\n    unit: Count\n\nslos:\n",
        );
    let changed = dir.join("catalog.yaml");
    std::fs::write(&changed, catalog).unwrap();
    let changed = changed.to_str().unwrap();
    let first = flightctl(&[
        "backfill",
        "--catalog",
        changed,
        "--metric",
        "AccountCreatedCount",
    ]);
    assert!(first.status.success(), "{}", shown(&first));
    assert!(published_now(&first) >= 1, "{}", shown(&first));
    let second = flightctl(&[
        "backfill",
        "--catalog",
        changed,
        "--metric",
        "AccountCreatedCount",
    ]);
    assert!(second.status.success(), "{}", shown(&second));
    assert_eq!(published_now(&second), 0, "{}", shown(&second));
}
