//! The settle function: run every minute by an EventBridge schedule; publishes
//! every data point whose lateness window has passed.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use flight_core::handler::handle_settle;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    flight_lambda::init_logging();
    let service = flight_lambda::controller_from_env().await?;
    let service = &service;
    let handler = move |_schedule: LambdaEvent<EventBridgeEvent>| async move {
        match handle_settle(service).await {
            Ok(response) => Ok(response),
            Err(error) => Err(flight_lambda::failure(service, None, error).await),
        }
    };
    lambda_runtime::run(service_fn(handler)).await
}
