//! The settle function: run every minute by EventBridge schedules, one per
//! parallel sweep (the target's input `{"sweep": i, "of": n}`; a plain
//! schedule event sweeps every shard); publishes every data point of its
//! shards whose lateness window has passed (docs/scale.md).

use flight_core::handler::{handle_settle_sweep, sweep_of_input};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    flight_lambda::init_logging();
    let service = flight_lambda::controller_from_env().await?;
    let service = &service;
    let handler = move |input: LambdaEvent<Value>| async move {
        let result = match sweep_of_input(&input.payload) {
            Ok(sweep) => handle_settle_sweep(service, sweep).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(response) => Ok(response),
            Err(error) => Err(flight_lambda::failure(service, None, error).await),
        }
    };
    lambda_runtime::run(service_fn(handler)).await
}
