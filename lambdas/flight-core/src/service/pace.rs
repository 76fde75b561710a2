//! Pacing a hot aggregate (issue 13). Every write settle makes for an event
//! lands on its aggregate's partition key (the claim, the completion, each
//! measurement record), and DynamoDB serves one key 1,000 write units a
//! second. A sweep draining a minute's backlog takes events far faster than
//! they arrived, so one aggregate receiving 100 events/s would pass that
//! limit while it drains. A sweep therefore gives each aggregate a budget of
//! [`AGGREGATE_WRITE_UNITS`] a second (a token bucket holding one second's
//! worth); an event whose aggregate is out of units is left due for a later
//! round, and a round of nothing else waits for the units (docs/scale.md,
//! "The hot aggregate").

use std::collections::{BTreeSet, HashMap};

use crate::envelope::Millis;
use crate::ports::StoredEvent;

/// Write units a second one sweep spends on one aggregate's key: of its
/// 1,000, the rest is left to ingest (two units an event stored: 150
/// events/s).
pub const AGGREGATE_WRITE_UNITS: f64 = 700.0;

/// The write units settle spends on an event's aggregate key: the claim and
/// the completion (two each: transactional writes) and a record per pending
/// metric (two).
pub fn write_units(event: &StoredEvent) -> f64 {
    4.0 + 2.0 * event.todo.len() as f64
}

/// One sweep's budget per aggregate.
#[derive(Debug, Default)]
pub(super) struct Pace {
    /// Units left and when they were counted, by aggregate.
    buckets: HashMap<String, (f64, Millis)>,
}

/// A round's due events split by the budget.
#[derive(Debug, Default)]
pub(super) struct Paced {
    /// To claim now (their units taken), earliest due first.
    pub admitted: Vec<StoredEvent>,
    /// Left due because their aggregate is out of units (for now).
    pub waiting: Vec<StoredEvent>,
    /// Left due because the round was full.
    pub left: Vec<StoredEvent>,
}

impl Pace {
    /// Units an aggregate has at `now`.
    fn units(&self, aggregate: &str, now: Millis) -> f64 {
        self.buckets
            .get(aggregate)
            .map_or(AGGREGATE_WRITE_UNITS, |(units, at)| {
                let refill = (now - at).max(0) as f64 / 1000.0 * AGGREGATE_WRITE_UNITS;
                (units + refill).min(AGGREGATE_WRITE_UNITS)
            })
    }

    /// Admits up to `batch` of `due` (earliest first) whose aggregates have
    /// the units, taking them; once an aggregate is short, its later events
    /// wait too, so each aggregate is still taken in due order.
    pub fn admit(&mut self, due: Vec<StoredEvent>, batch: usize, now: Millis) -> Paced {
        let mut paced = Paced::default();
        let mut short: BTreeSet<String> = BTreeSet::new();
        for event in due {
            let aggregate = &event.event.aggregate_id;
            if paced.admitted.len() == batch {
                paced.left.push(event);
                continue;
            }
            let need = write_units(&event);
            let have = self.units(aggregate, now);
            if short.contains(aggregate) || have < need {
                short.insert(aggregate.clone());
                paced.waiting.push(event);
                continue;
            }
            self.buckets.insert(aggregate.clone(), (have - need, now));
            paced.admitted.push(event);
        }
        paced
    }

    /// How long (ms, at least 1) until the aggregates of `waiting` have
    /// the units for all of it, or a full bucket when it needs more.
    pub fn wait_for(&self, waiting: &[StoredEvent], now: Millis) -> Millis {
        let mut need: HashMap<&str, f64> = HashMap::new();
        for event in waiting {
            *need.entry(event.event.aggregate_id.as_str()).or_default() += write_units(event);
        }
        let seconds = need
            .into_iter()
            .map(|(aggregate, units)| {
                let short = units.min(AGGREGATE_WRITE_UNITS) - self.units(aggregate, now);
                short.max(0.0) / AGGREGATE_WRITE_UNITS
            })
            .fold(0.0, f64::max);
        ((seconds * 1000.0).ceil() as Millis).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Event;

    fn due(aggregate: &str, id: usize) -> StoredEvent {
        StoredEvent {
            event: Event {
                event_id: format!("e{id}"),
                event_type: "ProjectCreated".into(),
                event_version: 1,
                aggregate_id: aggregate.into(),
                aggregate_type: None,
                aggregate_version: None,
                time: 0,
                payload: Default::default(),
            },
            stored_at: 0,
            timeline: None,
            todo: ["LeadTime".to_string()].into(),
            done: BTreeSet::new(),
            due: Some(id as Millis),
            lease: None,
            sealed_at: None,
        }
    }

    #[test]
    fn an_aggregate_gets_a_seconds_units_and_the_rest_waits_in_order() {
        let mut pace = Pace::default();
        // 200 events of one aggregate (6 units each) and 20 of others.
        let mut events: Vec<StoredEvent> = (0..200).map(|i| due("hot", i)).collect();
        events.extend((200..220).map(|i| due(&format!("cold-{i}"), i)));

        let paced = pace.admit(events, 150, 0);

        let hot = paced
            .admitted
            .iter()
            .filter(|e| e.event.aggregate_id == "hot")
            .count();
        assert_eq!(hot, 116, "700 units of 6");
        assert_eq!(paced.admitted.len(), 136, "every other aggregate admitted");
        assert_eq!(paced.waiting.len(), 84);
        assert!(paced.left.is_empty());
        assert_eq!(paced.waiting[0].event.event_id, "e116");
        // The 84 left need 504 units; 4 are left: 500/700 s.
        assert_eq!(pace.wait_for(&paced.waiting, 0), 715);
        // After it, all of them fit.
        let later = pace.admit(paced.waiting, 150, 715);
        assert_eq!(later.admitted.len(), 84);
    }

    #[test]
    fn a_full_round_leaves_the_rest_without_spending_units() {
        let mut pace = Pace::default();
        let events: Vec<StoredEvent> = (0..10).map(|i| due(&format!("a{i}"), i)).collect();

        let paced = pace.admit(events, 4, 0);

        assert_eq!((paced.admitted.len(), paced.left.len()), (4, 6));
        assert!(paced.waiting.is_empty());
        assert_eq!(pace.units("a5", 0), AGGREGATE_WRITE_UNITS);
    }
}
