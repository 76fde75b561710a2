//! The catalog: event types, metrics and SLOs, from one YAML file.
//!
//! [`Catalog::parse`] reads and validates it (`parse`, `metric`); every
//! problem comes back as a [`CatalogIssue`] with the line it is on. What the
//! catalog holds is in `model`, what each metric kind means in `kind`, and
//! what is derived from it in `plan`. [`Catalog::default_catalog`] is
//! `events/catalog.yaml`, embedded at build time.

mod alerting;
mod kind;
mod metric;
mod model;
mod parse;
mod period;
mod plan;
mod slos;
mod source_checks;
pub mod sources;
#[cfg(test)]
mod tests;

pub use alerting::{
    default_rules, max_burn, AlertRule, Alerting, RuleSpec, RuleThreshold, SloAlerting,
    DEFAULT_LATENESS_WINDOW, DEFAULT_MIN_VALUES, DEFAULT_SWEEP_INTERVAL, MAX_WINDOW,
};
pub use kind::{KindName, MetricKind, Statistic};
pub use model::{
    Catalog, CatalogError, CatalogIssue, EventType, GoodWhen, Metric, Quantity, Role, Severity,
    Slo, TypePlan,
};
pub use period::{parse_time_zone, CalendarUnit, Period, PeriodError, DEFAULT_PERIOD};
pub use plan::percent_text;

/// The default catalog, `events/catalog.yaml`, as built into the binaries.
pub const DEFAULT_CATALOG_YAML: &str = include_str!("../../../../events/catalog.yaml");

/// The name the default catalog is reported under.
pub const DEFAULT_CATALOG_NAME: &str = "events/catalog.yaml";

/// The operational metric counting events that arrived too late to be counted.
pub const LATE_EVENTS_METRIC: &str = "LateEvents";

/// The operational metric counting events refused as invalid.
pub const REJECTED_EVENTS_METRIC: &str = "RejectedEvents";

/// CloudWatch's standard units.
pub const CLOUDWATCH_UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

impl Catalog {
    /// The default catalog (`events/catalog.yaml`, embedded at build time).
    pub fn default_catalog() -> Catalog {
        Catalog::parse(DEFAULT_CATALOG_YAML)
            .expect("events/catalog.yaml is validated by the test suite")
    }

    /// The event type named `name`, by its canonical name or an alias.
    pub fn event_type(&self, name: &str) -> Option<&EventType> {
        self.event_type_index(name).map(|i| &self.event_types[i])
    }

    /// The index in `event_types` of the type with this name or alias.
    pub fn event_type_index(&self, name: &str) -> Option<usize> {
        self.names.get(name).copied()
    }

    /// What the metrics need of the event type with this canonical name.
    pub fn plan(&self, canonical: &str) -> Option<&TypePlan> {
        self.names
            .get(canonical)
            .filter(|&&i| self.event_types[i].name == canonical)
            .map(|&i| &self.plans[i])
    }

    /// The metrics events of this type (canonical name) take part in, in
    /// catalog order: those whose kind [`involves`](MetricKind::involves) it.
    pub fn involved(&self, canonical: &str) -> impl Iterator<Item = &Metric> {
        self.plan(canonical)
            .into_iter()
            .flat_map(|plan| plan.involved.iter().map(|&m| &self.metrics[m]))
    }

    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Canonical event type names, for error messages.
    pub fn type_names(&self) -> Vec<&str> {
        self.event_types.iter().map(|t| t.name.as_str()).collect()
    }

    /// The event types a metric involves (see [`MetricKind::event_types`]).
    pub fn metric_event_types(metric: &Metric) -> Vec<&str> {
        metric.kind.event_types()
    }
}
