//! AWS sources (issue 16, docs/aws-sources.md): the AWS documentation's
//! example events under `events/aws/` become the expected measurements,
//! whatever their order and however often they arrive; malformed service
//! events are rejected naming the path; a catalog whose mapping reads a path
//! the documented shape lacks, or leaves a required field empty, is refused
//! with the line.

use std::sync::Arc;

use flight_core::catalog::sources::matches;
use flight_core::memory::{CollectingSink, ManualClock, MemoryStore};
use flight_core::replay::{measurement_lines, replay, replay_grouped};
use flight_core::{Catalog, Event, FlightController, Settings};
use serde_json::{json, Value};

const FILES: [&str; 3] = [
    "config-compliance-change.json",
    "control-tower-create-managed-account.json",
    "ssm-patch-compliance.json",
];

fn fixture(name: &str) -> String {
    let path = format!("{}/../../events/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn events(name: &str) -> Vec<Value> {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::default_catalog())
}

async fn replayed(files: Vec<(String, String)>) -> Vec<String> {
    let outcome = replay(catalog(), &files, None, 0).await;
    assert!(outcome.rejections.is_empty(), "{:?}", outcome.rejections);
    measurement_lines(&outcome.measurements)
}

fn documented_files() -> Vec<(String, String)> {
    FILES.iter().map(|f| (f.to_string(), fixture(f))).collect()
}

/// The measurements of the documented example events, exactly.
const EXPECTED: [&str; 4] = [
    // Config: NON_COMPLIANT recorded 16:30:50.717, COMPLIANT recorded 19:48:41.405.
    r#"{"metric":"ResourceComplianceLeadTime","value":11870.688,"unit":"Seconds","timestamp":"2016-09-27T19:48:41.405Z","aggregate_id":"123456789012/us-east-2/cloudtrail-enabled/AWS::::Account/123456789012","dimensions":{"container_id":"cloudtrail-enabled"}}"#,
    // Control Tower: requested 2019-11-15T11:45:18, completed 2019-11-16T12:09:32.
    r#"{"metric":"AccountLeadTime","value":87854.0,"unit":"Seconds","timestamp":"2019-11-16T12:09:32Z","aggregate_id":"XXXXXXXXXXXX","dimensions":{}}"#,
    // SSM: the instance non-compliant, then compliant.
    r#"{"metric":"PatchCompliancePercentage","value":0.0,"unit":"Percent","timestamp":"2024-07-17T19:02:31Z","aggregate_id":"i-01234567890abcdef","dimensions":{}}"#,
    r#"{"metric":"PatchCompliancePercentage","value":100.0,"unit":"Percent","timestamp":"2024-07-17T19:03:26Z","aggregate_id":"i-01234567890abcdef","dimensions":{}}"#,
];

#[tokio::test]
async fn the_documented_example_events_replay_to_the_compliance_account_and_patch_measurements() {
    assert_eq!(replayed(documented_files()).await, EXPECTED);
}

#[tokio::test]
async fn the_same_events_reordered_and_duplicated_give_the_same_measurements() {
    let all: Vec<Value> = FILES.iter().flat_map(|f| events(f)).collect();
    let n = all.len();
    for rotation in 0..n {
        let mut shuffled: Vec<Value> = all.iter().cycle().skip(rotation).take(n).cloned().collect();
        shuffled.reverse();
        // Every event twice, the copies after all the originals.
        let duplicated: Vec<Value> = shuffled
            .iter()
            .chain(shuffled.iter().rev())
            .cloned()
            .collect();
        let file = (
            "shuffled.json".to_string(),
            Value::Array(duplicated).to_string(),
        );
        assert_eq!(replayed(vec![file]).await, EXPECTED, "rotation {rotation}");
    }
}

#[test]
fn the_grouped_replay_gives_the_same_measurements_one_aggregate_at_a_time() {
    let mut lines = Vec::new();
    let files = documented_files();
    let sources = files
        .iter()
        .map(|(name, text)| (name.clone(), text.as_bytes()));
    let outcome = replay_grouped(&catalog(), sources, None, 0, |point| {
        lines.extend(measurement_lines(&[point.measurement()]));
        Ok(())
    })
    .unwrap();
    assert!(outcome.rejections.is_empty(), "{:?}", outcome.rejections);
    lines.sort();
    let mut expected = EXPECTED.map(String::from).to_vec();
    expected.sort();
    assert_eq!(lines, expected);
}

#[test]
fn a_lifecycle_event_read_as_one_event_is_refused_as_two() {
    let event = events("control-tower-create-managed-account.json").remove(0);
    let error = Event::from_eventbridge(&event, &catalog()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "source: source control-tower-account-vended maps this event to 2 events; read it with all_from_eventbridge"
    );
    let types: Vec<String> = Event::all_from_eventbridge(&event, &catalog())
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, ["AccountRequested", "AccountCreated"]);
}

