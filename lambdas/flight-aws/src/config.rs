//! AWS configuration and clients in one line each, for the binaries and the tests.
//!
//! Two environment variables point the clients at a local stack
//! (`scripts/services.sh start` writes both):
//!
//! - `FC_AWS_ENDPOINT`: the endpoint of every AWS service (moto_server locally);
//! - `FC_DYNAMODB_ENDPOINT`: the endpoint of DynamoDB only (DynamoDB Local),
//!   which wins over `FC_AWS_ENDPOINT` for DynamoDB.
//!
//! When either is set, an endpoint is local: if no `AWS_ACCESS_KEY_ID` is in
//! the environment, dummy credentials are used, and the region defaults to
//! `us-east-1`. Unset or empty, the SDK's defaults apply (real AWS).

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The endpoint of every AWS service, when set (a local stack such as moto).
pub const AWS_ENDPOINT_ENV: &str = "FC_AWS_ENDPOINT";
/// The endpoint of DynamoDB, when set (DynamoDB Local); wins over [`AWS_ENDPOINT_ENV`].
pub const DYNAMODB_ENDPOINT_ENV: &str = "FC_DYNAMODB_ENDPOINT";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The shared AWS configuration: the SDK's default chain (environment, profile,
/// instance role), with `endpoint` — or else `FC_AWS_ENDPOINT` — as the
/// endpoint of every service. Against a local endpoint, missing credentials
/// and region default to `test`/`test` and `us-east-1`.
pub async fn aws_config(endpoint: Option<&str>) -> SdkConfig {
    let endpoint = endpoint
        .map(str::to_string)
        .or_else(|| env(AWS_ENDPOINT_ENV));
    let local = endpoint.is_some() || env(DYNAMODB_ENDPOINT_ENV).is_some();
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    if local {
        if env("AWS_ACCESS_KEY_ID").is_none() && env("AWS_PROFILE").is_none() {
            loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test",
                "test",
                None,
                None,
                "flight-controller-local",
            ));
        }
        if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
            loader = loader.region(RegionProviderChain::first_try(Region::new("us-east-1")));
        }
    }
    loader.load().await
}

/// A DynamoDB client: `endpoint_override`, else `FC_DYNAMODB_ENDPOINT`, else
/// the configuration's endpoint.
pub fn dynamodb_client(
    config: &SdkConfig,
    endpoint_override: Option<&str>,
) -> aws_sdk_dynamodb::Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(config);
    if let Some(endpoint) = endpoint_override
        .map(str::to_string)
        .or_else(|| env(DYNAMODB_ENDPOINT_ENV))
    {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// A CloudWatch client: `endpoint_override`, else `FC_AWS_ENDPOINT`, else the
/// configuration's endpoint.
pub fn cloudwatch_client(
    config: &SdkConfig,
    endpoint_override: Option<&str>,
) -> aws_sdk_cloudwatch::Client {
    let mut builder = aws_sdk_cloudwatch::config::Builder::from(config);
    if let Some(endpoint) = endpoint_override
        .map(str::to_string)
        .or_else(|| env(AWS_ENDPOINT_ENV))
    {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_cloudwatch::Client::from_conf(builder.build())
}
