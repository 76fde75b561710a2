//! The SLO alarms of the local stack, from the catalog module's outputs: per
//! SLO its burn-rate alarms (metric math over the metric's percentile rank
//! and sample count) and its composite alarms (page, ticket), as
//! `terraform/modules/flight-controller/monitoring.tf` creates them in AWS.
//! Locally the composite alarms notify no one (there are no SNS topics), and
//! every alarm the emulator refuses is named with its reason.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat,
};
use serde::Deserialize;
use serde_json::Value;

/// A burn-rate alarm as the catalog module's `slo_window_alarms` defines it.
#[derive(Debug, Clone, Deserialize)]
pub struct WindowAlarm {
    pub alarm_name: String,
    pub metric_name: String,
    pub namespace: String,
    pub dimensions: BTreeMap<String, String>,
    pub window_seconds: i32,
    /// The burn rate above which the alarm is in ALARM.
    pub factor: f64,
    /// `PR(...)`: the percentage of the window's values on the good side.
    pub good_statistic: String,
    /// The burn rate from the ids `good` and `n`.
    pub expression: String,
    pub treat_missing_data: String,
}

/// A composite alarm as `slo_composite_alarms` defines it.
#[derive(Debug, Clone, Deserialize)]
pub struct CompositeAlarm {
    pub alarm_name: String,
    /// `(ALARM("long") AND ALARM("short")) OR ...`
    pub rule: String,
    /// Its (long, short) burn-rate alarm names.
    pub pairs: Vec<Vec<String>>,
}

/// An alarm's human texts (`slo_alarm_texts`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlarmTexts {
    pub description: Option<String>,
    pub label: Option<String>,
}

/// The SLO alarm definitions of the catalog module's outputs.
#[derive(Debug, Clone)]
pub struct SloAlarms {
    pub windows: BTreeMap<String, WindowAlarm>,
    pub composites: BTreeMap<String, CompositeAlarm>,
    pub texts: BTreeMap<String, AlarmTexts>,
}

impl SloAlarms {
    /// Reads `slo_window_alarms`, `slo_composite_alarms` and `slo_alarm_texts` (values of the outputs).
    pub fn from_outputs(
        windows: &Value,
        composites: &Value,
        texts: Option<&Value>,
    ) -> Result<Self> {
        Ok(SloAlarms {
            windows: serde_json::from_value(windows.clone())
                .context("Terraform output `slo_window_alarms` is not a map of burn-rate alarms")?,
            composites: serde_json::from_value(composites.clone()).context(
                "Terraform output `slo_composite_alarms` is not a map of composite alarms",
            )?,
            texts: texts
                .map(|t| serde_json::from_value(t.clone()))
                .transpose()
                .context("Terraform output `slo_alarm_texts` is not a map of texts")?
                .unwrap_or_default(),
        })
    }

    /// The prefix every SLO alarm name starts with (`<prefix>-<environment>-slo-`), if any alarm.
    pub fn name_prefix(&self) -> Option<String> {
        self.windows
            .keys()
            .chain(self.composites.keys())
            .find_map(|name| name.find("-slo-").map(|at| name[..at + 5].to_string()))
    }

    fn text(&self, name: &str) -> AlarmTexts {
        self.texts.get(name).cloned().unwrap_or_default()
    }
}

/// What creating the SLO alarms did: the alarms created, and each refused one with its reason.
#[derive(Debug, Default)]
pub struct Created {
    pub windows: usize,
    pub composites: usize,
    pub refused: Vec<(String, String)>,
}

impl Created {
    /// The lines `provision` prints: a count, then one line per refused alarm.
    pub fn report(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "provision: {} burn-rate alarms and {} composite alarms",
            self.windows, self.composites
        )];
        if !self.refused.is_empty() {
            lines.push(format!(
                "provision: {} SLO alarms not created, the emulator refuses them (CloudWatch takes them):",
                self.refused.len()
            ));
            lines.extend(
                self.refused
                    .iter()
                    .map(|(name, why)| format!("  {name}: {why}")),
            );
        }
        lines
    }
}

/// The three queries of a burn-rate alarm: `good`, `n` (not returned) and `burn`.
pub fn queries(alarm: &WindowAlarm, label: Option<String>) -> Vec<MetricDataQuery> {
    let metric = Metric::builder()
        .namespace(&alarm.namespace)
        .metric_name(&alarm.metric_name)
        .set_dimensions(Some(
            alarm
                .dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(name).value(value).build())
                .collect(),
        ))
        .build();
    let stat = |id: &str, stat: &str| {
        MetricDataQuery::builder()
            .id(id)
            .metric_stat(
                MetricStat::builder()
                    .metric(metric.clone())
                    .period(alarm.window_seconds)
                    .stat(stat)
                    .build(),
            )
            .return_data(false)
            .build()
    };
    vec![
        stat("good", &alarm.good_statistic),
        stat("n", "SampleCount"),
        MetricDataQuery::builder()
            .id("burn")
            .expression(&alarm.expression)
            .set_label(label)
            .return_data(true)
            .build(),
    ]
}

