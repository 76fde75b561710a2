//! Checks of the `sources` section against what cannot change: the
//! EventBridge pattern syntax the functions can match, the documented shape
//! of each service event (the AWS documentation's example events under
//! `events/aws/`), and what an event type must carry.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::model::{EventType, Metric};
use super::parse::Issues;
use super::sources::FieldPath;

/// The AWS documentation's example events (`events/aws/`): the documented shapes.
const DOCUMENTED: &[(&str, &str)] = &[
    (
        "events/aws/config-compliance-change.json",
        include_str!("../../../../events/aws/config-compliance-change.json"),
    ),
    (
        "events/aws/control-tower-create-managed-account.json",
        include_str!("../../../../events/aws/control-tower-create-managed-account.json"),
    ),
    (
        "events/aws/ssm-patch-compliance.json",
        include_str!("../../../../events/aws/ssm-patch-compliance.json"),
    ),
];

/// The payload fields an event type's events must carry: its `payload_fields`,
/// and the partition and value fields of the metrics it takes part in.
pub(super) fn required_fields(t: &EventType, metrics: &[Metric]) -> BTreeSet<String> {
    let mut fields: BTreeSet<String> = t.payload_fields.iter().cloned().collect();
    for metric in metrics
        .iter()
        .filter(|m| m.kind.event_types().contains(&t.name.as_str()))
    {
        fields.extend(metric.partition_by.iter().cloned());
        if metric.kind.completer() == t.name {
            fields.extend(metric.kind.value_fields().into_iter().cloned());
        }
    }
    fields
}

/// A pattern must be an object with `source` (AWS services only) and
/// `detail-type`, whose leaves are arrays of strings.
pub(super) fn check_pattern(pattern: &Value, at: &str, issues: &mut Issues<'_>) {
    let Value::Object(map) = pattern else {
        issues.add(at, "must be an EventBridge pattern (an object)");
        return;
    };
    for key in ["source", "detail-type"] {
        if !map.contains_key(key) {
            issues.add(at, format!("must name the `{key}` of the service events"));
        }
    }
    if let Some(Value::Array(sources)) = map.get("source") {
        for (k, s) in sources.iter().enumerate() {
            if !s.as_str().is_some_and(|s| s.starts_with("aws.")) {
                issues.add(
                    format!("{at}.source[{k}]"),
                    "an AWS source is an AWS service (`aws.config`, ...); producers' events use event types",
                );
            }
        }
    }
    check_leaves(pattern, at, issues);
}

pub(super) fn check_leaves(value: &Value, at: &str, issues: &mut Issues<'_>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                check_leaves(inner, &format!("{at}.{key}"), issues);
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => {}
        _ => issues.add(at, "must be a non-empty list of exact string values"),
    }
}

/// A `when` adds its field to the pattern of the emit's rule: it must be under
/// `detail`, and its first key there must not be one the pattern already has
/// (the rule's pattern is the source's pattern and this one field, merged).
pub(super) fn check_when(pattern: &Value, field: &FieldPath, at: &str, issues: &mut Issues<'_>) {
    if field.keys.len() < 2 || field.keys[0] != "detail" {
        issues.add(at, "must be a field of `$.detail`");
    } else if pattern
        .get("detail")
        .and_then(|d| d.get(&field.keys[1]))
        .is_some()
    {
        issues.add(
            at,
            format!(
                "`detail.{}` is in the source's pattern already; choose by a field outside it",
                field.keys[1]
            ),
        );
    }
}

/// The (source, detail-type) pairs a pattern names.
pub(super) fn pattern_keys(pattern: &Value) -> Vec<(String, String)> {
    let strings = |key: &str| -> Vec<String> {
        pattern
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let detail_types = strings("detail-type");
    strings("source")
        .into_iter()
        .flat_map(|s| detail_types.iter().map(move |d| (s.clone(), d.clone())))
        .collect()
}

/// Every path of the documented example events, by (source, detail-type).
pub(super) fn documented_shapes() -> HashMap<(String, String), BTreeSet<String>> {
    let mut shapes: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    for (file, text) in DOCUMENTED {
        let events: Vec<Value> = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{file} is a JSON array of events: {e}"));
        for event in events {
            let text = |k: &str| {
                event
                    .get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let paths = shapes
                .entry((text("source"), text("detail-type")))
                .or_default();
            collect_paths(&event, "$", paths);
        }
    }
    shapes
}

fn collect_paths(value: &Value, prefix: &str, paths: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (key, inner) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            collect_paths(inner, &path, paths);
            paths.insert(path);
        }
    }
}