fn rejection(event: &Value) -> String {
    Event::all_from_eventbridge(event, &catalog())
        .unwrap_err()
        .to_string()
}

#[test]
fn a_compliance_change_without_its_new_evaluation_result_is_rejected_naming_the_path() {
    let mut event = events("config-compliance-change.json").remove(1);
    event["detail"]
        .as_object_mut()
        .unwrap()
        .remove("newEvaluationResult");
    assert_eq!(
        rejection(&event),
        "detail.newEvaluationResult.complianceType: missing; source config-compliance-change chooses the event type by it (NON_COMPLIANT → ResourceFoundNonCompliant, COMPLIANT → ResourceFoundCompliant)"
    );
}

#[test]
fn an_unknown_compliance_type_is_rejected_naming_the_path() {
    let mut event = events("config-compliance-change.json").remove(1);
    event["detail"]["newEvaluationResult"]["complianceType"] = json!("MOSTLY_COMPLIANT");
    assert!(
        rejection(&event).starts_with(
            "detail.newEvaluationResult.complianceType: `MOSTLY_COMPLIANT` maps to no event type"
        ),
        "{}",
        rejection(&event)
    );
}

#[test]
fn a_lifecycle_event_missing_its_request_time_is_rejected_naming_the_path() {
    let mut event = events("control-tower-create-managed-account.json").remove(0);
    event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]
        .as_object_mut()
        .unwrap()
        .remove("requestedTimestamp");
    assert_eq!(
        rejection(&event),
        "detail.serviceEventDetails.createManagedAccountStatus.requestedTimestamp: missing; source control-tower-account-vended takes the event time from it"
    );
}

#[test]
fn an_aws_event_no_source_maps_is_rejected() {
    let mut event = events("control-tower-create-managed-account.json").remove(0);
    event["detail"]["eventName"] = json!("EnableGuardrail");
    assert!(
        rejection(&event).starts_with(
            "source: no catalog source maps `aws.controltower` events of detail-type `AWS Service Event via CloudTrail`"
        ),
        "{}",
        rejection(&event)
    );
}

#[tokio::test]
async fn each_function_takes_its_own_event_of_one_lifecycle_event() {
    let event = events("control-tower-create-managed-account.json").remove(0);
    let completed = 1_573_906_172_000; // 2019-11-16T12:09:32Z
    let service = FlightController::new(
        catalog(),
        Arc::new(MemoryStore::new()),
        Arc::new(CollectingSink::new()),
        Arc::new(ManualClock::new(completed + 1_000)),
        Settings {
            environment: None,
            lateness_window: 0,
            lease: 120_000,
            enforce_cloudwatch_range: false,
        },
    );
    // Both rules deliver the same service event; EventBridge may deliver it twice.
    for serves in ["AccountRequested", "AccountCreated", "AccountCreated"] {
        let report = service.ingest(&event, Some(serves)).await.unwrap();
        assert_eq!(report.event_type, serves);
        assert_eq!(report.aggregate_id, "XXXXXXXXXXXX");
    }
    let values: Vec<(String, f64)> = service
        .sink()
        .published()
        .iter()
        .map(|m| (m.metric.clone(), m.value))
        .collect();
    assert_eq!(values, [("AccountLeadTime".to_string(), 87_854.0)]);
    let error = service
        .ingest(&event, Some("ProjectCreated"))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("maps this event to no `ProjectCreated` event"),
        "{error}"
    );
}

