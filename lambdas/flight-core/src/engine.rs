//! The metric engine (docs/metrics.md), pure: the value of a data point from the
//! events it depends on, and the keys that order events on a timeline.
//!
//! A *timeline* holds, in (time, event id) order, the events of one aggregate
//! and one partition that take part in span metrics (duration, occurrences).
//! The data point an `end` completes depends only on the events between the
//! previous `end` and it, so reading it costs the span, never the aggregate.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::catalog::{Catalog, Metric, MetricKind, LATE_EVENTS_METRIC};
use crate::envelope::{partition_text, quantity_of, test_run_id_of, Event, Millis};

mod point;
pub use point::Point;

/// What the engine reads of an event: [`Event`] itself, or a compact form
/// holding only this (`flightctl replay`'s held events, `replay/held.rs`).
pub trait EventFacts {
    /// The canonical event type name.
    fn event_type(&self) -> &str;
    fn aggregate_id(&self) -> &str;
    fn event_id(&self) -> &str;
    fn time(&self) -> Millis;
    fn payload(&self) -> &Map<String, Value>;
}

/// An event's facts through a reference (replay in memory measures an
/// aggregate from references to its events, where they lie).
impl<T: EventFacts + ?Sized> EventFacts for &T {
    fn event_type(&self) -> &str {
        (**self).event_type()
    }
    fn aggregate_id(&self) -> &str {
        (**self).aggregate_id()
    }
    fn event_id(&self) -> &str {
        (**self).event_id()
    }
    fn time(&self) -> Millis {
        (**self).time()
    }
    fn payload(&self) -> &Map<String, Value> {
        (**self).payload()
    }
}

impl EventFacts for Event {
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

/// The dimension every data point carries when an environment is configured.
pub const ENVIRONMENT_DIMENSION: &str = "Environment";
/// The dimension of [`LATE_EVENTS_METRIC`] data points.
pub const EVENT_TYPE_DIMENSION: &str = "EventType";

/// A data point of a metric, with its stable identity (metric, aggregate, completing event).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub metric: String,
    pub value: f64,
    pub unit: String,
    /// The time of the event that completed it.
    pub timestamp: Millis,
    pub aggregate_id: String,
    /// The event that completed it.
    pub event_id: String,
    /// CloudWatch dimensions: the environment and the metric's partition fields.
    pub dimensions: BTreeMap<String, String>,
    pub delivery: Delivery,
    /// The test run of the completing event (its `test_run_id`), if it is a
    /// test event: such measurements are also written to the capture table.
    pub test_run_id: Option<String>,
    /// The metric sink's reason, when it refused the data point on its own
    /// ([`Delivery::Refused`]); kept with the record for `flightctl report` and `health`.
    pub refusal: Option<String>,
}

/// What became of a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Sent to the metric sink.
    Published,
    /// Older than CloudWatch accepts (14 days); kept in the store, not sent.
    TooOld,
    /// Further ahead than CloudWatch accepts (2 hours); kept in the store, not sent.
    TooNew,
    /// Sent, and refused by the metric sink on its own (see [`crate::refusal`]);
    /// kept in the store, not retried.
    Refused,
}

impl Delivery {
    /// A short name for logs and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Published => "published",
            Delivery::TooOld => "too_old",
            Delivery::TooNew => "too_new",
            Delivery::Refused => "refused",
        }
    }

    /// Parses [`Delivery::as_str`].
    pub fn parse(text: &str) -> Option<Delivery> {
        [
            Delivery::Published,
            Delivery::TooOld,
            Delivery::TooNew,
            Delivery::Refused,
        ]
        .into_iter()
        .find(|d| d.as_str() == text)
    }
}

/// The sort key of an event on its timeline: time, then event id.
pub fn order_key(time: Millis, event_id: &str) -> String {
    format!("{time:015}#{event_id}")
}

/// The id of a timeline: its partition fields and values, escaped (`guardrail_id=gr-1`).
pub fn timeline_id(partition: &[(String, String)]) -> String {
    partition
        .iter()
        .map(|(field, value)| format!("{}={}", escape(field), escape(value)))
        .collect::<Vec<_>>()
        .join(",")
}

fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    const SPECIAL: [char; 5] = ['%', '=', ',', '|', '#'];
    if !text.contains(SPECIAL) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if SPECIAL.contains(&c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// The value of the data point an `end` completes for a span metric, from the
/// events before it on its timeline, nearest first (`(event type, time)`).
/// `None` when there is no data point (a duration with no start in its span).
pub fn span_value<'a>(
    kind: &MetricKind,
    end_time: Millis,
    before: impl IntoIterator<Item = (&'a str, Millis)>,
) -> Option<f64> {
    kind.span_value(end_time, before)
}

/// Whether a metric's data points depend on other events (duration, occurrences).
pub fn is_span(metric: &Metric) -> bool {
    metric.kind.is_span()
}

/// The value of a data point that depends on its event alone (count, value, ratio).
pub fn immediate_value(metric: &Metric, event: &impl EventFacts) -> Option<f64> {
    let payload = event.payload();
    let quantity = metric.kind.quantity();
    metric
        .kind
        .immediate_value(|field| quantity_of(payload, field, quantity?))
}

/// The dimensions of a metric's data point completed by `event`.
pub fn dimensions(
    metric: &Metric,
    event: &impl EventFacts,
    environment: Option<&str>,
) -> BTreeMap<String, String> {
    let mut dimensions = BTreeMap::new();
    let partition = Partition::of(event.payload(), metric);
    let added: Result<(), std::convert::Infallible> =
        for_each_dimension(partition.fields(), environment, |name, value| {
            dimensions.insert(name.to_string(), value.to_string());
            Ok(())
        });
    _ = added;
    dimensions
}

/// Each dimension of a data point, in name (byte) order: its partition's
/// fields (none where the partition cannot be read) and `Environment` when
/// there is one, which stands in for a partition field of that name.
pub(crate) fn for_each_dimension<X>(
    partition: &[(&str, Cow<'_, str>)],
    environment: Option<&str>,
    mut each: impl FnMut(&str, &str) -> Result<(), X>,
) -> Result<(), X> {
    // One field or none, without an environment: in order as they are.
    if environment.is_none() && partition.len() <= 1 {
        return partition
            .iter()
            .try_for_each(|(name, value)| each(name, value));
    }
    let environment = environment.map(|e| (ENVIRONMENT_DIMENSION, e));
    let mut named: Vec<(&str, &str)> = partition
        .iter()
        .map(|(name, value)| (*name, value.as_ref()))
        .filter(|(name, _)| environment.is_none() || *name != ENVIRONMENT_DIMENSION)
        .chain(environment)
        .collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    named
        .into_iter()
        .try_for_each(|(name, value)| each(name, value))
}

/// The dimensions of a data point of one of Flight Controller's own
/// counters: `name = value`, and `Environment` when there is one.
fn counter_dimensions(
    (name, value): (&str, &str),
    environment: Option<&str>,
) -> BTreeMap<String, String> {
    let mut dimensions = BTreeMap::from([(name.to_string(), value.to_string())]);
    if let Some(environment) = environment {
        dimensions.insert(ENVIRONMENT_DIMENSION.into(), environment.into());
    }
    dimensions
}

/// A data point of one of Flight Controller's own counters
/// (`RejectedEvents`, `RefusedDataPoints`, `OverBudgetSeries`): `value` at
/// `timestamp`, by one dimension beside `Environment`, of no aggregate.
pub fn counter(
    metric: &str,
    value: f64,
    timestamp: Millis,
    dimension: (&str, &str),
    environment: Option<&str>,
) -> Measurement {
    Measurement {
        metric: metric.into(),
        value,
        unit: "Count".into(),
        timestamp,
        aggregate_id: String::new(),
        event_id: String::new(),
        dimensions: counter_dimensions(dimension, environment),
        delivery: Delivery::Published,
        test_run_id: None,
        refusal: None,
    }
}

/// The data point counting `event` as late.
pub fn late_measurement(
    event: &Event,
    stored_at: Millis,
    environment: Option<&str>,
) -> Measurement {
    let dimensions = counter_dimensions((EVENT_TYPE_DIMENSION, &event.event_type), environment);
    Measurement {
        metric: LATE_EVENTS_METRIC.into(),
        value: 1.0,
        unit: "Count".into(),
        timestamp: stored_at,
        aggregate_id: event.aggregate_id.clone(),
        event_id: event.event_id.clone(),
        dimensions,
        delivery: Delivery::Published,
        test_run_id: event.test_run_id(),
        refusal: None,
    }
}

/// The data point of `metric` that `event` completes, with this value.
pub fn data_point(
    metric: &Metric,
    event: &impl EventFacts,
    value: f64,
    environment: Option<&str>,
) -> Measurement {
    Measurement {
        metric: metric.name.clone(),
        value,
        unit: metric.unit.clone(),
        timestamp: event.time(),
        aggregate_id: event.aggregate_id().to_string(),
        event_id: event.event_id().to_string(),
        dimensions: dimensions(metric, event, environment),
        delivery: Delivery::Published,
        test_run_id: test_run_id_of(event.payload()),
        refusal: None,
    }
}

/// Every data point of a set of events, computed at once: the definition the
/// incremental path must agree with, whatever the order and repetition of delivery.
pub fn measure_all<E: EventFacts>(
    catalog: &Catalog,
    events: &[E],
    environment: Option<&str>,
) -> Vec<Measurement> {
    let mut out = Vec::new();
    let pushed: Result<(), std::convert::Infallible> =
        for_each_measurement(catalog, events, environment, |m| {
            out.push(m);
            Ok(())
        });
    _ = pushed;
    out
}

/// [`measure_all`]'s data points handed to `each` one at a time, in the same
/// (report) order, so that a caller that writes them out never holds them
/// all (a long aggregate's 150,000: ~80 MB as measurements, ~5 MB here);
/// stops at the first error `each` returns.
pub fn for_each_measurement<E: EventFacts, X>(
    catalog: &Catalog,
    events: &[E],
    environment: Option<&str>,
    mut each: impl FnMut(Measurement) -> Result<(), X>,
) -> Result<(), X> {
    for_each_point(catalog, events, environment, |point| {
        each(point.measurement())
    })
}

/// [`for_each_measurement`] with each data point as the engine finds it
/// ([`Point`]), not yet a [`Measurement`].
pub fn for_each_point<'a, E: EventFacts, X>(
    catalog: &'a Catalog,
    events: &'a [E],
    environment: Option<&'a str>,
    mut each: impl FnMut(Point<'a, E>) -> Result<(), X>,
) -> Result<(), X> {
    // An aggregate of a few events has a few points: no allocation for them
    // (and the environment, the same for all, not moved by the sort).
    let mut points: SmallVec<[(&Metric, &E, f64); 8]> = SmallVec::new();
    for_each_point_unsorted(catalog, events, |metric, event, value| {
        points.push((metric, event, value))
    });
    points.sort_unstable_by(|(m, a, _), (n, b, _)| {
        report_order(
            (a.time(), &m.name, a.aggregate_id(), a.event_id()),
            (b.time(), &n.name, b.aggregate_id(), b.event_id()),
        )
    });
    points.into_iter().try_for_each(|(metric, event, value)| {
        each(Point {
            metric,
            event,
            value,
            environment,
        })
    })
}

/// [`for_each_point`]'s data points in the order the engine finds them
/// (by metric, then timeline), each as its metric, event and value, for a
/// caller that sorts the points of many sets together (replay in memory)
/// and would only sort them twice. The metric is borrowed from the catalog
/// and the event from the set, each for as long as it lives.
pub fn for_each_point_unsorted<'c, 'e, E: EventFacts>(
    catalog: &'c Catalog,
    events: &'e [E],
    mut each: impl FnMut(&'c Metric, &'e E, f64),
) {
    for metric in completed_metrics(catalog, events).map(|m| &catalog.metrics[m]) {
        for_each_value(metric, events, |event, value| {
            if let Some(value) = value {
                each(metric, event, value);
            }
        });
    }
}

/// The metrics (indexes, ascending) that some event of the set completes:
/// the only ones that can have a data point (an aggregate of a few events
/// completes one or two metrics of the catalog's dozens).
fn completed_metrics<E: EventFacts>(
    catalog: &Catalog,
    events: &[E],
) -> impl Iterator<Item = usize> {
    let mut types: SmallVec<[&str; 8]> = SmallVec::new();
    let mut metrics: SmallVec<[usize; 8]> = SmallVec::new();
    for event in events {
        let event_type = event.event_type();
        if types.contains(&event_type) {
            continue;
        }
        types.push(event_type);
        if let Some(plan) = catalog.plan(event_type) {
            for &m in &plan.completes {
                if !metrics.contains(&m) {
                    metrics.push(m);
                }
            }
        }
    }
    metrics.sort_unstable();
    metrics.into_iter()
}

/// Each event of a set that completes a data point of `metric`, with its value
/// (`None` where there is none, e.g. a duration with no start in its span),
/// per aggregate and partition in timeline order. An event repeated (same
/// aggregate and event id) counts once, as its first copy.
pub fn evaluate_metric<'a, E: EventFacts + 'a>(
    metric: &Metric,
    events: impl IntoIterator<Item = &'a E>,
) -> Vec<(&'a E, Option<f64>)> {
    let mut out = Vec::new();
    for_each_value(metric, events, |event, value| out.push((event, value)));
    out
}

/// [`evaluate_metric`], each event and value handed to `each` in its order.
fn for_each_value<'a, E: EventFacts + 'a>(
    metric: &Metric,
    events: impl IntoIterator<Item = &'a E>,
    mut each: impl FnMut(&'a E, Option<f64>),
) {
    // The metric's events, each (aggregate, event id) once: its first copy.
    // (Most sets are an aggregate's few events: no allocation for them.)
    let mut involved: SmallVec<[&E; 16]> = events
        .into_iter()
        .filter(|e| metric.kind.involves(e.event_type()))
        .collect();
    keep_first_copies(&mut involved);
    // Per aggregate and partition, the metric's events in timeline order:
    // runs of equal (aggregate, partition), each sorted by (time, event id).
    // (The partition's fields and values stand for its `timeline_id`: equal
    // exactly when the ids are, without writing them out.)
    let mut keyed: SmallVec<[(Partition, &E); 8]> = SmallVec::new();
    for e in involved {
        keyed.push((Partition::of(e.payload(), metric), e));
    }
    // Input in timeline order (the common case) is found sorted in one pass.
    keyed.sort_unstable_by(|(p, a), (q, b)| {
        text_order(a.aggregate_id(), b.aggregate_id())
            .then_with(|| partition_order(p.fields(), q.fields()))
            .then_with(|| a.time().cmp(&b.time()))
            .then_with(|| text_order(a.event_id(), b.event_id()))
    });
    let completer = metric.kind.completer();
    for timeline in keyed.chunk_by(|(p, a), (q, b)| {
        text_order(a.aggregate_id(), b.aggregate_id()).is_eq()
            && partition_order(p.fields(), q.fields()).is_eq()
    }) {
        for (i, (_, event)) in timeline.iter().enumerate() {
            if event.event_type() != completer {
                continue;
            }
            let value = if is_span(metric) {
                let before = timeline[..i]
                    .iter()
                    .rev()
                    .map(|(_, e)| (e.event_type(), e.time()));
                span_value(&metric.kind, event.time(), before)
            } else {
                immediate_value(metric, *event)
            };
            each(*event, value);
        }
    }
}

/// A partition's fields and values ([`partition_texts`](crate::envelope::partition_texts); none where they
/// cannot be read), without an allocation for the commonest, one field or none.
pub(crate) enum Partition<'a> {
    AtMostOne(Option<(&'a str, Cow<'a, str>)>),
    Several(Vec<(&'a str, Cow<'a, str>)>),
}

impl<'a> Partition<'a> {
    /// The partition of an event with this payload for `metric`.
    pub(crate) fn of(payload: &'a Map<String, Value>, metric: &'a Metric) -> Partition<'a> {
        match metric.partition_by.as_slice() {
            [] => Partition::AtMostOne(None),
            [field] => Partition::AtMostOne(
                partition_text(payload, field).map(|value| (field.as_str(), value)),
            ),
            fields => Partition::Several(
                fields
                    .iter()
                    .map(|field| Some((field.as_str(), partition_text(payload, field)?)))
                    .collect::<Option<_>>()
                    .unwrap_or_default(),
            ),
        }
    }

    /// Its fields and values, in `partition_by` order.
    pub(crate) fn fields(&self) -> &[(&'a str, Cow<'a, str>)] {
        match self {
            Partition::AtMostOne(one) => one.as_slice(),
            Partition::Several(all) => all,
        }
    }
}

/// Keeps the first copy of each (aggregate, event id), in order.
fn keep_first_copies<E: EventFacts, const N: usize>(events: &mut SmallVec<[&E; N]>) {
    let same = |a: &E, b: &E| {
        a.event_id() == b.event_id() && text_order(a.aggregate_id(), b.aggregate_id()).is_eq()
    };
    // A few events (most aggregates): comparing them all is quicker than hashing.
    if events.len() <= 16 {
        let mut kept = 0;
        for i in 0..events.len() {
            if !events[..kept].iter().any(|k| same(k, events[i])) {
                events[kept] = events[i];
                kept += 1;
            }
        }
        events.truncate(kept);
    } else {
        // Seeded per process, so ids cannot be chosen to collide.
        let mut seen =
            foldhash::HashSet::with_capacity_and_hasher(events.len(), Default::default());
        events.retain(|e| seen.insert((e.aggregate_id(), e.event_id())));
    }
}

/// Text order, answered at once for the same text (replay's held events
/// share their aggregate id and payload).
fn text_order(a: &str, b: &str) -> Ordering {
    if std::ptr::eq(a, b) {
        Ordering::Equal
    } else {
        a.cmp(b)
    }
}

/// The order of two partitions as `Vec`s order them (field by field, then length).
fn partition_order(p: &[(&str, Cow<'_, str>)], q: &[(&str, Cow<'_, str>)]) -> Ordering {
    for ((f, v), (g, w)) in p.iter().zip(q) {
        let order = text_order(f, g).then_with(|| text_order(v, w));
        if order != Ordering::Equal {
            return order;
        }
    }
    p.len().cmp(&q.len())
}

/// Sorts measurements into their report order: time, metric, aggregate, event.
/// That key is a data point's identity, so an unstable sort gives the same
/// order, without the scratch copy a stable sort needs (a million data
/// points: ~65 MB less at `flightctl replay`'s peak).
pub fn sort_measurements(measurements: &mut [Measurement]) {
    measurements.sort_unstable_by(|a, b| {
        report_order(
            (a.timestamp, &a.metric, &a.aggregate_id, &a.event_id),
            (b.timestamp, &b.metric, &b.aggregate_id, &b.event_id),
        )
    });
}

/// The report order of data points, each given as (time, metric name,
/// aggregate id, event id): in that order of precedence. That key is a data
/// point's identity, so there is one order ([`sort_measurements`],
/// [`for_each_point`], `flightctl replay --in-memory`).
pub fn report_order(a: (Millis, &str, &str, &str), b: (Millis, &str, &str, &str)) -> Ordering {
    a.0.cmp(&b.0)
        .then_with(|| text_order(a.1, b.1))
        .then_with(|| text_order(a.2, b.2))
        .then_with(|| text_order(a.3, b.3))
}

/// Each metric of the catalog's place (by its index) among them in
/// [`report_order`]: comparing two places is comparing the two names.
pub fn metric_ranks(catalog: &Catalog) -> Vec<usize> {
    let mut by_name: Vec<usize> = (0..catalog.metrics.len()).collect();
    by_name.sort_by(|&a, &b| text_order(&catalog.metrics[a].name, &catalog.metrics[b].name));
    let mut ranks = vec![0; by_name.len()];
    for (rank, metric) in by_name.into_iter().enumerate() {
        ranks[metric] = rank;
    }
    ranks
}

/// The metric names an event of this type completes.
pub fn completions(catalog: &Catalog, event_type: &str) -> BTreeSet<String> {
    catalog
        .plan(event_type)
        .map(|plan| {
            plan.completes
                .iter()
                .map(|&m| catalog.metrics[m].name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A measurement as one JSON object, keys in this order: `metric`, `value`,
/// `unit`, `timestamp` (RFC 3339), `aggregate_id`, `dimensions`.
pub fn format_measurement(m: &Measurement) -> String {
    let mut line = Vec::with_capacity(160);
    // Writing to memory fails only if serialising does, which it does not.
    _ = write_measurement(&mut line, m);
    String::from_utf8(line).unwrap_or_default()
}

/// [`format_measurement`]'s line written to `out` (no newline), without
/// building it as a `String` first (replay writes a line per data point).
pub fn write_measurement(out: &mut impl std::io::Write, m: &Measurement) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        metric: &'a str,
        value: f64,
        unit: &'a str,
        timestamp: &'a str,
        aggregate_id: &'a str,
        dimensions: &'a BTreeMap<String, String>,
    }
    let timestamp = crate::time::TimeText::new(m.timestamp);
    serde_json::to_writer(
        out,
        &Line {
            metric: &m.metric,
            value: m.value,
            unit: &m.unit,
            timestamp: timestamp.as_str(),
            aggregate_id: &m.aggregate_id,
            dimensions: &m.dimensions,
        },
    )
    .map_err(std::io::Error::from)
}

/// The dimensions of a data point's rollup: for a partitioned data point
/// (dimensions beyond `Environment`), `Environment` alone, so SLO alarms can
/// watch the metric as a whole (CloudWatch alarms cannot add up series with
/// different dimensions). `None` when it needs none.
pub fn rollup_dimensions(m: &Measurement) -> Option<BTreeMap<String, String>> {
    let partitioned = m.dimensions.keys().any(|k| k != ENVIRONMENT_DIMENSION);
    (partitioned && m.metric != LATE_EVENTS_METRIC).then(|| {
        m.dimensions
            .iter()
            .filter(|(k, _)| *k == ENVIRONMENT_DIMENSION)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

/// The measurements with each one's rollup (see [`rollup_dimensions`]) after it.
pub fn with_rollups(measurements: &[Measurement]) -> Vec<Measurement> {
    let mut out = Vec::with_capacity(measurements.len() * 2);
    for m in measurements {
        out.push(m.clone());
        if let Some(dimensions) = rollup_dimensions(m) {
            out.push(Measurement {
                dimensions,
                ..m.clone()
            });
        }
    }
    out
}
