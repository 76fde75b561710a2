//! The ingest function: one deployment per event type (`EVENT_TYPE`); appends
//! each EventBridge event to the event store and publishes what has settled.

use flight_core::handler::handle_event;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    flight_lambda::init_logging();
    let service = flight_lambda::controller_from_env().await?;
    let serves = std::env::var("EVENT_TYPE").ok().filter(|t| !t.is_empty());
    let (service, serves) = (&service, serves.as_deref());
    let handler = move |event: LambdaEvent<Value>| async move {
        match handle_event(service, &event.payload, serves).await {
            Ok(response) => Ok(response),
            Err(error) => Err(flight_lambda::failure(service, serves, error).await),
        }
    };
    lambda_runtime::run(service_fn(handler)).await
}
