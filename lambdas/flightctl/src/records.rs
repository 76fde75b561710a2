//! Where `report` and `alerts backtest` get the measurement records they
//! evaluate: the event store of the target (the local stack or a deployed
//! environment, by the `by-metric` index: [`MeasurementLog`]), or PutEvents
//! entry files measured offline by the replay engine (`--from-files`), which
//! computes the data points the deployed functions would have published.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use flight_core::names::Deployment;
use flight_core::ports::StoreError;
use flight_core::reads::{MeasurementLog, SeriesLog};
use flight_core::replay::{replay_sources, EntryRejection};
use flight_core::{Catalog, Measurement, Millis};

/// Measurement records by metric, each list in time order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    by_metric: BTreeMap<String, Vec<Measurement>>,
}

impl Records {
    /// Records from a list of any metrics (sorted by time within each metric).
    pub fn new(measurements: impl IntoIterator<Item = Measurement>) -> Records {
        let mut by_metric: BTreeMap<String, Vec<Measurement>> = BTreeMap::new();
        for m in measurements {
            by_metric.entry(m.metric.clone()).or_default().push(m);
        }
        for list in by_metric.values_mut() {
            list.sort_by(|a, b| {
                (a.timestamp, &a.aggregate_id, &a.event_id).cmp(&(
                    b.timestamp,
                    &b.aggregate_id,
                    &b.event_id,
                ))
            });
        }
        Records { by_metric }
    }

    /// The records of `metric`, in time order (none when it has none).
    pub fn of(&self, metric: &str) -> &[Measurement] {
        self.by_metric
            .get(metric)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// How many records there are, of every metric.
    pub fn len(&self) -> usize {
        self.by_metric.values().map(Vec::len).sum()
    }

    /// Whether there is no record at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The earliest and latest record times, of every metric.
    pub fn span(&self) -> Option<(Millis, Millis)> {
        let times = self.by_metric.values().flatten().map(|m| m.timestamp);
        let earliest = times.clone().min()?;
        Some((earliest, times.max()?))
    }
}

/// Records read like a store's measurement log, so `report` (and its HTML
/// page) runs on files measured offline as on an environment.
#[async_trait::async_trait]
impl MeasurementLog for Records {
    async fn measurements_between(
        &self,
        metric: &str,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError> {
        Ok(self
            .of(metric)
            .iter()
            .filter(|m| m.timestamp >= since && m.timestamp < until)
            .cloned()
            .collect())
    }
}

/// The distinct partitions among the records of a metric, as the series it
/// would have published (no budget is applied offline).
#[async_trait::async_trait]
impl SeriesLog for Records {
    async fn series_count(&self, metric: &str) -> Result<usize, StoreError> {
        let partitions: std::collections::BTreeSet<_> =
            self.of(metric).iter().map(|m| &m.dimensions).collect();
        Ok(partitions.len())
    }
}

/// The store's records of each of `metrics` stamped in `[since, until)`: one
/// read per metric; `progress` is told each metric and how many it read.
pub async fn from_store<'a, S: MeasurementLog + ?Sized>(
    store: &S,
    metrics: impl IntoIterator<Item = &'a str>,
    since: Millis,
    until: Millis,
    mut progress: impl FnMut(&str, usize),
) -> Result<Records> {
    let mut all = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for metric in metrics {
        if !seen.insert(metric) {
            continue;
        }
        let read = store
            .measurements_between(metric, since, until)
            .await
            .with_context(|| format!("cannot read the measurement records of {metric}"))?;
        progress(metric, read.len());
        all.extend(read);
    }
    Ok(Records::new(all))
}

/// The environment alarms are named after when the records come from files.
pub const OFFLINE_ENVIRONMENT: &str = "offline";

/// The deployment offline records are read as: `--env NAME`, or [`OFFLINE_ENVIRONMENT`].
pub fn offline_deployment(env: Option<&str>) -> Deployment {
    Deployment::new(env.unwrap_or(OFFLINE_ENVIRONMENT))
}

/// The records PutEvents files measure offline, for the verb `who`: each
/// rejected entry, then how many records were measured, is said on stderr.
pub fn read_files(catalog: &Catalog, files: &[PathBuf], now: Millis, who: &str) -> Result<Records> {
    let (records, rejections) = from_files(catalog, files, None, now)?;
    for rejection in &rejections {
        eprintln!("{who}: {rejection}");
    }
    eprintln!(
        "{who}: measured {} records offline from {} file(s) ({} entries rejected)",
        records.len(),
        files.len(),
        rejections.len()
    );
    Ok(records)
}

/// What PutEvents entry files measure offline, and the entries the engine
/// rejected (reported by the caller; the others are still measured).
pub fn from_files(
    catalog: &Catalog,
    files: &[PathBuf],
    environment: Option<&str>,
    now: Millis,
) -> Result<(Records, Vec<EntryRejection>)> {
    let inputs = files
        .iter()
        .map(|path| {
            std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(|file| (path.display().to_string(), std::io::BufReader::new(file)))
        })
        .collect::<Result<Vec<_>>>()?;
    let outcome = replay_sources(catalog, inputs, environment.map(str::to_string), now)?;
    Ok((Records::new(outcome.measurements), outcome.rejections))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flight_core::Delivery;

    fn m(metric: &str, timestamp: Millis) -> Measurement {
        Measurement {
            metric: metric.into(),
            value: 1.0,
            unit: "Seconds".into(),
            timestamp,
            aggregate_id: format!("a{timestamp}"),
            event_id: format!("e{timestamp}"),
            dimensions: BTreeMap::new(),
            delivery: Delivery::Published,
            test_run_id: None,
            refusal: None,
        }
    }

    #[test]
    fn records_are_kept_by_metric_in_time_order() {
        let records = Records::new([m("B", 30), m("A", 20), m("A", 10)]);
        let times: Vec<Millis> = records.of("A").iter().map(|m| m.timestamp).collect();
        assert_eq!(times, [10, 20]);
        assert_eq!(records.of("C").len(), 0);
        assert_eq!((records.len(), records.span()), (3, Some((10, 30))));
        assert!(Records::default().is_empty());
    }
}
