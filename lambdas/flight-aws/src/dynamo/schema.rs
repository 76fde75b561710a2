//! The event table's shape, as data: its keys, the attributes they use and
//! its indexes. [`EVENT_TABLE`] is the table definition's one Rust home:
//! [`DynamoStore::create_table`] creates the local table (DynamoDB Local, the
//! tests, `flight-local`) from it, and `tests/table_schema.rs` checks that
//! `terraform/modules/flight-controller/storage.tf`, which creates the
//! deployed table, declares the same keys, attributes and indexes.

use std::time::Duration;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType, TableStatus,
};
use aws_sdk_dynamodb::Client;
use flight_core::ports::StoreError;

use super::DynamoStore;
use crate::error::store_error;
use crate::item::{self, BY_METRIC_INDEX, DUE_INDEX, TIMELINE_INDEX};

/// How long [`DynamoStore::create_table`] waits for the table to become active.
const CREATE_TIMEOUT: Duration = Duration::from_secs(120);

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// `S`.
    String,
    /// `N`.
    Number,
}

impl AttributeType {
    fn sdk(self) -> ScalarAttributeType {
        match self {
            AttributeType::String => ScalarAttributeType::S,
            AttributeType::Number => ScalarAttributeType::N,
        }
    }
}

/// The attributes an index copies besides the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    /// Every attribute.
    All,
    /// These attributes.
    Include(&'static [&'static str]),
}

impl Projected {
    fn sdk(self) -> Projection {
        match self {
            Projected::All => Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
            Projected::Include(attributes) => Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(attributes.iter().map(|a| a.to_string()).collect()))
                .build(),
        }
    }
}

/// A secondary index: its name, keys and projection. A local index's hash
/// key is the table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexShape {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: &'static str,
    pub projection: Projected,
}

/// A table's keys, the types of the attributes keys use, and its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableShape {
    pub hash_key: &'static str,
    pub range_key: &'static str,
    /// Every attribute a key of the table or of an index uses, with its type.
    pub attributes: &'static [(&'static str, AttributeType)],
    pub local_indexes: &'static [IndexShape],
    pub global_indexes: &'static [IndexShape],
}

/// The event table (see [`crate::item`] for its items): events and
/// measurement records under the aggregate id, a local index of timelines,
/// and global indexes of due events and of measurement records by metric.
pub const EVENT_TABLE: TableShape = TableShape {
    hash_key: item::PK,
    range_key: item::SK,
    attributes: &[
        (item::PK, AttributeType::String),
        (item::SK, AttributeType::String),
        (item::TL, AttributeType::String),
        (item::DUE_SHARD, AttributeType::String),
        (item::DUE_AT, AttributeType::Number),
        (item::M_METRIC, AttributeType::String),
        (item::M_TS, AttributeType::Number),
    ],
    local_indexes: &[IndexShape {
        name: TIMELINE_INDEX,
        hash_key: item::PK,
        range_key: item::TL,
        projection: Projected::Include(&[
            item::EVENT_TYPE,
            item::TIME,
            item::EVENT_ID,
            item::SEALED_AT,
        ]),
    }],
    global_indexes: &[
        IndexShape {
            name: DUE_INDEX,
            hash_key: item::DUE_SHARD,
            range_key: item::DUE_AT,
            projection: Projected::All,
        },
        IndexShape {
            name: BY_METRIC_INDEX,
            hash_key: item::M_METRIC,
            range_key: item::M_TS,
            projection: Projected::All,
        },
    ],
};

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, BuildError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
}

fn keys(hash: &str, range: &str) -> Result<Vec<KeySchemaElement>, BuildError> {
    Ok(vec![key(hash, KeyType::Hash)?, key(range, KeyType::Range)?])
}

impl TableShape {
    /// The CreateTable request of a table `name` of this shape, billed on demand.
    pub fn create_request(
        &self,
        client: &Client,
        name: &str,
    ) -> Result<CreateTableFluentBuilder, BuildError> {
        let attributes = self
            .attributes
            .iter()
            .map(|(name, kind)| {
                AttributeDefinition::builder()
                    .attribute_name(*name)
                    .attribute_type(kind.sdk())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let local = self
            .local_indexes
            .iter()
            .map(|i| {
                LocalSecondaryIndex::builder()
                    .index_name(i.name)
                    .set_key_schema(Some(keys(i.hash_key, i.range_key)?))
                    .projection(i.projection.sdk())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let global = self
            .global_indexes
            .iter()
            .map(|i| {
                GlobalSecondaryIndex::builder()
                    .index_name(i.name)
                    .set_key_schema(Some(keys(i.hash_key, i.range_key)?))
                    .projection(i.projection.sdk())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(attributes))
            .set_key_schema(Some(keys(self.hash_key, self.range_key)?))
            .set_local_secondary_indexes((!local.is_empty()).then_some(local))
            .set_global_secondary_indexes((!global.is_empty()).then_some(global)))
    }
}

impl DynamoStore {
    /// Creates the event table ([`EVENT_TABLE`], on-demand billing) and waits
    /// until it and its indexes are active. For tests and the local stack;
    /// Terraform creates the deployed tables.
    pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
        let context = format!("table {name}");
        EVENT_TABLE
            .create_request(client, name)
            .map_err(|e| StoreError {
                message: format!("CreateTable on {context}: {e}"),
                retryable: false,
            })?
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
}
