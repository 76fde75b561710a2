//! The metric sink writing CloudWatch Embedded Metric Format: JSON lines that
//! CloudWatch Logs turns into metrics (in Lambda, stdout goes to the function's
//! log group).
//!
//! One line per timestamp and dimension set, with up to 100 metrics:
//!
//! ```json
//! {"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"FlightController/dev",
//!   "Dimensions":[["guardrail_id"]],"Metrics":[{"Name":"GuardrailLeadTime","Unit":"Seconds"}]}]},
//!  "guardrail_id":"g1","GuardrailLeadTime":1800.0}
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use async_trait::async_trait;
use flight_core::engine::rollup_dimensions;
use flight_core::engine::Measurement;
use flight_core::ports::{MetricSink, SinkError};
use flight_core::Millis;
use serde_json::{json, Map, Value};

/// EMF allows at most 100 metrics in one line.
pub const MAX_METRICS_PER_LINE: usize = 100;

/// Writes measurements as EMF JSON lines to a writer (stdout by default).
pub struct EmfSink {
    namespace: String,
    out: Mutex<Box<dyn Write + Send>>,
}

/// One EMF line being built: its metrics by name, with unit and value.
struct Line<'a> {
    timestamp: Millis,
    dimensions: &'a BTreeMap<String, String>,
    metrics: Vec<&'a Measurement>,
}

impl EmfSink {
    /// A sink writing to stdout.
    pub fn stdout(namespace: impl Into<String>) -> Self {
        Self::new(namespace, Box::new(std::io::stdout()))
    }

    /// A sink writing to any writer (a buffer in tests).
    pub fn new(namespace: impl Into<String>, out: Box<dyn Write + Send>) -> Self {
        Self {
            namespace: namespace.into(),
            out: Mutex::new(out),
        }
    }

    /// The lines for these measurements: grouped by timestamp and dimension
    /// set, in first-seen order; a metric name at most once per line (a repeat
    /// starts another line) and at most [`MAX_METRICS_PER_LINE`] per line.
    pub fn lines(&self, measurements: &[Measurement]) -> Result<Vec<Value>, SinkError> {
        let mut lines: Vec<Line> = Vec::new();
        for m in measurements {
            if m.dimensions.contains_key(&m.metric)
                || m.metric == "_aws"
                || m.dimensions.contains_key("_aws")
            {
                return Err(SinkError {
                    message: format!(
                        "EMF: metric `{}` has a name that collides with one of its dimensions ({:?}) or `_aws`",
                        m.metric,
                        m.dimensions.keys().collect::<Vec<_>>()
                    ),
                });
            }
            let fits = |l: &Line| {
                l.timestamp == m.timestamp
                    && l.dimensions == &m.dimensions
                    && rollup_dimensions(l.metrics[0]).is_some() == rollup_dimensions(m).is_some()
                    && l.metrics.len() < MAX_METRICS_PER_LINE
                    && l.metrics.iter().all(|x| x.metric != m.metric)
            };
            match lines.iter_mut().find(|l| fits(l)) {
                Some(line) => line.metrics.push(m),
                None => lines.push(Line {
                    timestamp: m.timestamp,
                    dimensions: &m.dimensions,
                    metrics: vec![m],
                }),
            }
        }
        Ok(lines.iter().map(|l| self.render(l)).collect())
    }

    /// One line; a partitioned line also declares its rollup dimension set
    /// (`[["Environment","guardrail_id"],["Environment"]]`), so EMF gives the
    /// rollup series without a second line.
    fn render(&self, line: &Line) -> Value {
        let mut dimension_sets = vec![line.dimensions.keys().cloned().collect::<Vec<_>>()];
        if let Some(rollup) = line.metrics.first().and_then(|m| rollup_dimensions(m)) {
            dimension_sets.push(rollup.into_keys().collect());
        }
        let definitions: Vec<Value> = line
            .metrics
            .iter()
            .map(|m| json!({ "Name": m.metric, "Unit": m.unit }))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": line.timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": dimension_sets,
                    "Metrics": definitions,
                }],
            }),
        );
        for (name, value) in line.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for m in &line.metrics {
            root.insert(m.metric.clone(), json!(m.value));
        }
        Value::Object(root)
    }
}

#[async_trait]
impl MetricSink for EmfSink {
    /// Writes every line and flushes; fails if the writer does.
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        let lines = self.lines(measurements)?;
        let mut text = String::new();
        for line in &lines {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| SinkError {
                message: format!("EMF: writing {} lines failed: {e}", lines.len()),
            })
    }
}
