//! Provisioning the local stack from the catalog module's Terraform outputs:
//! what `terraform/modules/flight-controller` creates in AWS, on DynamoDB
//! Local and moto. One difference, for want of Lambda: each rule targets an
//! SQS queue (with a dead-letter queue behind a redrive policy) that the
//! dispatcher polls, as Lambda's event source mapping would.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::{DeadLetterConfig, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use flight_aws::{DynamoCapture, DynamoStore, SdkConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alarms::{self, SloAlarms};

/// Seconds a message stays invisible after a failed delivery, before it is tried again.
const VISIBILITY_TIMEOUT_SECONDS: &str = "5";
/// Deliveries of one message before it moves to the dead-letter queue.
pub(crate) const MAX_RECEIVE_COUNT: u32 = 3;

/// What `provision` created, as the dispatcher and the scripts need it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stack {
    /// The event bus producers put events on.
    pub bus: String,
    /// The event store table.
    pub event_table: String,
    /// The capture table of test runs, if capture is enabled.
    pub capture_table: Option<String>,
    /// The CloudWatch namespace of the metrics.
    pub namespace: String,
    /// The CloudWatch dashboard's name.
    pub dashboard: String,
    /// The prefix every SLO alarm name starts with (`<prefix>-<environment>-slo-`).
    pub slo_alarm_prefix: String,
    pub functions: Vec<LocalFunction>,
}

/// A function of the catalog, and the queue standing in for its trigger.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalFunction {
    /// `ingest-<event type>`, `settle` or `capture`.
    pub key: String,
    /// `ingest`, `settle` or `capture`.
    pub kind: String,
    /// The event type an ingest function serves.
    pub event_type: Option<String>,
    /// Its environment variables, as Terraform sets them.
    pub environment: BTreeMap<String, String>,
    /// The queue its rule delivers to; `None` for the scheduled settle function.
    pub queue_url: Option<String>,
    /// Where that queue moves a message after repeated failures.
    pub dead_letter_queue_url: Option<String>,
}

impl Stack {
    /// Reads a stack file written by [`provision`].
    pub fn load(path: &Path) -> Result<Stack> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a stack file", path.display()))
    }

    /// The function ingesting events of the type named `event_type`.
    pub fn ingest_function(&self, event_type: &str) -> Option<&LocalFunction> {
        self.functions
            .iter()
            .find(|f| f.event_type.as_deref() == Some(event_type))
    }
}

impl LocalFunction {
    /// Its environment as one `NAME=value,NAME=value` list, in name order
    /// (`cargo lambda watch --env-var` takes it so).
    pub fn env_var_list(&self) -> String {
        self.environment
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The catalog module's outputs, from `terraform output -json` (each output
/// an object with `value`) or as plain values.
struct Outputs(Value);

impl Outputs {
    fn get(&self, name: &str) -> Result<&Value> {
        let output = self
            .0
            .get(name)
            .ok_or_else(|| anyhow!("Terraform output `{name}` is missing"))?;
        Ok(output.get("value").unwrap_or(output))
    }

    fn text(&self, output: &str, path: &[&str]) -> Result<String> {
        let mut value = self.get(output)?;
        for key in path {
            value = &value[*key];
        }
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("Terraform output `{output}.{}` is not text", path.join(".")))
    }
}

/// The AWS clients provisioning needs, built once.
pub struct Clients {
    /// DynamoDB (Local): the tables.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS: the queues standing in for Lambda triggers.
    pub sqs: aws_sdk_sqs::Client,
    /// EventBridge: the bus and rules.
    pub events: aws_sdk_eventbridge::Client,
    /// CloudWatch: alarms and dashboard.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Clients {
    /// Clients for the configured endpoints (`FC_AWS_ENDPOINT`, `FC_DYNAMODB_ENDPOINT`).
    pub fn new(config: &SdkConfig) -> Self {
        Clients {
            dynamodb: flight_aws::dynamodb_client(config, None),
            sqs: aws_sdk_sqs::Client::new(config),
            events: aws_sdk_eventbridge::Client::new(config),
            cloudwatch: flight_aws::cloudwatch_client(config, None),
        }
    }
}

/// Creates the bus, a rule and queue per function, the tables, the SLO
/// burn-rate and composite alarms and the dashboard, from the catalog module's outputs. Safe to run twice.
pub async fn provision(outputs: Value, clients: &Clients) -> Result<Stack> {
    let outputs = Outputs(outputs);
    let bus = outputs.text("names", &["event_bus"])?;
    let event_table = outputs.text("names", &["event_table"])?;
    let capture_table = outputs.text("names", &["capture_table"]).ok();
    let namespace = outputs.text("namespace", &[])?;
    let dashboard = outputs.text("names", &["dashboard"])?;

    create_event_table(&clients.dynamodb, &event_table).await?;
    if let Some(table) = &capture_table {
        DynamoCapture::create_table(&clients.dynamodb, table)
            .await
            .with_context(|| format!("creating the capture table {table}"))?;
    }
    eprintln!(
        "provision: tables {event_table}, {}",
        capture_table.as_deref().unwrap_or("(no capture table)")
    );

    match clients.events.create_event_bus().name(&bus).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
        Err(e) => {
            return Err(anyhow!(aws_sdk_eventbridge::error::DisplayErrorContext(e)))
                .with_context(|| format!("creating event bus {bus}"))
        }
    }

