//! Completion: recording that an event's data points were published (its
//! `todo` moved to `done`, the lease dropped, `due` cleared when nothing is
//! left) together with their measurement records, in as few transactions as
//! DynamoDB takes.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use flight_core::engine::Measurement;
use flight_core::ports::{Clock, Completion, EventRef, StoreError, SystemClock};
use flight_core::Millis;

use super::transaction::{only_conditions_failed, Conditional, Transaction, CONDITION_FAILED};
use super::{names, DynamoStore};
use crate::error::RETRYABLE_REASONS;
use crate::item::{self, event_key, n, s, Item};

/// How often a transaction that lost a conflict with another is tried again.
const CONFLICT_ATTEMPTS: u32 = 3;

/// Which update [`DynamoStore::complete_one`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// The lease is ours and `todo` is exactly `finished`: clear `due` too.
    Clearing,
    /// The lease is ours but `todo` gained metrics (a late marker): keep `due`.
    Keeping,
}

impl DynamoStore {
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

    /// [`flight_core::EventStore::complete`]: transactions of up to 100
    /// actions: per completion, the conditional update of its event and a put
    /// of each measurement record. When one is cancelled (a lease lost, a late
    /// marker added meanwhile), its completions are recorded one by one,
    /// keeping `due` where `todo` grew.
    pub(super) async fn complete_all(&self, completions: &[Completion]) -> Result<(), StoreError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
