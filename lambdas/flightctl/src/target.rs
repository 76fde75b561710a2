//! Which environment a verb talks to, the names of its parts, and the AWS clients.
//!
//! The names are `flight_core::names`' (with Terraform's default
//! `name_prefix`), so they are the same in AWS and on the local stack, which
//! is provisioned from `terraform/modules/catalog` with environment `local`.
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
use flight_core::names::{valid_environment, Deployment, FunctionName, LOCAL_ENVIRONMENT};

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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An environment to talk to: its names, its catalog and the AWS configuration.
pub struct Target {
    /// The environment, which names its parts.
    pub deployment: Deployment,
    /// Its functions: ingest (one per event type, in catalog order), settle,
    /// capture (which exists only where capture is enabled, not in production).
    pub functions: Vec<FunctionName>,
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
        let deployment = Deployment::new(&environment);
        Ok(Target {
            functions: deployment.functions(catalog.type_names(), true),
            deployment,
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
                self.deployment.environment,
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
                self.deployment.environment,
                self.config
                    .region()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "not set: set AWS_REGION".into())
            ),
        }
    }

    /// The event store.
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(self.dynamodb(), self.deployment.event_table())
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