/// Creates every burn-rate alarm, then every composite alarm whose burn-rate
/// alarms exist; what the emulator refuses is recorded, not fatal.
pub async fn create(cloudwatch: &aws_sdk_cloudwatch::Client, alarms: &SloAlarms) -> Created {
    let mut created = Created::default();
    for alarm in alarms.windows.values() {
        let name = &alarm.alarm_name;
        let texts = alarms.text(name);
        let sent = cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .set_alarm_description(texts.description)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .threshold(alarm.factor)
            .evaluation_periods(1)
            .datapoints_to_alarm(1)
            .treat_missing_data(&alarm.treat_missing_data)
            .set_metrics(Some(queries(alarm, texts.label)))
            .send()
            .await;
        match sent {
            Ok(_) => created.windows += 1,
            Err(e) => created.refused.push((name.clone(), reason(e))),
        }
    }
    for composite in alarms.composites.values() {
        let name = &composite.alarm_name;
        let missing = composite.pairs.iter().flatten().find(|component| {
            created
                .refused
                .iter()
                .any(|(refused, _)| refused == *component)
        });
        if let Some(component) = missing {
            created.refused.push((
                name.clone(),
                format!("its burn-rate alarm {component} was not created"),
            ));
            continue;
        }
        let sent = cloudwatch
            .put_composite_alarm()
            .alarm_name(name)
            .set_alarm_description(alarms.text(name).description)
            .alarm_rule(&composite.rule)
            .actions_enabled(true)
            .send()
            .await;
        match sent {
            Ok(_) => created.composites += 1,
            Err(e) => created.refused.push((name.clone(), reason(e))),
        }
    }
    created
}

fn reason<E, R>(error: aws_sdk_cloudwatch::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.message() {
        Some(message) => message.to_string(),
        None => aws_sdk_cloudwatch::error::DisplayErrorContext(error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outputs() -> SloAlarms {
        let long = "flight-controller-local-slo-lead-time-burn-1h-x10";
        let short = "flight-controller-local-slo-lead-time-burn-15m-x10";
        let window = |name: &str, seconds: i32| {
            json!({
                "alarm_name": name, "slo": "lead-time", "metric_name": "LeadTime", "namespace": "Test",
                "dimensions": {"Environment": "local"}, "window_seconds": seconds, "factor": 10,
                "min_values": 3, "budget_percent": 5, "good_statistic": "PR(:900)",
                "expression": "IF(n >= 3, (100 - good) / 5, 0)", "treat_missing_data": "notBreaching",
            })
        };
        SloAlarms::from_outputs(
            &json!({ long: window(long, 3600), short: window(short, 900) }),
            &json!({ "flight-controller-local-slo-lead-time-page": {
                "alarm_name": "flight-controller-local-slo-lead-time-page", "slo": "lead-time", "severity": "page",
                "rule": format!("(ALARM(\"{long}\") AND ALARM(\"{short}\"))"), "pairs": [[long, short]],
            }}),
            Some(&json!({ long: {"description": "d", "label": "burn rate 1h"} })),
        )
        .unwrap()
    }

    #[test]
    fn a_burn_rate_alarm_reads_good_and_n_over_its_window_and_returns_the_burn_rate() {
        let alarms = outputs();
        let alarm = &alarms.windows["flight-controller-local-slo-lead-time-burn-1h-x10"];
        let queries = queries(alarm, Some("burn rate 1h".into()));
        let ids: Vec<_> = queries.iter().map(|q| q.id().unwrap_or_default()).collect();
        assert_eq!(ids, ["good", "n", "burn"]);
        let stat = |q: &MetricDataQuery| {
            q.metric_stat()
                .map(|s| (s.stat().unwrap_or_default().to_string(), s.period()))
        };
        assert_eq!(stat(&queries[0]), Some(("PR(:900)".into(), Some(3600))));
        assert_eq!(stat(&queries[1]), Some(("SampleCount".into(), Some(3600))));
        assert_eq!(
            queries[2].expression(),
            Some("IF(n >= 3, (100 - good) / 5, 0)")
        );
        assert_eq!(queries[2].label(), Some("burn rate 1h"));
        assert_eq!(
            queries.iter().map(|q| q.return_data()).collect::<Vec<_>>(),
            [Some(false), Some(false), Some(true)]
        );
    }

    #[test]
    fn the_alarm_prefix_is_the_part_before_slo() {
        assert_eq!(
            outputs().name_prefix().as_deref(),
            Some("flight-controller-local-slo-")
        );
    }

    #[test]
    fn the_report_names_each_refused_alarm_with_its_reason() {
        let created = Created {
            windows: 5,
            composites: 0,
            refused: vec![
                ("a-burn-1h-x10".into(), "Invalid expression".into()),
                (
                    "a-page".into(),
                    "its burn-rate alarm a-burn-1h-x10 was not created".into(),
                ),
            ],
        };
        assert_eq!(
            created.report(),
            [
                "provision: 5 burn-rate alarms and 0 composite alarms",
                "provision: 2 SLO alarms not created, the emulator refuses them (CloudWatch takes them):",
                "  a-burn-1h-x10: Invalid expression",
                "  a-page: its burn-rate alarm a-burn-1h-x10 was not created",
            ]
        );
    }
}
