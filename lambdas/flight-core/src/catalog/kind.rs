//! The metric kinds (docs/metrics.md), each described in one place: what the catalog
//! spells it, the keys it takes, the unit it requires, the event types it
//! involves and which one completes a data point, its span roles, the payload
//! fields it reads, the CloudWatch statistic that reads it, and how it measures.
//!
//! Every `match` on a kind here is exhaustive and no other module matches on
//! one: adding a kind makes the compiler list each thing to decide about it.

use serde::Deserialize;
use smallvec::SmallVec;

use super::model::{Quantity, Role};
use super::parse::{Issues, RawMetric};

/// Declares [`KindName`] and [`KindName::ALL`] from one list, so the list of
/// every kind cannot miss one.
macro_rules! kind_names {
    ($($kind:ident),* $(,)?) => {
        /// A metric kind as the catalog spells it (`kind: duration`).
        #[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
        #[serde(rename_all = "snake_case")]
        pub enum KindName {
            $($kind),*
        }

        impl KindName {
            /// Every kind, in the order declared. The corpus test requires a
            /// catalog with a metric of each, which Terraform plans too.
            pub const ALL: &'static [KindName] = &[$(KindName::$kind),*];
        }
    };
}

kind_names!(Duration, Count, Occurrences, Value, Ratio);

/// How a metric's data points come from events (docs/metrics.md).
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

/// The CloudWatch statistic that reads a metric the way its kind means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statistic {
    /// The percentile its `at_most` SLO is stated in (`p99`), else `p90`.
    SloPercentile,
    Sum,
    Maximum,
    Average,
}

