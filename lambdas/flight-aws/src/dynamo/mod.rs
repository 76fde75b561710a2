//! The event store in one DynamoDB table ([`crate::item`] describes the items,
//! [`schema`] the table). It behaves exactly as [`flight_core::memory::MemoryStore`],
//! with conditional writes standing in for the memory store's lock.
//!
//! Its parts, one file each: [`schema`] (the table's keys and indexes, and
//! creating it locally), `transaction` (conditional updates and transactions),
//! `claims` (leases: claim and release), `completion` (recording published
//! data points), `store` (the [`EventStore`](flight_core::EventStore) impl),
//! `series` (each partitioned metric's distinct partitions, for its series
//! budget) and `operator` (what `flightctl` reads: measurement records, scans,
//! backfill claims, the backlog). This file holds the store itself, its
//! request counts and the reads the others share.

mod claims;
mod completion;
mod operator;
pub mod schema;
mod series;
mod store;
mod transaction;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::Client;
use flight_core::ports::{EventRef, StoreError, StoredEvent};

use crate::error::store_error;
use crate::item::{self, event_key, Item, ItemError};

pub use flight_core::shard::shard_page;
pub use operator::Overdue;
pub use schema::{AttributeType, IndexShape, Projected, TableShape, EVENT_TABLE};
pub use store::DUE_QUERIES_IN_FLIGHT;

/// DynamoDB takes at most 100 actions in one transaction (DynamoDB Local
/// before 2.x: 25; the store adopts a smaller limit when the service names one).
const MAX_TRANSACTION_ITEMS: usize = 100;

/// The DynamoDB operations the store's use-case methods send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    GetItem,
    PutItem,
    UpdateItem,
    Query,
    TransactWriteItems,
}

impl Operation {
    /// Every operation, in `Operation as usize` order.
    pub const ALL: [Operation; 5] = [
        Operation::GetItem,
        Operation::PutItem,
        Operation::UpdateItem,
        Operation::Query,
        Operation::TransactWriteItems,
    ];
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
    /// The count of `operation`'s requests.
    pub fn of_mut(&mut self, operation: Operation) -> &mut u64 {
        match operation {
            Operation::GetItem => &mut self.get_item,
            Operation::PutItem => &mut self.put_item,
            Operation::UpdateItem => &mut self.update_item,
            Operation::Query => &mut self.query,
            Operation::TransactWriteItems => &mut self.transact_write_items,
        }
    }

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

/// The expression attribute names of every expression here: `#x` is attribute `x`.
pub(crate) fn names(attributes: &[&str]) -> HashMap<String, String> {
    attributes
        .iter()
        .map(|a| (format!("#{a}"), a.to_string()))
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
        let mut counts = RequestCounts {
            transaction_actions: self.transaction_actions.load(Ordering::Relaxed),
            items_read: self.items_read.load(Ordering::Relaxed),
            ..RequestCounts::default()
        };
        for operation in Operation::ALL {
            *counts.of_mut(operation) =
                self.by_operation[operation as usize].load(Ordering::Relaxed);
        }
        counts
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
}
