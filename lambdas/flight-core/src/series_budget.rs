//! A series budget per metric: every distinct partition of a partitioned
//! metric is a CloudWatch custom metric, billed per month ($0.30 each at list
//! price for the first 10,000), so a producer that puts a request id in a
//! partition field would create one billed metric per event. Each partitioned
//! metric may publish at most `series_budget` distinct partitions
//! ([`DEFAULT_SERIES_BUDGET`] unless the catalog says otherwise: the default
//! catalog's 4 partitioned metrics then cost at most 400 series, about $120 a
//! month per environment). Beyond it, a data point is still measured and
//! stored, and published under `Environment` alone (the rollup every SLO
//! alarm reads), but its partitioned datum is not sent; [`OVER_BUDGET_SERIES_METRIC`]
//! counts such data points per metric, with an alarm.
//!
//! The distinct partitions are tracked in the event store (one set per
//! metric, added to with a conditional write that keeps it within the
//! budget), and each process remembers the partitions it has seen admitted,
//! so the check costs no request in the common case: a partition already
//! seen. A new partition costs one conditional write, once per process.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::engine::{Delivery, Measurement, ENVIRONMENT_DIMENSION};
use crate::ports::{Clock, EventStore, MetricSink, StoreError};
use crate::service::FlightController;

/// The series budget of a partitioned metric the catalog gives none.
pub const DEFAULT_SERIES_BUDGET: u32 = 100;
/// The largest series budget the catalog takes (the store keeps each metric's
/// partitions in one item, a hash of 32 bytes each).
pub const MAX_SERIES_BUDGET: u32 = 5_000;
/// The operational metric counting data points published without their
/// partition because their metric's series budget was spent (dimensions
/// `Environment`, `Metric`).
pub const OVER_BUDGET_SERIES_METRIC: &str = "OverBudgetSeries";

/// The partitions this process has seen admitted, per metric.
#[derive(Debug, Default)]
pub struct KnownSeries {
    admitted: Mutex<HashMap<String, HashSet<String>>>,
}

impl KnownSeries {
    fn contains(&self, metric: &str, series: &str) -> bool {
        self.admitted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(metric)
            .is_some_and(|known| known.contains(series))
    }

    fn insert(&self, metric: &str, series: &str) {
        self.admitted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(metric.to_string())
            .or_default()
            .insert(series.to_string());
    }
}

/// The key of a data point's partition: a hash of its dimensions other than
/// `Environment`; `None` for a data point without a partition.
pub fn series_key(dimensions: &BTreeMap<String, String>) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut partitioned = false;
    for (name, value) in dimensions {
        if name == ENVIRONMENT_DIMENSION {
            continue;
        }
        partitioned = true;
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.as_bytes());
        hasher.update([0]);
    }
    partitioned.then(|| {
        hasher.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// The [`OVER_BUDGET_SERIES_METRIC`] data points for `over`, one per metric.
pub fn over_budget_counts(
    over: &[Measurement],
    environment: Option<&str>,
    now: crate::envelope::Millis,
) -> Vec<Measurement> {
    crate::refusal::refused_counts(over, environment, now)
        .into_iter()
        .map(|m| Measurement {
            metric: OVER_BUDGET_SERIES_METRIC.into(),
            ..m
        })
        .collect()
}

impl<S: EventStore, M: MetricSink, C: Clock> FlightController<S, M, C> {
    /// Keeps each partitioned data point of `measurements` within its
    /// metric's series budget: one over it is published under `Environment`
    /// alone (its partition dropped), logged, and counted.
    pub(crate) async fn apply_series_budget(
        &self,
        measurements: &mut [Measurement],
    ) -> Result<(), StoreError> {
        let mut over = Vec::new();
        for m in measurements.iter_mut() {
            if m.delivery != Delivery::Published {
                continue;
            }
            let Some(metric) = self.catalog().metric(&m.metric) else {
                continue;
            };
            let Some(series) = series_key(&m.dimensions) else {
                continue;
            };
            if self.known_series().contains(&m.metric, &series) {
                continue;
            }
            if self
                .store()
                .admit_series(&m.metric, &series, metric.series_budget)
                .await?
            {
                self.known_series().insert(&m.metric, &series);
                continue;
            }
            tracing::warn!(
                metric = %m.metric,
                budget = metric.series_budget,
                dimensions = ?m.dimensions,
                event_id = %m.event_id,
                "series budget spent: data point published under Environment alone"
            );
            m.dimensions.retain(|name, _| name == ENVIRONMENT_DIMENSION);
            over.push(m.clone());
        }
        if !over.is_empty() {
            let counts = over_budget_counts(
                &over,
                self.settings().environment.as_deref(),
                self.clock().now(),
            );
            if let Err(e) = self.sink().publish(&counts).await {
                tracing::warn!(error = %e, "could not count the data points over their series budget");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_its_partition_whatever_the_environment() {
        let with = |env: Option<&str>, gr: &str| {
            let mut d = BTreeMap::from([("guardrail_id".to_string(), gr.to_string())]);
            if let Some(env) = env {
                d.insert(ENVIRONMENT_DIMENSION.into(), env.into());
            }
            series_key(&d)
        };
        assert_eq!(with(Some("prod"), "a"), with(None, "a"));
        assert_ne!(with(None, "a"), with(None, "b"));
        assert_eq!(series_key(&BTreeMap::new()), None);
        let env_only = BTreeMap::from([(ENVIRONMENT_DIMENSION.to_string(), "prod".to_string())]);
        assert_eq!(series_key(&env_only), None);
    }
}
