//! What operators need of the event store beyond the functions' port
//! (`flightctl`): the measurement records of a metric (the `by-metric`
//! index, for reports and backfills), every stored event of some types (a
//! table scan, for backfills), a backfill's claim on an event — the
//! [`MeasurementLog`] and [`BackfillStore`] ports — and the backlog of
//! settled data points not yet published (for health checks).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Select};
use flight_core::engine::{sort_measurements, Measurement};
use flight_core::metric_shard::metric_keys;
use flight_core::ports::{EventRef, Lease, StoreError, StoredEvent};
use flight_core::reads::{BackfillStore, MeasurementLog, ScanProgress};
use flight_core::Millis;

use super::{invalid_item, names, DynamoStore};
use crate::error::store_error;
use crate::item::{self, event_key, n, s, BY_METRIC_INDEX, DUE_INDEX, DUE_SHARDS};

/// Events whose data points settled before some time and are not yet published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overdue {
    /// How many events are due.
    pub events: u64,
    /// The earliest `due` among them.
    pub oldest_due: Option<Millis>,
}

impl DynamoStore {
    /// The measurement records of `metric` stamped in `[since, until)`, in
    /// report order (time, metric, aggregate, event). Reads the `by-metric`
    /// index, which may lag a little behind the latest writes: one Query per
    /// shard key of the metric ([`item::METRIC_SHARDS`], records written before
    /// the index was sharded among shard 0's), sent together, then merged.
    pub async fn measurements(
        &self,
        metric: &str,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError> {
        if until <= since {
            return Ok(Vec::new());
        }
        let shards = futures_util::future::try_join_all(
            metric_keys(metric).map(|key| self.measurements_of_key(key, since, until)),
        )
        .await?;
        let mut out: Vec<Measurement> = shards.into_iter().flatten().collect();
        sort_measurements(&mut out);
        Ok(out)
    }

    /// The records under one `by-metric` key stamped in `[since, until)`, page after page.
    async fn measurements_of_key(
        &self,
        key: String,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError> {
        let context = format!(
            "table {} (index {BY_METRIC_INDEX}, key `{key}`)",
            self.table
        );
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_METRIC_INDEX)
            .key_condition_expression("#m_metric = :m AND #m_ts BETWEEN :lo AND :hi")
            .set_expression_attribute_names(Some(names(&[item::M_METRIC, item::M_TS])))
            .expression_attribute_values(":m", s(key))
            .expression_attribute_values(":lo", n(since))
            .expression_attribute_values(":hi", n(until - 1));
        self.query_pages(
            query,
            &context,
            |_| None,
            |_| false,
            |record| item::measurement(record).map(Some),
        )
        .await
    }

    /// The events of the `due` index due before `before`: settled data points
    /// that are not published yet. Per shard, one Query for the earliest and
    /// counting Queries (`Select: COUNT`) for how many.
    pub async fn overdue(&self, before: Millis) -> Result<Overdue, StoreError> {
        let mut total = Overdue::default();
        for shard in 0..DUE_SHARDS {
            let shard = format!("P#{shard}");
            let context = format!("table {} (index {DUE_INDEX}, shard {shard})", self.table());
            let query = || {
                self.client()
                    .query()
                    .table_name(self.table())
                    .index_name(DUE_INDEX)
                    .key_condition_expression("#due_shard = :shard AND #due_at < :before")
                    .set_expression_attribute_names(Some(names(&[item::DUE_SHARD, item::DUE_AT])))
                    .expression_attribute_values(":shard", s(&shard))
                    .expression_attribute_values(":before", n(before))
            };
            self.count();
            let first = query()
                .limit(1)
                .send()
                .await
                .map_err(|e| store_error("Query", &context, &e))?;
            let Some(earliest) = first.items().first() else {
                continue;
            };
            if let Some(AttributeValue::N(due)) = earliest.get(item::DUE_AT) {
                if let Ok(due) = due.parse::<Millis>() {
                    total.oldest_due = Some(total.oldest_due.map_or(due, |d| d.min(due)));
                }
            }
            let mut start = None;
            loop {
                self.count();
                let page = query()
                    .select(Select::Count)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| store_error("Query", &context, &e))?;
                total.events += u64::try_from(page.count()).unwrap_or_default();
                match page.last_evaluated_key() {
                    Some(key) if !key.is_empty() => start = Some(key.clone()),
                    _ => break,
                }
            }
        }
        Ok(total)
    }
}

#[async_trait]
impl MeasurementLog for DynamoStore {
    /// [`DynamoStore::measurements`].
    async fn measurements_between(
        &self,
        metric: &str,
        since: Millis,
        until: Millis,
    ) -> Result<Vec<Measurement>, StoreError> {
        self.measurements(metric, since, until).await
    }
}

#[async_trait]
impl BackfillStore for DynamoStore {
    fn location(&self) -> String {
        format!("table {}", self.table())
    }

    /// A Scan of the whole table with a filter, strongly consistent, page
    /// after page. It reads (and is charged for) every item of the table,
    /// events and measurement records alike. `progress(items read, events
    /// found)` is called after each page.
    async fn scan_events(
        &self,
        event_types: &[&str],
        progress: ScanProgress<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        if event_types.is_empty() {
            return Ok(out);
        }
        let context = format!(
            "table {} (Scan for {} events)",
            self.table(),
            event_types.join(", ")
        );
        let mut values = HashMap::from([(":e".to_string(), s("E#"))]);
        let mut placeholders = Vec::with_capacity(event_types.len());
        for (i, event_type) in event_types.iter().enumerate() {
            placeholders.push(format!(":t{i}"));
            values.insert(format!(":t{i}"), s(*event_type));
        }
        let filter = format!(
            "begins_with(#sk, :e) AND #event_type IN ({})",
            placeholders.join(", ")
        );
        let mut read = 0u64;
        let mut start = None;
        loop {
            self.count();
            let page = self
                .client()
                .scan()
                .table_name(self.table())
                .filter_expression(&filter)
                .set_expression_attribute_names(Some(names(&[item::SK, item::EVENT_TYPE])))
                .set_expression_attribute_values(Some(values.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("Scan", &context, &e))?;
            read += u64::try_from(page.scanned_count()).unwrap_or_default();
            for found in page.items() {
                out.push(item::stored_event(found).map_err(|e| invalid_item("Scan", &context, e))?);
            }
            progress(read, out.len());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// One conditional UpdateItem.
    async fn claim_backfill(
        &self,
        event: &EventRef,
        metric: &str,
        lease: &Lease,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let context = format!(
            "table {} (aggregate `{}`, event `{}`, backfill of {metric})",
            self.table(),
            event.aggregate_id,
            event.event_id
        );
        self.count();
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(event_key(event)))
            .update_expression("ADD #todo :metrics SET #lease_token = :token, #lease_until = :until")
            .condition_expression(
                "attribute_exists(#pk) AND attribute_not_exists(#due_at) AND NOT contains(#done, :metric) \
                 AND (attribute_not_exists(#lease_until) OR #lease_until <= :now)",
            )
            .set_expression_attribute_names(Some(names(&[
                item::PK,
                item::TODO,
                item::DONE,
                item::DUE_AT,
                item::LEASE_TOKEN,
                item::LEASE_UNTIL,
            ])))
            .expression_attribute_values(":metrics", AttributeValue::Ss(vec![metric.to_string()]))
            .expression_attribute_values(":metric", s(metric))
            .expression_attribute_values(":token", s(&lease.token))
            .expression_attribute_values(":until", n(lease.until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(store_error("UpdateItem (backfill claim)", &context, &e)),
        }
    }
}
