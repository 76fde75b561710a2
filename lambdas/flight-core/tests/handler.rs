//! The Lambda handlers' logic with fixture EventBridge events (in memory; the
//! same handlers run against DynamoDB Local in flight-aws's integration tests).

use flight_core::handler::{handle_event, handle_settle};
use flight_testkit::clock::MINUTE;
use flight_testkit::fixtures::*;
use serde_json::json;

#[tokio::test]
async fn a_valid_event_is_stored_and_the_response_says_what_happened() {
    let service = service(5 * MINUTE);
    let response = handle_event(
        &service,
        &event("ProjectRequested", "p", 0, "r"),
        Some("ProjectRequested"),
    )
    .await
    .unwrap();
    assert_eq!(response["event_id"], "r");
    assert_eq!(response["duplicate"], false);
    let again = handle_event(
        &service,
        &event("ProjectRequested", "p", 0, "r"),
        Some("ProjectRequested"),
    )
    .await
    .unwrap();
    assert_eq!(again["duplicate"], true);
}

#[tokio::test]
async fn a_rejected_event_fails_the_invocation_with_the_field_and_reason() {
    let service = service(0);
    let mut bad = event("ProjectRequested", "p", 0, "r");
    bad["detail"]["time"] = json!("last tuesday");
    let error = handle_event(&service, &bad, Some("ProjectRequested"))
        .await
        .unwrap_err();
    assert!(!error.retryable);
    assert!(
        error
            .message
            .starts_with("rejected: detail.time: cannot read `last tuesday`"),
        "{error}"
    );
}

#[tokio::test]
async fn the_settle_handler_reports_what_it_published() {
    let service = service(5 * MINUTE);
    for e in [
        event("AccountRequested", "a", 0, "r"),
        event("AccountCreated", "a", 30, "c"),
    ] {
        handle_event(&service, &e, None).await.unwrap();
    }
    assert_eq!(handle_settle(&service).await.unwrap()["published"], 0);
    service.clock().advance(5 * MINUTE);
    assert_eq!(
        handle_settle(&service).await.unwrap(),
        json!({"events": 1, "published": 1, "unsent": 0})
    );
}
