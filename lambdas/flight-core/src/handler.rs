//! What the Lambda handlers do, minus the runtime: call a use case, log one
//! structured line about the outcome, and turn it into a response or an error.
//! The binaries wire adapters in; tests call these with fixture events.
//!
//! Log lines carry `outcome` (`stored`, `duplicate`, `rejected`, `failed`,
//! `settled`) so that CloudWatch Logs metric filters can count them; e.g.
//! `{ $.outcome = "rejected" }` counts rejected events.

use serde_json::{json, Value};

use crate::envelope::Millis;
use crate::ports::{Clock, EventStore, MetricSink};
use crate::service::{FlightController, IngestError, Settings};
use crate::shard::Sweep;

/// A handler failure the platform must see: the invocation fails, Lambda
/// retries it, and then it goes to the function's on-failure destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HandlerError {
    pub message: String,
    /// `false` for rejected input: retrying cannot help.
    pub retryable: bool,
}

/// Handles one EventBridge event for the function serving `serves`.
pub async fn handle_event<S: EventStore, M: MetricSink, C: Clock>(
    service: &FlightController<S, M, C>,
    event: &Value,
    serves: Option<&str>,
) -> Result<Value, HandlerError> {
    let eventbridge_id = event.get("id").and_then(Value::as_str).unwrap_or("");
    match service.ingest(event, serves).await {
        Ok(report) => {
            tracing::info!(
                outcome = if report.duplicate { "duplicate" } else { "stored" },
                event_id = %report.event_id,
                event_type = %report.event_type,
                aggregate_id = %report.aggregate_id,
                late = report.late,
                published = report.published.len(),
                eventbridge_id,
                "event ingested"
            );
            Ok(json!({
                "event_id": report.event_id,
                "event_type": report.event_type,
                "aggregate_id": report.aggregate_id,
                "duplicate": report.duplicate,
                "late": report.late,
                "published": report.published.len(),
                "due": report.due.map(crate::envelope::format_time),
            }))
        }
        Err(IngestError::Rejected(rejection)) => {
            tracing::warn!(
                outcome = "rejected",
                field = %rejection.field,
                reason = %rejection.reason,
                eventbridge_id,
                "event rejected"
            );
            Err(HandlerError {
                message: format!("rejected: {rejection}"),
                retryable: false,
            })
        }
        Err(error) => {
            tracing::error!(outcome = "failed", error = %error, retryable = error.is_retryable(), eventbridge_id, "event not processed; it will be retried");
            Err(HandlerError {
                message: error.to_string(),
                retryable: error.is_retryable(),
            })
        }
    }
}

/// Runs one sweep: publishes every data point that has settled.
pub async fn handle_settle<S: EventStore, M: MetricSink, C: Clock>(
    service: &FlightController<S, M, C>,
) -> Result<Value, HandlerError> {
    handle_settle_sweep(service, Sweep::ALL).await
}

/// The sweep a settle invocation's input names: `{"sweep": i, "of": n}` (the
/// schedule target's constant input, one per parallel sweep); an input
/// without them (a plain schedule event) sweeps every shard.
pub fn sweep_of_input(input: &Value) -> Result<Sweep, HandlerError> {
    let number = |key: &str| input.get(key).and_then(Value::as_u64);
    match (number("sweep"), number("of")) {
        (None, None) if input.get("sweep").is_none() && input.get("of").is_none() => Ok(Sweep::ALL),
        (Some(index), Some(of)) => Sweep::new(index, of).map_err(|e| HandlerError {
            message: format!("settle input: {e}"),
            retryable: false,
        }),
        _ => Err(HandlerError {
            message: format!(
                "settle input: `sweep` and `of` must both be whole numbers, got {input}"
            ),
            retryable: false,
        }),
    }
}

/// Runs one settle sweep and logs its outcome (with the sweep).
pub async fn handle_settle_sweep<S: EventStore, M: MetricSink, C: Clock>(
    service: &FlightController<S, M, C>,
    sweep: Sweep,
) -> Result<Value, HandlerError> {
    let (sweep_index, sweeps) = (sweep.index(), sweep.of());
    match service.settle_sweep(sweep).await {
        Ok(report) => {
            tracing::info!(
                outcome = "settled",
                sweep = sweep_index,
                sweeps,
                events = report.events,
                published = report.published.len(),
                unsent = report.unsent.len(),
                refused = report.refused.len(),
                "settled data points published"
            );
            Ok(json!({
                "events": report.events,
                "published": report.published.len(),
                "unsent": report.unsent.len(),
            }))
        }
        Err(error) => {
            tracing::error!(outcome = "failed", sweep = sweep_index, sweeps, error = %error, "settle failed; the next sweep retries");
            Err(HandlerError {
                message: error.to_string(),
                retryable: error.is_retryable(),
            })
        }
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub reason: String,
}

/// The settings, from environment variables: `ENVIRONMENT`,
/// `LATENESS_WINDOW_SECONDS` (default 300), `LEASE_SECONDS` (default 120).
pub fn settings_from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let seconds = |variable: &str, default: Millis| -> Result<Millis, ConfigError> {
        match lookup(variable) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<u32>()
                .map(|s| Millis::from(s) * 1000)
                .map_err(|_| ConfigError {
                    variable: variable.into(),
                    reason: format!("`{text}` is not a whole number of seconds"),
                }),
        }
    };
    let defaults = Settings::default();
    Ok(Settings {
        environment: lookup("ENVIRONMENT").filter(|e| !e.is_empty()),
        lateness_window: seconds("LATENESS_WINDOW_SECONDS", defaults.lateness_window)?,
        lease: seconds("LEASE_SECONDS", defaults.lease)?,
        enforce_cloudwatch_range: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_environment_with_defaults() {
        let settings =
            settings_from_env(|k| (k == "LATENESS_WINDOW_SECONDS").then(|| "0".to_string()))
                .unwrap();
        assert_eq!(settings.lateness_window, 0);
        assert_eq!(settings.lease, 120_000);
        assert_eq!(settings.environment, None);
        let error =
            settings_from_env(|k| (k == "LEASE_SECONDS").then(|| "soon".to_string())).unwrap_err();
        assert_eq!(
            error.to_string(),
            "LEASE_SECONDS: `soon` is not a whole number of seconds"
        );
    }
}
