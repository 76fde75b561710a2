//! Replay's held events: what the engine reads of an [`Event`] (its type,
//! aggregate, id, time and payload, [`EventFacts`]), in a compact form, so
//! that a long aggregate (or, in memory, a whole file) fits in a small
//! machine. Types and aggregate ids are shared between the events that
//! have the same (one copy per run of equal ids, which is every event of an
//! aggregate when the input is grouped), payloads between the events that
//! carry the same one: about 100 bytes an event instead of about 1 KiB.
//!
//! A detail read where it lies ([`super::detail`]) is held without an
//! [`Event`] in between: its payload is shared by its bytes, so an equal
//! payload is parsed once, and checked once per event type (the checks,
//! [`Event::check`], read the event's type and payload only).

use std::collections::HashMap;
use std::rc::Rc;

use compact_str::CompactString;

use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::engine::EventFacts;
use crate::envelope::{is_accepted_id, Event, Millis};
use crate::time::parse_time_text;

use super::detail::{unescape_payload, Detail};

/// An event as replay holds it until its aggregate is measured.
#[derive(Debug, Clone)]
pub struct Held {
    /// Inline up to 24 bytes (most ids): no allocation of its own.
    event_id: CompactString,
    event_type: Rc<str>,
    aggregate_id: Rc<str>,
    time: Millis,
    payload: Rc<Map<String, Value>>,
}

impl Held {
    /// Whether `other` is of the same aggregate (at once when the id is shared).
    pub(super) fn same_aggregate(&self, other: &Held) -> bool {
        Rc::ptr_eq(&self.aggregate_id, &other.aggregate_id)
            || self.aggregate_id == other.aggregate_id
    }
}

impl EventFacts for Held {
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn aggregate_id(&self) -> &str {
        &self.aggregate_id
    }
    fn event_id(&self) -> &str {
        &self.event_id
    }
    fn time(&self) -> Millis {
        self.time
    }
    fn payload(&self) -> &Map<String, Value> {
        &self.payload
    }
}

/// Payloads kept for sharing at most (then forgotten and started again), so
/// that input whose payloads are all different costs no more than unshared.
const MOST_PAYLOADS: usize = 4096;

/// Makes [`Held`] events, sharing what they have in common.
#[derive(Default)]
pub struct Holder {
    /// Type names, by the index of their type in the catalog.
    types: Vec<Option<Rc<str>>>,
    last_aggregate: Option<Rc<str>>,
    /// Every aggregate id held, one copy each, with its ordinal (in the
    /// order of first appearance), when they are kept
    /// ([`Holder::keeping_aggregates`]).
    aggregates: Option<foldhash::HashMap<Rc<str>, usize>>,
    /// The ordinal of the aggregate of the event held last, when kept.
    last_ordinal: usize,
    payloads: HashMap<String, Rc<Map<String, Value>>>,
    empty: Rc<Map<String, Value>>,
    /// The payload held last: the next event's, most often, in grouped input.
    last_payload: Option<Rc<Map<String, Value>>>,
    /// Payloads of details read where they lie, by their bytes there.
    lying: foldhash::HashMap<Box<[u8]>, Checked>,
    /// The empty payload of a detail without one.
    no_payload: Checked,
    /// A payload's JSON text, unescaped.
    json: Vec<u8>,
}

/// A payload, and the event types (indices in the catalog) it passed the
/// checks for.
#[derive(Default)]
struct Checked {
    payload: Rc<Map<String, Value>>,
    types: Vec<usize>,
}

impl Holder {
    /// A holder that keeps one copy of every aggregate id it holds, so that
    /// the events of an aggregate share it whatever their order (replay in
    /// memory); the default shares an id between consecutive events only.
    pub fn keeping_aggregates() -> Self {
        Holder {
            aggregates: Some(foldhash::HashMap::default()),
            ..Holder::default()
        }
    }

    /// The ordinal of the aggregate of the event held last (0 for the
    /// first aggregate held, and so on), when aggregate ids are kept.
    pub fn last_aggregate_ordinal(&self) -> usize {
        self.last_ordinal
    }

    /// How many aggregates were held, when aggregate ids are kept.
    pub fn aggregates_held(&self) -> usize {
        self.aggregates.as_ref().map_or(0, |kept| kept.len())
    }

