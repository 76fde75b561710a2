//! AWS sources (docs/aws-sources.md): service events AWS already puts on
//! EventBridge (AWS Config, Control Tower, Systems Manager), each mapped to
//! the envelope of one or more catalog event types, so that no producer code
//! is needed. What a source holds is [`Source`]; reading and checking it is
//! [`build`]. Paths are checked against the service event's documented shape
//! (the AWS documentation's example events under `events/aws/`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::model::{EventType, Metric};
use super::parse::{suggest, valid_name, Issues};

/// A kind of AWS service event and the events of the catalog it becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub name: String,
    pub description: Option<String>,
    /// Where AWS documents the service event.
    pub documentation: Option<String>,
    /// The EventBridge pattern every service event of this source matches
    /// (exact string values only, so it can be checked without EventBridge).
    pub pattern: Value,
    /// What one service event becomes: each emit whose `when` holds gives an event.
    pub emits: Vec<Emit>,
}

/// One event a service event becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    /// Canonical name of the catalog event type.
    pub event_type: String,
    /// The field whose value selects this emit, if it is selected by one.
    pub when: Option<When>,
    /// The aggregate id: the values at these paths joined with `/`.
    pub aggregate_id: Vec<FieldPath>,
    /// When it happened.
    pub time: FieldPath,
    /// The event id; `None`: a hash of the service event's detail and the event type.
    pub event_id: Option<Vec<FieldPath>>,
    /// Payload fields, each from a path or a constant.
    pub payload: BTreeMap<String, Mapped>,
}

/// A condition on one field of the service event: it equals a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    pub field: FieldPath,
    pub equals: String,
}

/// A payload value: read from the service event, or a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    Path(FieldPath),
    Constant(String),
}

/// A path into the service event, written `$.detail.newEvaluationResult.complianceType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// The keys from the top of the event: `["detail", "newEvaluationResult", ...]`.
    pub keys: Vec<String>,
}

impl FieldPath {
    /// Reads `$.a.b.c`; `None` when it is not such a path.
    pub fn parse(text: &str) -> Option<FieldPath> {
        let keys: Vec<String> = text
            .strip_prefix("$.")?
            .split('.')
            .map(String::from)
            .collect();
        keys.iter()
            .all(|k| !k.is_empty())
            .then_some(FieldPath { keys })
    }

    /// The field as rejections name it: `detail.newEvaluationResult.complianceType`.
    pub fn field(&self) -> String {
        self.keys.join(".")
    }

    /// The value at this path in `event`, if there is one (null counts as none).
    pub fn read<'a>(&self, event: &'a Value) -> Option<&'a Value> {
        self.keys
            .iter()
            .try_fold(event, |value, key| value.get(key))
            .filter(|value| !value.is_null())
    }
}

