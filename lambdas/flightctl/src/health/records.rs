//! The parts `health` reads from the measurement records (the same rows as
//! `flightctl report`'s second part, [`crate::series_report`]):
//!
//! - `refused:<table>`: no data point was refused by CloudWatch on its own in
//!   the last `--errors-since` (a refused one is recorded with CloudWatch's
//!   reason and never retried, so nothing else would show it);
//! - `series:<table>`: no partitioned metric has reached its series budget
//!   (beyond it, new partitions are published under `Environment` alone).

use flight_core::reads::{MeasurementLog, SeriesLog};
use flight_core::Catalog;

use super::{part, Options, Part};
use crate::duration;
use crate::series_report::{self, MetricRow};

/// The two parts, named after `table`.
pub(crate) async fn record_parts<S: MeasurementLog + SeriesLog + ?Sized>(
    store: &S,
    catalog: &Catalog,
    table: &str,
    options: Options,
) -> Vec<(String, Part)> {
    let since = options.now - options.errors_since;
    match series_report::rows(store, catalog, since, options.now).await {
        Ok(rows) => vec![
            (format!("refused:{table}"), refused(&rows, options)),
            (format!("series:{table}"), series(&rows)),
        ],
        Err(e) => vec![(
            format!("refused:{table}"),
            part(false, format!("cannot be read: {e:#}")),
        )],
    }
}

fn refused(rows: &[MetricRow], options: Options) -> Part {
    let after = duration::format(options.errors_since);
    let hit: Vec<&MetricRow> = rows.iter().filter(|r| r.refused > 0).collect();
    if hit.is_empty() {
        return part(
            true,
            format!("no data point refused by CloudWatch in the last {after}"),
        );
    }
    let total: usize = hit.iter().map(|r| r.refused).sum();
    let per_metric: Vec<String> = hit
        .iter()
        .map(|r| match r.reasons.first() {
            Some(reason) => format!("{} {} ({reason})", r.metric, r.refused),
            None => format!("{} {}", r.metric, r.refused),
        })
        .collect();
    part(
        false,
        format!(
            "{total} data point(s) refused by CloudWatch in the last {after}: {}; they are recorded, not \
             retried: fix the producer's events, then see `flightctl report`",
            per_metric.join(", ")
        ),
    )
}

fn series(rows: &[MetricRow]) -> Part {
    let full: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            series_report::over_budget(r)
                .map(|(used, budget)| format!("{} {used}/{budget}", r.metric))
        })
        .collect();
    if full.is_empty() {
        part(true, "every partitioned metric is within its series budget")
    } else {
        part(
            false,
            format!(
                "series budget reached: {}; new partitions are published under Environment alone \
                 (is a partition field carrying ids?), or raise series_budget in the catalog",
                full.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const HOUR: flight_core::Millis = 3_600_000;

    fn options() -> Options {
        Options {
            errors_since: 24 * HOUR,
            backlog_after: HOUR,
            now: 1_700_000_000_000,
        }
    }

    fn row(metric: &str, refused: usize, series: Option<(usize, u32)>) -> MetricRow {
        MetricRow {
            metric: metric.into(),
            refused,
            reasons: (refused > 0)
                .then(|| "dimension value must be ASCII".to_string())
                .into_iter()
                .collect(),
            series,
        }
    }

    #[test]
    fn a_refused_data_point_makes_the_part_unhealthy_with_its_reason() {
        let rows = [
            row("GuardrailLeadTime", 2, Some((3, 100))),
            row("ProjectLeadTime", 0, None),
        ];
        let part = refused(&rows, options());
        assert!(!part.healthy);
        assert!(
            part.status.starts_with(
                "2 data point(s) refused by CloudWatch in the last 1d: GuardrailLeadTime 2 (dimension value must be ASCII)"
            ),
            "{}",
            part.status
        );
        assert!(series(&rows).healthy);
    }

    #[test]
    fn a_metric_at_its_series_budget_makes_the_series_part_unhealthy() {
        let rows = [row("GuardrailLeadTime", 0, Some((100, 100)))];
        assert!(refused(&rows, options()).healthy);
        let part = series(&rows);
        assert!(!part.healthy);
        assert!(
            part.status.contains("GuardrailLeadTime 100/100"),
            "{}",
            part.status
        );
    }
}
