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
    /// The distinct reasons CloudWatch gave for them (kept with each record),
    /// at most [`MAX_REASONS`].
    pub reasons: Vec<String>,
    /// Distinct partitions published, and the budget; `None` when unpartitioned.
    pub series: Option<(usize, u32)>,
}

/// How many distinct refusal reasons a row keeps.
pub const MAX_REASONS: usize = 3;

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
        let records = store
            .measurements_between(&metric.name, since, until)
            .await?;
        let refused: Vec<_> = records
            .iter()
            .filter(|m| m.delivery == Delivery::Refused)
            .collect();
        let mut reasons: Vec<String> = Vec::new();
        for m in &refused {
            let reason = m.refusal.as_deref().unwrap_or("(no reason recorded)");
            if reasons.len() < MAX_REASONS && !reasons.iter().any(|r| r == reason) {
                reasons.push(reason.to_string());
            }
        }
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
            refused: refused.len(),
            reasons,
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
    for row in rows.iter().filter(|row| row.refused > 0) {
        for reason in &row.reasons {
            let _ = writeln!(out, "  {} refused: {reason}", row.metric);
        }
    }
    out
}

/// A row's series when they reached its budget: `(used, budget)`.
pub fn over_budget(row: &MetricRow) -> Option<(usize, u32)> {
    row.series
        .filter(|&(used, budget)| used >= usize::try_from(budget).unwrap_or(usize::MAX))
}

/// The rows as JSON, for `report --json`'s `metrics` key.
pub fn to_json(rows: &[MetricRow]) -> Value {
    Value::Array(
        rows.iter()
            .map(|row| {
                json!({
                    "metric": row.metric,
                    "refused_data_points": row.refused,
                    "refusal_reasons": row.reasons,
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
                reasons: vec!["dimension value must be ASCII".into()],
                series: Some((25, 100)),
            },
            MetricRow {
                metric: "ProjectLeadTime".into(),
                refused: 0,
                reasons: Vec::new(),
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
        assert!(
            text.contains("  GuardrailLeadTime refused: dimension value must be ASCII"),
            "{text}"
        );
        assert_eq!(to_json(&rows)[0]["series_budget"], 100);
        assert_eq!(
            to_json(&rows)[0]["refusal_reasons"][0],
            "dimension value must be ASCII"
        );
        assert_eq!(over_budget(&rows[0]), None);
        let full = MetricRow {
            series: Some((100, 100)),
            ..rows[0].clone()
        };
        assert_eq!(over_budget(&full), Some((100, 100)));
    }
}
