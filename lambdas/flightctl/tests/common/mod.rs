//! Shared by flightctl's integration tests: the services' endpoints (from
//! `scripts/services.sh`), an environment of its own per test, provisioned
//! the way the local stack is (rule -> queue -> dead-letter queue), and
//! flightctl run as a user runs it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_eventbridge::types::{DeadLetterConfig, Target as RuleTarget};
use aws_sdk_sqs::types::QueueAttributeName;
use flight_aws::{DynamoStore, SdkConfig};
use flight_core::memory::CollectingSink;
use flight_core::names::{Deployment, FunctionName};
use flight_core::{Catalog, FlightController, Millis, Settings, SystemClock};
use flight_testkit::aws;
use serde_json::{json, Value};
use std::sync::Arc;

/// A catalog of two event types, one metric and its SLO.
pub const SMALL_CATALOG: &str = r#"
namespace: FlightControllerTest
event_types:
  - name: AccountRequested
    aliases: [account_requested]
    description: A team asked for an account.
  - name: AccountCreated
    description: The account exists.
metrics:
  - name: AccountLeadTime
    kind: duration
    start: AccountRequested
    end: AccountCreated
    unit: Seconds
slos:
  - name: account-lead-time
    metric: AccountLeadTime
    objective: 90
    threshold: 3600
    good_when: at_most
    window_hours: 24
    severity: ticket
    alerting:
      rules: # a day's period holds no 3-day window: its own ticket rule
        - severity: ticket
          long_window: 6h
          short_window: 30m
          budget_spent: 10
"#;

/// The small catalog with one metric more, as after a catalog change.
pub fn catalog_with_new_metric() -> String {
    SMALL_CATALOG.replace(
        "slos:\n",
        "  - name: AccountCreatedCount\n    kind: count\n    event: AccountCreated\n    unit: Count\n\nslos:\n",
    )
}

#[allow(unused_imports)] // not every test binary that shares this module polls
pub use flight_testkit::aws::eventually;

/// The local services' endpoints (moto, DynamoDB Local), or `None` (after
/// saying so) when `FC_SKIP_INTEGRATION=1`. Unset otherwise, the test fails:
/// it must not pass silently without the services it tests against.
pub fn endpoints(test: &str) -> Option<(String, String)> {
    Some((
        aws::endpoint("FC_AWS_ENDPOINT", test)?,
        aws::endpoint("FC_DYNAMODB_ENDPOINT", test)?,
    ))
}

/// An environment name no other test uses (Terraform's rules: at most 12 characters).
pub fn unique_environment() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "t{:07x}{}",
        (nanos / 1000) % 0xfff_ffff,
        N.fetch_add(1, Ordering::Relaxed) % 10
    )
}

/// A test's own environment on the local services.
pub struct Env {
    pub name: String,
    pub moto: String,
    pub dynamodb: String,
    pub config: SdkConfig,
    pub catalog_path: PathBuf,
    pub catalog: Catalog,
    /// The environment, which names its parts.
    pub deployment: Deployment,
    /// Its functions, named as `flightctl` names them (capture included).
    pub functions: Vec<FunctionName>,
}

