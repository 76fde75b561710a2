//! The event store in one DynamoDB table ([`crate::item`] describes the layout).
//! It behaves exactly as [`flight_core::memory::MemoryStore`], with conditional
//! writes standing in for the memory store's lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, IndexStatus,
    KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType, Put,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use flight_core::catalog::LATE_EVENTS_METRIC;
use flight_core::engine::{sort_measurements, Measurement};
use flight_core::ports::{
    Appended, Clock, Completion, Direction, EventRef, EventStore, Lease, StoreError, StoredEvent,
    SystemClock, TimelineEntry,
};
use flight_core::Millis;

use crate::error::{store_error, RETRYABLE_REASONS};
use crate::item::{
    self, due_shard, event_key, n, s, tl_value, Item, ItemError, BY_METRIC_INDEX, DUE_INDEX,
    TIMELINE_INDEX,
};

/// DynamoDB takes at most 100 actions in one transaction (DynamoDB Local
/// before 2.x: 25; the store adopts a smaller limit when the service names one).
const MAX_TRANSACTION_ITEMS: usize = 100;
/// How often a transaction that lost a conflict with another is tried again.
const CONFLICT_ATTEMPTS: u32 = 3;
/// The cancellation reason of an action whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";
/// How long [`DynamoStore::create_table`] waits for the table to become active.
const CREATE_TIMEOUT: Duration = Duration::from_secs(120);

/// The DynamoDB operations the store's use-case methods send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    GetItem,
    PutItem,
    UpdateItem,
    Query,
    TransactWriteItems,
}

/// The requests a store has sent, by operation, and what they carried: for
/// benchmarks and the cost model (README, Performance). Each SDK `send` counts
/// once, not counting the SDK's own retries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub get_item: u64,
    pub put_item: u64,
    pub update_item: u64,
    pub query: u64,
    pub transact_write_items: u64,
    /// Actions in all transactions (DynamoDB bills each as two writes).
    pub transaction_actions: u64,
    /// Items the queries read (their `ScannedCount`, before any filter).
    pub items_read: u64,
}

impl RequestCounts {
    /// Read requests: GetItem and Query.
    pub fn reads(&self) -> u64 {
        self.get_item + self.query
    }

    /// Write requests: PutItem, UpdateItem and TransactWriteItems.
    pub fn writes(&self) -> u64 {
        self.put_item + self.update_item + self.transact_write_items
    }

    /// Every request counted by operation.
    pub fn total(&self) -> u64 {
        self.reads() + self.writes()
    }
}

/// The event store on a DynamoDB table.
///
/// Every method makes as few requests as the contract allows; [`DynamoStore::request_count`]
/// counts them (each SDK `send`, not counting the SDK's own retries), and
/// [`DynamoStore::request_counts`] those of the [`flight_core::EventStore`]
/// methods and the reads beside them, by operation.
pub struct DynamoStore {
    client: Client,
    table: String,
    requests: AtomicU64,
    /// Requests by [`Operation`], in its order.
    by_operation: [AtomicU64; 5],
    transaction_actions: AtomicU64,
    items_read: AtomicU64,
    /// Actions per transaction: 100, or less if the service said so.
    max_transaction_items: AtomicUsize,
}

/// An update with a condition, sent alone (UpdateItem) or in a transaction.
struct Conditional {
    key: Item,
    update: String,
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// The expression attribute names of every expression here: `#x` is attribute `x`.
pub(crate) fn names(attributes: &[&str]) -> HashMap<String, String> {
    attributes
        .iter()
        .map(|a| (format!("#{a}"), a.to_string()))
        .collect()
}

/// The outcome of a transaction that did not fail outright.
enum Transaction {
    Committed,
    /// Cancelled: the reason code of each action, in order (`None` where the
    /// action was fine). Empty when the service did not say.
    Cancelled(Vec<Option<String>>),
    /// Refused as too large: the service takes fewer actions per transaction
    /// (DynamoDB Local before 2.x takes 25). The limit is lowered; split and resend.
    TooLarge,
}

/// The smaller transaction size a refusal names ("Member must have length
/// less than or equal to 25"), if that is why `count` actions were refused.
fn smaller_limit(err: &TransactWriteItemsError, count: usize) -> Option<usize> {
    if err.code() != Some("ValidationException") {
        return None;
    }
    let message = err.message()?;
    let (_, tail) = message.split_once("less than or equal to ")?;
    let limit: usize = tail
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()?;
    (1..count).contains(&limit).then_some(limit)
}

/// Which update [`DynamoStore::complete_one`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// The lease is ours and `todo` is exactly `finished`: clear `due` too.
    Clearing,
    /// The lease is ours but `todo` gained metrics (a late marker): keep `due`.
    Keeping,
}

/// Whether a cancellation names, for each of `actions`, whether its condition
/// failed and nothing else went wrong (no conflict, no throttling).
fn only_conditions_failed(reasons: &[Option<String>], actions: usize) -> bool {
    reasons.len() == actions && reasons.iter().flatten().all(|r| r == CONDITION_FAILED)
}

