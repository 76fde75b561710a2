//! `flightctl report`'s second part: per metric, the data points CloudWatch
//! refused (measurement records marked `refused`, see
//! [`flight_core::refusal`]) and, for a partitioned metric, the distinct
//! partitions it has published against its series budget (see
//! [`flight_core::series_budget`]).

use std::fmt::Write as _;

use anyhow::Result;
use flight_core::reads::{MeasurementLog, SeriesLog};
use flight_core::{Catalog, Delivery, Millis};
use serde_json::{json, Value};

/// One metric's refused data points and series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRow {
    pub metric: String,
    /// Refused data points stamped in the period.
    pub refused: usize,
    /// Distinct partitions published, and the budget; `None` when unpartitioned.
    pub series: Option<(usize, u32)>,
}

/// The rows of every metric of the catalog: one read of its measurement
/// records per metric over `[since, until)` (in DynamoDB, a query of the
/// `by-metric` index), and one read per partitioned metric of its series.
pub async fn rows<S: MeasurementLog + SeriesLog + ?Sized>(
    store: &S,
    catalog: &Catalog,
    since: Millis,
    until: Millis,
) -> Result<Vec<MetricRow>> {
    let mut rows = Vec::new();
    for metric in &catalog.metrics {
        let refused = store
            .measurements_between(&metric.name, since, until)
            .await?
            .iter()
            .filter(|m| m.delivery == Delivery::Refused)
            .count();
        let series = if metric.partition_by.is_empty() {
            None
        } else {
            Some((
                store.series_count(&metric.name).await?,
                metric.series_budget,
            ))
        };
        rows.push(MetricRow {
            metric: metric.name.clone(),
            refused,
            series,
        });
    }
    Ok(rows)
}

/// The rows as a table under a header.
pub fn table(rows: &[MetricRow]) -> String {
    let mut out = String::from("\nMETRIC                          REFUSED  SERIES / BUDGET\n");
    for row in rows {
        let series = match row.series {
            Some((used, budget)) => format!(
                "{used} / {budget} ({:.0}%)",
                used as f64 * 100.0 / f64::from(budget.max(1))
            ),
            None => "-".into(),
        };
        let _ = writeln!(out, "{:<32}{:>7}  {series}", row.metric, row.refused);
    }
    out
}

/// The rows as JSON, for `report --json`'s `metrics` key.
pub fn to_json(rows: &[MetricRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                json!({
                    "metric": row.metric,
                    "refused_data_points": row.refused,
                    "series": row.series.map(|(used, _)| used),
                    "series_budget": row.series.map(|(_, budget)| budget),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_refusals_and_the_budget_used() {
        let rows = [
            MetricRow {
                metric: "GuardrailLeadTime".into(),
                refused: 1,
                series: Some((25, 100)),
            },
            MetricRow {
                metric: "ProjectLeadTime".into(),
                refused: 0,
                series: None,
            },
        ];
        let text = table(&rows);
        assert!(
            text.contains("GuardrailLeadTime                     1  25 / 100 (25%)"),
            "{text}"
        );
        assert!(
            text.contains("ProjectLeadTime                       0  -"),
            "{text}"
        );
        assert_eq!(to_json(&rows)[0]["series_budget"], 100);
    }
}
