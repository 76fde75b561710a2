//! `flightctl replay` streaming (its default) as a user runs it (issue 13): the sample
//! files, each one aggregate, give the lines of the in-memory replay; an
//! interleaved file stops with exit status 2 and says what it needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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

fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = text(bytes).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn streamed_replay_of_the_single_aggregate_samples_prints_the_in_memory_lines() {
    let files: Vec<String> = [
        "guardrail.json",
        "project.json",
        "account.json",
        "identity.json",
    ]
    .iter()
    .map(|f| repo().join("events").join(f).display().to_string())
    .collect();
    let args = |flag: Option<&'static str>| -> Vec<&str> {
        let mut args = vec!["replay"];
        args.extend(flag);
        args.extend(files.iter().map(String::as_str));
        args
    };
    let memory = flightctl(&args(Some("--in-memory")));
    let grouped = flightctl(&args(None));
    // `--grouped` (the default, once a flag) is still accepted, and the same.
    let flagged = flightctl(&args(Some("--grouped")));
    assert_eq!(flagged.stdout, grouped.stdout);
    assert!(memory.status.success(), "{}", text(&memory.stderr));
    assert!(grouped.status.success(), "{}", text(&grouped.stderr));
    assert!(!memory.stdout.is_empty());
    assert_eq!(sorted_lines(&grouped.stdout), sorted_lines(&memory.stdout));
    assert!(
        text(&grouped.stderr).contains("at most 5 events held"),
        "{}",
        text(&grouped.stderr)
    );
}

#[test]
fn streamed_replay_of_interleaved_aggregates_exits_2_naming_the_entry() {
    let detail = |aggregate: &str, kind: &str, minute: u32| {
        serde_json::json!({
            "Source": "tests", "DetailType": kind,
            "Detail": serde_json::json!({
                "event_id": format!("{aggregate}-{minute}"), "event_type": kind,
                "aggregate_id": aggregate, "time": format!("2026-11-10T08:{minute:02}:00Z"),
                "payload": {"guardrail_id": "g1"},
            }).to_string(),
        })
    };
    let entries = serde_json::json!([
        detail("res-a", "GuardrailActivated", 0),
        detail("res-b", "GuardrailActivated", 1),
        detail("res-a", "GuardrailPassed", 2),
    ]);
    let path = std::env::temp_dir().join(format!("interleaved-{}.json", std::process::id()));
    std::fs::write(&path, entries.to_string()).unwrap();
    let out = flightctl(&["replay", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("entry 2: aggregate res-a reappears")
            && stderr.contains("with --in-memory"),
        "{stderr}"
    );
}
