//! The capture table (docs/delivery.md §6): test events and the measurements they
//! produced, by test run, for asynchronous tests to poll. DynamoDB deletes
//! the items once `expires_at` (epoch seconds) has passed.
//!
//! | item | `run_id` (hash) | `sk` (range) | attributes |
//! |---|---|---|---|
//! | event | run id | `event#<event id>` | `event_id`, `event_type`, `event` (the EventBridge event, JSON text), `captured_at` (ms), `expires_at` |
//! | measurement | run id | `measurement#<metric>#<event id>` | `metric`, `value`, `unit`, `ts` (ms), `aggregate_id`, `event_id`, `dimensions` (M), `captured_at`, `expires_at` |

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, TimeToLiveSpecification, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use flight_core::capture::{CaptureStore, CapturedEvent, CapturedRun};
use flight_core::engine::Measurement;
use flight_core::ports::{Clock, StoreError, SystemClock};
use flight_core::{Delivery, Millis};

use crate::error::store_error;

/// The hash key: the test run id.
pub const RUN_ID: &str = "run_id";
/// The range key: `event#<event id>` or `measurement#<metric>#<event id>`.
pub const SK: &str = "sk";
/// The TTL attribute, epoch seconds.
pub const EXPIRES_AT: &str = "expires_at";
/// DynamoDB writes at most 25 items per `BatchWriteItem`.
const BATCH: usize = 25;
/// How often unprocessed items of a batch are sent again.
const BATCH_ATTEMPTS: u32 = 8;

/// The capture table, with the time its items live.
pub struct DynamoCapture {
    client: Client,
    table: String,
    ttl: Duration,
}

type Item = HashMap<String, AttributeValue>;

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<f64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|t| t.parse().ok())
}

impl DynamoCapture {
    /// The capture table `table`; items expire `ttl` after they are written.
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            table: table.into(),
            ttl,
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table (on-demand, TTL on `expires_at`) unless it exists, and
    /// waits until it is active. For tests and the local stack; Terraform
    /// creates the deployed one.
    pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
        let context = format!("table {name}");
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError {
            message: format!("CreateTable on {context}: {e}"),
            retryable: false,
        };
        let created = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(RUN_ID)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build)?,
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(SK)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(RUN_ID)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(build)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(SK)
                    .key_type(KeyType::Range)
                    .build()
                    .map_err(build)?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                return Ok(())
            }
            Err(e) => return Err(store_error("CreateTable", &context, &e)),
        }
        client
            .wait_until_table_exists()
            .table_name(name)
            .wait(Duration::from_secs(60))
            .await
            .map_err(|e| StoreError {
                message: format!("{context} did not become active: {e}"),
                retryable: true,
            })?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(EXPIRES_AT)
                    .enabled(true)
                    .build()
                    .map_err(build)?,
            )
            .send()
            .await
            .map_err(|e| store_error("UpdateTimeToLive", &context, &e))?;
        Ok(())
    }

    fn stamps(&self) -> (AttributeValue, AttributeValue) {
        let now = SystemClock.now();
        let expires = now / 1000 + self.ttl.as_secs() as Millis;
        (n(now), n(expires))
    }

    /// Writes items with `BatchWriteItem`, 25 at a time, sending unprocessed
    /// items again with a growing pause.
    async fn write(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let context = format!("table {}", self.table);
        for chunk in items.chunks(BATCH) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(|e| StoreError {
                            message: format!("BatchWriteItem on {context}: {e}"),
                            retryable: false,
                        })
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| store_error("BatchWriteItem", &context, &e))?;
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt + 1 >= BATCH_ATTEMPTS {
                    return Err(StoreError {
                        message: format!(
                            "BatchWriteItem on {context}: {} items still unprocessed after {BATCH_ATTEMPTS} attempts",
                            requests.len()
                        ),
                        retryable: true,
                    });
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }
}

