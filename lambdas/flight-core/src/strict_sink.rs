//! A strict fake of CloudWatch for tests: a [`MetricSink`] that applies every
//! documented `PutMetricData` rule ([`crate::cloudwatch_rules::check_call`])
//! and refuses the whole call, as CloudWatch does, when one data point breaks
//! one; so the next rule the door misses fails a test instead of a sweep.
//! It keeps what it accepted, and can be told to throttle calls.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::cloudwatch_rules::check_call;
use crate::engine::Measurement;
use crate::ports::{Clock, MetricSink, SinkError};
use crate::refusal::PublishFailure;

/// A metric sink that accepts only what CloudWatch would.
pub struct StrictSink {
    clock: Arc<dyn Clock>,
    accepted: Mutex<Vec<Measurement>>,
    calls: AtomicUsize,
    refused_calls: AtomicUsize,
    /// Numbers of the calls to throttle (the first call is 1).
    throttle: Mutex<BTreeSet<usize>>,
}

impl StrictSink {
    /// A strict sink judging timestamps by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            accepted: Mutex::new(Vec::new()),
            calls: AtomicUsize::new(0),
            refused_calls: AtomicUsize::new(0),
            throttle: Mutex::new(BTreeSet::new()),
        }
    }

    /// Answers these calls (numbered from 1, counting every call) with a
    /// throttling error, which is retryable.
    pub fn throttle_calls(&self, calls: impl IntoIterator<Item = usize>) {
        self.throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(calls);
    }

    /// Every data point accepted so far, in order.
    pub fn accepted(&self) -> Vec<Measurement> {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many times each data point (metric, aggregate, event, dimensions)
    /// was accepted: exactly once is 1 everywhere.
    pub fn acceptances(&self) -> BTreeMap<(String, String, String, String), usize> {
        let mut counts = BTreeMap::new();
        for m in self.accepted() {
            let key = (
                m.metric.clone(),
                m.aggregate_id.clone(),
                m.event_id.clone(),
                format!("{:?}", m.dimensions),
            );
            *counts.entry(key).or_default() += 1;
        }
        counts
    }

    /// Calls made, refused or not.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Calls refused as invalid.
    pub fn refused_calls(&self) -> usize {
        self.refused_calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl MetricSink for StrictSink {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        self.publish_or_refuse(measurements)
            .await
            .map_err(PublishFailure::into_sink_error)
    }

    async fn publish_or_refuse(&self, measurements: &[Measurement]) -> Result<(), PublishFailure> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let throttled = self
            .throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&call);
        if throttled {
            return Err(PublishFailure::Retryable(SinkError {
                message: "Throttling: Rate exceeded (HTTP 400)".into(),
            }));
        }
        if let Err(rule) = check_call(measurements, self.clock.now()) {
            self.refused_calls.fetch_add(1, Ordering::SeqCst);
            return Err(PublishFailure::Refused(SinkError {
                message: format!("InvalidParameterValue (HTTP 400): {rule}"),
            }));
        }
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(measurements);
        Ok(())
    }
}
