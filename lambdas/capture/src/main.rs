//! The capture function (test environments): behind the rule matching events
//! that carry `detail.test_run_id`; records each in the capture table
//! (`CAPTURE_TABLE_NAME`, items living `CAPTURE_TTL_HOURS`).

use flight_core::capture::handle_capture;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    flight_lambda::init_logging();
    let capture = flight_lambda::capture_from_env().await?;
    let capture = &capture;
    let handler = move |event: LambdaEvent<Value>| async move {
        handle_capture(capture, &event.payload)
            .await
            .map_err(flight_lambda::diagnostic)
    };
    lambda_runtime::run(service_fn(handler)).await
}
