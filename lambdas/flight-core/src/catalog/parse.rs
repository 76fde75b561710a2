//! Reading a catalog: YAML to raw records, then every check, each problem an
//! issue with its path and line. The checks refuse everything the Terraform
//! catalog module and AWS refuse (SLO ranges, resource names), so a catalog
//! `flightctl validate` accepts also plans (see `catalog_agreement.rs`).

use std::collections::HashMap;

use super::model::NameMap;

use serde::Deserialize;

use super::kind::KindName;
use super::model::{Catalog, CatalogError, CatalogIssue, EventType, Quantity};
use super::slos::{RawAlerting, RawSlo};
use super::{metric, plan, slos};
use crate::names::{slug, Deployment, CHECKED_ENVIRONMENTS, MAX_FUNCTION_NAME};
use crate::yaml::{self, Positions};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    namespace: String,
    event_types: Vec<RawEventType>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
    #[serde(default)]
    alerting: Option<RawAlerting>,
    #[serde(default)]
    slos: Vec<RawSlo>,
    /// AWS service events mapped to event types (docs/aws-sources.md).
    #[serde(default)]
    sources: Vec<super::sources::RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEventType {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    description: String,
    #[serde(default)]
    help_url: Option<String>,
    #[serde(default)]
    aggregate_type: Option<String>,
    #[serde(default)]
    payload_fields: Vec<String>,
}

/// A metric as written: the common keys, and every kind's keys (see [`KindName::keys`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetric {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub kind: KindName,
    pub unit: String,
    #[serde(default)]
    pub partition_by: Vec<String>,
    pub series_budget: Option<u32>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub event: Option<String>,
    pub counted: Option<String>,
    pub field: Option<String>,
    pub numerator: Option<Vec<String>>,
    pub denominator: Option<Vec<String>>,
    pub quantity: Option<Quantity>,
    pub scale: Option<f64>,
}

impl RawMetric {
    /// Which kind-specific keys are present.
    pub(super) fn present_keys(&self) -> [(&'static str, bool); 9] {
        [
            ("start", self.start.is_some()),
            ("end", self.end.is_some()),
            ("event", self.event.is_some()),
            ("counted", self.counted.is_some()),
            ("field", self.field.is_some()),
            ("numerator", self.numerator.is_some()),
            ("denominator", self.denominator.is_some()),
            ("quantity", self.quantity.is_some()),
            ("scale", self.scale.is_some()),
        ]
    }
}

/// Collects issues with their positions.
pub(crate) struct Issues<'a> {
    positions: &'a Positions,
    found: Vec<CatalogIssue>,
}

impl Issues<'_> {
    /// Notes a problem at `path` (e.g. `metrics[3].start`).
    pub(crate) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let position = self.positions.find(&path);
        self.found.push(CatalogIssue {
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            path,
            message: message.into(),
        });
    }

    /// How many problems are noted so far.
    pub(crate) fn len(&self) -> usize {
        self.found.len()
    }
}

impl Catalog {
    /// Parses and validates a catalog written in YAML (or JSON, which is YAML).
    pub fn parse(source: &str) -> Result<Catalog, CatalogError> {
        let (value, positions) = yaml::parse(source).map_err(|e| CatalogError {
            issues: vec![CatalogIssue {
                path: String::new(),
                line: Some(e.position.line),
                column: Some(e.position.column),
                message: format!("not valid YAML: {}", e.message),
            }],
        })?;
        let mut issues = Issues {
            positions: &positions,
            found: Vec::new(),
        };
        let raw: RawCatalog = match serde_path_to_error::deserialize(value) {
            Ok(raw) => raw,
            Err(e) => {
                let path = clean_path(&e.path().to_string());
                issues.add(path, e.into_inner().to_string());
                return Err(CatalogError {
                    issues: issues.found,
                });
            }
        };
        let catalog = build(raw, &mut issues);
        if issues.found.is_empty() {
            Ok(catalog)
        } else {
            let mut found = issues.found;
            found.sort_by_key(|issue| issue.line.unwrap_or(usize::MAX));
            Err(CatalogError { issues: found })
        }
    }
}

/// `metrics[3].start` from serde_path_to_error's `metrics[3].start` (or `.` for the root).
fn clean_path(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_string()
    }
}

