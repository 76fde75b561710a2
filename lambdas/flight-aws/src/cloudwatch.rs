//! The metric sink on CloudWatch's `PutMetricData`.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_sdk_cloudwatch::Client;
use flight_core::cloudwatch_rules;
use flight_core::engine::Measurement;
use flight_core::ports::{MetricSink, SinkError};
use flight_core::refusal::PublishFailure;

use crate::error::{classify, is_refusal};

/// CloudWatch takes at most 1000 data points per `PutMetricData`...
pub const MAX_DATUMS_PER_REQUEST: usize = 1000;
/// ...and at most 1 MB per request.
pub const MAX_REQUEST_BYTES: usize = 1_000_000;

/// A conservative estimate of a datum's size in a query-protocol request body:
/// every key spelled out in full (`MetricData.member.1000.Dimensions.member.30.Value=`)
/// and every string character percent-encoded (three bytes).
fn estimated_size(m: &Measurement) -> usize {
    const KEY: usize = 64;
    const NUMBER: usize = 32;
    let strings = m.metric.len() + m.unit.len();
    let dimensions: usize = m
        .dimensions
        .iter()
        .map(|(k, v)| 2 * KEY + 3 * (k.len() + v.len()))
        .sum();
    4 * KEY + 3 * strings + 2 * NUMBER + dimensions
}

/// Publishes measurements as CloudWatch custom metrics in one namespace.
pub struct CloudWatchSink {
    client: Client,
    namespace: String,
    calls: AtomicU64,
}

impl CloudWatchSink {
    /// A sink publishing into `namespace` (e.g. `FlightController/dev`).
    pub fn new(client: Client, namespace: impl Into<String>) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            calls: AtomicU64::new(0),
        }
    }

    /// The namespace metrics go to.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// How many `PutMetricData` calls this sink has made (for tests and benchmarks).
    pub fn put_metric_data_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn datum(m: &Measurement) -> MetricDatum {
        let mut datum = MetricDatum::builder()
            .metric_name(&m.metric)
            .value(m.value)
            .unit(StandardUnit::from(m.unit.as_str()))
            .timestamp(DateTime::from_millis(m.timestamp));
        for (name, value) in &m.dimensions {
            datum = datum.dimensions(Dimension::builder().name(name).value(value).build());
        }
        datum.build()
    }

    /// Splits measurements into requests of at most 1000 datums and 1 MB.
    fn batches<'a>(&self, measurements: &'a [Measurement]) -> Vec<&'a [Measurement]> {
        let budget = MAX_REQUEST_BYTES - 256 - 3 * self.namespace.len();
        let mut batches = Vec::new();
        let mut start = 0;
        let mut size = 0;
        for (i, m) in measurements.iter().enumerate() {
            let datum = estimated_size(m);
            if i > start && (i - start == MAX_DATUMS_PER_REQUEST || size + datum > budget) {
                batches.push(&measurements[start..i]);
                start = i;
                size = 0;
            }
            size += datum;
        }
        if start < measurements.len() {
            batches.push(&measurements[start..]);
        }
        batches
    }
}

#[async_trait]
impl MetricSink for CloudWatchSink {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        self.publish_or_refuse(measurements)
            .await
            .map_err(PublishFailure::into_sink_error)
    }

    /// Sends every measurement (and the `Environment`-only rollup of each
    /// partitioned one), in requests of at most 1000 data points and 1 MB, one
    /// after another. Fails as a whole if any request fails. The service hands
    /// over at most 1000 measurements at a time and records each accepted
    /// chunk, so a retry resends only a chunk whose requests did not all succeed.
    ///
    /// Data that breaks one of CloudWatch's documented rules
    /// ([`flight_core::cloudwatch_rules`]) is refused before any request is
    /// made; a request CloudWatch refuses for its data ([`is_refusal`]) is a
    /// refusal too, which the service isolates; anything else may be retried.
    async fn publish_or_refuse(&self, measurements: &[Measurement]) -> Result<(), PublishFailure> {
        let measurements = flight_core::engine::with_rollups(measurements);
        // Timestamps are the service's to judge, with its clock (see `Delivery`).
        if let Some(rule) = measurements
            .iter()
            .find_map(|m| cloudwatch_rules::check_datum(m, None).err())
        {
            return Err(PublishFailure::Refused(SinkError {
                message: format!(
                    "PutMetricData to namespace {} not sent: {rule}",
                    self.namespace
                ),
            }));
        }
        let batches = self.batches(&measurements);
        let total = batches.len();
        for (i, batch) in batches.into_iter().enumerate() {
            self.calls.fetch_add(1, Ordering::Relaxed);
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(batch.iter().map(Self::datum).collect()))
                .send()
                .await
                .map_err(|err| {
                    let (retryable, description) = classify(&err);
                    let error = SinkError {
                        message: format!(
                            "PutMetricData to namespace {} failed on request {} of {total} ({} data points, {}): {description}",
                            self.namespace,
                            i + 1,
                            batch.len(),
                            if retryable { "retryable" } else { "not retryable" },
                        ),
                    };
                    if is_refusal(&err) {
                        PublishFailure::Refused(error)
                    } else {
                        PublishFailure::Retryable(error)
                    }
                })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use flight_core::Delivery;

    use super::*;

    fn measurement(i: usize, dimension_len: usize) -> Measurement {
        Measurement {
            metric: "GuardrailLeadTime".into(),
            value: i as f64,
            unit: "Seconds".into(),
            timestamp: 1_700_000_000_000,
            aggregate_id: format!("res-{i}"),
            event_id: format!("e-{i}"),
            dimensions: BTreeMap::from([("guardrail_id".to_string(), "g".repeat(dimension_len))]),
            delivery: Delivery::Published,
            test_run_id: None,
            refusal: None,
        }
    }

    fn sink() -> CloudWatchSink {
        let config = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .build();
        CloudWatchSink::new(Client::from_conf(config), "FlightController/test")
    }

    #[test]
    fn batches_hold_at_most_1000_datums() {
        let ms: Vec<_> = (0..2500).map(|i| measurement(i, 5)).collect();
        let sizes: Vec<_> = sink().batches(&ms).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
        assert!(sink().batches(&[]).is_empty());
    }

    #[tokio::test]
    async fn a_data_point_breaking_a_documented_rule_is_refused_before_any_request() {
        let mut poison = measurement(1, 5);
        poison
            .dimensions
            .insert("guardrail_id".into(), "tab\there".into());
        let sink = sink();
        let failure = sink
            .publish_or_refuse(&[measurement(0, 5), poison])
            .await
            .unwrap_err();
        let PublishFailure::Refused(error) = failure else {
            panic!("a refusal, not a retryable failure: {failure}");
        };
        assert!(
            error.message.contains("control character U+0009 (a tab)"),
            "{error}"
        );
        assert_eq!(sink.put_metric_data_calls(), 0);
    }

    #[test]
    fn batches_stay_under_a_megabyte() {
        // 255-character dimension values: ~1.9 KB per datum estimated.
        let ms: Vec<_> = (0..1000).map(|i| measurement(i, 255)).collect();
        let batches = sink().batches(&ms);
        assert!(batches.len() >= 2, "{} batches", batches.len());
        for batch in batches {
            let size: usize = batch.iter().map(estimated_size).sum();
            assert!(size <= MAX_REQUEST_BYTES);
        }
    }
}
