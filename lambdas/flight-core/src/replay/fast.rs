//! Replay's fast path: a PutEvents entry read straight into the [`Event`]
//! the functions would build, without the JSON values in between (the entry,
//! the envelope event, the detail).
//!
//! It takes only the common shape: an entry of `Source` (not an AWS service
//! event), `DetailType`, `Detail` (text), and optionally `Time`,
//! `EventBusName` and `Resources`, whose detail holds `event_id`, `event_type`, `aggregate_id`,
//! `time`, optionally `aggregate_type` (text), `payload` (an object) and
//! payload fields beside them, and no other envelope field. For that shape it builds the event as
//! [`Event::from_eventbridge`] does and applies the same checks
//! ([`Event::check`]). Anything else, and anything the checks refuse, goes
//! the slow path ([`replay_event`](super::replay_event)) with the entry
//! rebuilt as the JSON value it was, so accepted events and rejections
//! (their messages too) are those of the slow path by construction; the
//! tests in `tests/replay_fast.rs` compare the two over the corpora.

use std::borrow::Cow;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::envelope::{is_accepted_id, parse_time, Event, Millis};
use crate::time::parse_time_text;

/// One PutEvents entry as read: an object's fields in order, text kept as
/// text (borrowed from the input when it has no escapes).
pub enum RawEntry<'a> {
    /// An object: its fields, in the order of the input.
    Object(Vec<(Cow<'a, str>, Field<'a>)>),
    /// Anything else (the slow path rejects it).
    Other(Value),
}

/// A field's value: text, or any other JSON value.
pub enum Field<'a> {
    Text(Cow<'a, str>),
    Other(Value),
}

impl Field<'_> {
    fn into_value(self) -> Value {
        match self {
            Field::Text(text) => Value::String(text.into_owned()),
            Field::Other(value) => value,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Field::Text(text) => Some(text),
            Field::Other(_) => None,
        }
    }
}

impl RawEntry<'_> {
    /// The entry as the JSON value the slow path reads (a repeated key: the
    /// last one, as `serde_json` keeps it).
    pub fn into_value(self) -> Value {
        match self {
            RawEntry::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(key, value)| (key.into_owned(), value.into_value()))
                    .collect(),
            ),
            RawEntry::Other(value) => value,
        }
    }
}

/// The events of the `ordinal`-th entry (0-based, over all files), as
/// [`replay_event`](super::replay_event) gives them for the entry's value.
pub fn entry_events(
    catalog: &Catalog,
    entry: RawEntry<'_>,
    ordinal: usize,
    now: Millis,
) -> Result<Vec<Event>, String> {
    if let Some(event) = fast_event(catalog, &entry) {
        return Ok(vec![event]);
    }
    super::replay_event(catalog, &entry.into_value(), ordinal, now)
}

/// The event of an entry of the common shape (module documentation) that
/// passes every check; `None` for anything else.
pub fn fast_event(catalog: &Catalog, entry: &RawEntry<'_>) -> Option<Event> {
    let RawEntry::Object(fields) = entry else {
        return None;
    };
    let (mut source, mut detail_type, mut detail) = (None, None, None);
    let (mut bus, mut resources, mut time) = (false, false, false);
    for (key, value) in fields {
        let slot = match key.as_ref() {
            "Source" => &mut source,
            "DetailType" => &mut detail_type,
            "Detail" => &mut detail,
            // Read (a wrong one is refused) but not used: the detail's time comes first.
            "Time" if !time => {
                time = true;
                match value {
                    Field::Other(Value::Null) => {}
                    Field::Other(other) => _ = parse_time("Time", other).ok()?,
                    Field::Text(text) => _ = parse_time_text("Time", text).ok()?,
                }
                continue;
            }
            "EventBusName" if !bus => {
                bus = true;
                continue;
            }
            "Resources" if !resources => {
                resources = true;
                continue;
            }
            _ => return None,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(value.text()?);
    }
    detail_type?;
    common_event(catalog, source?, detail?)
}

/// The event of an entry of the common shape from `source` with this
/// detail text; `None` for anything else ([`fast_event`]'s rules).
pub(super) fn common_event(catalog: &Catalog, source: &str, detail: &str) -> Option<Event> {
    if source.starts_with("aws.") {
        return None;
    }
    let detail: Detail = serde_json::from_str(detail).ok()?;
    let event_type = catalog.event_type(detail.event_type?.as_ref())?;
    let event_id = id(detail.event_id?)?;
    let aggregate_id = id(detail.aggregate_id?)?;
    let aggregate_type = match detail.aggregate_type {
        Some(text) => Some(text.into_owned()),
        None => event_type.aggregate_type.clone(),
    };
    let time = match detail.time? {
        Field::Text(text) => parse_time_text("detail.time", &text),
        Field::Other(Value::Null) => return None,
        Field::Other(other) => parse_time("detail.time", &other),
    }
    .ok()?;
    let mut payload = detail.payload.unwrap_or_default();
    for (key, value) in detail.extra {
        payload.entry(key).or_insert(value);
    }
    let event = Event {
        event_id,
        event_type: event_type.name.clone(),
        event_version: 1,
        aggregate_id,
        aggregate_type,
        aggregate_version: None,
        time,
        payload,
    };
    event.check(catalog).ok()?;
    Some(event)
}

/// An id as the envelope accepts it ([`is_accepted_id`]).
fn id(text: Cow<'_, str>) -> Option<String> {
    is_accepted_id(&text).then(|| text.into_owned())
}

/// A detail of the common shape; reading fails on anything else.
#[derive(Default)]
struct Detail<'a> {
    event_id: Option<Cow<'a, str>>,
    event_type: Option<Cow<'a, str>>,
    aggregate_id: Option<Cow<'a, str>>,
    aggregate_type: Option<Cow<'a, str>>,
    time: Option<Field<'a>>,
    payload: Option<Map<String, Value>>,
    /// Fields beside the envelope's: payload too.
    extra: Vec<(String, Value)>,
}