/// Whether `name` is a valid event type or metric name.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn build(raw: RawCatalog, issues: &mut Issues<'_>) -> Catalog {
    if raw.namespace.is_empty() || raw.namespace.len() > 255 {
        issues.add("namespace", "must be 1 to 255 characters");
    } else if raw.namespace.starts_with("AWS/") {
        issues.add(
            "namespace",
            "must not start with `AWS/`, which AWS reserves",
        );
    }

    let (event_types, names) = event_types(raw.event_types, issues);
    check_resource_names(&event_types, issues);

    let mut metrics = Vec::new();
    for (i, raw_metric) in raw.metrics.into_iter().enumerate() {
        if let Some(metric) = metric::build(i, raw_metric, &event_types, &names, issues) {
            if metrics
                .iter()
                .any(|m: &super::Metric| m.name == metric.name)
            {
                issues.add(
                    format!("metrics[{i}].name"),
                    format!("duplicate metric name `{}`", metric.name),
                );
            }
            metrics.push(metric);
        }
    }

    let alerting = slos::global(raw.alerting, issues);
    let slos = slos::slos(raw.slos, &alerting, &metrics, issues);
    let sources = super::sources::build(raw.sources, &event_types, &names, &metrics, issues);
    let plans = plan::derive_plans(&event_types, &metrics, issues);
    for (path, message) in crate::cloudwatch_rules::catalog_issues(&raw.namespace, &metrics) {
        issues.add(path, message);
    }
    Catalog {
        namespace: raw.namespace,
        event_types,
        metrics,
        slos,
        alerting,
        sources,
        names,
        plans,
    }
}

fn event_types(raw: Vec<RawEventType>, issues: &mut Issues<'_>) -> (Vec<EventType>, NameMap) {
    let mut names = NameMap::default();
    let mut event_types = Vec::new();
    for (i, raw_type) in raw.into_iter().enumerate() {
        let path = format!("event_types[{i}]");
        if !valid_name(&raw_type.name) {
            issues.add(
                format!("{path}.name"),
                format!(
                    "`{}` is not a valid name (letters, digits, `_`, `-`, `.`)",
                    raw_type.name
                ),
            );
        }
        for (j, name) in std::iter::once(&raw_type.name)
            .chain(&raw_type.aliases)
            .enumerate()
        {
            let at = if j == 0 {
                format!("{path}.name")
            } else {
                format!("{path}.aliases[{}]", j - 1)
            };
            if let Some(&other) = names.get(name) {
                issues.add(
                    at,
                    format!(
                        "duplicate event type name `{name}` (already used by event_types[{other}])"
                    ),
                );
            } else {
                names.insert(name.clone(), i);
            }
        }
        event_types.push(EventType {
            name: raw_type.name,
            aliases: raw_type.aliases,
            description: raw_type.description,
            help_url: raw_type.help_url,
            aggregate_type: raw_type.aggregate_type,
            payload_fields: raw_type.payload_fields,
        });
    }
    (event_types, names)
}

/// Each event type's AWS resources must have a name of their own, short
/// enough for AWS in every environment of [`CHECKED_ENVIRONMENTS`].
fn check_resource_names(types: &[EventType], issues: &mut Issues<'_>) {
    let mut slugs: HashMap<String, usize> = HashMap::new();
    for (i, t) in types.iter().enumerate() {
        let path = format!("event_types[{i}].name");
        let slug = slug(&t.name);
        match slugs.get(&slug) {
            // The same name twice is reported as a duplicate already.
            Some(&other) if types[other].name != t.name => issues.add(
                &path,
                format!(
                    "`{}` and `{}` (event_types[{other}]) both become the resource name `{slug}` (names are lower-cased and split into words with hyphens); rename one",
                    t.name, types[other].name
                ),
            ),
            Some(_) => {}
            None => {
                slugs.insert(slug, i);
            }
        }
        let longest = CHECKED_ENVIRONMENTS
            .iter()
            .map(|env| Deployment::new(env).ingest_function(&t.name).function_name)
            .max_by_key(String::len)
            .unwrap_or_default();
        if longest.len() > MAX_FUNCTION_NAME {
            issues.add(
                &path,
                format!(
                    "its function name `{longest}` is {} characters; AWS takes at most {MAX_FUNCTION_NAME} (environments {}): shorten the event type name",
                    longest.len(),
                    CHECKED_ENVIRONMENTS.join(", ")
                ),
            );
        }
    }
}

/// ` (did you mean `X`?)` when a known name is close to `name`.
pub(super) fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
    let lower = name.to_lowercase();
    known
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}
