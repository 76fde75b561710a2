//! Fault injection at the ports. [`FaultyStore`] and [`FaultySink`] wrap an
//! [`EventStore`](flight_core::EventStore) and a
//! [`MetricSink`](flight_core::MetricSink) and, at a chosen call (counted
//! across both), fail it in one of the ways the real services fail
//! ([`Fault`]), or "crash": stop the work there, as a Lambda process that
//! dies, so that no later call of that invocation has any effect.
//!
//! [`drive`] runs a scenario through the Lambda handlers the way the platform
//! does; [`single_fault_matrix`] runs every single fault at every call of the
//! [`SCENARIOS`]. flight-core's tests run the matrix over the in-memory store,
//! flight-aws's over DynamoDB Local.

mod drive;
mod matrix;
mod plan;
mod ports;
mod scenarios;

pub use drive::{drive, Op, Outcome};
pub use matrix::{distinct, run_once, single_fault_matrix, MatrixReport};
pub use plan::{Fault, FaultPlan, Fired};
pub use ports::{faulty_service, FaultyService, FaultySink, FaultyStore};
pub use scenarios::{published_at_ingest, published_by_the_sweep, Scenario, SCENARIOS};