/// Why a detail is not of the common shape (the slow path then reads it).
const UNUSUAL: &str = "not the fast path's shape";

impl<'de> Deserialize<'de> for Detail<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Detail<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a detail object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Detail<'de>, A::Error> {
                let mut detail = Detail::default();
                while let Some(Text(key)) = map.next_key::<Text>()? {
                    let slot = match key.as_ref() {
                        "event_id" => &mut detail.event_id,
                        "event_type" => &mut detail.event_type,
                        "aggregate_id" => &mut detail.aggregate_id,
                        "aggregate_type" => &mut detail.aggregate_type,
                        "time" if detail.time.is_none() => {
                            detail.time = Some(map.next_value()?);
                            continue;
                        }
                        "payload" if detail.payload.is_none() => {
                            detail.payload = Some(map.next_value()?);
                            continue;
                        }
                        "time" | "payload" | "event_version" | "aggregate_version"
                        | "correlation_id" | "timestamp" => return Err(de::Error::custom(UNUSUAL)),
                        key => {
                            if detail.extra.iter().any(|(k, _)| k == key) {
                                return Err(de::Error::custom(UNUSUAL));
                            }
                            detail.extra.push((key.to_string(), map.next_value()?));
                            continue;
                        }
                    };
                    match map.next_value::<Field>()? {
                        Field::Text(text) if slot.is_none() => *slot = Some(text),
                        _ => return Err(de::Error::custom(UNUSUAL)),
                    }
                }
                Ok(detail)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// Text, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Field::deserialize(deserializer)? {
            Field::Text(text) => Ok(Text(text)),
            Field::Other(_) => Err(de::Error::custom("expected text")),
        }
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyField)
    }
}

/// Reads a [`Field`]: text as text, any other value as `serde_json` reads it.
struct AnyField;

impl<'de> Visitor<'de> for AnyField {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
        // As `Value` reads it: a number, or null for what JSON cannot hold.
        Ok(Field::Other(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Other(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field<'de>, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Field::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field<'de>, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Field::Other)
    }
}

impl<'de> Deserialize<'de> for RawEntry<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = RawEntry<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntry<'de>, A::Error> {
                let mut fields = Vec::with_capacity(4);
                while let Some(Text(key)) = map.next_key::<Text>()? {
                    fields.push((key, map.next_value::<Field>()?));
                }
                Ok(RawEntry::Object(fields))
            }
        }
        // Any other value: read as `Field` reads it.
        struct Any;
        impl<'de> Visitor<'de> for Any {
            type Value = RawEntry<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEntry<'de>, A::Error> {
                Entry.visit_map(map)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawEntry<'de>, A::Error> {
                AnyField.visit_seq(seq).map(other)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<RawEntry<'de>, E> {
                AnyField.visit_borrowed_str(v).map(other)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawEntry<'de>, E> {
                AnyField.visit_str(v).map(other)
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RawEntry<'de>, E> {
                AnyField.visit_string(v).map(other)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawEntry<'de>, E> {
                AnyField.visit_bool(v).map(other)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawEntry<'de>, E> {
                AnyField.visit_i64(v).map(other)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawEntry<'de>, E> {
                AnyField.visit_u64(v).map(other)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawEntry<'de>, E> {
                AnyField.visit_f64(v).map(other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawEntry<'de>, E> {
                AnyField.visit_unit().map(other)
            }
        }
        fn other(field: Field<'_>) -> RawEntry<'_> {
            RawEntry::Other(field.into_value())
        }
        deserializer.deserialize_any(Any)
    }
}
