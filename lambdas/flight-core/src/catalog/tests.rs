//! The catalog's checks, each with the catalog that breaks it and the line it names.

use super::*;

#[test]
fn the_default_catalog_is_valid_and_declares_the_original_domains() {
    let catalog = Catalog::parse(DEFAULT_CATALOG_YAML).unwrap_or_else(|e| panic!("{e}"));
    for metric in [
        "ProjectAssignedLeadTime",
        "ProjectLeadTime",
        "GuardrailActivationCount",
        "GuardrailLeadTime",
        "GuardrailMaxActivation",
        "AccountLeadTime",
        "IdentityLeadTime",
        "ResourceComplianceLeadTime",
        "PatchCompliancePercentage",
    ] {
        assert!(catalog.metric(metric).is_some(), "{metric} missing");
    }
    assert_eq!(
        catalog.event_type("project_requested").unwrap().name,
        "ProjectRequested"
    );
    let guardrail = catalog.metric("GuardrailLeadTime").unwrap();
    assert_eq!(guardrail.partition_by, vec!["guardrail_id"]);
    for slo in &catalog.slos {
        assert!(catalog.metric(&slo.metric).is_some());
    }
}

fn issues_of(source: &str) -> Vec<CatalogIssue> {
    Catalog::parse(source).unwrap_err().issues
}

const BASE: &str = "namespace: Test
event_types:
  - name: Opened
    description: o
    payload_fields: [ticket]
  - name: Closed
    aliases: [closed]
    description: c
";

#[test]
fn an_unknown_event_type_in_a_metric_is_reported_on_its_line_with_a_suggestion() {
    let source = format!(
            "{BASE}metrics:\n  - name: TimeToClose\n    kind: duration\n    start: Opend\n    end: Closed\n    unit: Seconds\n"
        );
    let issues = issues_of(&source);
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].line, Some(12));
    assert_eq!(issues[0].path, "metrics[0].start");
    assert!(issues[0].message.contains("unknown event type `Opend`"));
    assert!(issues[0].message.contains("did you mean `Opened`"));
}

#[test]
fn duplicate_names_bad_units_and_missing_partition_fields_are_all_reported() {
    let source = format!(
        "{BASE}  - name: closed
    description: dup
metrics:
  - name: A
    kind: count
    event: Opened
    unit: Counts
  - name: A
    kind: count
    event: Closed
    unit: Count
    partition_by: [ticket]
"
    );
    let issues = issues_of(&source);
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("9:") && t.contains("duplicate event type name `closed`")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with("15:")
            && t.contains("`Counts` is not a CloudWatch unit")
            && t.contains("did you mean `Count`")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("16:") && t.contains("duplicate metric name `A`")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with("20:")
            && t.contains(
                "field `ticket` is missing from the payload_fields of event type `Closed`"
            )),
        "{text:#?}"
    );
}

#[test]
fn unknown_keys_wrong_kinds_and_bad_slos_are_reported() {
    let typo = format!(
        "{BASE}metrics:\n  - name: A\n    kind: count\n    evnt: Opened\n    unit: Count\n"
    );
    let issues = issues_of(&typo);
    assert_eq!(issues[0].line, Some(12), "{issues:?}");
    assert!(
        issues[0].message.contains("unknown field `evnt`"),
        "{issues:?}"
    );

    let kind = format!("{BASE}metrics:\n  - name: A\n    kind: histogram\n    unit: Count\n");
    let issues = issues_of(&kind);
    assert_eq!(issues[0].path, "metrics[0].kind");
    assert!(issues[0].message.contains("unknown variant `histogram`"));

    let slo = format!(
            "{BASE}metrics:\n  - name: A\n    kind: count\n    event: Opened\n    unit: Count\nslos:\n  - name: s\n    metric: B\n    objective: 120\n    threshold: 1\n    good_when: at_most\n    window_hours: 0\n    severity: page\n"
        );
    let text: Vec<String> = issues_of(&slo).iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("16:") && t.contains("unknown metric `B`")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("17:") && t.contains("objective")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("20:") && t.contains("window_hours")),
        "{text:#?}"
    );
}

