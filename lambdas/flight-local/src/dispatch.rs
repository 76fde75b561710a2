//! The local dispatcher: what Lambda does in AWS. Each rule's queue is
//! long-polled and every message handed to that function's handler with the
//! function's own environment (as Terraform sets it), like an SQS event source
//! mapping: deleted on success, left on failure so that it is delivered again
//! after the visibility timeout. Its last failed delivery puts in the
//! dead-letter queue what Lambda's on-failure destination receives in AWS:
//! a record with the event (`requestPayload`) and the error the function
//! returned (`responsePayload.errorType`, `errorMessage`), so the reason
//! travels with the event; the queue's redrive policy moves the bare event
//! there if that fails. The settle function, a schedule in AWS, runs every
//! `settle_every`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use flight_core::capture::handle_capture;
use flight_core::handler::{handle_event, handle_settle};
use serde_json::{json, Value};

use crate::stack::{LocalFunction, Stack, MAX_RECEIVE_COUNT};

/// How long one receive waits for messages (SQS long polling).
const WAIT_SECONDS: i32 = 5;

/// The error an invocation returned, as Lambda reports it.
struct Diagnostic {
    error_type: String,
    error_message: String,
}

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

    /// Invokes the handler as the Lambda binary does; `Err` is the error
    /// Lambda would report (its type and message).
    async fn invoke(&self, event: &Value) -> Result<Value, Diagnostic> {
        match self {
            Function::Ingest { service, serves } => {
                match handle_event(service, event, serves.as_deref()).await {
                    Ok(response) => Ok(response),
                    Err(error) => {
                        let d = flight_lambda::failure(service, serves.as_deref(), error).await;
                        Err(Diagnostic {
                            error_type: d.error_type,
                            error_message: d.error_message,
                        })
                    }
                }
            }
            Function::Capture(capture) => handle_capture(capture, event).await.map_err(|e| {
                let d = flight_lambda::diagnostic(e);
                Diagnostic {
                    error_type: d.error_type,
                    error_message: d.error_message,
                }
            }),
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

/// Runs until the process is stopped; `ready` runs once every function is
/// being served (the dispatcher then writes the stack's env file).
pub async fn run(
    stack: Stack,
    settle_every: Duration,
    ready: impl FnOnce(&Stack) -> Result<()>,
) -> Result<()> {
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
        let dead_letters = definition.dead_letter_queue_url.clone();
        tasks.spawn(
            async move { poll(&sqs, &queue, dead_letters.as_deref(), &key, &function).await },
        );
    }
    tracing::info!(
        functions = stack.functions.len(),
        settle_every_ms = settle_every.as_millis() as u64,
        "dispatcher ready"
    );
    ready(&stack)?;
    while let Some(ended) = tasks.join_next().await {
        ended.context("a dispatcher task ended")?;
    }
    Ok(())
}

async fn poll(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    dead_letters: Option<&str>,
    key: &str,
    function: &Function,
) {
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(WAIT_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
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
                Err(e) => Err(Diagnostic {
                    error_type: "Rejected".into(),
                    error_message: format!("message body is not JSON: {e}"),
                }),
            };
            let deliveries = message
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(1);
            let done = match &outcome {
                Ok(_) => true,
                Err(error) if deliveries >= MAX_RECEIVE_COUNT => match dead_letters {
                    Some(dlq) => dead_letter(sqs, dlq, key, &message, deliveries, error).await,
                    None => false,
                },
                Err(error) => {
                    tracing::warn!(
                        function = key,
                        error_type = %error.error_type,
                        error = %error.error_message,
                        deliveries,
                        "invocation failed; the message is delivered again after the visibility timeout"
                    );
                    false
                }
            };
            if done {
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
        }
    }
}

/// Sends to the dead-letter queue the record Lambda's on-failure destination
/// receives in AWS for an asynchronous invocation whose retries are
/// exhausted; `true` once it is there.
async fn dead_letter(
    sqs: &aws_sdk_sqs::Client,
    dlq: &str,
    key: &str,
    message: &aws_sdk_sqs::types::Message,
    deliveries: u32,
    error: &Diagnostic,
) -> bool {
    let body = message.body().unwrap_or_default();
    let record = json!({
        "version": "1.0",
        "timestamp": flight_core::envelope::format_time(flight_core::replay::system_now()),
        "requestContext": {
            "requestId": message.message_id().unwrap_or_default(),
            "functionArn": format!("local:function:{key}"),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": deliveries,
        },
        "requestPayload": serde_json::from_str::<Value>(body).unwrap_or_else(|_| Value::String(body.to_string())),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": error.error_type, "errorMessage": error.error_message},
    });
    match sqs
        .send_message()
        .queue_url(dlq)
        .message_body(record.to_string())
        .send()
        .await
    {
        Ok(_) => {
            tracing::warn!(
                function = key,
                error_type = %error.error_type,
                error = %error.error_message,
                deliveries,
                "invocation failed on its last delivery: dead-lettered with its reason"
            );
            true
        }
        Err(e) => {
            tracing::warn!(function = key, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not dead-letter; the queue's redrive policy moves the message");
            false
        }
    }
}
