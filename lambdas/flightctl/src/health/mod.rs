//! `flightctl health`: a check per part of an environment, in the spirit of
//! Flyte packs' health JSON: `{"<part>": {"healthy": bool, "status": "…"}}`.
//!
//! | part | healthy when |
//! |---|---|
//! | `bus:<name>` | the bus exists |
//! | `rule:<name>` | the function's rule is ENABLED and targets the function (its name), with a dead-letter queue |
//! | `function:<name>` | in AWS: the Lambda function is Active and had no `Errors` (CloudWatch, `AWS/Lambda`) in the last `--errors-since`. On the local stack, where a dispatcher stands in for Lambda: the function's queue exists and redrives to its dead-letter queue (what the dispatcher polls); the settle function is the dispatcher's schedule, checked by `backlog` |
//! | `dlq:<name>` | the dead-letter queue holds no message |
//! | `table:<name>` | the table and its indexes are ACTIVE |
//! | `backlog:<table>` | no event's data points have been due (settled, unpublished) for longer than `--backlog-after` |
//! | `refused:<table>` | CloudWatch refused no data point in the last `--errors-since` (its reason is shown) |
//! | `series:<table>` | no partitioned metric has reached its series budget |
//!
//! The capture function, its rule and queue and the capture table are checked
//! where the capture table exists (test environments; `enable_capture`).

use flight_aws::DynamoStore;
use flight_core::envelope::format_time;
use flight_core::Millis;
use serde::Serialize;

use crate::duration;
use crate::target::Target;

mod parts;
mod records;

pub use parts::lambda_function;
use parts::{function_parts, table};

/// The health of one part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub healthy: bool,
    pub status: String,
}

pub(crate) fn part(healthy: bool, status: impl Into<String>) -> Part {
    Part {
        healthy,
        status: status.into(),
    }
}

/// The parts of an environment and their health, in the order checked.
pub type Report = Vec<(String, Part)>;

/// What `health` looks at.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How far back Lambda errors count.
    pub errors_since: Millis,
    /// How long settled data points may wait to be published.
    pub backlog_after: Millis,
    pub now: Millis,
}

pub(crate) fn message<E: std::error::Error>(error: E) -> String {
    aws_sdk_sqs::error::DisplayErrorContext(error).to_string()
}

/// The AWS clients the checks use, cheap to clone into concurrent tasks.
#[derive(Clone)]
pub(crate) struct Clients {
    pub(crate) events: aws_sdk_eventbridge::Client,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) cloudwatch: aws_sdk_cloudwatch::Client,
}

/// Checks every part of the target environment.
pub async fn check(target: &Target, options: Options) -> Report {
    let clients = Clients {
        events: target.eventbridge(),
        sqs: target.sqs(),
        lambda: target.lambda(),
        cloudwatch: target.cloudwatch(),
    };
    let dynamodb = target.dynamodb();
    let deployment = &target.deployment;
    let (bus, event_table, capture_table) = (
        deployment.event_bus(),
        deployment.event_table(),
        deployment.capture_table(),
    );
    let mut report = Report::new();
    let bus_part = match clients.events.describe_event_bus().name(&bus).send().await {
        Ok(_) => part(true, "exists"),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            part(false, format!("missing: {}", where_it_comes_from(target)))
        }
        Err(e) => part(false, format!("cannot be read: {}", message(e))),
    };
    report.push((format!("bus:{bus}"), bus_part));
    report.push((
        format!("table:{event_table}"),
        table(&dynamodb, &event_table, target)
            .await
            .unwrap_or_else(|| part(false, format!("missing: {}", where_it_comes_from(target)))),
    ));
    let capture = table(&dynamodb, &capture_table, target).await;
    let capture_enabled = capture.is_some();
    if let Some(capture) = capture {
        report.push((format!("table:{capture_table}"), capture));
    }

    let mut tasks = tokio::task::JoinSet::new();
    for (position, function) in target.functions.iter().enumerate() {
        if function.is_capture() && !capture_enabled {
            continue;
        }
        let (clients, function, local) = (clients.clone(), function.clone(), target.is_local());
        tasks.spawn(async move {
            (
                position,
                function_parts(&clients, &function, local, options).await,
            )
        });
    }
    let mut parts = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(found) => parts.push(found),
            Err(e) => report.push((
                "flightctl".into(),
                part(false, format!("a check crashed: {e}")),
            )),
        }
    }
    parts.sort_by_key(|(position, _)| *position);
    report.extend(parts.into_iter().flat_map(|(_, p)| p));

    let store = target.store();
    report.push((
        format!("backlog:{event_table}"),
        backlog(&store, options).await,
    ));
    report.extend(records::record_parts(&store, &target.catalog, &event_table, options).await);
    report
}

pub(crate) fn where_it_comes_from(target: &Target) -> String {
    if target.is_local() {
        "is the local stack running? Start it with scripts/local.sh --keep".into()
    } else {
        format!(
            "is environment {0} deployed (scripts/deploy.sh {0}), and are --env, the region and the catalog right?",
            target.deployment.environment
        )
    }
}

async fn backlog(store: &DynamoStore, options: Options) -> Part {
    let after = duration::format(options.backlog_after);
    match store.overdue(options.now - options.backlog_after).await {
        Ok(o) if o.events == 0 => part(true, format!("no settled data points waiting longer than {after}")),
        Ok(o) => part(
            false,
            format!(
                "{} event(s) with data points due for more than {after}, the oldest since {}: is the settle function \
                 running and able to publish? (its function part, its log, CloudWatch PutMetricData permissions)",
                o.events,
                o.oldest_due.map(format_time).unwrap_or_default()
            ),
        ),
        Err(e) => part(false, format!("cannot be read: {e}")),
    }
}

/// Whether every part is healthy.
pub fn all_healthy(report: &Report) -> bool {
    report.iter().all(|(_, p)| p.healthy)
}

/// The report as `{"<part>": {"healthy": …, "status": …}}`.
pub fn to_json(report: &Report) -> serde_json::Value {
    serde_json::Value::Object(
        report
            .iter()
            .map(|(name, p)| (name.clone(), serde_json::to_value(p).unwrap_or_default()))
            .collect(),
    )
}

/// The report for people: a line per part, the unhealthy ones marked.
pub fn text(description: &str, report: &Report) -> String {
    let unhealthy = report.iter().filter(|(_, p)| !p.healthy).count();
    let width = report.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = format!(
        "health of {description}: {}\n",
        if unhealthy == 0 {
            format!("all {} parts healthy", report.len())
        } else {
            format!("{unhealthy} of {} parts UNHEALTHY", report.len())
        }
    );
    for (name, p) in report {
        out.push_str(&format!(
            "  {:<4}  {name:<width$}  {}\n",
            if p.healthy { "ok" } else { "FAIL" },
            p.status
        ));
    }
    out
}