impl Env {
    /// A new environment running `catalog` (YAML); nothing provisioned yet.
    pub async fn new(test: &str, catalog: &str) -> Option<Env> {
        let (moto, dynamodb) = endpoints(test)?;
        let name = unique_environment();
        let dir = std::env::temp_dir().join(format!("flightctl-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let catalog_path = dir.join("catalog.yaml");
        std::fs::write(&catalog_path, catalog).unwrap();
        let parsed = Catalog::parse(catalog).expect("a valid test catalog");
        Some(Env {
            deployment: Deployment::new(&name),
            functions: Deployment::new(&name).functions(parsed.type_names(), true),
            config: flight_aws::aws_config(Some(&moto)).await,
            name,
            moto,
            dynamodb,
            catalog_path,
            catalog: parsed,
        })
    }

    pub fn dynamodb_client(&self) -> aws_sdk_dynamodb::Client {
        flight_aws::dynamodb_client(&self.config, Some(&self.dynamodb))
    }

    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamodb_client(), self.deployment.event_table())
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    pub fn events(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config)
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.config)
    }

    /// Creates the event store.
    pub async fn create_table(&self) {
        DynamoStore::create_table(&self.dynamodb_client(), &self.deployment.event_table())
            .await
            .expect("event table created");
    }

    /// Creates the bus, and for each ingest function a dead-letter queue, its
    /// queue (redriving there after 3 receives) and its rule targeting the
    /// queue, as `flight-local provision` does for the local stack.
    pub async fn create_bus_and_functions(&self) {
        let events = self.events();
        events
            .create_event_bus()
            .name(self.deployment.event_bus())
            .send()
            .await
            .expect("bus created");
        for function in self.functions.iter().filter(|f| f.event_type.is_some()) {
            let dlq_arn = self.queue(&function.dead_letter_queue, None).await.1;
            let redrive =
                serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"});
            let queue_arn = self
                .queue(&function.function_name, Some(redrive.to_string()))
                .await
                .1;
            // Its name and aliases, as the Terraform catalog module's patterns match them.
            let event_type = self
                .catalog
                .event_type(function.event_type.as_deref().unwrap_or_default())
                .expect("an event type of the catalog");
            let names: Vec<&String> = std::iter::once(&event_type.name)
                .chain(&event_type.aliases)
                .collect();
            let pattern = serde_json::json!({"detail": {"event_type": names}});
            events
                .put_rule()
                .name(&function.rule_name)
                .event_bus_name(self.deployment.event_bus())
                .event_pattern(pattern.to_string())
                .send()
                .await
                .expect("rule created");
            events
                .put_targets()
                .rule(&function.rule_name)
                .event_bus_name(self.deployment.event_bus())
                .targets(
                    RuleTarget::builder()
                        .id("function")
                        .arn(queue_arn)
                        .dead_letter_config(DeadLetterConfig::builder().arn(dlq_arn).build())
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .expect("rule target set");
        }
    }

    /// Creates a queue; its URL and ARN.
    pub async fn queue(&self, name: &str, redrive: Option<String>) -> (String, String) {
        let attributes: Vec<_> = redrive
            .map(|policy| (QueueAttributeName::RedrivePolicy, policy))
            .into_iter()
            .collect();
        aws::queue(&self.sqs(), name, &attributes).await
    }

    /// Runs flightctl against this environment: `VERB --env … --endpoint-url …
    /// --dynamodb-endpoint-url … --catalog …` then `args` (`VERB` may be a
    /// verb and its subcommand: `alerts backtest`).
    pub fn flightctl(&self, verb: &str, args: &[&str]) -> Output {
        self.flightctl_with_catalog(verb, self.catalog_path.to_str().unwrap(), args)
    }

    pub fn flightctl_with_catalog(&self, verb: &str, catalog: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_flightctl"))
            .args(verb.split_whitespace())
            .args(["--env", &self.name, "--endpoint-url", &self.moto])
            .args([
                "--dynamodb-endpoint-url",
                &self.dynamodb,
                "--catalog",
                catalog,
            ])
            .args(args)
            .current_dir(std::env::temp_dir())
            .output()
            .expect("flightctl runs")
    }

    /// A file in this environment's temporary folder.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.catalog_path.with_file_name(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The output, for assertion messages.
pub fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The number in a summary line `  LABEL   N  …`.
pub fn count_in(summary: &str, label: &str) -> usize {
    summary
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.trim_start()[label.len()..].split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{summary}"))
}

/// An EventBridge event as a rule's target receives it.
pub fn event(event_type: &str, aggregate: &str, id: &str, time: Millis) -> Value {
    json!({
        "version": "0", "id": format!("eb-{id}"), "detail-type": event_type, "source": "tests",
        "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"event_id": id, "event_type": event_type, "aggregate_id": aggregate, "time": time / 1000},
    })
}

/// Ingests events as the deployed functions do (lateness window 0: published
/// and recorded at once) into the environment's event store, with `catalog`.
pub async fn ingest(env: &Env, catalog: Catalog, events: &[Value]) {
    let service = FlightController::new(
        Arc::new(catalog),
        env.store(),
        CollectingSink::new(),
        SystemClock,
        Settings {
            environment: Some(env.name.clone()),
            lateness_window: 0,
            ..Settings::default()
        },
    );
    for e in events {
        service.ingest(e, None).await.expect("ingested");
    }
}
