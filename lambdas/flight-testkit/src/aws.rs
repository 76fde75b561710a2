//! The integration tests' helpers for the local stack (feature `aws`): the
//! services' endpoints (from `scripts/services.sh`), unique names, polling
//! without fixed sleeps, stores on new DynamoDB Local tables and SQS queues.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;

/// The endpoint in `var`, or `None` when `FC_SKIP_INTEGRATION=1` (after saying
/// the test skipped). Unset otherwise, the test fails: integration tests must
/// not pass silently without the services they test against.
pub fn endpoint(var: &str, test: &str) -> Option<String> {
    if std::env::var("FC_SKIP_INTEGRATION").is_ok_and(|v| v == "1") {
        eprintln!("{test}: skipped (FC_SKIP_INTEGRATION=1)");
        return None;
    }
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => panic!(
            "{test}: {var} is not set. Start the local stack first:\n  \
             scripts/services.sh start && eval \"$(scripts/services.sh env)\"\n\
             (or set FC_SKIP_INTEGRATION=1 to skip the integration tests)"
        ),
    }
}

/// A name no other test (in this run or another) uses: `<prefix>-<test>-<time>-<n>`.
pub fn unique_name(prefix: &str, test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let test: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!(
        "{prefix}-{test}-{}-{}",
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `probe` until it returns `Some`, for at most `timeout`; panics with
/// `what` and the last value seen otherwise.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// A store on a new table in DynamoDB Local (`FC_DYNAMODB_ENDPOINT`), or
/// `None` when the integration tests are skipped (see [`endpoint`]).
pub async fn new_store(test: &str) -> Option<flight_aws::DynamoStore> {
    let endpoint = endpoint(flight_aws::DYNAMODB_ENDPOINT_ENV, test)?;
    let config = flight_aws::aws_config(None).await;
    let client = flight_aws::dynamodb_client(&config, Some(&endpoint));
    let table = unique_name("fc", test);
    flight_aws::DynamoStore::create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table} at {endpoint}: {e}"));
    Some(flight_aws::DynamoStore::new(client, table))
}

/// Creates an SQS queue with `attributes` (a redrive policy, a visibility
/// timeout); its URL and ARN.
pub async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> (String, String) {
    let mut request = sqs.create_queue().queue_name(name);
    for (attribute, value) in attributes {
        request = request.attributes(attribute.clone(), value);
    }
    let url = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating queue {name}: {e}"))
        .queue_url
        .expect("a queue URL");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("reading queue {name}'s attributes: {e}"))
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("a queue ARN");
    (url, arn)
}
