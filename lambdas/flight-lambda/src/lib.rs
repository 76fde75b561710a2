//! The Lambda entry points' shared wiring: configuration from environment
//! variables, AWS clients built once at init (so the TLS handshake happens
//! before the first event), JSON logs, and errors the Lambda runtime reports.
//!
//! Environment: `TABLE_NAME` (required), `ENVIRONMENT`, `LATENESS_WINDOW_SECONDS`,
//! `LEASE_SECONDS`, `METRICS_MODE` (`put_metric_data`, the default, or `emf`),
//! `CATALOG_PATH` (optional; default: the catalog built in), `CAPTURE_TABLE_NAME`
//! and `CAPTURE_TTL_HOURS` (test environments: the capture table), and the endpoint
//! overrides `FC_DYNAMODB_ENDPOINT` / `FC_AWS_ENDPOINT` for the local stack.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use flight_aws::{CloudWatchSink, DynamoCapture, DynamoStore, EmfSink};
use flight_core::capture::CaptureSink;
use flight_core::catalog::REJECTED_EVENTS_METRIC;
use flight_core::engine::{counter, EVENT_TYPE_DIMENSION};
use flight_core::handler::{settings_from_env, HandlerError};
use flight_core::{Catalog, Clock, FlightController, MetricSink, SystemClock};
use lambda_runtime::Diagnostic;

/// The service as the functions run it.
pub type Controller = FlightController<DynamoStore, Arc<dyn MetricSink>, SystemClock>;

/// JSON logs, one object per line, fields at the top level (for metric filters).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The catalog: `CATALOG_PATH` if set, else the one built in.
pub fn catalog_from_env() -> Result<Catalog> {
    match env("CATALOG_PATH") {
        None => Ok(Catalog::default_catalog()),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("CATALOG_PATH: cannot read {path}"))?;
            Catalog::parse(&text)
                .map_err(|e| anyhow::anyhow!("CATALOG_PATH: {}", e.render_for(&path)))
        }
    }
}

/// Builds the service from the environment; fails with the variable at fault.
pub async fn controller_from_env() -> Result<Controller> {
    controller_from(env).await
}

/// Builds the service from variables read through `lookup` (the local
/// dispatcher passes each function's environment as Terraform defines it).
/// With `CAPTURE_TABLE_NAME` set, the measurements of test events are written
/// to the capture table before they are published ([`CaptureSink`]).
pub async fn controller_from(lookup: impl Fn(&str) -> Option<String>) -> Result<Controller> {
    let catalog = Arc::new(catalog_from_env()?);
    let settings = settings_from_env(&lookup)?;
    let table = lookup("TABLE_NAME")
        .context("TABLE_NAME: not set; it names the event store table (Terraform sets it)")?;
    let config = flight_aws::aws_config(None).await;
    let store = DynamoStore::new(flight_aws::dynamodb_client(&config, None), table);
    let sink: Arc<dyn MetricSink> = match lookup("METRICS_MODE").as_deref() {
        None | Some("put_metric_data") => Arc::new(CloudWatchSink::new(
            flight_aws::cloudwatch_client(&config, None),
            catalog.namespace.clone(),
        )),
        Some("emf") => Arc::new(EmfSink::stdout(catalog.namespace.clone())),
        Some(other) => bail!("METRICS_MODE: `{other}` is not `put_metric_data` or `emf`"),
    };
    let sink: Arc<dyn MetricSink> = match capture_table(&config, &lookup)? {
        Some(capture) => Arc::new(CaptureSink::new(sink, capture)),
        None => sink,
    };
    Ok(FlightController::new(
        catalog,
        store,
        sink,
        SystemClock,
        settings,
    ))
}

/// The capture table of test runs, if `CAPTURE_TABLE_NAME` is set; its
/// items live `CAPTURE_TTL_HOURS` (default 24).
pub fn capture_table(
    config: &flight_aws::SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<DynamoCapture>> {
    let Some(table) = lookup("CAPTURE_TABLE_NAME") else {
        return Ok(None);
    };
    let hours = match lookup("CAPTURE_TTL_HOURS") {
        None => 24,
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|h| *h >= 1)
            .with_context(|| {
                format!("CAPTURE_TTL_HOURS: `{text}` is not a whole number of hours from 1")
            })?,
    };
    Ok(Some(DynamoCapture::new(
        flight_aws::dynamodb_client(config, None),
        table,
        std::time::Duration::from_secs(hours * 3600),
    )))
}

/// The capture function's table, from `CAPTURE_TABLE_NAME` (required) and
/// `CAPTURE_TTL_HOURS`.
pub async fn capture_from(lookup: impl Fn(&str) -> Option<String>) -> Result<DynamoCapture> {
    let config = flight_aws::aws_config(None).await;
    capture_table(&config, lookup)?.context(
        "CAPTURE_TABLE_NAME: not set; it names the capture table of test runs (Terraform sets it)",
    )
}

/// [`capture_from`] the process environment.
pub async fn capture_from_env() -> Result<DynamoCapture> {
    capture_from(env).await
}

/// The error the Lambda runtime reports for a failed invocation: `Rejected`
/// for invalid input (retrying cannot help), `Retryable` for the rest. A
/// rejection is also counted in the `RejectedEvents` metric (dimensions
/// `Environment`, `EventType` = the type the function serves), written as an
/// Embedded Metric Format line, so counting it costs no API call.
pub async fn failure(
    service: &Controller,
    serves: Option<&str>,
    error: HandlerError,
) -> Diagnostic {
    if !error.retryable {
        let rejected = counter(
            REJECTED_EVENTS_METRIC,
            1.0,
            SystemClock.now(),
            (EVENT_TYPE_DIMENSION, serves.unwrap_or("unknown")),
            service.settings().environment.as_deref(),
        );
        let emf = EmfSink::stdout(service.catalog().namespace.clone());
        if let Err(e) = emf.publish(&[rejected]).await {
            tracing::warn!(error = %e, "could not count the rejected event");
        }
    }
    diagnostic(error)
}

/// The error the Lambda runtime reports: `Rejected` (retrying cannot help) or `Retryable`.
pub fn diagnostic(error: HandlerError) -> Diagnostic {
    Diagnostic {
        error_type: if error.retryable {
            "Retryable"
        } else {
            "Rejected"
        }
        .into(),
        error_message: error.message,
    }
}