impl KindName {
    /// The name as the catalog spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            KindName::Duration => "duration",
            KindName::Count => "count",
            KindName::Occurrences => "occurrences",
            KindName::Value => "value",
            KindName::Ratio => "ratio",
        }
    }

    /// The unit a metric of this kind must be measured in, if the kind fixes it.
    pub fn required_unit(self) -> Option<&'static str> {
        match self {
            KindName::Duration => Some("Seconds"),
            KindName::Count | KindName::Occurrences => Some("Count"),
            KindName::Value | KindName::Ratio => None,
        }
    }

    /// The kind-specific keys a metric of this kind takes.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            KindName::Duration => &["start", "end"],
            KindName::Count => &["event"],
            KindName::Occurrences => &["counted", "end"],
            KindName::Value => &["event", "field", "quantity"],
            KindName::Ratio => &["event", "numerator", "denominator", "quantity", "scale"],
        }
    }

    /// Builds the kind from a metric's keys, reporting what is missing or
    /// wrong. `event_ref` resolves (and reports) a key naming an event type.
    pub(super) fn build(
        self,
        path: &str,
        raw: &RawMetric,
        event_ref: &mut dyn FnMut(&str, &Option<String>, &mut Issues<'_>) -> String,
        issues: &mut Issues<'_>,
    ) -> MetricKind {
        let distinct = |a: &str, b: &str, issues: &mut Issues<'_>, what: &str| {
            if !a.is_empty() && a == b {
                issues.add(format!("{path}.end"), what.to_string());
            }
        };
        match self {
            KindName::Duration => {
                let start = event_ref("start", &raw.start, issues);
                let end = event_ref("end", &raw.end, issues);
                distinct(
                    &start,
                    &end,
                    issues,
                    "start and end must be different event types",
                );
                MetricKind::Duration { start, end }
            }
            KindName::Occurrences => {
                let counted = event_ref("counted", &raw.counted, issues);
                let end = event_ref("end", &raw.end, issues);
                distinct(
                    &counted,
                    &end,
                    issues,
                    "counted and end must be different event types",
                );
                MetricKind::Occurrences { counted, end }
            }
            KindName::Count => MetricKind::Count {
                event: event_ref("event", &raw.event, issues),
            },
            KindName::Value => {
                let event = event_ref("event", &raw.event, issues);
                if raw.field.is_none() {
                    issues.add(path, "a value metric needs `field`");
                }
                MetricKind::Value {
                    event,
                    field: raw.field.clone().unwrap_or_default(),
                    quantity: raw.quantity.unwrap_or(Quantity::Number),
                }
            }
            KindName::Ratio => {
                let event = event_ref("event", &raw.event, issues);
                for (key, list) in [
                    ("numerator", &raw.numerator),
                    ("denominator", &raw.denominator),
                ] {
                    if list.as_ref().is_none_or(Vec::is_empty) {
                        issues.add(
                            path,
                            format!(
                                "a ratio metric needs a non-empty `{key}` list of payload fields"
                            ),
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
        }
    }
}

impl MetricKind {
    /// The kind's name, as the catalog spells it.
    pub fn name(&self) -> KindName {
        match self {
            MetricKind::Duration { .. } => KindName::Duration,
            MetricKind::Count { .. } => KindName::Count,
            MetricKind::Occurrences { .. } => KindName::Occurrences,
            MetricKind::Value { .. } => KindName::Value,
            MetricKind::Ratio { .. } => KindName::Ratio,
        }
    }

    /// The event types a metric of this kind involves, completer last.
    pub fn event_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.span_roles().iter().map(|(t, _)| *t).collect();
        if types.is_empty() {
            types.push(self.completer());
        }
        types
    }

    /// Whether events of this type take part in the metric (one of
    /// [`MetricKind::event_types`], without building the list).
    pub fn involves(&self, event_type: &str) -> bool {
        match self {
            MetricKind::Duration { start, end } => start == event_type || end == event_type,
            MetricKind::Occurrences { counted, end } => counted == event_type || end == event_type,
            _ => self.completer() == event_type,
        }
    }

    /// The event type whose events complete a data point.
    pub fn completer(&self) -> &str {
        match self {
            MetricKind::Duration { end, .. } | MetricKind::Occurrences { end, .. } => end,
            MetricKind::Count { event }
            | MetricKind::Value { event, .. }
            | MetricKind::Ratio { event, .. } => event,
        }
    }

    /// The event types of a span metric with the role each plays; empty for
    /// a kind whose data point depends on its completing event alone.
    /// (Without an allocation: the engine asks per aggregate.)
    pub fn span_roles(&self) -> SmallVec<[(&str, Role); 2]> {
        match self {
            MetricKind::Duration { start, end } => {
                SmallVec::from_buf([(start, Role::Start), (end, Role::End)])
            }
            MetricKind::Occurrences { counted, end } => {
                SmallVec::from_buf([(counted, Role::Counted), (end, Role::End)])
            }
            MetricKind::Count { .. } | MetricKind::Value { .. } | MetricKind::Ratio { .. } => {
                SmallVec::new()
            }
        }
    }

    /// The event type that ends a span, for a span metric.
    pub fn span_end(&self) -> Option<&str> {
        self.span_roles()
            .into_iter()
            .find(|(_, role)| *role == Role::End)
            .map(|(t, _)| t)
    }

    /// Whether a data point depends on other events (duration, occurrences).
    pub fn is_span(&self) -> bool {
        !self.span_roles().is_empty()
    }

    /// The payload fields it reads as numbers, sorted, each once.
    pub fn value_fields(&self) -> Vec<&String> {
        match self {
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
            MetricKind::Duration { .. }
            | MetricKind::Count { .. }
            | MetricKind::Occurrences { .. } => Vec::new(),
        }
    }

    /// How it reads its payload fields, if it reads any.
    pub fn quantity(&self) -> Option<Quantity> {
        match self {
            MetricKind::Value { quantity, .. } | MetricKind::Ratio { quantity, .. } => {
                Some(*quantity)
            }
            MetricKind::Duration { .. }
            | MetricKind::Count { .. }
            | MetricKind::Occurrences { .. } => None,
        }
    }

    /// The CloudWatch statistic its dashboards and SLO statements read it with.
    pub fn statistic(&self) -> Statistic {
        match self {
            MetricKind::Duration { .. } => Statistic::SloPercentile,
            MetricKind::Count { .. } => Statistic::Sum,
            MetricKind::Occurrences { .. } => Statistic::Maximum,
            MetricKind::Value { .. } | MetricKind::Ratio { .. } => Statistic::Average,
        }
    }

    /// The value of the data point an `end` completes for a span metric, from
    /// the events before it on its timeline, nearest first (`(event type, time)`).
    /// `None` when there is none (a duration with no start in its span, or a
    /// kind that is not a span).
    pub fn span_value<'a>(
        &self,
        end_time: i64,
        before: impl IntoIterator<Item = (&'a str, i64)>,
    ) -> Option<f64> {
        match self {
            MetricKind::Duration { start, end } => before
                .into_iter()
                .take_while(|(t, _)| *t != end)
                .filter(|(t, _)| *t == start)
                .last()
                .map(|(_, start_time)| (end_time - start_time) as f64 / 1000.0),
            MetricKind::Occurrences { counted, end } => Some(
                before
                    .into_iter()
                    .take_while(|(t, _)| *t != end)
                    .filter(|(t, _)| *t == counted)
                    .count() as f64,
            ),
            MetricKind::Count { .. } | MetricKind::Value { .. } | MetricKind::Ratio { .. } => None,
        }
    }

    /// The value of a data point that depends on its event alone (count,
    /// value, ratio), each of its [`Self::value_fields`] read by `read`;
    /// `None` if one does not read.
    pub fn immediate_value(&self, read: impl Fn(&str) -> Option<f64>) -> Option<f64> {
        match self {
            MetricKind::Count { .. } => Some(1.0),
            MetricKind::Value { field, .. } => read(field),
            MetricKind::Ratio {
                numerator,
                denominator,
                scale,
                ..
            } => {
                // Every field must read (as a metric's `value_fields` all must).
                let sum = |fields: &[String]| -> Option<f64> {
                    fields.iter().map(|field| read(field)).sum()
                };
                let (numerator, denominator) = (sum(numerator)?, sum(denominator)?);
                (denominator != 0.0).then(|| numerator / denominator * scale)
            }
            MetricKind::Duration { .. } | MetricKind::Occurrences { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_involves_exactly_its_event_types() {
        let text = |s: &str| s.to_string();
        let kinds = [
            MetricKind::Duration {
                start: text("A"),
                end: text("B"),
            },
            MetricKind::Count { event: text("A") },
            MetricKind::Occurrences {
                counted: text("A"),
                end: text("B"),
            },
            MetricKind::Value {
                event: text("A"),
                field: text("f"),
                quantity: Quantity::Number,
            },
            MetricKind::Ratio {
                event: text("B"),
                numerator: vec![text("n")],
                denominator: vec![text("d")],
                quantity: Quantity::Number,
                scale: 1.0,
            },
        ];
        for kind in &kinds {
            for event_type in ["A", "B", "C", ""] {
                assert_eq!(
                    kind.involves(event_type),
                    kind.event_types().contains(&event_type),
                    "{kind:?} {event_type}"
                );
            }
        }
    }
}
