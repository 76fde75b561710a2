//! Which environment a verb talks to, the names of its parts, and the AWS clients.
//!
//! Names follow `terraform/modules/catalog` (with its default `name_prefix`),
//! so they are the same in AWS and on the local stack, which is provisioned
//! from that module with environment `local`:
//!
//! | part | name |
//! |---|---|
//! | bus | `flight-controller-ENV` |
//! | event store, capture table | `flight-controller-ENV-events`, `flight-controller-ENV-capture` |
//! | SLO alarm | `flight-controller-ENV-slo-<SLO name>` |
//! | function (and its rule) | `flight-controller-ENV-ingest-<event type slug>`, `…-settle`, `…-capture` |
//! | dead-letter queue | `<function>-dlq` |
//!
//! Endpoints: `--endpoint-url` (else `FC_AWS_ENDPOINT`) for every service and
//! `--dynamodb-endpoint-url` (else `FC_DYNAMODB_ENDPOINT`) for DynamoDB. With
//! either set, the target is a local stack and the environment defaults to
//! `local`; with neither, the usual AWS configuration applies and `--env` is required.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use flight_aws::{DynamoStore, SdkConfig};
use flight_core::catalog::Catalog;

/// The prefix of every resource name (Terraform's `name_prefix` default).
pub const NAME_PREFIX: &str = "flight-controller";
/// The environment of the local stack (`scripts/local.sh`).
pub const LOCAL_ENVIRONMENT: &str = "local";

/// Where a verb goes: the options every verb that talks to AWS takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TargetArgs {
    /// The environment (dev, prod, …; `local` for the local stack). Its parts are
    /// named as Terraform names them: bus flight-controller-NAME, table
    /// flight-controller-NAME-events, … Default: `local` when a local endpoint is set.
    #[arg(long, value_name = "NAME", env = "FC_ENV")]
    pub env: Option<String>,
    /// The endpoint of every AWS service: the local stack's moto server.
    /// Default: $FC_AWS_ENDPOINT; unset, the usual AWS configuration (AWS_PROFILE, AWS_REGION, …).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The endpoint of DynamoDB: the local stack's DynamoDB Local.
    /// Default: $FC_DYNAMODB_ENDPOINT, else --endpoint-url.
    #[arg(long, value_name = "URL")]
    pub dynamodb_endpoint_url: Option<String>,
    /// The catalog the environment runs (YAML). Default: the one built into
    /// flightctl (events/catalog.yaml); give the same file you deployed.
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,
}

/// A Lambda function of an environment, with its trigger and dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionNames {
    /// `ingest-<slug>`, `settle` or `capture`, as in Terraform's outputs.
    pub key: String,
    /// The event type an ingest function serves.
    pub event_type: Option<String>,
    pub function_name: String,
    /// The EventBridge rule that triggers it (named as the function).
    pub rule_name: String,
    /// The bus of that rule: the environment's, or `default` for the settle schedule.
    pub rule_bus: String,
    /// Its dead-letter queue (the rule's target DLQ and the on-failure destination).
    pub dead_letter_queue: String,
}

impl FunctionNames {
    /// Whether this is the scheduled settle function.
    pub fn is_settle(&self) -> bool {
        self.key == "settle"
    }

    /// Whether this is the capture function of test runs.
    pub fn is_capture(&self) -> bool {
        self.key == "capture"
    }
}

/// The names of an environment's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub environment: String,
    pub bus: String,
    pub event_table: String,
    /// Exists only where capture is enabled (not in production).
    pub capture_table: String,
    /// The prefix of the SLO alarms' names (`<prefix>-slo-<SLO name>`).
    pub slo_alarm_prefix: String,
    /// Ingest functions (one per event type, in catalog order), settle, capture.
    pub functions: Vec<FunctionNames>,
}

/// An event type's name as AWS resource names hold it: `ProjectRequested` and
/// `project_requested` both become `project-requested` (Terraform's `slug`).
pub fn slug(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        out.push(*c);
        let next_upper = chars.get(i + 1).is_some_and(char::is_ascii_uppercase);
        if (c.is_ascii_lowercase() || c.is_ascii_digit()) && next_upper {
            out.push('-');
        }
    }
    out.replace('_', "-").to_lowercase()
}

