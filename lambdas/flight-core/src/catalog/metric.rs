//! Checking one metric as written: its name, unit, kind-specific keys, the
//! event types it names, and the payload fields it reads.

use super::model::NameMap;

use super::model::{EventType, Metric};
use super::parse::{suggest, valid_name, Issues, RawMetric};
use super::{CLOUDWATCH_UNITS, LATE_EVENTS_METRIC, REJECTED_EVENTS_METRIC};

/// The metric at `metrics[i]`, or `None` when a key it needs is missing.
pub(super) fn build(
    i: usize,
    raw: RawMetric,
    types: &[EventType],
    names: &NameMap,
    issues: &mut Issues<'_>,
) -> Option<Metric> {
    let path = format!("metrics[{i}]");
    if !valid_name(&raw.name) {
        issues.add(
            format!("{path}.name"),
            format!(
                "`{}` is not a valid metric name (letters, digits, `_`, `-`, `.`)",
                raw.name
            ),
        );
    }
    let operational = [
        LATE_EVENTS_METRIC,
        REJECTED_EVENTS_METRIC,
        crate::refusal::REFUSED_DATA_POINTS_METRIC,
        crate::series_budget::OVER_BUDGET_SERIES_METRIC,
    ];
    if operational.contains(&raw.name.as_str()) {
        issues.add(
            format!("{path}.name"),
            format!(
                "`{}` is reserved for Flight Controller's own operational metrics",
                raw.name
            ),
        );
    }
    let kind_name = raw.kind.as_str();
    if !CLOUDWATCH_UNITS.contains(&raw.unit.as_str()) {
        issues.add(
            format!("{path}.unit"),
            format!(
                "`{}` is not a CloudWatch unit{}",
                raw.unit,
                suggest(&raw.unit, CLOUDWATCH_UNITS.iter().copied())
            ),
        );
    } else if let Some(unit) = raw.kind.required_unit() {
        if raw.unit != unit {
            issues.add(
                format!("{path}.unit"),
                format!("a {kind_name} metric is measured in {unit}").to_lowercase(),
            );
        }
    }

    // Which kind-specific keys this kind takes, and which it must not have.
    let allowed = raw.kind.keys();
    for (key, is_present) in raw.present_keys() {
        if is_present && !allowed.contains(&key) {
            issues.add(
                format!("{path}.{key}"),
                format!(
                    "`{key}` does not apply to a {kind_name} metric (it takes {})",
                    allowed.join(", ")
                ),
            );
        }
    }

    let mut missing = false;
    let mut event_ref = |key: &str, value: &Option<String>, issues: &mut Issues<'_>| -> String {
        let Some(name) = value else {
            issues.add(path.clone(), format!("a {kind_name} metric needs `{key}`"));
            missing = true;
            return String::new();
        };
        match names.get(name) {
            Some(&t) if types[t].name == *name => {}
            Some(&t) => issues.add(
                format!("{path}.{key}"),
                format!(
                    "`{name}` is an alias; use the event type's name `{}`",
                    types[t].name
                ),
            ),
            None => issues.add(
                format!("{path}.{key}"),
                format!(
                    "unknown event type `{name}`{}",
                    suggest(name, types.iter().map(|t| t.name.as_str()))
                ),
            ),
        }
        name.clone()
    };
    let kind = raw.kind.build(&path, &raw, &mut event_ref, issues);
    if missing {
        return None;
    }
    let metric = Metric {
        name: raw.name,
        description: raw.description,
        kind,
        unit: raw.unit,
        partition_by: raw.partition_by,
        series_budget: raw
            .series_budget
            .unwrap_or(crate::series_budget::DEFAULT_SERIES_BUDGET),
    };
    check_fields(&path, &metric, types, names, issues);
    Some(metric)
}

/// Every field the metric reads must be declared by each event type it involves.
fn check_fields(
    path: &str,
    metric: &Metric,
    types: &[EventType],
    names: &NameMap,
    issues: &mut Issues<'_>,
) {
    let mut seen = Vec::new();
    for (j, field) in metric.partition_by.iter().enumerate() {
        if seen.contains(&field) {
            issues.add(
                format!("{path}.partition_by[{j}]"),
                format!("`{field}` is listed twice"),
            );
        }
        seen.push(field);
    }
    let payload_reads: Vec<(String, &String)> = metric
        .partition_by
        .iter()
        .enumerate()
        .map(|(j, f)| (format!("{path}.partition_by[{j}]"), f))
        .chain(
            metric
                .kind
                .value_fields()
                .into_iter()
                .map(|f| (path.to_string(), f)),
        )
        .collect();
    for type_name in metric.kind.event_types() {
        let Some(event_type) = names.get(type_name).map(|&t| &types[t]) else {
            continue;
        };
        for (at, field) in &payload_reads {
            if !event_type.payload_fields.contains(field) {
                issues.add(
                    at.clone(),
                    format!(
                        "field `{field}` is missing from the payload_fields of event type `{}`; add it there so events without it are rejected",
                        event_type.name
                    ),
                );
            }
        }
    }
}
