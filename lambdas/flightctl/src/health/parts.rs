//! The checks of one part each: a table, a function with its rule, queue
//! and dead-letter queue (in AWS, or on the local stack where a dispatcher
//! stands in for Lambda), and a Lambda function's state and recent errors.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::{message, part, where_it_comes_from, Clients, Options, Part};
use crate::duration;
use crate::target::Target;
use flight_core::names::FunctionName;

/// A table's health, or `None` when it does not exist.
pub(crate) async fn table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    target: &Target,
) -> Option<Part> {
    match client.describe_table().table_name(name).send().await {
        Ok(out) => {
            let table = out.table()?;
            let status = table
                .table_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            let inactive: Vec<String> = table
                .global_secondary_indexes()
                .iter()
                .filter(|i| i.index_status().is_some_and(|s| s.as_str() != "ACTIVE"))
                .map(|i| {
                    format!(
                        "index {} {}",
                        i.index_name().unwrap_or("?"),
                        i.index_status().map(|s| s.as_str()).unwrap_or("?")
                    )
                })
                .collect();
            let healthy = status == "ACTIVE" && inactive.is_empty();
            let mut text = status;
            for index in &inactive {
                text.push_str(&format!(", {index}"));
            }
            if !healthy {
                text.push_str(
                    ": wait for it to become ACTIVE, or check it in the DynamoDB console",
                );
            }
            Some(part(healthy, text))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => Some(part(
            false,
            format!(
                "cannot be read: {} ({})",
                message(e),
                where_it_comes_from(target)
            ),
        )),
    }
}

pub(crate) async fn function_parts(
    clients: &Clients,
    function: &FunctionName,
    local: bool,
    options: Options,
) -> Vec<(String, Part)> {
    let mut parts = Vec::new();
    if local && function.is_settle() {
        parts.push((
            format!("function:{}", function.function_name),
            part(true, "run by the local dispatcher every second (no Lambda locally); `backlog` shows whether it keeps up"),
        ));
        return parts;
    }
    parts.push((
        format!("rule:{}", function.rule_name),
        rule(clients, function).await,
    ));
    let health = if local {
        local_queue(clients, function).await
    } else {
        lambda_function(
            &clients.lambda,
            &clients.cloudwatch,
            &function.function_name,
            options,
        )
        .await
    };
    parts.push((format!("function:{}", function.function_name), health));
    parts.push((
        format!("dlq:{}", function.dead_letter_queue),
        dead_letter_queue(&clients.sqs, &function.dead_letter_queue).await,
    ));
    parts
}

async fn rule(clients: &Clients, function: &FunctionName) -> Part {
    let described = clients
        .events
        .describe_rule()
        .name(&function.rule_name)
        .event_bus_name(&function.rule_bus)
        .send()
        .await;
    let state = match described {
        Ok(rule) => rule
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return part(
                false,
                format!(
                    "missing on bus {}: nothing triggers the function",
                    function.rule_bus
                ),
            )
        }
        Err(e) => return part(false, format!("cannot be read: {}", message(e))),
    };
    let targets = match clients
        .events
        .list_targets_by_rule()
        .rule(&function.rule_name)
        .event_bus_name(&function.rule_bus)
        .send()
        .await
    {
        Ok(out) => out.targets().to_vec(),
        Err(e) => {
            return part(
                false,
                format!("{state}, targets cannot be read: {}", message(e)),
            )
        }
    };
    let suffix = format!(":{}", function.function_name);
    let Some(target) = targets.iter().find(|t| t.arn().ends_with(&suffix)) else {
        return part(
            false,
            format!(
                "{state}, but it does not target {} (targets: {}): events do not reach the function",
                function.function_name,
                if targets.is_empty() { "none".to_string() } else { targets.iter().map(|t| t.arn().to_string()).collect::<Vec<_>>().join(", ") }
            ),
        );
    };
    let dead_letters = target
        .dead_letter_config()
        .and_then(|d| d.arn())
        .is_some_and(|arn| arn.ends_with(&format!(":{}", function.dead_letter_queue)));
    if state != "ENABLED" {
        return part(
            false,
            format!(
                "{state}: events are not delivered; enable it (aws events enable-rule --name {} --event-bus-name {})",
                function.rule_name, function.rule_bus
            ),
        );
    }
    if !dead_letters {
        return part(false, format!("ENABLED, targets {}, but without its dead-letter queue {}: failed deliveries would be lost", short_arn(target.arn()), function.dead_letter_queue));
    }
    part(
        true,
        format!(
            "ENABLED, targets {} with its dead-letter queue",
            short_arn(target.arn())
        ),
    )
}

/// `sqs queue NAME`, `lambda function NAME`: an ARN for people.
fn short_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, _, name] => format!("queue {name}"),
        ["arn", _, "lambda", _, _, "function", name, ..] => format!("Lambda function {name}"),
        _ => arn.to_string(),
    }
}