#[test]
fn the_sources_patterns_match_their_documented_events_and_not_near_misses() {
    let catalog = catalog();
    let pattern = |name: &str| {
        &catalog
            .sources
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .pattern
    };
    for (name, file) in [
        ("config-compliance-change", FILES[0]),
        ("control-tower-account-vended", FILES[1]),
        ("ssm-patch-compliance", FILES[2]),
    ] {
        for event in events(file) {
            assert!(
                matches(pattern(name), &event),
                "{name} should match {event}"
            );
            let mut other_source = event.clone();
            other_source["source"] = json!("aws.guardduty");
            assert!(!matches(pattern(name), &other_source));
            let mut other_type = event.clone();
            other_type["detail-type"] = json!("Config Configuration Item Change");
            assert!(!matches(pattern(name), &other_type));
        }
    }
    let mut failed = events(FILES[1]).remove(0);
    failed["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["state"] =
        json!("FAILED");
    assert!(!matches(pattern("control-tower-account-vended"), &failed));
    let mut association = events(FILES[2]).remove(0);
    association["detail"]["compliance-type"] = json!("Association");
    assert!(!matches(pattern("ssm-patch-compliance"), &association));
}

/// The default catalog with its Config source's mapping changed by `edit`.
fn with_config_source(edit: impl Fn(&str) -> String) -> String {
    let yaml = flight_core::catalog::DEFAULT_CATALOG_YAML;
    let start = yaml.find("  - name: config-compliance-change").unwrap();
    let end = yaml.find("  - name: control-tower-account-vended").unwrap();
    format!(
        "{}{}{}",
        &yaml[..start],
        edit(&yaml[start..end]),
        &yaml[end..]
    )
}

fn issues(yaml: &str) -> String {
    Catalog::parse(yaml).unwrap_err().render_for("catalog.yaml")
}

#[test]
fn a_path_the_documented_shape_lacks_is_refused_with_its_line() {
    let yaml = with_config_source(|s| {
        s.replace(
            "$.detail.newEvaluationResult.resultRecordedTime",
            "$.detail.newEvaluationResult.recordedTime",
        )
    });
    let line = yaml
        .lines()
        .position(|l| l.contains("recordedTime"))
        .unwrap()
        + 1;
    let rendered = issues(&yaml);
    assert!(
        rendered.contains(&format!(
            "catalog.yaml:{line}:"
        )) && rendered.contains("`$.detail.newEvaluationResult.recordedTime` cannot exist in the documented shape of these events (did you mean `$.detail.newEvaluationResult.resultRecordedTime`?)"),
        "{rendered}"
    );
}

#[test]
fn a_mapping_that_leaves_a_required_field_empty_is_refused() {
    let yaml = with_config_source(|s| {
        s.replace(
            "      container_id: $.detail.configRuleName\n",
            "      rule: $.detail.configRuleName\n",
        )
    });
    let rendered = issues(&yaml);
    assert!(
        rendered.contains("sources[0].events[0]: leaves `container_id` empty, which ResourceFoundNonCompliant events must carry: map it in `payload`"),
        "{rendered}"
    );
}

#[test]
fn a_source_for_an_unknown_event_type_or_a_producers_source_is_refused() {
    let yaml = with_config_source(|s| {
        s.replace(
            "event_type: ResourceFoundCompliant",
            "event_type: ResourceFoundCompliat",
        )
        .replace("source: [aws.config]", "source: [my.app]")
    });
    let rendered = issues(&yaml);
    assert!(rendered.contains("sources[0].events[1].event_type: unknown event type `ResourceFoundCompliat` (did you mean `ResourceFoundCompliant`?)"), "{rendered}");
    assert!(
        rendered.contains("sources[0].pattern.source[0]: an AWS source is an AWS service"),
        "{rendered}"
    );
}
