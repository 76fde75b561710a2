//! Errors reach the platform, and a failed event ends in the dead-letter
//! queue with its reason, through the local dispatcher (what Lambda does in
//! AWS) on moto's SQS: the `flight-local dispatch` binary serves one ingest
//! function while DynamoDB is unreachable. A valid event fails as retryable
//! on every delivery (the store is down) and is delivered again; an invalid
//! one fails as rejected. After the third delivery each is in the
//! dead-letter queue as Lambda's on-failure destination record: the event
//! (`requestPayload`) with the error (`responsePayload`).
//!
//! Needs `FC_AWS_ENDPOINT` (moto; `scripts/services.sh start`), or
//! `FC_SKIP_INTEGRATION=1` to skip.

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use flight_testkit::aws;
use serde_json::{json, Value};

/// moto's endpoint (see `flight_testkit::aws::endpoint`).
fn endpoint() -> Option<String> {
    aws::endpoint("FC_AWS_ENDPOINT", "dead_letter")
}

/// The dispatcher, stopped (by its own process id) when dropped.
struct Dispatcher(Child);

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A queue whose messages come back after a second, redriving to
/// `redrive_to` after three receives; its URL and ARN.
async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    redrive_to: Option<&str>,
) -> (String, String) {
    let mut attributes = vec![(QueueAttributeName::VisibilityTimeout, "1".to_string())];
    if let Some(arn) = redrive_to {
        let policy = json!({"deadLetterTargetArn": arn, "maxReceiveCount": "3"});
        attributes.push((QueueAttributeName::RedrivePolicy, policy.to_string()));
    }
    aws::queue(sqs, name, &attributes).await
}

fn event(id: &str, detail: Value) -> Value {
    json!({"version": "0", "id": id, "detail-type": "GuardrailActivated", "source": "tests",
           "time": flight_core::envelope::format_time(flight_core::replay::system_now()),
           "detail": detail})
}

#[tokio::test]
async fn integration_failed_events_end_in_the_dead_letter_queue_with_their_reason() {
    let Some(aws) = endpoint() else {
        return;
    };
    let config = flight_aws::aws_config(Some(&aws)).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = format!("dlq-test-{}", flight_core::replay::system_now());
    let (dlq_url, dlq_arn) = queue(&sqs, &format!("{name}-dlq"), None).await;
    let (queue_url, _) = queue(&sqs, &name, Some(&dlq_arn)).await;

    // A port nothing listens on: DynamoDB is down for the dispatcher.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_endpoint = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);

    let dir = std::env::temp_dir().join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    let stack = json!({
        "bus": name, "event_table": "events", "capture_table": null,
        "namespace": "FlightController", "dashboard": name, "slo_alarm_prefix": name,
        "functions": [{
            "key": "ingest-guardrail-activated", "kind": "ingest", "event_type": "GuardrailActivated",
            "environment": BTreeMap::from([
                ("TABLE_NAME", "events"), ("LATENESS_WINDOW_SECONDS", "0"), ("ENVIRONMENT", "dlq-test"),
            ]),
            "queue_url": queue_url, "dead_letter_queue_url": dlq_url,
        }],
    });
    let stack_file = dir.join("stack.json");
    std::fs::write(&stack_file, stack.to_string()).unwrap();
    let log = std::fs::File::create(dir.join("dispatch.log")).unwrap();
    let dispatcher = Dispatcher(
        Command::new(env!("CARGO_BIN_EXE_flight-local"))
            .args(["dispatch", "--stack"])
            .arg(&stack_file)
            .args(["--settle-every-ms", "600000"])
            .env("FC_AWS_ENDPOINT", &aws)
            .env("FC_DYNAMODB_ENDPOINT", &dead_endpoint)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("flight-local dispatch"),
    );

    let valid = event(
        "eb-valid",
        json!({"event_id": "valid-1", "event_type": "GuardrailActivated", "aggregate_id": "res-1",
               "guardrail_id": "g1"}),
    );
    let invalid = event(
        "eb-invalid",
        json!({"event_type": "GuardrailActivated", "guardrail_id": "g1"}),
    );
    for body in [
        valid.to_string(),
        invalid.to_string(),
        "{not json".to_string(),
    ] {
        sqs.send_message()
            .queue_url(&queue_url)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }

    // Wait (without fixed sleeps) for a record of each of the three events in
    // the dead-letter queue. SQS delivers at least once, so a record may come
    // twice: wait for the three payloads, not for three messages.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut records: Vec<Value> = Vec::new();
    let payloads = [
        valid.clone(),
        invalid.clone(),
        Value::String("{not json".into()),
    ];
    while !payloads
        .iter()
        .all(|p| records.iter().any(|r| &r["requestPayload"] == p))
    {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the dead-letter queue; got {records:#?}; dispatcher log in {}",
            dir.display()
        );
        let received = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .expect("receive");
        for message in received.messages.unwrap_or_default() {
            records.push(
                serde_json::from_str(message.body().unwrap_or_default()).expect("a JSON record"),
            );
        }
    }
    let find = |payload: &Value| {
        records
            .iter()
            .find(|r| &r["requestPayload"] == payload)
            .unwrap_or_else(|| panic!("no record for {payload}: {records:#?}"))
    };

    // The store was down: retryable, tried three times, the reason kept.
    let failed = find(&valid);
    assert_eq!(failed["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(failed["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(failed["responsePayload"]["errorType"], "Retryable");
    let message = failed["responsePayload"]["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with(
            "event store: PutItem on table events (aggregate `res-1`, event `valid-1`) failed"
        ),
        "{message}"
    );

    // Invalid: rejected, with the field and the reason.
    let rejected = find(&invalid);
    assert_eq!(rejected["responsePayload"]["errorType"], "Rejected");
    let message = rejected["responsePayload"]["errorMessage"]
        .as_str()
        .unwrap();
    assert!(
        message.starts_with("rejected: detail.aggregate_id: missing"),
        "{message}"
    );

    let garbage = find(&Value::String("{not json".into()));
    assert_eq!(garbage["responsePayload"]["errorType"], "Rejected");
    assert!(garbage["responsePayload"]["errorMessage"]
        .as_str()
        .unwrap()
        .starts_with("message body is not JSON"));

    // Nothing is left in the function's queue.
    let left = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    assert!(left.messages.unwrap_or_default().is_empty());
    drop(dispatcher);
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "reliability: dead letters: 3 failed events (store down: Retryable; invalid: Rejected; not JSON: Rejected) \
         dead-lettered after 3 deliveries each, with their reason"
    );
}
