//! Leases: claiming due events for publishing (conditional updates, up to a
//! transaction's worth at once) and releasing them after a failed publish.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use flight_core::ports::{EventRef, Lease, StoreError, StoredEvent};
use flight_core::Millis;

use super::transaction::{only_conditions_failed, Conditional, Transaction, CONDITION_FAILED};
use super::{names, DynamoStore};
use crate::item::{self, event_key, n, s};

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

impl DynamoStore {
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

    /// [`flight_core::EventStore::claim`]: conditional updates, up to 100 in
    /// one transaction (a single event: one UpdateItem). When the transaction
    /// is cancelled because some are taken (or not due, or their `todo` is not
    /// the given one), the others are claimed one by one.
    pub(super) async fn claim_events(
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

    /// [`flight_core::EventStore::release`]: one conditional UpdateItem per
    /// event, removing the lease if it is still `token`'s.
    pub(super) async fn release_leases(
        &self,
        events: &[EventRef],
        token: &str,
    ) -> Result<(), StoreError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