/// The events to claim: the first copy of each reference, and the later copies
/// with another `todo` (at most one of the copies of an event can match what is
/// stored; they are tried one by one if the first copy is not claimed, as the
/// memory store tries each copy in turn).
fn dedupe_claims(events: &[StoredEvent]) -> (Vec<&StoredEvent>, Vec<&StoredEvent>) {
    let mut seen: BTreeMap<EventRef, Vec<&BTreeSet<String>>> = BTreeMap::new();
    let (mut first, mut others) = (Vec::new(), Vec::new());
    for event in events {
        let todos = seen.entry(event.reference()).or_default();
        if todos.contains(&&event.todo) {
            continue;
        }
        if todos.is_empty() {
            first.push(event);
        } else {
            others.push(event);
        }
        todos.push(&event.todo);
    }
    (first, others)
}

fn dedupe(events: &[EventRef]) -> Vec<EventRef> {
    let mut seen = BTreeSet::new();
    events
        .iter()
        .filter(|r| seen.insert((*r).clone()))
        .cloned()
        .collect()
}

pub(crate) fn invalid_item(operation: &str, context: &str, err: ItemError) -> StoreError {
    StoreError {
        message: format!("{operation} on {context}: unexpected item: {err}"),
        retryable: false,
    }
}

impl DynamoStore {
    /// A store on `table`, which must have the layout of [`DynamoStore::create_table`].
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            requests: AtomicU64::new(0),
            by_operation: Default::default(),
            transaction_actions: AtomicU64::new(0),
            items_read: AtomicU64::new(0),
            max_transaction_items: AtomicUsize::new(MAX_TRANSACTION_ITEMS),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How many DynamoDB requests this store has sent (for benchmarks).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The requests this store has sent, by operation (for benchmarks).
    pub fn request_counts(&self) -> RequestCounts {
        let op = |o: Operation| self.by_operation[o as usize].load(Ordering::Relaxed);
        RequestCounts {
            get_item: op(Operation::GetItem),
            put_item: op(Operation::PutItem),
            update_item: op(Operation::UpdateItem),
            query: op(Operation::Query),
            transact_write_items: op(Operation::TransactWriteItems),
            transaction_actions: self.transaction_actions.load(Ordering::Relaxed),
            items_read: self.items_read.load(Ordering::Relaxed),
        }
    }

