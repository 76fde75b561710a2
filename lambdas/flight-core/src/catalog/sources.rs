//! AWS sources (docs/aws-sources.md): service events AWS already puts on
//! EventBridge (AWS Config, Control Tower, Systems Manager), each mapped to
//! the envelope of one or more catalog event types, so that no producer code
//! is needed. What a source holds is [`Source`]; reading and checking it is
//! [`build`]. Paths are checked against the service event's documented shape
//! (the AWS documentation's example events under `events/aws/`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::model::{EventType, Metric};
use super::parse::{suggest, valid_name, Issues};
use super::source_checks::{
    check_pattern, check_when, documented_shapes, pattern_keys, required_fields,
};

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
    names: &super::model::NameMap,
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