/// The top-level keys of an EventBridge event.
const EVENT_KEYS: &[&str] = &[
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
];

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    documentation: Option<String>,
    pattern: Value,
    #[serde(default)]
    aggregate_id: Option<OneOrMany>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    event_id: Option<OneOrMany>,
    #[serde(default)]
    payload: BTreeMap<String, String>,
    events: Vec<RawEmit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmit {
    event_type: String,
    #[serde(default)]
    when: Option<RawWhen>,
    #[serde(default)]
    aggregate_id: Option<OneOrMany>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    payload: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    field: String,
    equals: String,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// Checks the `sources` section; every problem is an issue with its path.
pub(super) fn build(
    raw: Vec<RawSource>,
    types: &[EventType],
    names: &HashMap<String, usize>,
    metrics: &[Metric],
    issues: &mut Issues<'_>,
) -> Vec<Source> {
    let shapes = documented_shapes();
    let mut sources: Vec<Source> = Vec::new();
    for (i, raw) in raw.into_iter().enumerate() {
        let at = format!("sources[{i}]");
        if !valid_name(&raw.name) {
            issues.add(
                format!("{at}.name"),
                format!(
                    "`{}` is not a valid name (letters, digits, `_`, `-`, `.`)",
                    raw.name
                ),
            );
        }
        if sources.iter().any(|s| s.name == raw.name) {
            issues.add(
                format!("{at}.name"),
                format!("duplicate source name `{}`", raw.name),
            );
        }
        check_pattern(&raw.pattern, &format!("{at}.pattern"), issues);
        let known: Vec<&BTreeSet<String>> = pattern_keys(&raw.pattern)
            .iter()
            .filter_map(|key| shapes.get(key))
            .collect();
        let path = |text: &str, where_: String, issues: &mut Issues<'_>| -> Option<FieldPath> {
            let Some(path) =
                FieldPath::parse(text).filter(|p| EVENT_KEYS.contains(&p.keys[0].as_str()))
            else {
                issues.add(
                    where_,
                    format!("`{text}` is not a path into an EventBridge event (`$.detail.field`, `$.account`, ...)"),
                );
                return None;
            };
            for shape in &known {
                if !shape.contains(text) {
                    issues.add(
                        where_.clone(),
                        format!(
                            "`{text}` cannot exist in the documented shape of these events{}",
                            suggest(text, shape.iter().map(String::as_str))
                        ),
                    );
                    break;
                }
            }
            Some(path)
        };
        let paths = |ids: &OneOrMany, at: String, issues: &mut Issues<'_>| -> Vec<FieldPath> {
            ids.items()
                .iter()
                .filter_map(|t| path(t, at.clone(), issues))
                .collect()
        };
        let mapped = |fields: &BTreeMap<String, String>, at: &str, issues: &mut Issues<'_>| {
            let mut payload = BTreeMap::new();
            for (field, text) in fields {
                let value = if text.starts_with("$.") {
                    match path(text, format!("{at}.payload.{field}"), issues) {
                        Some(p) => Mapped::Path(p),
                        None => continue,
                    }
                } else {
                    Mapped::Constant(text.clone())
                };
                payload.insert(field.clone(), value);
            }
            payload
        };
        // The source's mapping, which each emit may override key by key.
        let aggregate_id = raw
            .aggregate_id
            .as_ref()
            .map(|ids| paths(ids, format!("{at}.aggregate_id"), issues));
        let time = raw
            .time
            .as_ref()
            .map(|t| path(t, format!("{at}.time"), issues));
        let event_id = raw
            .event_id
            .as_ref()
            .map(|ids| paths(ids, format!("{at}.event_id"), issues));
        let payload = mapped(&raw.payload, &at, issues);
        let mut emits = Vec::new();
        for (j, emit) in raw.events.iter().enumerate() {
            let eat = format!("{at}.events[{j}]");
            let Some(&index) = names.get(&emit.event_type) else {
                issues.add(
                    format!("{eat}.event_type"),
                    format!(
                        "unknown event type `{}`{}",
                        emit.event_type,
                        suggest(&emit.event_type, types.iter().map(|t| t.name.as_str()))
                    ),
                );
                continue;
            };
            let event_type = types[index].name.clone();
            let when = emit.when.as_ref().and_then(|w| {
                let field = path(&w.field, format!("{eat}.when.field"), issues)?;
                check_when(&raw.pattern, &field, &format!("{eat}.when.field"), issues);
                Some(When {
                    field,
                    equals: w.equals.clone(),
                })
            });
            let aggregate_id = match &emit.aggregate_id {
                Some(ids) => paths(ids, format!("{eat}.aggregate_id"), issues),
                None => aggregate_id.clone().unwrap_or_default(),
            };
            if aggregate_id.is_empty() && emit.aggregate_id.is_none() && raw.aggregate_id.is_none()
            {
                issues.add(
                    eat.clone(),
                    "no `aggregate_id`: give it here or on the source",
                );
            }
            let time = match &emit.time {
                Some(t) => path(t, format!("{eat}.time"), issues),
                None if time.is_none() => {
                    issues.add(eat.clone(), "no `time`: give it here or on the source");
                    None
                }
                None => time.clone().flatten(),
            };
            let mut payload = payload.clone();
            payload.extend(mapped(&emit.payload, &eat, issues));
            for field in required_fields(&types[index], metrics) {
                if !payload.contains_key(&field) {
                    issues.add(
                        eat.clone(),
                        format!("leaves `{field}` empty, which {event_type} events must carry: map it in `payload`"),
                    );
                }
            }
            if emit.when.is_none()
                && emits
                    .iter()
                    .any(|e: &Emit| e.event_type == event_type && e.when.is_none())
            {
                issues.add(
                    format!("{eat}.event_type"),
                    format!("{event_type} is emitted twice by every event of this source"),
                );
            }
            if let Some(time) = time {
                emits.push(Emit {
                    event_type,
                    when,
                    aggregate_id,
                    time,
                    event_id: event_id.clone(),
                    payload,
                });
            }
        }
        if raw.events.is_empty() {
            issues.add(
                format!("{at}.events"),
                "a source must emit at least one event type",
            );
        }
        sources.push(Source {
            name: raw.name,
            description: raw.description,
            documentation: raw.documentation,
            pattern: raw.pattern,
            emits,
        });
    }
    sources
}

/// The payload fields an event type's events must carry: its `payload_fields`,
/// and the partition and value fields of the metrics it takes part in.
fn required_fields(t: &EventType, metrics: &[Metric]) -> BTreeSet<String> {
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
fn check_pattern(pattern: &Value, at: &str, issues: &mut Issues<'_>) {
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

fn check_leaves(value: &Value, at: &str, issues: &mut Issues<'_>) {
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
fn check_when(pattern: &Value, field: &FieldPath, at: &str, issues: &mut Issues<'_>) {
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
fn pattern_keys(pattern: &Value) -> Vec<(String, String)> {
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
fn documented_shapes() -> HashMap<(String, String), BTreeSet<String>> {
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

/// Whether `event` matches `pattern` (exact string values, nested objects;
/// an array in the event matches when one of its items does).
pub fn matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(map) => map
            .iter()
            .all(|(key, inner)| event.get(key).is_some_and(|value| matches(inner, value))),
        Value::Array(allowed) => match event {
            Value::Array(items) => items.iter().any(|item| allowed.contains(item)),
            Value::Object(_) | Value::Null => false,
            scalar => allowed.contains(scalar),
        },
        _ => false,
    }
}