/// Whether `name` is an environment name Terraform accepts.
pub fn valid_environment(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 12
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Names {
    /// The names of `environment`'s parts, for the functions of `catalog`.
    pub fn new(environment: &str, catalog: &Catalog) -> Names {
        let prefix = format!("{NAME_PREFIX}-{environment}");
        let function = |key: String, event_type: Option<String>, rule_bus: &str| {
            let function_name = format!("{prefix}-{key}");
            FunctionNames {
                key,
                event_type,
                rule_name: function_name.clone(),
                rule_bus: rule_bus.to_string(),
                dead_letter_queue: format!("{function_name}-dlq"),
                function_name,
            }
        };
        let mut functions: Vec<FunctionNames> = catalog
            .event_types
            .iter()
            .map(|t| {
                function(
                    format!("ingest-{}", slug(&t.name)),
                    Some(t.name.clone()),
                    &prefix,
                )
            })
            .collect();
        functions.push(function("settle".into(), None, "default"));
        functions.push(function("capture".into(), None, &prefix));
        Names {
            environment: environment.to_string(),
            bus: prefix.clone(),
            event_table: format!("{prefix}-events"),
            capture_table: format!("{prefix}-capture"),
            slo_alarm_prefix: format!("{prefix}-slo-"),
            functions,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An environment to talk to: its names, its catalog and the AWS configuration.
pub struct Target {
    pub names: Names,
    pub catalog: Arc<Catalog>,
    /// The local endpoints, when the target is a local stack (`moto`, `DynamoDB`).
    pub local: Option<(Option<String>, Option<String>)>,
    pub config: SdkConfig,
    dynamodb_endpoint: Option<String>,
}

impl Target {
    /// Resolves the options into a target; the error says what to give.
    pub async fn resolve(args: &TargetArgs) -> Result<Target> {
        let (_, catalog) = crate::catalog::load(args.catalog.as_deref())?;
        let endpoint = args
            .endpoint_url
            .clone()
            .or_else(|| env(flight_aws::AWS_ENDPOINT_ENV));
        let dynamodb = args
            .dynamodb_endpoint_url
            .clone()
            .or_else(|| env(flight_aws::DYNAMODB_ENDPOINT_ENV));
        let local = endpoint.is_some() || dynamodb.is_some();
        let environment = match (&args.env, local) {
            (Some(name), _) => name.clone(),
            (None, true) => LOCAL_ENVIRONMENT.to_string(),
            (None, false) => bail!(
                "which environment? Give --env NAME for a deployed environment (with AWS credentials in the usual \
                 AWS configuration), or point at the local stack: scripts/local.sh --keep, then \
                 eval \"$(grep -v _PID= $FC_LOCAL_DIR/local.env)\" (it sets FC_AWS_ENDPOINT and FC_DYNAMODB_ENDPOINT), \
                 or --endpoint-url URL"
            ),
        };
        if !valid_environment(&environment) {
            bail!(
                "--env: `{environment}` is not an environment name (1-12 characters: lower-case letters, digits \
                 and hyphens, starting with a letter, as Terraform's `environment`)"
            );
        }
        let config = flight_aws::aws_config(endpoint.as_deref()).await;
        Ok(Target {
            names: Names::new(&environment, &catalog),
            catalog: Arc::new(catalog),
            local: local.then(|| (endpoint, dynamodb.clone())),
            config,
            dynamodb_endpoint: dynamodb,
        })
    }

    /// Whether the target is a local stack (endpoints set).
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// One line saying where the verb goes, for stderr.
    pub fn describe(&self) -> String {
        match &self.local {
            Some((endpoint, dynamodb)) => format!(
                "environment {} on the local stack ({}{})",
                self.names.environment,
                endpoint
                    .as_deref()
                    .map(|e| format!("AWS services at {e}"))
                    .unwrap_or_else(|| "AWS services in AWS".into()),
                dynamodb
                    .as_deref()
                    .map(|d| format!(", DynamoDB at {d}"))
                    .unwrap_or_default(),
            ),
            None => format!(
                "environment {} in AWS (region {})",
                self.names.environment,
                self.config
                    .region()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "not set: set AWS_REGION".into())
            ),
        }
    }

    /// The event store.
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamodb(), self.names.event_table.clone())
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        flight_aws::dynamodb_client(&self.config, self.dynamodb_endpoint.as_deref())
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        // The configuration carries --endpoint-url already; no second override.
        aws_sdk_cloudwatch::Client::new(&self.config)
    }

    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_terraform_catalog_module() {
        assert_eq!(slug("ProjectRequested"), "project-requested");
        assert_eq!(slug("project_requested"), "project-requested");
        assert_eq!(
            slug("ResourceFoundNonCompliant"),
            "resource-found-non-compliant"
        );
        assert_eq!(slug("IPv4Seen"), "ipv4-seen");
        let names = Names::new("dev", &Catalog::default_catalog());
        assert_eq!(names.bus, "flight-controller-dev");
        assert_eq!(names.event_table, "flight-controller-dev-events");
        assert_eq!(names.slo_alarm_prefix, "flight-controller-dev-slo-");
        let first = &names.functions[0];
        assert_eq!(first.key, "ingest-project-requested");
        assert_eq!(
            first.function_name,
            "flight-controller-dev-ingest-project-requested"
        );
        assert_eq!(
            first.dead_letter_queue,
            "flight-controller-dev-ingest-project-requested-dlq"
        );
        assert_eq!(first.rule_bus, "flight-controller-dev");
        let settle = names.functions.iter().find(|f| f.is_settle()).unwrap();
        assert_eq!(settle.rule_bus, "default");
        assert_eq!(names.functions.len(), 12 + 2);
        assert!(valid_environment("dev") && valid_environment("t-1"));
        assert!(
            !valid_environment("Dev")
                && !valid_environment("1x")
                && !valid_environment("thirteen-char")
        );
    }
}
