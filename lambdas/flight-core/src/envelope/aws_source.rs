//! AWS service events to envelope events (docs/aws-sources.md): a service
//! event (its `source` starts with `aws.`) is matched against the catalog's
//! sources, and each emit whose `when` holds becomes an envelope event that
//! the envelope parser then validates like any producer's event. An AWS
//! event no source maps, or one missing a field its mapping reads, is
//! rejected naming the field.

use serde_json::{json, Map, Value};

use super::fields::content_id;
use super::{Event, Rejection};
use crate::catalog::sources::{matches, Emit, FieldPath, Mapped, Source};
use crate::catalog::Catalog;
use crate::rejection::{describe, reject};
use crate::time::{format_time, parse_service_time};

impl Event {
    /// Every event an EventBridge event becomes: one for a producer's event,
    /// one per applicable emit for an AWS service event.
    pub fn all_from_eventbridge(event: &Value, catalog: &Catalog) -> Result<Vec<Event>, Rejection> {
        let Some(source) = service_source(event, catalog) else {
            return Event::from_envelope(event, catalog).map(|e| vec![e]);
        };
        let source = source?;
        let events = source
            .emits
            .iter()
            .filter(|emit| selected(emit, event))
            .map(|emit| map_emit(source, emit, event, catalog))
            .collect::<Result<Vec<_>, _>>()?;
        nonempty(events, source, event)
    }

    /// The event an EventBridge event becomes for the function serving
    /// `serves` (an event type name), or, with `None`, its only event.
    pub fn from_eventbridge_serving(
        event: &Value,
        catalog: &Catalog,
        serves: Option<&str>,
    ) -> Result<Event, Rejection> {
        let Some(source) = service_source(event, catalog) else {
            return Event::from_envelope(event, catalog);
        };
        let source = source?;
        let serves = serves.map(|s| catalog.event_type(s).map_or(s, |t| t.name.as_str()));
        let emits: Vec<&Emit> = source
            .emits
            .iter()
            .filter(|emit| serves.is_none_or(|s| s == emit.event_type) && selected(emit, event))
            .collect();
        match emits.as_slice() {
            [emit] => map_emit(source, emit, event, catalog),
            [] if serves.is_some() => Err(reject(
                "source",
                format!(
                    "source {} maps this event to no `{}` event; check the EventBridge rule's pattern",
                    source.name,
                    serves.unwrap_or_default()
                ),
            )),
            [] => Err(unselected(source, event)),
            _ => Err(reject(
                "source",
                format!(
                    "source {} maps this event to {} events; read it with all_from_eventbridge",
                    source.name,
                    emits.len()
                ),
            )),
        }
    }
}

/// `None` for a producer's event; the source that maps an AWS service event,
/// or why none does.
fn service_source<'a>(
    event: &Value,
    catalog: &'a Catalog,
) -> Option<Result<&'a Source, Rejection>> {
    let source = event.get("source").and_then(Value::as_str)?;
    if !source.starts_with("aws.") {
        return None;
    }
    Some(
        catalog
            .sources
            .iter()
            .find(|s| matches(&s.pattern, event))
            .ok_or_else(|| {
                let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or("");
                let names: Vec<&str> = catalog.sources.iter().map(|s| s.name.as_str()).collect();
                reject(
                    "source",
                    format!(
                        "no catalog source maps `{source}` events of detail-type `{detail_type}` like this one (sources: {})",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                )
            }),
    )
}

fn selected(emit: &Emit, event: &Value) -> bool {
    emit.when
        .as_ref()
        .is_none_or(|w| w.field.read(event).and_then(Value::as_str) == Some(w.equals.as_str()))
}

fn nonempty(events: Vec<Event>, source: &Source, event: &Value) -> Result<Vec<Event>, Rejection> {
    if events.is_empty() {
        Err(unselected(source, event))
    } else {
        Ok(events)
    }
}

/// Why no emit of `source` applies: the selecting field is missing, or has a value none maps.
fn unselected(source: &Source, event: &Value) -> Rejection {
    let Some(field) = source
        .emits
        .iter()
        .find_map(|e| e.when.as_ref().map(|w| &w.field))
    else {
        return reject(
            "source",
            format!("source {} emits nothing for this event", source.name),
        );
    };
    let choices: Vec<String> = source
        .emits
        .iter()
        .filter_map(|e| {
            e.when
                .as_ref()
                .map(|w| format!("{} → {}", w.equals, e.event_type))
        })
        .collect();
    let found = match field.read(event) {
        None => "missing".to_string(),
        Some(Value::String(s)) => format!("`{s}` maps to no event type"),
        Some(other) => format!("expected a string, got {}", describe(other)),
    };
    reject(
        field.field(),
        format!(
            "{found}; source {} chooses the event type by it ({})",
            source.name,
            choices.join(", ")
        ),
    )
}

/// The envelope event one emit makes of `event`, validated.
fn map_emit(
    source: &Source,
    emit: &Emit,
    event: &Value,
    catalog: &Catalog,
) -> Result<Event, Rejection> {
    let what = |purpose: &str| format!("source {} takes {purpose} from it", source.name);
    let aggregate_id = joined(&emit.aggregate_id, event, &what("the aggregate id"))?;
    let time_path = &emit.time;
    let time_value = time_path.read(event).ok_or_else(|| {
        reject(
            time_path.field(),
            format!("missing; {}", what("the event time")),
        )
    })?;
    let time = parse_service_time(&time_path.field(), time_value)?;
    let detail = event.get("detail").cloned().unwrap_or(Value::Null);
    let event_id = match &emit.event_id {
        Some(paths) => joined(paths, event, &what("the event id"))?,
        None => {
            let mut keyed = Map::new();
            keyed.insert("source".into(), json!(source.name));
            keyed.insert("detail".into(), detail);
            content_id(&keyed, Some(&emit.event_type))
        }
    };
    let mut payload = Map::new();
    for (field, mapped) in &emit.payload {
        let value = match mapped {
            Mapped::Constant(text) => json!(text),
            Mapped::Path(path) => path.read(event).cloned().ok_or_else(|| {
                reject(
                    path.field(),
                    format!("missing; {}", what(&format!("payload `{field}`"))),
                )
            })?,
        };
        payload.insert(field.clone(), value);
    }
    // A test run's mark (put by `flightctl test-run`, never by AWS) is kept.
    if let Some(run) = event
        .get("detail")
        .and_then(|d| d.get(super::TEST_RUN_ID_FIELD))
    {
        payload.insert(super::TEST_RUN_ID_FIELD.into(), run.clone());
    }
    let mut envelope = event.as_object().cloned().unwrap_or_default();
    envelope.insert(
        "detail".into(),
        json!({
            "event_type": emit.event_type,
            "event_id": event_id,
            "aggregate_id": aggregate_id,
            "time": format_time(time),
            "payload": payload,
        }),
    );
    Event::from_envelope(&Value::Object(envelope), catalog)
}

/// The values at `paths`, joined with `/`; each must be a string or a number.
fn joined(paths: &[FieldPath], event: &Value, purpose: &str) -> Result<String, Rejection> {
    let parts = paths
        .iter()
        .map(|path| match path.read(event) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            None => Err(reject(path.field(), format!("missing; {purpose}"))),
            Some(other) => Err(reject(
                path.field(),
                format!(
                    "expected a non-empty string, got {}; {purpose}",
                    describe(other)
                ),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join("/"))
}
