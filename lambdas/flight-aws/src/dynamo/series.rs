//! The series budget on DynamoDB (see [`flight_core::series_budget`]): each
//! partitioned metric's distinct partitions are one item, pk `#series`, sk
//! `S#<metric>` (no event or measurement record has an sk starting `S#`),
//! holding a string set of partition hashes. Admitting a partition is one
//! conditional `UpdateItem` that adds it when it is already there or the set
//! is smaller than the budget; `flightctl report` reads the set's size
//! ([`SeriesLog`]).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use flight_core::ports::StoreError;
use flight_core::reads::SeriesLog;

use super::transaction::Conditional;
use super::{DynamoStore, Operation};
use crate::error::store_error;
use crate::item::{s, PK, SK};

/// The partition key of the series items.
const SERIES_PK: &str = "#series";
/// The attribute holding a metric's partitions.
const SERIES: &str = "series";

/// The key of `metric`'s series item.
fn series_key(metric: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_string(), s(SERIES_PK)),
        (SK.to_string(), s(format!("S#{metric}"))),
    ])
}

/// Adds `series` to `metric`'s partitions unless that would make more than
/// `budget`; true when it is (now) among them.
pub(super) async fn admit_series(
    store: &DynamoStore,
    metric: &str,
    series: &str,
    budget: u32,
) -> Result<bool, StoreError> {
    let op = Conditional {
        key: series_key(metric),
        update: "ADD #series :new".to_string(),
        condition:
            "attribute_not_exists(#series) OR contains(#series, :one) OR size(#series) < :budget"
                .to_string(),
        names: HashMap::from([("#series".to_string(), SERIES.to_string())]),
        values: HashMap::from([
            (
                ":new".to_string(),
                AttributeValue::Ss(vec![series.to_string()]),
            ),
            (":one".to_string(), s(series)),
            (":budget".to_string(), AttributeValue::N(budget.to_string())),
        ]),
    };
    let context = format!("table {} (series of metric `{metric}`)", store.table());
    store.update_item(op, "admit series", &context).await
}

#[async_trait]
impl SeriesLog for DynamoStore {
    /// One strongly consistent GetItem of the metric's series item.
    async fn series_count(&self, metric: &str) -> Result<usize, StoreError> {
        self.count_as(Operation::GetItem);
        let got = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(series_key(metric)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                store_error(
                    "GetItem (series)",
                    &format!("table {} (series of metric `{metric}`)", self.table()),
                    &e,
                )
            })?;
        Ok(match got.item().and_then(|i| i.get(SERIES)) {
            Some(AttributeValue::Ss(set)) => set.len(),
            _ => 0,
        })
    }
}