    let definitions: BTreeMap<String, Value> =
        serde_json::from_value(outputs.get("functions")?.clone())
            .context("Terraform output `functions` is not a map")?;
    let mut functions = Vec::new();
    for (key, f) in definitions {
        let field = |name: &str| f.get(name).and_then(Value::as_str).map(str::to_string);
        let environment: BTreeMap<String, String> =
            serde_json::from_value(f["environment"].clone()).unwrap_or_default();
        let mut function = LocalFunction {
            key: key.clone(),
            kind: field("kind").unwrap_or_default(),
            event_type: field("event_type"),
            environment,
            queue_url: None,
            dead_letter_queue_url: None,
        };
        if let (Some(pattern), Some(rule)) = (field("event_pattern"), field("rule_name")) {
            let queue_name = field("function_name").unwrap_or_else(|| key.clone());
            let dlq_name =
                field("dead_letter_queue_name").unwrap_or_else(|| format!("{queue_name}-dlq"));
            let (dlq_url, dlq_arn) = create_queue(&clients.sqs, &dlq_name, None).await?;
            let redrive = serde_json::json!({
                "deadLetterTargetArn": dlq_arn,
                "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
            });
            let (queue_url, queue_arn) =
                create_queue(&clients.sqs, &queue_name, Some(redrive.to_string())).await?;
            route(&clients.events, &bus, &rule, &pattern, &queue_arn, &dlq_arn).await?;
            function.queue_url = Some(queue_url);
            function.dead_letter_queue_url = Some(dlq_url);
        }
        functions.push(function);
    }
    eprintln!(
        "provision: bus {bus}, {} rules, each to a queue with a dead-letter queue",
        functions.iter().filter(|f| f.queue_url.is_some()).count()
    );

    let slo_alarms = SloAlarms::from_outputs(
        outputs.get("slo_window_alarms")?,
        outputs.get("slo_composite_alarms")?,
        outputs.get("slo_alarm_texts").ok(),
    )?;
    for line in alarms::create(&clients.cloudwatch, &slo_alarms)
        .await
        .report()
    {
        eprintln!("{line}");
    }
    let slo_alarm_prefix = slo_alarms.name_prefix().unwrap_or_default();
    match clients
        .cloudwatch
        .put_dashboard()
        .dashboard_name(&dashboard)
        .dashboard_body(outputs.text("dashboard_body", &[])?)
        .send()
        .await
    {
        Ok(_) => eprintln!("provision: dashboard {dashboard}"),
        Err(e) => eprintln!(
            "provision: dashboard not created, the emulator refuses it: {}",
            e.message().unwrap_or("no reason given")
        ),
    }

    Ok(Stack {
        bus,
        event_table,
        capture_table,
        namespace,
        dashboard,
        slo_alarm_prefix,
        functions,
    })
}

async fn create_event_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<()> {
    let exists = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok();
    if !exists {
        DynamoStore::create_table(client, table)
            .await
            .with_context(|| format!("creating the event store {table}"))?;
    }
    Ok(())
}

/// Creates a queue (or finds it) and returns its URL and ARN.
async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive_policy: Option<String>,
) -> Result<(String, String)> {
    let mut request = sqs.create_queue().queue_name(name).attributes(
        QueueAttributeName::VisibilityTimeout,
        VISIBILITY_TIMEOUT_SECONDS,
    );
    if let Some(policy) = redrive_policy {
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy);
    }
    let url = request
        .send()
        .await
        .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
        .with_context(|| format!("creating queue {name}"))?
        .queue_url()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("creating queue {name}: no URL in the answer"))?;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
        .with_context(|| format!("reading the ARN of queue {name}"))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| anyhow!("queue {name} has no ARN"))?;
    Ok((url, arn))
}

/// The rule with its pattern, targeting the queue (dead letters to `dlq_arn`).
async fn route(
    events: &aws_sdk_eventbridge::Client,
    bus: &str,
    rule: &str,
    pattern: &str,
    queue_arn: &str,
    dlq_arn: &str,
) -> Result<()> {
    let failed = |e: String| anyhow!("rule {rule} on bus {bus}: {e}");
    events
        .put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .map_err(|e| failed(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
    let target = Target::builder()
        .id("function")
        .arn(queue_arn)
        .dead_letter_config(DeadLetterConfig::builder().arn(dlq_arn).build())
        .build()
        .map_err(|e| failed(e.to_string()))?;
    events
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| failed(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ingest_functions_environment_is_one_list_for_cargo_lambda() {
        let stack: Stack = serde_json::from_value(serde_json::json!({
            "bus": "b", "event_table": "t", "capture_table": null, "namespace": "N",
            "dashboard": "d", "slo_alarm_prefix": "", "functions": [{
                "key": "ingest-guardrail-activated", "kind": "ingest",
                "event_type": "GuardrailActivated", "queue_url": null, "dead_letter_queue_url": null,
                "environment": {"TABLE_NAME": "t", "EVENT_TYPE": "GuardrailActivated", "ENVIRONMENT": "local"},
            }],
        }))
        .unwrap();
        let function = stack.ingest_function("GuardrailActivated").unwrap();
        assert_eq!(
            function.env_var_list(),
            "ENVIRONMENT=local,EVENT_TYPE=GuardrailActivated,TABLE_NAME=t"
        );
        assert!(stack.ingest_function("ProjectRequested").is_none());
    }
}
