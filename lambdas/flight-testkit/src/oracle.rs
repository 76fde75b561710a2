//! An oracle for the metric semantics (docs/metrics.md): every data point of a
//! set of events, computed naively and apart from the engine. The property
//! tests require `measure_all` to agree with it.

use std::collections::BTreeMap;

use flight_core::catalog::Quantity;
use flight_core::{Catalog, Event, MetricKind};
use serde_json::Value;

use crate::stories::Identity;

/// The metric semantics (docs/metrics.md) written out again, naively and apart from the engine: every data
/// point of a set of events. `measure_all` must agree with it.
pub fn oracle(
    catalog: &Catalog,
    events: &[Event],
    environment: Option<&str>,
) -> BTreeMap<Identity, f64> {
    let mut unique: BTreeMap<(String, String), &Event> = BTreeMap::new();
    for e in events {
        unique
            .entry((e.aggregate_id.clone(), e.event_id.clone()))
            .or_insert(e);
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let quantity = |e: &Event, field: &str, q: Quantity| -> f64 {
        match (q, &e.payload[field]) {
            (Quantity::Number, Value::Number(n)) => n.as_f64().unwrap(),
            (Quantity::Number, Value::String(s)) => s.trim().parse().unwrap(),
            (Quantity::IdList, Value::String(s)) => {
                s.split(',').filter(|id| !id.trim().is_empty()).count() as f64
            }
            (Quantity::IdList, Value::Array(ids)) => ids.len() as f64,
            (_, other) => panic!("unreadable quantity {other}"),
        }
    };
    let mut out = BTreeMap::new();
    for metric in &catalog.metrics {
        let types: Vec<&str> = match &metric.kind {
            MetricKind::Duration { start, end } => vec![start, end],
            MetricKind::Occurrences { counted, end } => vec![counted, end],
            MetricKind::Count { event }
            | MetricKind::Value { event, .. }
            | MetricKind::Ratio { event, .. } => vec![event],
        };
        // (aggregate, partition) to its events.
        type Groups<'a> = BTreeMap<(String, Vec<(String, String)>), Vec<&'a Event>>;
        let mut groups: Groups = BTreeMap::new();
        for e in unique
            .values()
            .filter(|e| types.contains(&e.event_type.as_str()))
        {
            let partition = metric
                .partition_by
                .iter()
                .map(|f| (f.clone(), text(&e.payload[f])))
                .collect();
            groups
                .entry((e.aggregate_id.clone(), partition))
                .or_default()
                .push(e);
        }
        for ((aggregate, partition), mut group) in groups {
            group.sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
            let mut dimensions: BTreeMap<String, String> = partition.into_iter().collect();
            if let Some(env) = environment {
                dimensions.insert("Environment".into(), env.into());
            }
            let mut point = |e: &Event, value: f64| {
                let id = (
                    metric.name.clone(),
                    aggregate.clone(),
                    e.event_id.clone(),
                    format!("{dimensions:?}"),
                );
                out.insert(id, value);
            };
            let mut earliest_start: Option<i64> = None;
            let mut counted = 0;
            for e in group {
                let t = e.event_type.as_str();
                match &metric.kind {
                    MetricKind::Duration { start, end } => {
                        if t == end {
                            if let Some(s) = earliest_start.take() {
                                point(e, (e.time - s) as f64 / 1000.0);
                            }
                        } else if t == start && earliest_start.is_none() {
                            earliest_start = Some(e.time);
                        }
                    }
                    MetricKind::Occurrences { counted: c, end } => {
                        if t == end {
                            point(e, counted as f64);
                            counted = 0;
                        } else if t == c {
                            counted += 1;
                        }
                    }
                    MetricKind::Count { .. } => point(e, 1.0),
                    MetricKind::Value {
                        field, quantity: q, ..
                    } => point(e, quantity(e, field, *q)),
                    MetricKind::Ratio {
                        numerator,
                        denominator,
                        quantity: q,
                        scale,
                        ..
                    } => {
                        let sum = |fields: &[String]| -> f64 {
                            fields.iter().map(|f| quantity(e, f, *q)).sum()
                        };
                        let den = sum(denominator);
                        if den != 0.0 {
                            point(e, sum(numerator) / den * scale);
                        }
                    }
                }
            }
        }
    }
    out
}
