//! The test code Flight Controller's crates share, one concept per module:
//!
//! - [`alerting`]: generated measurement histories of the alerting
//!   scenarios (sudden outage, slow burn, healthy month, low traffic,
//!   recovery, a calendar boundary, values at the threshold);
//! - [`clock`]: the fixed "now" and the durations the tests count in;
//! - [`fixtures`]: EventBridge events written by hand and a service over the
//!   in-memory store, sink and clock;
//! - [`stories`]: generated event histories and how published data points
//!   compare with the definition (`measure_all` over the set of events);
//! - [`oracle`]: the metric semantics (docs/metrics.md) written out again,
//!   naively and apart from the engine;
//! - [`faults`]: fault injection at the ports, the platform's redelivery, and
//!   the fault matrix;
//! - [`poison`]: one event CloudWatch refuses among 10,000 good ones, over
//!   any store, published through the strict fake sink;
//! - `aws` (feature `aws`): the local stack's endpoints, stores on DynamoDB
//!   Local, SQS queues, polling without fixed sleeps.
//!
//! A dev-dependency only (`publish = false`); flight-core's tests use it
//! without the `aws` feature, so they never build the AWS SDK.

pub mod alerting;
#[cfg(feature = "aws")]
pub mod aws;
pub mod clock;
pub mod faults;
pub mod fixtures;
pub mod oracle;
pub mod poison;
pub mod stories;