/// The capture item of a measurement of a test event.
fn measurement_item(run_id: &str, m: &Measurement) -> Item {
    let dimensions = m
        .dimensions
        .iter()
        .map(|(k, v)| (k.clone(), s(v)))
        .collect();
    HashMap::from([
        (RUN_ID.into(), s(run_id)),
        (
            SK.into(),
            s(format!("measurement#{}#{}", m.metric, m.event_id)),
        ),
        ("metric".into(), s(&m.metric)),
        ("value".into(), n(m.value)),
        ("unit".into(), s(&m.unit)),
        ("ts".into(), n(m.timestamp)),
        ("aggregate_id".into(), s(&m.aggregate_id)),
        ("event_id".into(), s(&m.event_id)),
        ("dimensions".into(), AttributeValue::M(dimensions)),
    ])
}

fn measurement(run_id: &str, item: &Item) -> Option<Measurement> {
    let dimensions: BTreeMap<String, String> = item
        .get("dimensions")
        .and_then(|v| v.as_m().ok())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                .collect()
        })
        .unwrap_or_default();
    Some(Measurement {
        metric: text(item, "metric")?.to_string(),
        value: number(item, "value")?,
        unit: text(item, "unit")?.to_string(),
        timestamp: number(item, "ts")? as Millis,
        aggregate_id: text(item, "aggregate_id")?.to_string(),
        event_id: text(item, "event_id")?.to_string(),
        dimensions,
        delivery: Delivery::Published,
        test_run_id: Some(run_id.to_string()),
        refusal: None,
    })
}

fn event(run_id: &str, item: &Item) -> Option<CapturedEvent> {
    Some(CapturedEvent {
        run_id: run_id.to_string(),
        event_id: text(item, "event_id")?.to_string(),
        event_type: text(item, "event_type").unwrap_or_default().to_string(),
        body: serde_json::from_str(text(item, "event")?).ok()?,
    })
}

#[async_trait]
impl CaptureStore for DynamoCapture {
    async fn record_event(&self, captured: &CapturedEvent) -> Result<(), StoreError> {
        let (now, expires) = self.stamps();
        let item = HashMap::from([
            (RUN_ID.into(), s(&captured.run_id)),
            (SK.into(), s(format!("event#{}", captured.event_id))),
            ("event_id".into(), s(&captured.event_id)),
            ("event_type".into(), s(&captured.event_type)),
            ("event".into(), s(captured.body.to_string())),
            ("captured_at".into(), now),
            (EXPIRES_AT.into(), expires),
        ]);
        self.write(vec![item]).await
    }

    async fn record_measurements(&self, measurements: &[Measurement]) -> Result<(), StoreError> {
        let (now, expires) = self.stamps();
        let items = measurements
            .iter()
            .filter_map(|m| {
                let mut item = measurement_item(m.test_run_id.as_deref()?, m);
                item.insert("captured_at".into(), now.clone());
                item.insert(EXPIRES_AT.into(), expires.clone());
                Some(item)
            })
            .collect();
        self.write(items).await
    }

    async fn run(&self, run_id: &str) -> Result<CapturedRun, StoreError> {
        let context = format!("table {} (run `{run_id}`)", self.table);
        let mut run = CapturedRun::default();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("#r = :r")
                .expression_attribute_names("#r", RUN_ID)
                .expression_attribute_values(":r", s(run_id))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("Query", &context, &e))?;
            for item in page.items() {
                let sk = text(item, SK).unwrap_or_default();
                let parsed = if sk.starts_with("event#") {
                    event(run_id, item).map(|e| run.events.push(e))
                } else {
                    measurement(run_id, item).map(|m| run.measurements.push(m))
                };
                if parsed.is_none() {
                    tracing::warn!(
                        run_id,
                        sk,
                        "capture item not in the expected layout: skipped"
                    );
                }
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_survives_its_capture_item() {
        let m = Measurement {
            metric: "GuardrailLeadTime".into(),
            value: 5400.0,
            unit: "Seconds".into(),
            timestamp: 1_793_500_000_000,
            aggregate_id: "bucket-1".into(),
            event_id: "p1".into(),
            dimensions: BTreeMap::from([("guardrail_id".to_string(), "gr-1".to_string())]),
            delivery: Delivery::Published,
            test_run_id: Some("run-1".into()),
            refusal: None,
        };
        let item = measurement_item("run-1", &m);
        assert_eq!(text(&item, SK), Some("measurement#GuardrailLeadTime#p1"));
        assert_eq!(measurement("run-1", &item), Some(m));
    }
}
