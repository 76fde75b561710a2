//! Flight Controller's domain: the event envelope, the catalog, the metric
//! engine, the use cases and the ports they need. No AWS code lives here.
//!
//! Dependencies run one way: `rejection`, `time` and `names` need nothing
//! else; `catalog` needs `names`; `envelope` needs the catalog; `engine` the
//! envelope; `service` the engine and the ports.

pub mod backfill;
pub mod capture;
pub mod catalog;
pub mod cloudwatch_rules;
pub mod engine;
pub mod envelope;
pub mod handler;
pub mod memory;
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
