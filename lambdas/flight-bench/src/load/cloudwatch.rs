//! CloudWatch as the load model sees it: each `publish` is one PutMetricData
//! call with a drawn latency; the model checks the per-call limits
//! ([`MAX_DATUMS_PER_REQUEST`] data points, [`MAX_REQUEST_BYTES`]) and counts
//! calls against the account's PutMetricData rate ([`ACCOUNT_CALLS_PER_SECOND`]),
//! making calls beyond it wait as throttled ones are retried.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use flight_aws::{MAX_DATUMS_PER_REQUEST, MAX_REQUEST_BYTES};
use flight_core::ports::{MetricSink, SinkError};
use flight_core::Measurement;

use super::exec::{Latency, Rng, Sim};

/// PutMetricData calls per second an account may make in a region (the
/// default quota this model assumes; the quota is adjustable).
pub const ACCOUNT_CALLS_PER_SECOND: f64 = 500.0;

/// The latency of one PutMetricData call.
pub const PUT_METRIC_DATA: Latency = Latency {
    p50_ms: 15.0,
    p99_ms: 60.0,
};

/// What the modelled CloudWatch served.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkUsage {
    pub calls: u64,
    pub points: u64,
    pub throttled: u64,
    /// The largest call, in data points and in (estimated) bytes.
    pub largest_points: usize,
    pub largest_bytes: usize,
}

struct Books {
    usage: SinkUsage,
    tokens: f64,
    at_us: i64,
}

/// A metric sink with CloudWatch's latency and limits; it keeps nothing.
pub struct ModeledSink {
    sim: Arc<Sim>,
    latency: Latency,
    rng: Mutex<Rng>,
    books: Mutex<Books>,
}

/// An estimate of a data point's share of a PutMetricData request body.
fn point_bytes(m: &Measurement) -> usize {
    let dimensions: usize = m
        .dimensions
        .iter()
        .map(|(k, v)| k.len() + v.len() + 64)
        .sum();
    120 + m.metric.len() + dimensions
}

impl ModeledSink {
    pub fn new(sim: Arc<Sim>, latency: Latency, seed: u64) -> Self {
        Self {
            sim,
            latency,
            rng: Mutex::new(Rng::new(seed)),
            books: Mutex::new(Books {
                usage: SinkUsage::default(),
                tokens: ACCOUNT_CALLS_PER_SECOND,
                at_us: 0,
            }),
        }
    }

    pub fn usage(&self) -> SinkUsage {
        self.books.lock().unwrap_or_else(|e| e.into_inner()).usage
    }
}

#[async_trait]
impl MetricSink for ModeledSink {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        let bytes: usize = measurements.iter().map(point_bytes).sum();
        if measurements.len() > MAX_DATUMS_PER_REQUEST || bytes > MAX_REQUEST_BYTES {
            return Err(SinkError {
                message: format!(
                    "one PutMetricData call of {} data points, {bytes} bytes: beyond CloudWatch's limits",
                    measurements.len()
                ),
            });
        }
        let now = self.sim.now_us();
        let wait = {
            let mut books = self.books.lock().unwrap_or_else(|e| e.into_inner());
            let elapsed = (now - books.at_us).max(0) as f64 / 1e6;
            books.tokens = (books.tokens + elapsed * ACCOUNT_CALLS_PER_SECOND)
                .min(ACCOUNT_CALLS_PER_SECOND)
                - 1.0;
            books.at_us = books.at_us.max(now);
            let usage = &mut books.usage;
            usage.calls += 1;
            usage.points += measurements.len() as u64;
            usage.largest_points = usage.largest_points.max(measurements.len());
            usage.largest_bytes = usage.largest_bytes.max(bytes);
            if books.tokens < 0.0 {
                books.usage.throttled += 1;
                (-books.tokens / ACCOUNT_CALLS_PER_SECOND * 1e6) as i64
            } else {
                0
            }
        };
        let latency = self
            .latency
            .draw(&mut self.rng.lock().unwrap_or_else(|e| e.into_inner()));
        self.sim.sleep(wait + latency).await;
        Ok(())
    }
}
