//! Fakes of the other ports for tests and offline runs: a metric sink that
//! keeps what it is given, and a clock that moves only when told.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::engine::Measurement;
use crate::envelope::Millis;
use crate::ports::{Clock, MetricSink, SinkError};

/// A metric sink that keeps what it is given.
#[derive(Default)]
pub struct CollectingSink {
    published: Mutex<Vec<Measurement>>,
    calls: AtomicI64,
}

impl CollectingSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything published so far, in publishing order.
    pub fn published(&self) -> Vec<Measurement> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many publish calls it served.
    pub fn calls(&self) -> i64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl MetricSink for CollectingSink {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(measurements);
        Ok(())
    }
}

/// A clock that only moves when told.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    pub fn new(now: Millis) -> Self {
        Self {
            now: AtomicI64::new(now),
        }
    }

    pub fn set(&self, now: Millis) {
        self.now.store(now, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Millis) {
        self.now.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }

    /// Moves the clock on by `ms`: a wait that takes no time.
    fn pause(&self, ms: Millis) -> futures_util::future::BoxFuture<'_, bool> {
        self.advance(ms);
        Box::pin(std::future::ready(true))
    }
}
