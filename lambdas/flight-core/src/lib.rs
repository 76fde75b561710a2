//! Flight Controller's domain: the event envelope, the catalog, the metric
//! engine, the use cases and the ports they need. No AWS code lives here.
//!
//! Dependencies run one way: `rejection`, `time` and `duration` need nothing
//! else; `names` needs `duration`; `catalog` needs `names`; `envelope` needs
//! the catalog; `engine` the envelope; `service` the engine and the ports;
//! `slo` the catalog and the engine's measurements; `alerting` (burn-rate
//! alarms, their evaluation, the period budget) the catalog and `slo`.

pub mod alerting;
pub mod backfill;
pub mod capture;
pub mod catalog;
pub mod cloudwatch_rules;
pub mod duration;
pub mod engine;
pub mod envelope;
pub mod handler;
mod json_text;
pub mod memory;
pub mod metric_shard;
pub mod names;
pub mod ports;
pub mod reads;
pub mod refusal;
pub mod rejection;
pub mod replay;
pub mod series_budget;
pub mod service;
pub mod shard;
pub mod slo;
pub mod strict_sink;
pub mod time;
pub mod yaml;

pub use catalog::{Catalog, CatalogError, CatalogIssue, Metric, MetricKind};
pub use engine::{Delivery, Measurement};
pub use envelope::{Event, Millis, Rejection};
pub use ports::{Clock, EventStore, MetricSink, SystemClock};
pub use service::{FlightController, IngestError, IngestReport, Settings, SettleReport};