    /// The held form of an event of `catalog`.
    pub fn hold(&mut self, catalog: &Catalog, event: Event) -> Held {
        let index = catalog
            .event_type_index(&event.event_type)
            .filter(|&i| catalog.event_types[i].name == event.event_type);
        Held {
            event_type: match index {
                Some(index) => self.shared_type(catalog, index),
                None => event.event_type.as_str().into(),
            },
            event_id: CompactString::from(event.event_id),
            aggregate_id: self.shared_aggregate(&event.aggregate_id),
            time: event.time,
            payload: self.payload(event.payload),
        }
    }

    /// The held form of a detail read where it lies, when it is the event
    /// the fast path would build ([`super::fast::common_event`]) and passes
    /// its checks; `None` for anything else, which the general reading then
    /// reads and accepts or refuses.
    pub(super) fn hold_detail(&mut self, catalog: &Catalog, detail: &Detail<'_>) -> Option<Held> {
        let type_index = catalog.event_type_index(detail.event_type)?;
        if !(is_accepted_id(detail.event_id) && is_accepted_id(detail.aggregate_id)) {
            return None;
        }
        let time = parse_time_text("detail.time", detail.time).ok()?;
        let event_type = &catalog.event_types[type_index].name;
        let checked = match detail.payload {
            None => &mut self.no_payload,
            Some(bytes) => {
                if !self.lying.contains_key(bytes) {
                    unescape_payload(bytes, &mut self.json);
                    let payload = serde_json::from_slice(&self.json).ok()?;
                    if self.lying.len() >= MOST_PAYLOADS {
                        self.lying.clear();
                    }
                    let checked = Checked {
                        payload: Rc::new(payload),
                        types: Vec::new(),
                    };
                    self.lying.insert(bytes.into(), checked);
                }
                self.lying.get_mut(bytes)?
            }
        };
        if !checked.types.contains(&type_index) {
            let event = Event {
                event_id: detail.event_id.into(),
                event_type: event_type.clone(),
                event_version: 1,
                aggregate_id: detail.aggregate_id.into(),
                aggregate_type: None,
                aggregate_version: None,
                time,
                payload: Map::clone(&checked.payload),
            };
            event.check(catalog).ok()?;
            checked.types.push(type_index);
        }
        let payload = checked.payload.clone();
        Some(Held {
            event_id: CompactString::new(detail.event_id),
            event_type: self.shared_type(catalog, type_index),
            aggregate_id: self.shared_aggregate(detail.aggregate_id),
            time,
            payload,
        })
    }

    /// The name of the catalog's type at `index`, one copy shared by all
    /// the events of that type.
    fn shared_type(&mut self, catalog: &Catalog, index: usize) -> Rc<str> {
        if self.types.len() <= index {
            self.types.resize(index + 1, None);
        }
        let name = &catalog.event_types[index].name;
        self.types[index]
            .get_or_insert_with(|| name.as_str().into())
            .clone()
    }

    /// The aggregate id, shared with the event held before when it is the
    /// same, or with every event of the aggregate when ids are kept.
    fn shared_aggregate(&mut self, id: &str) -> Rc<str> {
        if let Some(last) = self.last_aggregate.as_ref().filter(|last| ***last == *id) {
            return last.clone();
        }
        let shared: Rc<str> = match &mut self.aggregates {
            Some(kept) => match kept.get_key_value(id) {
                Some((shared, &ordinal)) => {
                    self.last_ordinal = ordinal;
                    shared.clone()
                }
                None => {
                    let shared: Rc<str> = id.into();
                    self.last_ordinal = kept.len();
                    kept.insert(shared.clone(), kept.len());
                    shared
                }
            },
            None => id.into(),
        };
        self.last_aggregate = Some(shared.clone());
        shared
    }

    fn payload(&mut self, payload: Map<String, Value>) -> Rc<Map<String, Value>> {
        if payload.is_empty() {
            return self.empty.clone();
        }
        if let Some(last) = self.last_payload.as_ref().filter(|last| ***last == payload) {
            return last.clone();
        }
        let shared = self.shared_payload(payload);
        self.last_payload = Some(shared.clone());
        shared
    }

    /// The payload shared with an earlier event's equal one, by their JSON text.
    fn shared_payload(&mut self, payload: Map<String, Value>) -> Rc<Map<String, Value>> {
        // Its JSON text: equal texts are equal payloads (keys sorted).
        let Ok(key) = serde_json::to_string(&payload) else {
            return Rc::new(payload);
        };
        if let Some(shared) = self.payloads.get(&key) {
            return shared.clone();
        }
        if self.payloads.len() >= MOST_PAYLOADS {
            self.payloads.clear();
        }
        let shared = Rc::new(payload);
        self.payloads.insert(key, shared.clone());
        shared
    }
}