#[test]
fn kind_specific_fields_aliases_and_units_are_checked() {
    let source = format!(
            "{BASE}metrics:\n  - name: A\n    kind: duration\n    start: Opened\n    end: closed\n    unit: Count\n    scale: 3\n  - name: B\n    kind: duration\n    start: Opened\n    unit: Seconds\n"
        );
    let text: Vec<String> = issues_of(&source).iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("`closed` is an alias; use the event type's name `Closed`")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("a duration metric is measured in seconds")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("`scale` does not apply to a duration metric")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("a duration metric needs `end`")),
        "{text:#?}"
    );
}

#[test]
fn span_metrics_sharing_an_event_type_must_share_partitions() {
    let source = format!(
            "{BASE}metrics:\n  - name: A\n    kind: duration\n    start: Opened\n    end: Closed\n    unit: Seconds\n  - name: B\n    kind: occurrences\n    counted: Opened\n    end: Closed\n    unit: Count\n    partition_by: [ticket]\n"
        );
    let issues = issues_of(&source);
    assert!(
        issues.iter().any(|i| i.path == "metrics[1].partition_by"
            && i.message.contains("must use the same partition_by")),
        "{issues:?}"
    );
}

#[test]
fn syntax_errors_name_their_line() {
    let issues = issues_of("namespace: X\nevent_types: [\n");
    assert!(issues[0].message.starts_with("not valid YAML"));
    assert!(issues[0].line.is_some());
}

#[test]
fn slos_must_be_ones_a_cloudwatch_alarm_can_take() {
    let source = format!(
        "{BASE}metrics:\n  - name: A\n    kind: count\n    event: Opened\n    unit: Count\nslos:\n  - name: s\n    metric: A\n    objective: 100\n    threshold: -1\n    good_when: at_most\n    window_hours: 1.5\n    severity: page\n"
    );
    let issues = issues_of(&source);
    assert_eq!(issues[0].path, "slos[0].window_hours", "{issues:?}");

    let whole_hours = source.replace("window_hours: 1.5", "window_hours: 2");
    let text: Vec<String> = issues_of(&whole_hours)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        text.iter().any(|t| t.starts_with("17:")
            && t.contains("slos[0].objective: must be a percentage above 0 and below 100")),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with("18:")
            && t.contains("slos[0].threshold: must be a finite number, 0 or more")),
        "{text:#?}"
    );
}

#[test]
fn event_types_whose_resource_names_collide_or_are_too_long_are_refused() {
    let source = format!(
        "{BASE}  - name: opened\n    description: same slug as Opened\n  - name: {}\n    description: too long for a function name\n",
        "VeryLong".repeat(5)
    );
    let text: Vec<String> = issues_of(&source).iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(|t| t.starts_with("9:")
            && t.contains(
                "`opened` and `Opened` (event_types[0]) both become the resource name `opened`"
            )),
        "{text:#?}"
    );
    assert!(
        text.iter().any(|t| t.starts_with("11:")
            && t.contains("flight-controller-local-ingest-very-long-very-long")
            && t.contains("AWS takes at most 64")),
        "{text:#?}"
    );
}

#[test]
fn each_kind_is_read_with_its_own_statistic() {
    let catalog = Catalog::default_catalog();
    let statistic = |name: &str| catalog.statistic(catalog.metric(name).unwrap());
    assert_eq!(statistic("GuardrailActivationCount"), "Sum");
    assert_eq!(statistic("GuardrailMaxActivation"), "Maximum");
    assert_eq!(statistic("PatchCompliancePercentage"), "Average");
    assert!(statistic("ProjectLeadTime").starts_with('p'));
    assert_eq!(percent_text(99.9), "99.9");
    assert_eq!(percent_text(10.0), "10");
    assert_eq!(percent_text(0.5), "0.5");
}

#[test]
fn every_kind_has_its_own_catalog_name() {
    let names: std::collections::BTreeSet<&str> =
        KindName::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), KindName::ALL.len());
    assert!(names.contains("duration") && names.contains("ratio"));
}
