//! Replay's held events: what the engine reads of an [`Event`] (its type,
//! aggregate, id, time and payload, [`EventFacts`]), in a compact form, so
//! that a long aggregate (or, in memory, a whole file) fits in a small
//! machine. Types and aggregate ids are shared between the events that
//! have the same (one copy per run of equal ids, which is every event of an
//! aggregate when the input is grouped), payloads between the events that
//! carry the same one: about 100 bytes an event instead of about 1 KiB.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};

use crate::engine::EventFacts;
use crate::envelope::{Event, Millis};

/// An event as replay holds it until its aggregate is measured.
#[derive(Debug, Clone)]
pub struct Held {
    event_id: Box<str>,
    event_type: Rc<str>,
    aggregate_id: Rc<str>,
    time: Millis,
    payload: Rc<Map<String, Value>>,
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
    types: Vec<Rc<str>>,
    last_aggregate: Option<Rc<str>>,
    payloads: HashMap<String, Rc<Map<String, Value>>>,
    empty: Rc<Map<String, Value>>,
    /// The payload held last: the next event's, most often, in grouped input.
    last_payload: Option<Rc<Map<String, Value>>>,
}

impl Holder {
    /// The held form of an event.
    pub fn hold(&mut self, event: Event) -> Held {
        // A catalog has a few dozen types: a list is quicker than hashing.
        let event_type = match self.types.iter().find(|t| ***t == *event.event_type) {
            Some(shared) => shared.clone(),
            None => {
                let shared: Rc<str> = event.event_type.as_str().into();
                self.types.push(shared.clone());
                shared
            }
        };
        let aggregate_id = match &self.last_aggregate {
            Some(last) if **last == *event.aggregate_id => last.clone(),
            _ => {
                let shared: Rc<str> = event.aggregate_id.into();
                self.last_aggregate = Some(shared.clone());
                shared
            }
        };
        Held {
            event_id: event.event_id.into_boxed_str(),
            event_type,
            aggregate_id,
            time: event.time,
            payload: self.payload(event.payload),
        }
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
