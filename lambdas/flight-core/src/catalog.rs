//! The catalog: event types, metrics and SLOs, from one YAML file.
//!
//! [`Catalog::parse`] reads and validates it; every problem comes back as a
//! [`CatalogIssue`] with the line it is on. [`Catalog::default_catalog`] is
//! `events/catalog.yaml`, embedded at build time.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use crate::yaml::{self, Positions};

/// The default catalog, `events/catalog.yaml`, as built into the binaries.
pub const DEFAULT_CATALOG_YAML: &str = include_str!("../../../events/catalog.yaml");

/// The name the default catalog is reported under.
pub const DEFAULT_CATALOG_NAME: &str = "events/catalog.yaml";

/// The operational metric counting events that arrived too late to be counted.
pub const LATE_EVENTS_METRIC: &str = "LateEvents";

/// The operational metric counting events refused as invalid.
pub const REJECTED_EVENTS_METRIC: &str = "RejectedEvents";

/// CloudWatch's standard units.
pub const CLOUDWATCH_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// A validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// CloudWatch namespace of every metric.
    pub namespace: String,
    pub event_types: Vec<EventType>,
    pub metrics: Vec<Metric>,
    pub slos: Vec<Slo>,
    /// Canonical names and aliases to the index of their event type.
    names: HashMap<String, usize>,
    /// Per event type (same index), what the metrics need of it.
    plans: Vec<TypePlan>,
}

/// A kind of event a producer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    pub name: String,
    pub aliases: Vec<String>,
    pub description: String,
    pub help_url: Option<String>,
    pub aggregate_type: Option<String>,
    /// Payload fields some metric needs; an event without them is rejected.
    pub payload_fields: Vec<String>,
}

/// A measure computed from events.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub description: Option<String>,
    pub kind: MetricKind,
    pub unit: String,
    /// Payload fields that split the measure; they become CloudWatch dimensions.
    pub partition_by: Vec<String>,
    /// The most distinct partitions (CloudWatch series) it may publish; see
    /// [`crate::series_budget`]. Meaningless without `partition_by`.
    pub series_budget: u32,
}

/// How a metric's data points come from events (SPEC §4).
#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    /// For each `end`, `end.time - start.time` from the earliest `start` since the previous `end`.
    Duration { start: String, end: String },
    /// One data point of value 1 per `event`.
    Count { event: String },
    /// At each `end`, how many `counted` events happened since the previous `end`.
    Occurrences { counted: String, end: String },
    /// A number from the payload of `event`.
    Value {
        event: String,
        field: String,
        quantity: Quantity,
    },
    /// `sum(numerator) / sum(denominator) * scale`, from the payload of `event`.
    Ratio {
        event: String,
        numerator: Vec<String>,
        denominator: Vec<String>,
        quantity: Quantity,
        scale: f64,
    },
}

/// How a payload field is read as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// A JSON number or a string holding one.
    Number,
    /// Comma-separated ids (or a JSON array); the quantity is how many. `""` is 0.
    IdList,
}

/// A service level objective on a metric.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    pub name: String,
    pub metric: String,
    /// Percent of values that must be good, in (0, 100].
    pub objective: f64,
    /// The bound a good value respects, in the metric's unit.
    pub threshold: f64,
    pub good_when: GoodWhen,
    /// The window the objective is measured over; also the alarm's period.
    pub window_hours: u32,
    pub severity: Severity,
    #[serde(default)]
    pub description: Option<String>,
}

/// Which side of the threshold is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodWhen {
    AtMost,
    AtLeast,
}

/// Who an SLO alarm notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Page,
    Ticket,
}

/// The part an event type plays in a span metric (duration, occurrences).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Start,
    Counted,
    End,
}

/// What the metrics need of one event type, derived once from the catalog.
#[derive(Debug, Clone, Default)]
pub struct TypePlan {
    /// Metrics for which an event of this type completes a data point.
    pub completes: Vec<usize>,
    /// Span metrics (duration, occurrences) it takes part in, with its role.
    pub spans: Vec<(usize, Role)>,
    /// The partition fields of its timeline, if it takes part in a span metric.
    pub timeline: Option<Vec<String>>,
}

/// A problem found in a catalog, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogIssue {
    /// Path of the offending node, e.g. `metrics[3].start`.
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for CatalogIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{line}:{column}: ")?,
            (Some(line), None) => write!(f, "{line}: ")?,
            _ => {}
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a catalog could not be used: every issue found, in source order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the catalog:\n{}", issues.len(), render(issues))]
pub struct CatalogError {
    pub issues: Vec<CatalogIssue>,
}

