//! What a validated catalog holds: event types, metrics, SLOs, and what each
//! event type means to the metrics (its [`TypePlan`]).

use std::fmt;

use serde::Deserialize;

use super::alerting::{Alerting, SloAlerting};
use super::kind::MetricKind;
use super::period::Period;

/// Event type names (canonical and aliases) to the index of their type:
/// looked up per event by replay, so hashed with `foldhash` (a fixed seed:
/// the catalog's behaviour does not vary per process).
pub(crate) type NameMap = std::collections::HashMap<String, usize, foldhash::fast::FixedState>;

/// A validated catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// CloudWatch namespace of every metric.
    pub namespace: String,
    pub event_types: Vec<EventType>,
    pub metrics: Vec<Metric>,
    pub slos: Vec<Slo>,
    /// The catalog-wide alert policy (defaults filled in).
    pub alerting: Alerting,
    /// AWS service events mapped to event types (docs/aws-sources.md).
    pub sources: Vec<super::sources::Source>,
    /// Canonical names and aliases to the index of their event type.
    pub(super) names: NameMap,
    /// Per event type (same index), what the metrics need of it.
    pub(super) plans: Vec<TypePlan>,
}

/// A kind of event a producer sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    pub name: String,
    pub aliases: Vec<String>,
    pub description: String,
    pub help_url: Option<String>,
    pub aggregate_type: Option<String>,
    /// Payload fields some metric needs; an event without them is rejected.
    pub payload_fields: Vec<String>,
}

/// A measure computed from events.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub description: Option<String>,
    pub kind: MetricKind,
    pub unit: String,
    /// Payload fields that split the measure; they become CloudWatch dimensions.
    pub partition_by: Vec<String>,
    /// The most distinct partitions (CloudWatch series) it may publish; see
    /// [`crate::series_budget`]. Meaningless without `partition_by`.
    pub series_budget: u32,
}

/// How a payload field is read as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// A JSON number or a string holding one.
    Number,
    /// Comma-separated ids (or a JSON array); the quantity is how many. `""` is 0.
    IdList,
}

/// A service level objective on a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub name: String,
    pub metric: String,
    /// Percent of values that must be good, in (0, 100).
    pub objective: f64,
    /// The bound a good value respects, in the metric's unit; 0 or more.
    pub threshold: f64,
    pub good_when: GoodWhen,
    /// The span the objective and its error budget are measured over.
    pub period: Period,
    /// The most urgent severity its alerts notify (`ticket` sends pages to
    /// the ticket topic); `page` when not given.
    pub severity: Severity,
    /// Its alert rules and low-traffic rule, resolved from the catalog's
    /// `alerting` block and its own.
    pub alerting: SloAlerting,
    pub description: Option<String>,
}

/// Which side of the threshold is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoodWhen {
    AtMost,
    AtLeast,
}

/// Who an SLO alarm notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    /// Every severity, in the order the alert topics are listed.
    pub const ALL: [Severity; 2] = [Severity::Page, Severity::Ticket];

    /// The name the catalog and the alert topics use: `page`, `ticket`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// The part an event type plays in a span metric (duration, occurrences).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Start,
    Counted,
    End,
}

/// What the metrics need of one event type, derived once from the catalog.
#[derive(Debug, Clone, Default)]
pub struct TypePlan {
    /// Metrics for which an event of this type completes a data point.
    pub completes: Vec<usize>,
    /// Metrics it takes part in ([`MetricKind::involves`](super::MetricKind::involves)), ascending.
    pub involved: Vec<usize>,
    /// Span metrics (duration, occurrences) it takes part in, with its role.
    pub spans: Vec<(usize, Role)>,
    /// The partition fields of its timeline, if it takes part in a span metric.
    pub timeline: Option<Vec<String>>,
}

/// A problem found in a catalog, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogIssue {
    /// Path of the offending node, e.g. `metrics[3].start`.
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for CatalogIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{line}:{column}: ")?,
            (Some(line), None) => write!(f, "{line}: ")?,
            _ => {}
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a catalog could not be used: every issue found, in source order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the catalog:\n{}", issues.len(), render(issues))]
pub struct CatalogError {
    pub issues: Vec<CatalogIssue>,
}

impl CatalogError {
    /// The issues, one per line, each prefixed with `source:` (a file name).
    pub fn render_for(&self, source: &str) -> String {
        self.issues
            .iter()
            .map(|issue| format!("{source}:{issue}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn render(issues: &[CatalogIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
