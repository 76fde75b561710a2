//! The local dispatcher: what Lambda does in AWS. Each rule's queue is
//! long-polled and every message handed to that function's handler with the
//! function's own environment (as Terraform sets it), like an SQS event source
//! mapping: deleted on success, left on failure so that it is delivered again
//! after the visibility timeout and, after a few failures, moved to the
//! dead-letter queue by the redrive policy. The settle function, a schedule
//! in AWS, runs every `settle_every`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use flight_core::capture::handle_capture;
use flight_core::handler::{handle_event, handle_settle};
use serde_json::Value;

use crate::stack::{LocalFunction, Stack};

/// How long one receive waits for messages (SQS long polling).
const WAIT_SECONDS: i32 = 5;

/// A function's handler, with the clients it was built with.
enum Function {
    Ingest {
        service: flight_lambda::Controller,
        serves: Option<String>,
    },
    Capture(flight_aws::DynamoCapture),
}

impl Function {
    async fn build(function: &LocalFunction) -> Result<Function> {
        let lookup = lookup(&function.environment);
        Ok(match function.kind.as_str() {
            "capture" => Function::Capture(flight_lambda::capture_from(lookup).await?),
            _ => Function::Ingest {
                service: flight_lambda::controller_from(lookup).await?,
                serves: function.event_type.clone(),
            },
        })
    }

    /// Invokes the handler as the Lambda binary does; `Err` is the error Lambda would report.
    async fn invoke(&self, event: &Value) -> Result<Value, String> {
        match self {
            Function::Ingest { service, serves } => {
                match handle_event(service, event, serves.as_deref()).await {
                    Ok(response) => Ok(response),
                    Err(error) => {
                        let diagnostic =
                            flight_lambda::failure(service, serves.as_deref(), error).await;
                        Err(format!(
                            "{}: {}",
                            diagnostic.error_type, diagnostic.error_message
                        ))
                    }
                }
            }
            Function::Capture(capture) => {
                handle_capture(capture, event).await.map_err(|e| e.message)
            }
        }
    }
}

/// A function's variables first, then the process's (endpoints, credentials).
fn lookup(environment: &BTreeMap<String, String>) -> impl Fn(&str) -> Option<String> {
    let environment = environment.clone();
    move |name: &str| {
        environment
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .filter(|v| !v.is_empty())
    }
}

/// Runs until the process is stopped.
pub async fn run(stack: Stack, settle_every: Duration) -> Result<()> {
    let config = flight_aws::aws_config(None).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut tasks = tokio::task::JoinSet::new();
    for definition in &stack.functions {
        if definition.kind == "settle" {
            let service = flight_lambda::controller_from(lookup(&definition.environment))
                .await
                .context("settle function")?;
            tasks.spawn(async move {
                let mut ticks = tokio::time::interval(settle_every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    // handle_settle logs its outcome; a failure is retried next tick.
                    let _ = handle_settle(&service).await;
                }
            });
            continue;
        }
        let Some(queue) = definition.queue_url.clone() else {
            continue;
        };
        let function = Arc::new(
            Function::build(definition)
                .await
                .with_context(|| format!("function {}", definition.key))?,
        );
        let (sqs, key) = (sqs.clone(), definition.key.clone());
        tasks.spawn(async move { poll(&sqs, &queue, &key, &function).await });
    }
    tracing::info!(
        functions = stack.functions.len(),
        settle_every_ms = settle_every.as_millis() as u64,
        "dispatcher ready"
    );
    while let Some(ended) = tasks.join_next().await {
        ended.context("a dispatcher task ended")?;
    }
    Ok(())
}

async fn poll(sqs: &aws_sdk_sqs::Client, queue: &str, key: &str, function: &Function) {
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(WAIT_SECONDS)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(function = key, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "receive failed; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for message in messages {
            let body = message.body().unwrap_or_default();
            let outcome = match serde_json::from_str::<Value>(body) {
                Ok(event) => function.invoke(&event).await,
                Err(e) => Err(format!("message body is not JSON: {e}")),
            };
            match outcome {
                Ok(_) => {
                    if let Some(handle) = message.receipt_handle() {
                        if let Err(e) = sqs
                            .delete_message()
                            .queue_url(queue)
                            .receipt_handle(handle)
                            .send()
                            .await
                        {
                            tracing::warn!(function = key, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "delete failed; the message will be delivered again");
                        }
                    }
                }
                Err(error) => tracing::warn!(
                    function = key,
                    error,
                    "invocation failed; the message is delivered again after the visibility timeout, then dead-lettered"
                ),
            }
        }
    }
}