impl CatalogError {
    /// The issues, one per line, each prefixed with `source:` (a file name).
    pub fn render_for(&self, source: &str) -> String {
        self.issues
            .iter()
            .map(|issue| format!("{source}:{issue}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn render(issues: &[CatalogIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    namespace: String,
    event_types: Vec<RawEventType>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
    #[serde(default)]
    slos: Vec<Slo>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: String,
    #[serde(default)]
    description: Option<String>,
    kind: RawKind,
    unit: String,
    #[serde(default)]
    partition_by: Vec<String>,
    series_budget: Option<u32>,
    start: Option<String>,
    end: Option<String>,
    event: Option<String>,
    counted: Option<String>,
    field: Option<String>,
    numerator: Option<Vec<String>>,
    denominator: Option<Vec<String>>,
    quantity: Option<Quantity>,
    scale: Option<f64>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum RawKind {
    Duration,
    Count,
    Occurrences,
    Value,
    Ratio,
}

/// Collects issues with their positions.
struct Issues<'a> {
    positions: &'a Positions,
    found: Vec<CatalogIssue>,
}

impl Issues<'_> {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        let position = self.positions.find(&path);
        self.found.push(CatalogIssue {
            line: position.map(|p| p.line),
            column: position.map(|p| p.column),
            path,
            message: message.into(),
        });
    }
}

impl Catalog {
    /// The default catalog (`events/catalog.yaml`, embedded at build time).
    pub fn default_catalog() -> Catalog {
        Catalog::parse(DEFAULT_CATALOG_YAML)
            .expect("events/catalog.yaml is validated by the test suite")
    }

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
        let raw: RawCatalog = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = clean_path(&e.path().to_string());
            let mut issues = Issues {
                positions: &positions,
                found: Vec::new(),
            };
            issues.add(path, e.into_inner().to_string());
            CatalogError {
                issues: issues.found,
            }
        })?;
        let mut issues = Issues {
            positions: &positions,
            found: Vec::new(),
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

    /// The event type named `name`, by its canonical name or an alias.
    pub fn event_type(&self, name: &str) -> Option<&EventType> {
        self.names.get(name).map(|&i| &self.event_types[i])
    }

    /// What the metrics need of the event type with this canonical name.
    pub fn plan(&self, canonical: &str) -> Option<&TypePlan> {
        self.event_types
            .iter()
            .position(|t| t.name == canonical)
            .map(|i| &self.plans[i])
    }

    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Canonical event type names, for error messages.
    pub fn type_names(&self) -> Vec<&str> {
        self.event_types.iter().map(|t| t.name.as_str()).collect()
    }

    /// The event types a metric involves.
    pub fn metric_event_types(metric: &Metric) -> Vec<&str> {
        match &metric.kind {
            MetricKind::Duration { start, end } => vec![start, end],
            MetricKind::Occurrences { counted, end } => vec![counted, end],
            MetricKind::Count { event }
            | MetricKind::Value { event, .. }
            | MetricKind::Ratio { event, .. } => vec![event],
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

fn valid_name(name: &str) -> bool {
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

    let mut names: HashMap<String, usize> = HashMap::new();
    let mut event_types = Vec::new();
    for (i, raw_type) in raw.event_types.into_iter().enumerate() {
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

    let mut metrics: Vec<Metric> = Vec::new();
    for (i, raw_metric) in raw.metrics.into_iter().enumerate() {
        if let Some(metric) = build_metric(i, raw_metric, &event_types, &names, issues) {
            if metrics.iter().any(|m| m.name == metric.name) {
                issues.add(
                    format!("metrics[{i}].name"),
                    format!("duplicate metric name `{}`", metric.name),
                );
            }
            metrics.push(metric);
        }
    }

    let mut slo_names: Vec<&str> = Vec::new();
    for (i, slo) in raw.slos.iter().enumerate() {
        let path = format!("slos[{i}]");
        if slo_names.contains(&slo.name.as_str()) {
            issues.add(
                format!("{path}.name"),
                format!("duplicate SLO name `{}`", slo.name),
            );
        }
        slo_names.push(&slo.name);
        if !metrics.iter().any(|m| m.name == slo.metric) {
            issues.add(
                format!("{path}.metric"),
                format!(
                    "unknown metric `{}`{}",
                    slo.metric,
                    suggest(&slo.metric, metrics.iter().map(|m| m.name.as_str()))
                ),
            );
        }
        if !(slo.objective > 0.0 && slo.objective <= 100.0) {
            issues.add(
                format!("{path}.objective"),
                "must be a percentage above 0 and at most 100",
            );
        }
        if !slo.threshold.is_finite() {
            issues.add(format!("{path}.threshold"), "must be a finite number");
        }
        if !(1..=168).contains(&slo.window_hours) {
            issues.add(
                format!("{path}.window_hours"),
                "must be 1 to 168 (CloudWatch alarms evaluate at most 7 days)",
            );
        }
    }

    let plans = derive_plans(&event_types, &metrics, issues);
    for (path, message) in crate::cloudwatch_rules::catalog_issues(&raw.namespace, &metrics) {
        issues.add(path, message);
    }
    Catalog {
        namespace: raw.namespace,
        event_types,
        metrics,
        slos: raw.slos,
        names,
        plans,
    }
}

fn build_metric(
    i: usize,
    raw: RawMetric,
    types: &[EventType],
    names: &HashMap<String, usize>,
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
    if raw.name == LATE_EVENTS_METRIC || raw.name == REJECTED_EVENTS_METRIC {
        issues.add(
            format!("{path}.name"),
            format!(
                "`{}` is reserved for Flight Controller's own operational metrics",
                raw.name
            ),
        );
    }
    if !CLOUDWATCH_UNITS.contains(&raw.unit.as_str()) {
        issues.add(
            format!("{path}.unit"),
            format!(
                "`{}` is not a CloudWatch unit{}",
                raw.unit,
                suggest(&raw.unit, CLOUDWATCH_UNITS.iter().copied())
            ),
        );
    }
    let required_unit = match raw.kind {
        RawKind::Duration => Some("Seconds"),
        RawKind::Count | RawKind::Occurrences => Some("Count"),
        RawKind::Value | RawKind::Ratio => None,
    };
    if let Some(unit) = required_unit {
        if raw.unit != unit && CLOUDWATCH_UNITS.contains(&raw.unit.as_str()) {
            issues.add(
                format!("{path}.unit"),
                format!("a {:?} metric is measured in {unit}", raw.kind).to_lowercase(),
            );
        }
    }

    // Which kind-specific fields this kind takes, and which it must not have.
    let allowed: &[&str] = match raw.kind {
        RawKind::Duration => &["start", "end"],
        RawKind::Count => &["event"],
        RawKind::Occurrences => &["counted", "end"],
        RawKind::Value => &["event", "field", "quantity"],
        RawKind::Ratio => &["event", "numerator", "denominator", "quantity", "scale"],
    };
    let present = [
        ("start", raw.start.is_some()),
        ("end", raw.end.is_some()),
        ("event", raw.event.is_some()),
        ("counted", raw.counted.is_some()),
        ("field", raw.field.is_some()),
        ("numerator", raw.numerator.is_some()),
        ("denominator", raw.denominator.is_some()),
        ("quantity", raw.quantity.is_some()),
        ("scale", raw.scale.is_some()),
    ];
    for (key, is_present) in present {
        if is_present && !allowed.contains(&key) {
            issues.add(
                format!("{path}.{key}"),
                format!(
                    "`{key}` does not apply to a {:?} metric (it takes {})",
                    raw.kind,
                    allowed.join(", ")
                )
                .replace(&format!("{:?}", raw.kind), &kind_name(raw.kind)),
            );
        }
    }

    let mut missing = false;
    let mut event_ref = |key: &str, value: &Option<String>, issues: &mut Issues<'_>| -> String {
        let Some(name) = value else {
            issues.add(
                path.clone(),
                format!("a {} metric needs `{key}`", kind_name(raw.kind)),
            );
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
    let kind = match raw.kind {
        RawKind::Duration => {
            let start = event_ref("start", &raw.start, issues);
            let end = event_ref("end", &raw.end, issues);
            if !start.is_empty() && start == end {
                issues.add(
                    format!("{path}.end"),
                    "start and end must be different event types",
                );
            }
            MetricKind::Duration { start, end }
        }
        RawKind::Occurrences => {
            let counted = event_ref("counted", &raw.counted, issues);
            let end = event_ref("end", &raw.end, issues);
            if !counted.is_empty() && counted == end {
                issues.add(
                    format!("{path}.end"),
                    "counted and end must be different event types",
                );
            }
            MetricKind::Occurrences { counted, end }
        }
        RawKind::Count => MetricKind::Count {
            event: event_ref("event", &raw.event, issues),
        },
        RawKind::Value => {
            let event = event_ref("event", &raw.event, issues);
            let field = raw.field.clone().unwrap_or_default();
            if raw.field.is_none() {
                issues.add(path.clone(), "a value metric needs `field`");
            }
            MetricKind::Value {
                event,
                field,
                quantity: raw.quantity.unwrap_or(Quantity::Number),
            }
        }
        RawKind::Ratio => {
            let event = event_ref("event", &raw.event, issues);
            for (key, list) in [
                ("numerator", &raw.numerator),
                ("denominator", &raw.denominator),
            ] {
                if list.as_ref().is_none_or(Vec::is_empty) {
                    issues.add(
                        path.clone(),
                        format!("a ratio metric needs a non-empty `{key}` list of payload fields"),
                    );
                }
            }
            let scale = raw.scale.unwrap_or(1.0);
            if !scale.is_finite() || scale == 0.0 {
                issues.add(format!("{path}.scale"), "must be a finite, non-zero number");
            }
            MetricKind::Ratio {
                event,
                numerator: raw.numerator.clone().unwrap_or_default(),
                denominator: raw.denominator.clone().unwrap_or_default(),
                quantity: raw.quantity.unwrap_or(Quantity::Number),
                scale,
            }
        }
    };
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

    // Every field the metric reads must be declared by each event type it involves.
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
        .chain(value_fields(&metric).into_iter().map(|f| (path.clone(), f)))
        .collect();
    for type_name in Catalog::metric_event_types(&metric) {
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
    Some(metric)
}

/// The payload fields a value or ratio metric reads.
pub(crate) fn value_fields(metric: &Metric) -> Vec<&String> {
    match &metric.kind {
        MetricKind::Value { field, .. } => vec![field],
        MetricKind::Ratio {
            numerator,
            denominator,
            ..
        } => {
            let mut fields: Vec<&String> = numerator.iter().chain(denominator).collect();
            fields.sort();
            fields.dedup();
            fields
        }
        _ => Vec::new(),
    }
}

fn kind_name(kind: RawKind) -> String {
    format!("{kind:?}").to_lowercase()
}

/// Derives each event type's plan, and checks that span metrics sharing an
/// event type agree on its partition fields: each event sits on one timeline.
fn derive_plans(types: &[EventType], metrics: &[Metric], issues: &mut Issues<'_>) -> Vec<TypePlan> {
    let mut plans = vec![TypePlan::default(); types.len()];
    let mut timeline_owner: BTreeMap<usize, usize> = BTreeMap::new();
    for (m, metric) in metrics.iter().enumerate() {
        let index = |name: &str| types.iter().position(|t| t.name == name);
        let (completer, roles): (Option<usize>, Vec<(Option<usize>, Role)>) = match &metric.kind {
            MetricKind::Duration { start, end } => (
                index(end),
                vec![(index(start), Role::Start), (index(end), Role::End)],
            ),
            MetricKind::Occurrences { counted, end } => (
                index(end),
                vec![(index(counted), Role::Counted), (index(end), Role::End)],
            ),
            MetricKind::Count { event }
            | MetricKind::Value { event, .. }
            | MetricKind::Ratio { event, .. } => (index(event), Vec::new()),
        };
        if let Some(t) = completer {
            plans[t].completes.push(m);
        }
        for (t, role) in roles {
            let Some(t) = t else { continue };
            plans[t].spans.push((m, role));
            match &plans[t].timeline {
                None => {
                    plans[t].timeline = Some(metric.partition_by.clone());
                    timeline_owner.insert(t, m);
                }
                Some(fields) if *fields != metric.partition_by => {
                    let owner = &metrics[timeline_owner[&t]];
                    issues.add(
                        format!("metrics[{m}].partition_by"),
                        format!(
                            "event type `{}` already takes part in `{}` partitioned by [{}]; duration and occurrences metrics that share an event type must use the same partition_by, because each event sits on one timeline",
                            types[t].name,
                            owner.name,
                            owner.partition_by.join(", ")
                        ),
                    );
                }
                Some(_) => {}
            }
        }
    }
    plans
}

/// ` (did you mean `X`?)` when a known name is close to `name`.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> String {
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

#[cfg(test)]
mod tests {
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
            "{BASE}metrics:\n  - name: A\n    kind: count\n    event: Opened\n    unit: Count\nslos:\n  - name: s\n    metric: B\n    objective: 120\n    threshold: 1\n    good_when: at_most\n    window_hours: 500\n    severity: page\n"
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
}
