//! Flight Controller's AWS adapters: the event store on DynamoDB
//! ([`DynamoStore`], with what operators need: `scan_events`, `claim_backfill`,
//! `overdue`), the capture table of test runs ([`DynamoCapture`]), the metric sinks on CloudWatch ([`CloudWatchSink`],
//! [`EmfSink`]) and the clients they need ([`aws_config`], [`dynamodb_client`],
//! [`cloudwatch_client`], which honour `FC_AWS_ENDPOINT` and `FC_DYNAMODB_ENDPOINT`).

mod capture;
mod cloudwatch;
mod config;
mod dynamo;
mod dynamo_series;
mod emf;
mod error;
pub mod item;
mod operator;

pub use aws_config::SdkConfig;
pub use capture::DynamoCapture;
pub use cloudwatch::{CloudWatchSink, MAX_DATUMS_PER_REQUEST, MAX_REQUEST_BYTES};
pub use config::{
    aws_config, cloudwatch_client, dynamodb_client, AWS_ENDPOINT_ENV, DYNAMODB_ENDPOINT_ENV,
};
pub use dynamo::{DynamoStore, Operation, RequestCounts};
pub use emf::{EmfSink, MAX_METRICS_PER_LINE};
pub use item::ItemError;
pub use operator::Overdue;
