//! Adding a measure is one catalog entry, no code: a copy of the default
//! catalog with one more metric, replayed with `flightctl replay --catalog`,
//! measures it.

use std::path::Path;
use std::process::Command;

#[test]
fn a_metric_added_to_the_catalog_is_measured_with_no_other_change() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let catalog = std::fs::read_to_string(repo.join("events/catalog.yaml")).unwrap();
    // The new measure: from assignment to creation of a project.
    let added = catalog.replacen(
        "\nslos:\n",
        "
  - name: ProjectBuildTime
    description: Time from a project's assignment to its creation.
    kind: duration
    start: ProjectAssigned
    end: ProjectCreated
    unit: Seconds

slos:
",
        1,
    );
    assert_ne!(added, catalog, "the metric was inserted");
    let dir = std::env::temp_dir().join(format!("flightctl-add-metric-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("catalog.yaml");
    std::fs::write(&path, &added).unwrap();

    let validate = Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(["validate", "--catalog", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    assert!(String::from_utf8_lossy(&validate.stdout).contains("10 metrics"));

    let replay = Command::new(env!("CARGO_BIN_EXE_flightctl"))
        .args(["replay", "--catalog", path.to_str().unwrap()])
        .arg(repo.join("events/project.json"))
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let stdout = String::from_utf8_lossy(&replay.stdout);
    let build_time: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|m| m["metric"] == "ProjectBuildTime")
        .collect();
    // Assigned 2026-11-04T13:00:00Z, created 2026-11-05T15:30:00Z.
    assert_eq!(build_time.len(), 1, "{stdout}");
    assert_eq!(build_time[0]["value"], 95400.0);
    assert_eq!(build_time[0]["aggregate_id"], "project-apollo");
}
