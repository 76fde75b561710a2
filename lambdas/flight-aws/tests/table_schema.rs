//! The event table has one shape wherever it is created: the CreateTable
//! request the Rust code sends for local tables (DynamoDB Local, the tests,
//! `flight-local`), built from [`flight_aws::dynamo::EVENT_TABLE`], and the
//! `aws_dynamodb_table.events` resource Terraform creates in AWS
//! (`terraform/modules/flight-controller/storage.tf`) declare the same key
//! schema, attribute definitions, billing mode and indexes (keys and
//! projections). A change to either side alone fails here. No services needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aws_sdk_dynamodb::types::{KeySchemaElement, KeyType, Projection};
use flight_aws::dynamo::EVENT_TABLE;
use hcl::{Block, Body, Expression};

/// Where Terraform declares the deployed tables.
const STORAGE_TF: &str = "../../terraform/modules/flight-controller/storage.tf";

/// A table's shape as both sides state it, order aside.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    billing_mode: String,
    hash_key: String,
    range_key: String,
    /// Attribute name to type (`S`, `N`).
    attributes: BTreeMap<String, String>,
    local_indexes: BTreeMap<String, Index>,
    global_indexes: BTreeMap<String, Index>,
}

/// A secondary index's keys and projection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Index {
    hash_key: String,
    range_key: String,
    projection_type: String,
    non_key_attributes: BTreeSet<String>,
}

/// The shape of the CreateTable request the Rust code sends (built, not sent).
fn shape_from_rust() -> Shape {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let request = EVENT_TABLE
        .create_request(&client, "events")
        .expect("a valid CreateTable request");
    let input = request.as_input();
    let key = |keys: &[KeySchemaElement], kind: KeyType| -> String {
        let found: Vec<&str> = keys
            .iter()
            .filter(|k| *k.key_type() == kind)
            .map(|k| k.attribute_name())
            .collect();
        assert_eq!(found.len(), 1, "one {kind:?} key in {keys:?}");
        found[0].to_string()
    };
    let index = |keys: &[KeySchemaElement], projection: Option<&Projection>| {
        let projection = projection.expect("every index has a projection");
        Index {
            hash_key: key(keys, KeyType::Hash),
            range_key: key(keys, KeyType::Range),
            projection_type: projection
                .projection_type()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            non_key_attributes: projection.non_key_attributes().iter().cloned().collect(),
        }
    };
    let keys = input.get_key_schema().clone().unwrap_or_default();
    Shape {
        billing_mode: input
            .get_billing_mode()
            .as_ref()
            .map(|b| b.as_str().to_string())
            .unwrap_or_default(),
        hash_key: key(&keys, KeyType::Hash),
        range_key: key(&keys, KeyType::Range),
        attributes: input
            .get_attribute_definitions()
            .iter()
            .flatten()
            .map(|a| {
                (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string(),
                )
            })
            .collect(),
        local_indexes: input
            .get_local_secondary_indexes()
            .iter()
            .flatten()
            .map(|i| {
                (
                    i.index_name().to_string(),
                    index(i.key_schema(), i.projection()),
                )
            })
            .collect(),
        global_indexes: input
            .get_global_secondary_indexes()
            .iter()
            .flatten()
            .map(|i| {
                (
                    i.index_name().to_string(),
                    index(i.key_schema(), i.projection()),
                )
            })
            .collect(),
    }
}

/// The literal string `name` of a block's body, if set.
fn string(body: &Body, name: &str) -> Option<String> {
    let attribute = body.attributes().find(|a| a.key() == name)?;
    match attribute.expr() {
        Expression::String(s) => Some(s.clone()),
        other => panic!("`{name}` in {STORAGE_TF} is not a string literal: {other:?}"),
    }
}

fn required(body: &Body, name: &str) -> String {
    string(body, name).unwrap_or_else(|| panic!("`{name}` missing in {STORAGE_TF}: {body:?}"))
}

/// The literal strings of a list attribute, if set.
fn strings(body: &Body, name: &str) -> BTreeSet<String> {
    let Some(attribute) = body.attributes().find(|a| a.key() == name) else {
        return BTreeSet::new();
    };
    match attribute.expr() {
        Expression::Array(items) => items
            .iter()
            .map(|item| match item {
                Expression::String(s) => s.clone(),
                other => panic!("`{name}` in {STORAGE_TF} lists a non-literal: {other:?}"),
            })
            .collect(),
        other => panic!("`{name}` in {STORAGE_TF} is not a list literal: {other:?}"),
    }
}

fn blocks<'a>(body: &'a Body, identifier: &'a str) -> impl Iterator<Item = &'a Block> {
    body.blocks().filter(move |b| b.identifier() == identifier)
}

/// An index block; a local index's hash key is the table's.
fn index(block: &Block, table_hash_key: &str) -> (String, Index) {
    let body = block.body();
    (
        required(body, "name"),
        Index {
            hash_key: string(body, "hash_key").unwrap_or_else(|| table_hash_key.to_string()),
            range_key: required(body, "range_key"),
            projection_type: required(body, "projection_type"),
            non_key_attributes: strings(body, "non_key_attributes"),
        },
    )
}

/// The shape of `resource "aws_dynamodb_table" "<name>"` in storage.tf.
fn shape_from_terraform(resource: &str) -> Shape {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(STORAGE_TF);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let file = hcl::parse(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    let table = blocks(&file, "resource")
        .find(|b| {
            let labels: Vec<&str> = b.labels().iter().map(|l| l.as_str()).collect();
            labels == ["aws_dynamodb_table", resource]
        })
        .unwrap_or_else(|| panic!("no aws_dynamodb_table.{resource} in {STORAGE_TF}"));
    let body = table.body();
    let hash_key = required(body, "hash_key");
    Shape {
        billing_mode: required(body, "billing_mode"),
        range_key: required(body, "range_key"),
        attributes: blocks(body, "attribute")
            .map(|a| (required(a.body(), "name"), required(a.body(), "type")))
            .collect(),
        local_indexes: blocks(body, "local_secondary_index")
            .map(|i| index(i, &hash_key))
            .collect(),
        global_indexes: blocks(body, "global_secondary_index")
            .map(|i| index(i, &hash_key))
            .collect(),
        hash_key,
    }
}

#[test]
fn the_local_event_table_and_terraforms_have_the_same_keys_attributes_and_indexes() {
    let rust = shape_from_rust();
    let terraform = shape_from_terraform("events");
    assert_eq!(
        rust, terraform,
        "the event table the Rust code creates (flight_aws::dynamo::EVENT_TABLE, left) and \
         aws_dynamodb_table.events in {STORAGE_TF} (right) differ: change both together"
    );
}

#[test]
fn the_event_table_shape_names_the_indexes_the_store_queries() {
    let rust = shape_from_rust();
    let names = |indexes: &BTreeMap<String, Index>| indexes.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&rust.local_indexes),
        [flight_aws::item::TIMELINE_INDEX]
    );
    assert_eq!(
        names(&rust.global_indexes),
        [
            flight_aws::item::BY_METRIC_INDEX,
            flight_aws::item::DUE_INDEX
        ]
    );
    let mut keys: Vec<&String> = vec![&rust.hash_key, &rust.range_key];
    for index in rust
        .local_indexes
        .values()
        .chain(rust.global_indexes.values())
    {
        keys.extend([&index.hash_key, &index.range_key]);
    }
    let keys: BTreeSet<&String> = keys.into_iter().collect();
    let defined: BTreeSet<&String> = rust.attributes.keys().collect();
    assert_eq!(
        keys, defined,
        "DynamoDB takes definitions of key attributes only, all of them"
    );
}
