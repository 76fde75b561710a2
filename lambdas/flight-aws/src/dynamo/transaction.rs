//! Conditional writes: an update with a condition sent alone (UpdateItem) or
//! as one action of a transaction, and transactions whose cancellation is an
//! outcome to act on (which actions failed their condition), not an error.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use flight_core::ports::StoreError;

use super::{DynamoStore, Operation};
use crate::error::store_error;
use crate::item::Item;

/// The cancellation reason of an action whose condition failed.
pub(super) const CONDITION_FAILED: &str = "ConditionalCheckFailed";

/// An update with a condition, sent alone (UpdateItem) or in a transaction.
pub(super) struct Conditional {
    pub(super) key: Item,
    pub(super) update: String,
    pub(super) condition: String,
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
}

/// The outcome of a transaction that did not fail outright.
pub(super) enum Transaction {
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

/// Whether a cancellation names, for each of `actions`, whether its condition
/// failed and nothing else went wrong (no conflict, no throttling).
pub(super) fn only_conditions_failed(reasons: &[Option<String>], actions: usize) -> bool {
    reasons.len() == actions && reasons.iter().flatten().all(|r| r == CONDITION_FAILED)
}

impl DynamoStore {
    /// Sends a conditional update alone; `false` when its condition failed.
    pub(super) async fn update_item(
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

    pub(super) fn transaction_update(
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

    pub(super) fn transaction_put(
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
    pub(super) async fn transact(
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

    /// Puts one measurement record, unconditionally.
    pub(super) async fn put_record(&self, record: Item, context: &str) -> Result<(), StoreError> {
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
}