/// A queue's URL and attributes, by name.
async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> Result<(String, BTreeMap<String, String>), String> {
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist())
            {
                "missing".to_string()
            } else {
                format!("cannot be read: {}", message(e))
            }
        })?
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .map_err(|e| format!("attributes cannot be read: {}", message(e)))?;
    let map = attributes
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Ok((url, map))
}

fn count(attributes: &BTreeMap<String, String>, name: &str) -> u64 {
    attributes
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

async fn dead_letter_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Part {
    let (url, attributes) = match queue(sqs, name).await {
        Ok(found) => found,
        Err(problem) => {
            return part(
                false,
                format!("{problem}: failed events have nowhere to go"),
            )
        }
    };
    let messages = count(&attributes, "ApproximateNumberOfMessages")
        + count(&attributes, "ApproximateNumberOfMessagesNotVisible")
        + count(&attributes, "ApproximateNumberOfMessagesDelayed");
    if messages == 0 {
        part(true, "empty")
    } else {
        part(
            false,
            format!(
                "{messages} message(s): events that failed delivery or processing. Read them \
                 (aws sqs receive-message --queue-url {url}), fix the cause, then redrive or purge the queue"
            ),
        )
    }
}

/// The local stack's stand-in for a Lambda function: its queue, redriving to
/// its dead-letter queue, which the dispatcher polls.
async fn local_queue(clients: &Clients, function: &FunctionName) -> Part {
    let (_, attributes) = match queue(&clients.sqs, &function.function_name).await {
        Ok(found) => found,
        Err(problem) => {
            return part(
                false,
                format!("queue {problem}: the local dispatcher has nothing to poll; re-provision with scripts/local.sh --keep"),
            )
        }
    };
    let redrive = attributes.get("RedrivePolicy").cloned().unwrap_or_default();
    let redrive: serde_json::Value = serde_json::from_str(&redrive).unwrap_or_default();
    let target = redrive["deadLetterTargetArn"].as_str().unwrap_or_default();
    let deliveries = match &redrive["maxReceiveCount"] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let waiting = count(&attributes, "ApproximateNumberOfMessages");
    let in_flight = count(&attributes, "ApproximateNumberOfMessagesNotVisible");
    if !target.ends_with(&format!(":{}", function.dead_letter_queue)) {
        return part(
            false,
            format!(
                "queue {} has no redrive policy to {}: failing events would be retried forever",
                function.function_name, function.dead_letter_queue
            ),
        );
    }
    part(
        true,
        format!(
            "local: its queue, polled by the dispatcher, dead-letters after {deliveries} failed deliveries; \
             {waiting} waiting, {in_flight} in flight"
        ),
    )
}

/// A Lambda function's health: Active, and no `Errors` in the last `options.errors_since`.
pub async fn lambda_function(
    lambda: &aws_sdk_lambda::Client,
    cloudwatch: &aws_sdk_cloudwatch::Client,
    name: &str,
    options: Options,
) -> Part {
    let configuration = match lambda.get_function().function_name(name).send().await {
        Ok(out) => out.configuration().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return part(
                false,
                "missing: deploy the environment (scripts/deploy.sh ENV)",
            )
        }
        Err(e) => return part(false, format!("cannot be read: {}", message(e))),
    };
    let state = configuration
        .as_ref()
        .and_then(|c| c.state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "Active".into());
    let update = configuration
        .as_ref()
        .and_then(|c| c.last_update_status())
        .map(|s| s.as_str().to_string());
    let window = duration::format(options.errors_since);
    let period = ((options.errors_since / 1000 + 59) / 60).max(1) * 60;
    let errors = cloudwatch
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("FunctionName")
                .value(name)
                .build(),
        )
        .statistics(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(i32::try_from(period).unwrap_or(i32::MAX))
        .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            options.now - period * 1000,
        ))
        .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            options.now,
        ))
        .send()
        .await;
    let errors = match errors {
        Ok(out) => out.datapoints().iter().filter_map(|d| d.sum()).sum::<f64>(),
        Err(e) => {
            return part(
                false,
                format!("{state}; its Errors metric cannot be read: {}", message(e)),
            )
        }
    };
    let mut problems = Vec::new();
    if state != "Active" {
        problems.push(format!("state {state}"));
    }
    if let Some(update) = update.as_deref().filter(|u| *u == "Failed") {
        problems.push(format!("last update {update}"));
    }
    if errors > 0.0 {
        problems.push(format!(
            "{errors} error(s) in the last {window}: see its log group /aws/lambda/{name} and its dead-letter queue"
        ));
    }
    if problems.is_empty() {
        part(true, format!("{state}, 0 errors in the last {window}"))
    } else {
        part(false, problems.join("; "))
    }
}
