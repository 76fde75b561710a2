//! Generated event histories for the reliability tests (property, fault and
//! concurrency tests), and the definition they are checked against.
//!
//! A history is built from [`Spec`]s, plain numbers that proptest generates
//! (and shrinks) or a seeded generator draws: each names an event type of the
//! default catalog, an aggregate, a partition, a minute and an envelope style.
//! Every metric kind of the default catalog is reachable: durations with
//! activate/pass cycles and two partitions, counts, occurrences, and the
//! ratio of a patch run (with empty id lists, and 0/0).

use std::collections::BTreeMap;

use flight_core::engine::{measure_all, Measurement};
use flight_core::{Catalog, Event};
use serde_json::{json, Map, Value};

use crate::clock::{EPOCH, MINUTE};

/// The event types a spec can name, in the order of [`Spec::kind`].
pub const TYPES: &[&str] = &[
    "ProjectRequested",
    "ProjectAssigned",
    "ProjectCreated",
    "GuardrailActivated",
    "GuardrailPassed",
    "GuardrailActivated",
    "GuardrailPassed",
    "AccountRequested",
    "AccountCreated",
    "IdentityRequested",
    "IdentityCreated",
    "ResourceFoundNonCompliant",
    "ResourceFoundCompliant",
    "PatchRunSummary",
];

/// One generated event, as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// Index into [`TYPES`] (modulo its length).
    pub kind: u8,
    /// Which aggregate of its domain (modulo [`Spec::AGGREGATES`]).
    pub aggregate: u8,
    /// Guardrail or container partition (modulo 2); patch run sizes.
    pub partition: u8,
    /// Minutes after [`EPOCH`]: a small range, so equal times (ties broken by
    /// event id) happen.
    pub minute: u16,
    /// Envelope style bits: 1 = no `event_id` (the content hash is the id),
    /// 2 = the original snake-case shape (alias type, `correlation_id`,
    /// `timestamp` as epoch seconds in a string), 4 = the type only in the
    /// EventBridge `detail-type`.
    pub style: u8,
}

impl Spec {
    /// Aggregates per domain.
    pub const AGGREGATES: u8 = 2;
    /// The span of event minutes.
    pub const MINUTES: u16 = 90;

    /// A spec from raw numbers (a seeded generator's draws).
    pub fn from_raw(raw: u64) -> Spec {
        Spec {
            kind: (raw % 256) as u8,
            aggregate: ((raw >> 8) % 256) as u8,
            partition: ((raw >> 16) % 256) as u8,
            minute: ((raw >> 24) % 65_536) as u16,
            // The usual shape seven times in eight.
            style: if (raw >> 40).is_multiple_of(8) {
                ((raw >> 48) % 256) as u8
            } else {
                0
            },
        }
    }