    /// Counts a request in [`DynamoStore::request_count`] and by operation.
    fn count_as(&self, operation: Operation) {
        self.count();
        self.by_operation[operation as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn count_items_read(&self, scanned: i32) {
        self.items_read
            .fetch_add(u64::try_from(scanned).unwrap_or(0), Ordering::Relaxed);
    }

    fn transaction_limit(&self) -> usize {
        self.max_transaction_items.load(Ordering::Relaxed)
    }

    pub(crate) fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn context(&self, key: &EventRef) -> String {
        format!(
            "table {} (aggregate `{}`, event `{}`)",
            self.table, key.aggregate_id, key.event_id
        )
    }

    /// Creates the table with the layout the store needs (on-demand billing)
    /// and waits until it and its indexes are active. For tests and the local
    /// stack; Terraform creates the deployed tables.
    pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
        let context = format!("table {name}");
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError {
            message: format!("CreateTable on {context}: {e}"),
            retryable: false,
        };
        let attribute = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .map_err(build)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build)
        };
        let all = Projection::builder()
            .projection_type(ProjectionType::All)
            .build();
        let timeline_projection = Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(
                [
                    item::EVENT_TYPE,
                    item::TIME,
                    item::EVENT_ID,
                    item::SEALED_AT,
                ]
                .map(String::from)
                .to_vec(),
            ))
            .build();
        client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute(item::PK, ScalarAttributeType::S)?)
            .attribute_definitions(attribute(item::SK, ScalarAttributeType::S)?)
            .attribute_definitions(attribute(item::TL, ScalarAttributeType::S)?)
            .attribute_definitions(attribute(item::DUE_SHARD, ScalarAttributeType::S)?)
            .attribute_definitions(attribute(item::DUE_AT, ScalarAttributeType::N)?)
            .attribute_definitions(attribute(item::M_METRIC, ScalarAttributeType::S)?)
            .attribute_definitions(attribute(item::M_TS, ScalarAttributeType::N)?)
            .key_schema(key(item::PK, KeyType::Hash)?)
            .key_schema(key(item::SK, KeyType::Range)?)
            .local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(TIMELINE_INDEX)
                    .key_schema(key(item::PK, KeyType::Hash)?)
                    .key_schema(key(item::TL, KeyType::Range)?)
                    .projection(timeline_projection)
                    .build()
                    .map_err(build)?,
            )
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(DUE_INDEX)
                    .key_schema(key(item::DUE_SHARD, KeyType::Hash)?)
                    .key_schema(key(item::DUE_AT, KeyType::Range)?)
                    .projection(all.clone())
                    .build()
                    .map_err(build)?,
            )
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(BY_METRIC_INDEX)
                    .key_schema(key(item::M_METRIC, KeyType::Hash)?)
                    .key_schema(key(item::M_TS, KeyType::Range)?)
                    .projection(all)
                    .build()
                    .map_err(build)?,
            )
            .send()
            .await
            .map_err(|e| store_error("CreateTable", &context, &e))?;

        let deadline = tokio::time::Instant::now() + CREATE_TIMEOUT;
        loop {
            let described = client
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| store_error("DescribeTable", &context, &e))?;
            let active = described.table().is_some_and(|t| {
                t.table_status() == Some(&TableStatus::Active)
                    && t.global_secondary_indexes()
                        .iter()
                        .all(|i| i.index_status() == Some(&IndexStatus::Active))
            });
            if active {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError {
                    message: format!(
                        "{context} is not active after {}s",
                        CREATE_TIMEOUT.as_secs()
                    ),
                    retryable: true,
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The measurement records of `metric` stamped in `[since, until)`, in
    /// report order (time, metric, aggregate, event). Reads the `by-metric`
    /// index, which may lag a little behind the latest writes.
    pub async fn measurements(
        &self,
        metric: &str,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError> {
        let context = format!(
            "table {} (index {BY_METRIC_INDEX}, metric `{metric}`)",
            self.table
        );
        if until <= since {
            return Ok(Vec::new());
        }
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_METRIC_INDEX)
            .key_condition_expression("#m_metric = :m AND #m_ts BETWEEN :lo AND :hi")
            .set_expression_attribute_names(Some(names(&[item::M_METRIC, item::M_TS])))
            .expression_attribute_values(":m", s(metric))
            .expression_attribute_values(":lo", n(since))
            .expression_attribute_values(":hi", n(until - 1));
        let mut out = self
            .query_pages(
                query,
                &context,
                |_| None,
                |_| false,
                |record| item::measurement(record).map(Some),
            )
            .await?;
        sort_measurements(&mut out);
        Ok(out)
    }

    /// The event as stored (a strongly consistent GetItem), if it is.
    pub async fn event(&self, event: &EventRef) -> Result<Option<StoredEvent>, StoreError> {
        let context = self.context(event);
        self.count_as(Operation::GetItem);
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(event_key(event)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", &context, &e))?;
        got.item()
            .map(item::stored_event)
            .transpose()
            .map_err(|e| invalid_item("GetItem", &context, e))
    }

    /// Sends a conditional update alone; `false` when its condition failed.
    async fn update_item(
        &self,
        op: Conditional,
        operation: &str,
        context: &str,
    ) -> Result<bool, StoreError> {
        self.count_as(Operation::UpdateItem);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(op.key))
            .update_expression(op.update)
            .condition_expression(op.condition)
            .set_expression_attribute_names(Some(op.names))
            .set_expression_attribute_values(Some(op.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error(
                &format!("UpdateItem ({operation})"),
                context,
                &err,
            )),
        }
    }

    fn transaction_update(
        &self,
        op: Conditional,
        context: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(op.key))
            .update_expression(op.update)
            .condition_expression(op.condition)
            .set_expression_attribute_names(Some(op.names))
            .set_expression_attribute_values(Some(op.values))
            .build()
            .map_err(|e| StoreError {
                message: format!("building an update on {context}: {e}"),
                retryable: false,
            })?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn transaction_put(
        &self,
        record: Item,
        context: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record))
            .build()
            .map_err(|e| StoreError {
                message: format!("building a put on {context}: {e}"),
                retryable: false,
            })?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Sends a transaction; a cancellation is an outcome, not an error.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
        operation: &str,
    ) -> Result<Transaction, StoreError> {
        self.count_as(Operation::TransactWriteItems);
        let count = items.len();
        self.transaction_actions
            .fetch_add(count as u64, Ordering::Relaxed);
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Transaction::Committed),
            Err(err) => err,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        {
            let reasons: Vec<Option<String>> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().filter(|c| *c != "None").map(str::to_string))
                .collect();
            tracing::debug!(table = %self.table, operation, ?reasons, "transaction cancelled");
            return Ok(Transaction::Cancelled(reasons));
        }
        if let Some(limit) = err.as_service_error().and_then(|e| smaller_limit(e, count)) {
            tracing::info!(table = %self.table, limit, "the service takes fewer actions per transaction: lowering the limit");
            self.max_transaction_items
                .fetch_min(limit, Ordering::Relaxed);
            return Ok(Transaction::TooLarge);
        }
        Err(store_error(
            &format!("TransactWriteItems ({operation}, {count} actions)"),
            &format!("table {}", self.table),
            &err,
        ))
    }

    /// The update claiming `expected`: its `due` is set, its lease absent or
    /// expired, and its stored `todo` exactly `expected.todo` (absent when empty).
    fn claim_op(expected: &StoredEvent, lease: &Lease, now: Millis) -> Conditional {
        let mut values = HashMap::from([
            (":token".to_string(), s(&lease.token)),
            (":until".to_string(), n(lease.until)),
            (":now".to_string(), n(now)),
        ]);
        let mut condition = "attribute_exists(#due_at) AND (attribute_not_exists(#lease_until) OR #lease_until <= :now)"
            .to_string();
        if expected.todo.is_empty() {
            condition.push_str(" AND attribute_not_exists(#todo)");
        } else {
            values.insert(":n".into(), n(expected.todo.len() as i64));
            condition.push_str(" AND size(#todo) = :n");
            for (i, metric) in expected.todo.iter().enumerate() {
                values.insert(format!(":t{i}"), s(metric));
                condition.push_str(&format!(" AND contains(#todo, :t{i})"));
            }
        }
        Conditional {
            key: event_key(&expected.reference()),
            update: "SET #lease_token = :token, #lease_until = :until, #sealed_at = if_not_exists(#sealed_at, :now)"
                .into(),
            condition,
            names: names(&[
                item::LEASE_TOKEN,
                item::LEASE_UNTIL,
                item::SEALED_AT,
                item::DUE_AT,
                item::TODO,
            ]),
            values,
        }
    }

    /// Claims one event with an UpdateItem, adding it to `claimed`; a failure
    /// is kept in `failure` (the event stays for a later round).
    async fn claim_alone(
        &self,
        expected: &StoredEvent,
        lease: &Lease,
        now: Millis,
        claimed: &mut Vec<EventRef>,
        failure: &mut Option<StoreError>,
    ) {
        let r = expected.reference();
        match self
            .update_item(
                Self::claim_op(expected, lease, now),
                "claim",
                &self.context(&r),
            )
            .await
        {
            Ok(true) => claimed.push(r),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "claim of one event failed; it stays for a later round");
                failure.get_or_insert(e);
            }
        }
    }

    /// The update recording a completion. `Clearing` requires `todo` to be
    /// exactly `finished` (so it is left empty) and clears `due`; `Keeping`
    /// leaves `due` alone. Both require the completion's lease.
    fn complete_op(completion: &Completion, attempt: Attempt) -> Conditional {
        let mut attributes = vec![item::LEASE_TOKEN, item::LEASE_UNTIL];
        let mut values = HashMap::from([(":token".to_string(), s(&completion.token))]);
        let mut update = String::new();
        let mut condition = "#lease_token = :token".to_string();
        if !completion.finished.is_empty() {
            attributes.extend([item::TODO, item::DONE]);
            values.insert(":finished".into(), item::ss(&completion.finished));
            update.push_str("DELETE #todo :finished ADD #done :finished ");
        }
        update.push_str("REMOVE #lease_token, #lease_until");
        if attempt == Attempt::Clearing {
            attributes.extend([item::DUE_AT, item::DUE_SHARD]);
            update.push_str(", #due_at, #due_shard");
            if completion.finished.is_empty() {
                attributes.push(item::TODO);
                condition.push_str(" AND attribute_not_exists(#todo)");
            } else {
                values.insert(":n".into(), n(completion.finished.len() as i64));
                condition.push_str(" AND size(#todo) = :n");
                for (i, metric) in completion.finished.iter().enumerate() {
                    values.insert(format!(":f{i}"), s(metric));
                    condition.push_str(&format!(" AND contains(#todo, :f{i})"));
                }
            }
        }
        attributes.sort_unstable();
        attributes.dedup();
        Conditional {
            key: event_key(&completion.event),
            update,
            condition,
            names: names(&attributes),
            values,
        }
    }

    /// The measurement records of a completion, one per metric (the last wins,
    /// as in the memory store).
    fn records(
        completion: &Completion,
        published_at: Millis,
        context: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let unique: BTreeMap<&str, &Measurement> = completion
            .measurements
            .iter()
            .map(|m| (m.metric.as_str(), m))
            .collect();
        unique
            .values()
            .map(|m| item::measurement_item(&completion.event, m, published_at))
            .collect::<Result<_, _>>()
            .map_err(|e| StoreError {
                message: format!("measurement record on {context}: {e}"),
                retryable: false,
            })
    }

    /// Records one completion, trying `first` then (if the condition failed)
    /// `Keeping`; gives up quietly when the lease is no longer ours.
    async fn complete_one(
        &self,
        completion: &Completion,
        first: Attempt,
        published_at: Millis,
    ) -> Result<(), StoreError> {
        let context = self.context(&completion.event);
        let records = Self::records(completion, published_at, &context)?;
        let attempts: &[Attempt] = match first {
            Attempt::Clearing => &[Attempt::Clearing, Attempt::Keeping],
            Attempt::Keeping => &[Attempt::Keeping],
        };
        for &attempt in attempts {
            let mut applied = None;
            if records.is_empty() {
                applied = Some(
                    self.update_item(Self::complete_op(completion, attempt), "complete", &context)
                        .await?,
                );
            } else if records.len() < self.transaction_limit() {
                applied = self
                    .transact_completion(Self::complete_op(completion, attempt), &records, &context)
                    .await?;
            }
            let applied = match applied {
                Some(applied) => applied,
                None => {
                    // More records than one transaction holds (never with a sane
                    // catalog): record the event, then its records one by one.
                    let applied = self
                        .update_item(Self::complete_op(completion, attempt), "complete", &context)
                        .await?;
                    if applied {
                        for record in &records {
                            self.put_record(record.clone(), &context).await?;
                        }
                    }
                    applied
                }
            };
            if applied {
                return Ok(());
            }
        }
        tracing::warn!(
            table = %self.table,
            aggregate_id = %completion.event.aggregate_id,
            event_id = %completion.event.event_id,
            "completion skipped: the lease is no longer held with this token (it expired and was claimed again, or the event is gone); its new holder publishes"
        );
        Ok(())
    }

    /// One completion's update and records in one transaction; `Some(false)`
    /// when the update's condition failed, `None` when the transaction is too
    /// large for the service. Retries a few times when it lost a conflict.
    async fn transact_completion(
        &self,
        op: Conditional,
        records: &[Item],
        context: &str,
    ) -> Result<Option<bool>, StoreError> {
        let mut actions = Vec::with_capacity(records.len() + 1);
        actions.push(self.transaction_update(op, context)?);
        for record in records {
            actions.push(self.transaction_put(record.clone(), context)?);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.transact(actions.clone(), "complete").await? {
                Transaction::Committed => return Ok(Some(true)),
                Transaction::TooLarge => return Ok(None),
                Transaction::Cancelled(reasons) => {
                    let retry = reasons
                        .iter()
                        .flatten()
                        .any(|r| RETRYABLE_REASONS.contains(&r.as_str()));
                    if !retry {
                        // The puts have no condition: the update's failed.
                        return Ok(Some(false));
                    }
                    if attempt >= CONFLICT_ATTEMPTS {
                        return Err(StoreError {
                            message: format!(
                                "TransactWriteItems (complete) on {context}: cancelled {attempt} times: {reasons:?}"
                            ),
                            retryable: true,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
            }
        }
    }

    /// Groups completions into transactions of at most `limit` actions (an
    /// update and a put per record each), one completion per event (DynamoDB
    /// refuses two actions on one item). A completion larger than `limit` is a
    /// group of its own.
    fn group<'a>(completions: &[&'a Completion], limit: usize) -> Vec<Vec<&'a Completion>> {
        let mut groups: Vec<Vec<&Completion>> = Vec::new();
        let mut current: Vec<&Completion> = Vec::new();
        let mut actions = 0;
        let mut events: BTreeSet<&EventRef> = BTreeSet::new();
        for &completion in completions {
            let size = Self::actions(completion);
            if !current.is_empty() && (actions + size > limit || events.contains(&completion.event))
            {
                groups.push(std::mem::take(&mut current));
                actions = 0;
                events.clear();
            }
            current.push(completion);
            actions += size;
            events.insert(&completion.event);
        }
        if !current.is_empty() {
            groups.push(current);
        }
        groups
    }

    /// The actions of a completion in a transaction: its update and one put per metric.
    fn actions(completion: &Completion) -> usize {
        1 + completion
            .measurements
            .iter()
            .map(|m| m.metric.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }

    async fn put_record(&self, record: Item, context: &str) -> Result<(), StoreError> {
        self.count_as(Operation::PutItem);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .send()
            .await
            .map_err(|e| store_error("PutItem (measurement record)", context, &e))?;
        Ok(())
    }

    /// Runs a Query page after page and decodes its items (`decode` returns
    /// `None` for an item to skip), counting each request and the items it
    /// read. Before each page, `page_size` gets how many items were kept so
    /// far and gives the page's `Limit`; it stops when `enough` says so for
    /// that count, or when DynamoDB has no more pages.
    async fn query_pages<T>(
        &self,
        query: QueryFluentBuilder,
        context: &str,
        page_size: impl Fn(usize) -> Option<i32>,
        enough: impl Fn(usize) -> bool,
        decode: impl Fn(&Item) -> Result<Option<T>, ItemError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            self.count_as(Operation::Query);
            let page = query
                .clone()
                .set_limit(page_size(out.len()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("Query", context, &e))?;
            self.count_items_read(page.scanned_count());
            for found in page.items() {
                if let Some(decoded) =
                    decode(found).map_err(|e| invalid_item("Query", context, e))?
                {
                    out.push(decoded);
                }
            }
            if enough(out.len()) {
                break;
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Due events of one shard of the `due` index, oldest first, up to `limit`.
    async fn due_in_shard(
        &self,
        shard: u64,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let shard = format!("P#{shard}");
        let context = format!("table {} (index {DUE_INDEX}, shard {shard})", self.table);
        let page_size = i32::try_from(limit).unwrap_or(i32::MAX);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("#due_shard = :shard AND #due_at <= :now")
            .filter_expression("attribute_not_exists(#lease_until) OR #lease_until <= :now")
            .set_expression_attribute_names(Some(names(&[
                item::DUE_SHARD,
                item::DUE_AT,
                item::LEASE_UNTIL,
            ])))
            .expression_attribute_values(":shard", s(&shard))
            .expression_attribute_values(":now", n(now));
        let mut out = self
            .query_pages(
                query,
                &context,
                |_| Some(page_size),
                |found| found >= limit,
                |found| item::stored_event(found).map(Some),
            )
            .await?;
        out.truncate(limit);
        Ok(out)
    }
}

#[async_trait]
impl EventStore for DynamoStore {
    /// One PutItem, conditional on the event being new. A duplicate costs no
    /// second request where DynamoDB returns the stored item with the failed
    /// condition (`ReturnValuesOnConditionCheckFailure`); otherwise (DynamoDB
    /// Local) a strongly consistent GetItem reads it.
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        let key = event.reference();
        let context = self.context(&key);
        let record = item::event_item(event).map_err(|e| StoreError {
            message: format!("PutItem on {context}: {e}"),
            retryable: false,
        })?;
        self.count_as(Operation::PutItem);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(record))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", item::PK)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Appended::Stored),
            Err(err) => err,
        };
        let returned = match err.as_service_error() {
            Some(e) if e.is_conditional_check_failed_exception() => match e {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                    c.item().filter(|i| !i.is_empty()).cloned()
                }
                _ => None,
            },
            _ => return Err(store_error("PutItem", &context, &err)),
        };
        let stored = match returned {
            Some(existing) => {
                item::stored_event(&existing).map_err(|e| invalid_item("PutItem", &context, e))?
            }
            None => self.event(&key).await?.ok_or_else(|| StoreError {
                message: format!(
                    "GetItem on {context}: the event the conditional put collided with is gone"
                ),
                retryable: true,
            })?,
        };
        Ok(Appended::Duplicate(Box::new(stored)))
    }

    /// A strongly consistent Query of the `timeline` index between `from` and
    /// the timeline's end, asking one item more than `limit` since the `from`
    /// entry itself comes back when it exists; pages on when DynamoDB's 1 MB
    /// page ends first.
    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let excluded = tl_value(timeline, from);
        let (lo, hi) = match direction {
            Direction::Forward => (excluded.clone(), tl_value(timeline, "~")),
            Direction::Backward => (tl_value(timeline, ""), excluded.clone()),
        };
        if lo > hi {
            return Ok(Vec::new());
        }
        let context = format!(
            "table {} (index {TIMELINE_INDEX}, aggregate `{aggregate_id}`, timeline `{timeline}`)",
            self.table
        );
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TIMELINE_INDEX)
            .consistent_read(true)
            .key_condition_expression("#pk = :a AND #tl BETWEEN :lo AND :hi")
            .set_expression_attribute_names(Some(names(&[item::PK, item::TL])))
            .expression_attribute_values(":a", s(aggregate_id))
            .expression_attribute_values(":lo", s(&lo))
            .expression_attribute_values(":hi", s(&hi))
            .scan_index_forward(direction == Direction::Forward);
        let excluded = AttributeValue::S(excluded);
        let mut out = self
            .query_pages(
                query,
                &context,
                // One more than wanted: the `from` entry itself may come back.
                |found| Some(i32::try_from(limit - found + 1).unwrap_or(i32::MAX)),
                |found| found >= limit,
                |found| {
                    if found.get(item::TL) == Some(&excluded) {
                        Ok(None)
                    } else {
                        item::timeline_entry(found).map(Some)
                    }
                },
            )
            .await?;
        out.truncate(limit);
        Ok(out)
    }

    /// One UpdateItem: adds the late marker to `todo` and sets `due` if unset,
    /// unless the marker is done. A failed condition means it was done (or the
    /// event is missing, which the service never asks about): success.
    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError> {
        let op = Conditional {
            key: event_key(event),
            update: "ADD #todo :late SET #due_at = if_not_exists(#due_at, :due), #due_shard = if_not_exists(#due_shard, :shard)"
                .into(),
            condition: "attribute_exists(#pk) AND NOT contains(#done, :late_name)".into(),
            names: names(&[item::TODO, item::DUE_AT, item::DUE_SHARD, item::PK, item::DONE]),
            values: HashMap::from([
                (":late".to_string(), AttributeValue::Ss(vec![LATE_EVENTS_METRIC.to_string()])),
                (":late_name".to_string(), s(LATE_EVENTS_METRIC)),
                (":due".to_string(), n(due_if_unset)),
                (":shard".to_string(), s(due_shard(&event.aggregate_id))),
            ]),
        };
        self.update_item(op, "mark_late", &self.context(event))
            .await?;
        Ok(())
    }

    /// One Query per shard of the `due` index (8, sent together), then the
    /// oldest `limit` of what they found.
    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (p0, p1, p2, p3, p4, p5, p6, p7) = tokio::join!(
            self.due_in_shard(0, now, limit),
            self.due_in_shard(1, now, limit),
            self.due_in_shard(2, now, limit),
            self.due_in_shard(3, now, limit),
            self.due_in_shard(4, now, limit),
            self.due_in_shard(5, now, limit),
            self.due_in_shard(6, now, limit),
            self.due_in_shard(7, now, limit),
        );
        const _: () = assert!(item::DUE_SHARDS == 8, "due() queries 8 shards");
        let mut all = Vec::new();
        for shard in [p0, p1, p2, p3, p4, p5, p6, p7] {
            all.extend(shard?);
        }
        all.sort_by(|a, b| {
            (a.due, &a.event.aggregate_id, &a.event.event_id).cmp(&(
                b.due,
                &b.event.aggregate_id,
                &b.event.event_id,
            ))
        });
        all.truncate(limit);
        Ok(all)
    }

    /// Conditional updates, up to 100 in one transaction (a single event: one
    /// UpdateItem). When the transaction is cancelled because some are taken
    /// (or not due, or their `todo` is not the given one), the others are
    /// claimed one by one.
    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        let (events, other_copies) = dedupe_claims(events);
        let mut claimed = Vec::new();
        let mut failure: Option<StoreError> = None;
        // Chunks to send, each with whether it is a retry after a cancellation.
        let mut queue: VecDeque<(Vec<&StoredEvent>, bool)> = events
            .chunks(self.transaction_limit())
            .map(|c| (c.to_vec(), false))
            .collect();
        while let Some((chunk, retried)) = queue.pop_front() {
            let limit = self.transaction_limit();
            if chunk.len() > limit {
                for piece in chunk.chunks(limit).rev() {
                    queue.push_front((piece.to_vec(), retried));
                }
                continue;
            }
            if let [single] = chunk.as_slice() {
                let r = single.reference();
                if self
                    .update_item(
                        Self::claim_op(single, lease, now),
                        "claim",
                        &self.context(&r),
                    )
                    .await?
                {
                    claimed.push(r);
                }
                continue;
            }
            let actions = chunk
                .iter()
                .map(|e| {
                    self.transaction_update(
                        Self::claim_op(e, lease, now),
                        &self.context(&e.reference()),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            match self.transact(actions, "claim").await? {
                Transaction::Committed => claimed.extend(chunk.iter().map(|e| e.reference())),
                Transaction::TooLarge => queue.push_front((chunk, retried)),
                Transaction::Cancelled(reasons) => {
                    // Those whose condition failed are taken, not due or
                    // changed: claiming them alone fails too. The others would
                    // have been claimed: once, send them again together.
                    let rest: Vec<&StoredEvent> = chunk
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| {
                            reasons.get(*i).and_then(Option::as_deref) != Some(CONDITION_FAILED)
                        })
                        .map(|(_, e)| *e)
                        .collect();
                    if !retried && only_conditions_failed(&reasons, chunk.len()) {
                        if !rest.is_empty() {
                            queue.push_front((rest, true));
                        }
                        continue;
                    }
                    for e in rest {
                        self.claim_alone(e, lease, now, &mut claimed, &mut failure)
                            .await;
                    }
                }
            }
        }
        // Other copies of an event, with another `todo`: one may match if the
        // first did not (never from the service, which passes each event once).
        for e in other_copies {
            if !claimed.contains(&e.reference()) {
                self.claim_alone(e, lease, now, &mut claimed, &mut failure)
                    .await;
            }
        }
        match failure {
            Some(e) if claimed.is_empty() => Err(e),
            _ => Ok(claimed),
        }
    }

    /// Transactions of up to 100 actions: per completion, the conditional
    /// update of its event and a put of each measurement record. When one is
    /// cancelled (a lease lost, a late marker added meanwhile), its completions
    /// are recorded one by one, keeping `due` where `todo` grew.
    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        let published_at = SystemClock.now();
        let all: Vec<&Completion> = completions.iter().collect();
        // Groups to send, each with whether it is a retry after a cancellation.
        let mut queue: VecDeque<(Vec<&Completion>, bool)> =
            Self::group(&all, self.transaction_limit())
                .into_iter()
                .map(|g| (g, false))
                .collect();
        while let Some((group, retried)) = queue.pop_front() {
            let limit = self.transaction_limit();
            let actions: usize = group.iter().map(|c| Self::actions(c)).sum();
            if group.len() > 1 && actions > limit {
                for smaller in Self::group(&group, limit).into_iter().rev() {
                    queue.push_front((smaller, retried));
                }
                continue;
            }
            if let [single] = group.as_slice() {
                self.complete_one(single, Attempt::Clearing, published_at)
                    .await?;
                continue;
            }
            let mut tx = Vec::with_capacity(actions);
            let mut update_index = Vec::with_capacity(group.len());
            for completion in &group {
                let context = self.context(&completion.event);
                update_index.push(tx.len());
                tx.push(self.transaction_update(
                    Self::complete_op(completion, Attempt::Clearing),
                    &context,
                )?);
                for record in Self::records(completion, published_at, &context)? {
                    tx.push(self.transaction_put(record, &context)?);
                }
            }
            match self.transact(tx, "complete").await? {
                Transaction::Committed => {}
                Transaction::TooLarge => queue.push_front((group, retried)),
                Transaction::Cancelled(reasons) => {
                    // Those whose update's condition failed lost the lease or
                    // gained a late marker: one by one, keeping `due`. The
                    // others would have gone through: once, send them again together.
                    let mut rest = Vec::with_capacity(group.len());
                    let mut failed = Vec::new();
                    for (completion, index) in group.iter().zip(update_index) {
                        if reasons.get(index).and_then(Option::as_deref) == Some(CONDITION_FAILED) {
                            failed.push(*completion);
                        } else {
                            rest.push(*completion);
                        }
                    }
                    for completion in failed {
                        self.complete_one(completion, Attempt::Keeping, published_at)
                            .await?;
                    }
                    if !retried && only_conditions_failed(&reasons, actions) {
                        if !rest.is_empty() {
                            queue.push_front((rest, true));
                        }
                        continue;
                    }
                    for completion in rest {
                        self.complete_one(completion, Attempt::Clearing, published_at)
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// One conditional UpdateItem per event, removing the lease if it is still `token`'s.
    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        let mut failure = None;
        for r in dedupe(events) {
            let op = Conditional {
                key: event_key(&r),
                update: "REMOVE #lease_token, #lease_until".into(),
                condition: "#lease_token = :token".into(),
                names: names(&[item::LEASE_TOKEN, item::LEASE_UNTIL]),
                values: HashMap::from([(":token".to_string(), s(token))]),
            };
            if let Err(e) = self.update_item(op, "release", &self.context(&r)).await {
                failure.get_or_insert(e);
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// One conditional UpdateItem (see [`crate::dynamo_series`]).
    async fn admit_series(
        &self,
        metric: &str,
        series: &str,
        budget: u32,
    ) -> Result<bool, StoreError> {
        crate::dynamo_series::admit_series(self, metric, series, budget).await
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;

    use super::*;

    fn refused(code: &str, message: &str) -> TransactWriteItemsError {
        TransactWriteItemsError::generic(
            ErrorMetadata::builder().code(code).message(message).build(),
        )
    }

    #[test]
    fn a_smaller_transaction_limit_is_read_from_the_refusal() {
        let local = refused(
            "ValidationException",
            "Member must have length less than or equal to 25",
        );
        assert_eq!(smaller_limit(&local, 100), Some(25));
        assert_eq!(
            smaller_limit(&local, 25),
            None,
            "not why 25 actions were refused"
        );
        assert_eq!(
            smaller_limit(
                &refused("ValidationException", "Invalid UpdateExpression"),
                100
            ),
            None
        );
        assert_eq!(
            smaller_limit(
                &refused("ThrottlingException", "less than or equal to 25"),
                100
            ),
            None
        );
    }

    #[test]
    fn cancellations_that_name_only_failed_conditions_are_pinpointed() {
        let ccf = Some(CONDITION_FAILED.to_string());
        assert!(only_conditions_failed(&[ccf.clone(), None], 2));
        assert!(
            !only_conditions_failed(std::slice::from_ref(&ccf), 2),
            "reasons missing"
        );
        assert!(!only_conditions_failed(
            &[ccf, Some("TransactionConflict".into())],
            2
        ));
        assert!(!only_conditions_failed(&[], 1));
    }

    /// An event of aggregate `a`, due, with `todo`.
    fn due_copy(id: &str, todo: &[&str]) -> StoredEvent {
        StoredEvent {
            event: flight_core::Event {
                event_id: id.into(),
                event_type: "T".into(),
                event_version: 1,
                aggregate_id: "a".into(),
                aggregate_type: None,
                aggregate_version: None,
                time: 0,
                payload: Default::default(),
            },
            stored_at: 0,
            timeline: None,
            todo: todo.iter().map(|t| t.to_string()).collect(),
            done: BTreeSet::new(),
            due: Some(0),
            lease: None,
            sealed_at: None,
        }
    }

    #[test]
    fn claim_updates_require_the_exact_todo_and_name_every_placeholder() {
        let mut expected = due_copy("e", &["A", "B"]);
        let lease = Lease {
            token: "t".into(),
            until: 10,
        };
        let op = DynamoStore::claim_op(&expected, &lease, 5);
        assert_eq!(
            op.condition,
            "attribute_exists(#due_at) AND (attribute_not_exists(#lease_until) OR #lease_until <= :now) AND size(#todo) = :n AND contains(#todo, :t0) AND contains(#todo, :t1)"
        );
        assert_eq!(op.values.get(":n"), Some(&n(2)));
        assert_eq!(op.values.get(":t0"), Some(&s("A")));
        assert_eq!(op.values.get(":t1"), Some(&s("B")));
        expected.todo.clear();
        let empty = DynamoStore::claim_op(&expected, &lease, 5);
        assert!(empty
            .condition
            .ends_with("#lease_until <= :now) AND attribute_not_exists(#todo)"));
        for op in [&op, &empty] {
            let text = format!("{} {}", op.update, op.condition);
            for name in op.names.keys() {
                assert!(text.contains(name.as_str()), "{name} unused in {text}");
            }
            for value in op.values.keys() {
                assert!(text.contains(value.as_str()), "{value} unused in {text}");
            }
            for word in text.split(|ch: char| !(ch.is_alphanumeric() || ch == '#' || ch == '_')) {
                if word.starts_with('#') {
                    assert!(op.names.contains_key(word), "{word} undefined in {text}");
                }
            }
        }
    }

    #[test]
    fn claims_keep_one_copy_of_each_event_first_and_other_todos_after() {
        let events = [
            due_copy("e1", &["A"]),
            due_copy("e2", &[]),
            due_copy("e1", &["A"]),
            due_copy("e1", &["L"]),
            due_copy("e2", &[]),
            due_copy("e1", &["L"]),
        ];
        let (first, others) = dedupe_claims(&events);
        assert_eq!(first, [&events[0], &events[1]]);
        assert_eq!(others, [&events[3]]);
    }

    #[test]
    fn completion_updates_name_every_placeholder_they_use() {
        let completion = Completion {
            event: EventRef {
                aggregate_id: "a".into(),
                event_id: "e".into(),
            },
            token: "t".into(),
            finished: BTreeSet::from(["A".to_string(), "B".to_string()]),
            measurements: vec![],
        };
        let empty = Completion {
            finished: BTreeSet::new(),
            ..completion.clone()
        };
        for c in [&completion, &empty] {
            for attempt in [Attempt::Clearing, Attempt::Keeping] {
                let op = DynamoStore::complete_op(c, attempt);
                let text = format!("{} {}", op.update, op.condition);
                // DynamoDB refuses unused names and values, and undefined ones.
                for name in op.names.keys() {
                    assert!(text.contains(name.as_str()), "{name} unused in {text}");
                }
                for value in op.values.keys() {
                    assert!(text.contains(value.as_str()), "{value} unused in {text}");
                }
                for word in text.split(|ch: char| !(ch.is_alphanumeric() || ch == '#' || ch == '_'))
                {
                    if word.starts_with('#') {
                        assert!(op.names.contains_key(word), "{word} undefined in {text}");
                    }
                }
                assert_eq!(op.update.contains("#due_at"), attempt == Attempt::Clearing);
            }
        }
        let clearing = DynamoStore::complete_op(&completion, Attempt::Clearing);
        assert_eq!(
            clearing.condition,
            "#lease_token = :token AND size(#todo) = :n AND contains(#todo, :f0) AND contains(#todo, :f1)"
        );
    }
}
