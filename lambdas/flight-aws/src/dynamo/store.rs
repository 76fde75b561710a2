//! The [`EventStore`] impl: appends, timelines, late markers and the due
//! events; claims, completions and releases are in their own files.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use flight_core::catalog::LATE_EVENTS_METRIC;
use flight_core::ports::{
    Appended, Completion, Direction, EventRef, EventStore, Lease, StoreError, StoredEvent,
    TimelineEntry,
};
use flight_core::shard::{shard_page, DuePage, Sweep};
use flight_core::Millis;

use super::transaction::Conditional;
use super::{invalid_item, names, DynamoStore, Operation};
use crate::error::store_error;
use crate::item::{self, due_shard, event_key, n, s, tl_value, DUE_INDEX, TIMELINE_INDEX};

/// The `due` queries one [`EventStore::due_page`] call has in flight at once
/// (a sweep of all 64 shards sends two waves of 32), so that many sweeps
/// at once do not open thousands of connections.
pub const DUE_QUERIES_IN_FLIGHT: usize = 32;

impl DynamoStore {
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

    /// [`EventStore::due_page`] of every shard.
    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let shards: Vec<u64> = Sweep::ALL.shards().collect();
        Ok(self.due_page(&shards, now, limit).await?.events)
    }

    /// One Query per shard, in waves of [`DUE_QUERIES_IN_FLIGHT`], each for
    /// up to [`shard_page`] events; merged by [`DuePage::merge`].
    async fn due_page(
        &self,
        shards: &[u64],
        now: Millis,
        limit: usize,
    ) -> Result<DuePage, StoreError> {
        if limit == 0 {
            return Ok(DuePage::default());
        }
        let page = shard_page(limit, shards.len());
        let mut found = Vec::with_capacity(shards.len());
        for wave in shards.chunks(DUE_QUERIES_IN_FLIGHT) {
            let pages = futures_util::future::try_join_all(
                wave.iter()
                    .map(|&shard| self.due_in_shard(shard, now, page)),
            )
            .await?;
            found.extend(wave.iter().copied().zip(pages));
        }
        Ok(DuePage::merge(found, page, limit))
    }

    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        self.claim_events(events, lease, now).await
    }

    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        self.complete_all(completions).await
    }

    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        self.release_leases(events, token).await
    }

    /// One conditional UpdateItem (see [`super::series`]).
    async fn admit_series(
        &self,
        metric: &str,
        series: &str,
        budget: u32,
    ) -> Result<bool, StoreError> {
        super::series::admit_series(self, metric, series, budget).await
    }
}