    /// The event type it names.
    pub fn event_type(&self) -> &'static str {
        TYPES[self.kind as usize % TYPES.len()]
    }
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn ids(prefix: &str, n: u8) -> String {
    (0..n)
        .map(|i| format!("{prefix}-{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The EventBridge event of a spec; `index` makes its event id unique, and
/// `namespace` keeps its ids apart from other runs sharing a store.
pub fn build(spec: &Spec, index: usize, namespace: &str) -> Value {
    let event_type = spec.event_type();
    let domain = match event_type {
        t if t.starts_with("Project") => "proj",
        t if t.starts_with("Guardrail") || t.starts_with("Resource") => "res",
        t if t.starts_with("Account") => "acct",
        t if t.starts_with("Identity") => "ident",
        _ => "patch",
    };
    let aggregate = format!("{namespace}{domain}-{}", spec.aggregate % Spec::AGGREGATES);
    let seconds = (EPOCH + i64::from(spec.minute % Spec::MINUTES) * MINUTE) / 1000;
    let original = spec.style & 2 != 0;
    let mut payload = Map::new();
    match event_type {
        t if t.starts_with("Guardrail") => {
            payload.insert(
                "guardrail_id".into(),
                json!(format!("g{}", spec.partition % 2)),
            );
        }
        t if t.starts_with("Resource") => {
            payload.insert(
                "container_id".into(),
                json!(format!("c{}", spec.partition % 2)),
            );
        }
        "PatchRunSummary" => {
            let ok = spec.partition % 4;
            let failed = (spec.partition / 4) % 3;
            payload.insert("successful_instances".into(), json!(ids("i-ok", ok)));
            if spec.partition & 64 != 0 {
                // The same quantity as a JSON array.
                let list: Vec<String> = (0..failed).map(|i| format!("i-bad-{i}")).collect();
                payload.insert("failed_instances".into(), json!(list));
            } else {
                payload.insert("failed_instances".into(), json!(ids("i-bad", failed)));
            }
        }
        _ => {}
    }
    let mut detail = Map::new();
    if spec.style & 1 == 0 {
        detail.insert("event_id".into(), json!(format!("{namespace}e{index:05}")));
    }
    if spec.style & 4 == 0 {
        let name = if original {
            snake_case(event_type)
        } else {
            event_type.to_string()
        };
        detail.insert("event_type".into(), json!(name));
    }
    if original {
        detail.insert("correlation_id".into(), json!(aggregate));
        detail.insert("timestamp".into(), json!(seconds.to_string()));
        detail.insert("payload".into(), Value::Object(payload));
    } else {
        detail.insert("aggregate_id".into(), json!(aggregate));
        detail.insert("time".into(), json!(seconds));
        // Payload fields at the top level of the detail are payload too.
        detail.extend(payload);
    }
    let detail_type = if spec.style & 4 != 0 {
        event_type
    } else {
        "Test Event"
    };
    json!({
        "version": "0",
        "id": format!("eb-{namespace}{index}"),
        "detail-type": detail_type,
        "source": "tests.reliability",
        "account": "000000000000",
        "time": "2026-11-01T00:00:00Z",
        "region": "local",
        "resources": [],
        "detail": Value::Object(detail),
    })
}

/// The events of a history, in spec order.
pub fn history(specs: &[Spec], namespace: &str) -> Vec<Value> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| build(s, i, namespace))
        .collect()
}

/// A seeded generator (SplitMix64): the same seed, the same draws.
pub struct Draws(pub u64);

impl Draws {
    /// The next draw. (Never exhausted, so not an `Iterator`: the tests call
    /// `draws.next()` for a number, not an `Option`.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Shuffles in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// A data point's stable identity: metric, aggregate, completing event, dimensions.
pub type Identity = (String, String, String, String);

/// The identity of a published data point.
pub fn identity(m: &Measurement) -> Identity {
    (
        m.metric.clone(),
        m.aggregate_id.clone(),
        m.event_id.clone(),
        format!("{:?}", m.dimensions),
    )
}

/// Every published copy of each data point, by identity: the values sent.
pub fn tally(measurements: &[Measurement]) -> BTreeMap<Identity, Vec<f64>> {
    let mut out: BTreeMap<Identity, Vec<f64>> = BTreeMap::new();
    for m in measurements {
        out.entry(identity(m)).or_default().push(m.value);
    }
    out
}

/// The definition: every data point of the set of events, by identity.
pub fn expected(
    catalog: &Catalog,
    events: &[Value],
    environment: Option<&str>,
) -> BTreeMap<Identity, f64> {
    let parsed: Vec<Event> = events
        .iter()
        .map(|e| Event::from_eventbridge(e, catalog).unwrap_or_else(|r| panic!("{r} in {e}")))
        .collect();
    measure_all(catalog, &parsed, environment)
        .iter()
        .map(|m| (identity(m), m.value))
        .collect()
}

/// How published data points compare with the definition.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Comparison {
    /// Expected, never published.
    pub lost: Vec<Identity>,
    /// Published more than once (identity, copies).
    pub doubled: Vec<(Identity, usize)>,
    /// Published with another value than the definition's.
    pub wrong: Vec<(Identity, f64, f64)>,
    /// Published, not expected at all.
    pub unexpected: Vec<Identity>,
}

impl Comparison {
    /// Compares what was published with the definition.
    pub fn of(expected: &BTreeMap<Identity, f64>, published: &[Measurement]) -> Comparison {
        let tally = tally(published);
        let mut c = Comparison::default();
        for (id, want) in expected {
            match tally.get(id) {
                None => c.lost.push(id.clone()),
                Some(values) => {
                    if values.len() > 1 {
                        c.doubled.push((id.clone(), values.len()));
                    }
                    if let Some(v) = values.iter().find(|v| **v != *want) {
                        c.wrong.push((id.clone(), *want, *v));
                    }
                }
            }
        }
        for (id, values) in &tally {
            if !expected.contains_key(id) {
                c.unexpected.push(id.clone());
                if values.len() > 1 {
                    c.doubled.push((id.clone(), values.len()));
                }
            }
        }
        c
    }

    /// Nothing lost, doubled, wrong or unexpected.
    pub fn exact(&self) -> bool {
        self.lost.is_empty()
            && self.doubled.is_empty()
            && self.wrong.is_empty()
            && self.unexpected.is_empty()
    }

    /// Copies published beyond the first.
    pub fn extra_copies(&self) -> usize {
        self.doubled.iter().map(|(_, n)| n - 1).sum()
    }
}

/// A PutEvents entry (as in `events/*.json`) carrying an EventBridge event.
pub fn entry(event: &Value) -> Value {
    json!({
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": event["detail"].to_string(),
        "Time": event["time"],
    })
}

/// The entry with its detail in the commonest shape, as `flight-bench
/// gen-events` writes it (replay reads that detail where it lies): the time
/// as RFC 3339 text and the payload's fields under `payload`. The same
/// event, written otherwise.
pub fn commonest_shape(entry: &Value) -> Value {
    let Ok(Value::Object(detail)) = serde_json::from_str(entry["Detail"].as_str().unwrap_or(""))
    else {
        return entry.clone();
    };
    let mut common = Map::new();
    let mut payload = Map::new();
    for (key, value) in detail {
        match (key.as_str(), value) {
            ("time", Value::Number(n)) => {
                let millis = (n.as_f64().unwrap_or(0.0) * 1000.0) as i64;
                common.insert(key, json!(flight_core::envelope::format_time(millis)));
            }
            ("event_id" | "event_type" | "aggregate_id" | "aggregate_type" | "time", value) => {
                common.insert(key, value);
            }
            (_, value) => _ = payload.insert(key, value),
        }
    }
    if !payload.is_empty() {
        common.insert("payload".into(), Value::Object(payload));
    }
    let mut entry = entry.clone();
    entry["Detail"] = json!(Value::Object(common).to_string());
    entry
}
