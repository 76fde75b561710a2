//! What a sweep knows is due, between its rounds (issue 13). Each shard's
//! query reads a page (earliest due first) and a round takes 100 of them
//! all, so most of what was read is still due at the next round: it is
//! kept, and a shard is asked again only when nothing is known of it and
//! its last page was full (more may be due beyond it). A shard whose query
//! returned less than its page is never asked again in this sweep: what the
//! index shows or what becomes due after that read is the next sweep's.

use std::collections::{BTreeMap, BTreeSet};

use crate::ports::{EventRef, StoredEvent};
use crate::shard::{due_shard, DuePage};

/// Due events read and not yet taken, and the shards that may hold more.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// By shard, earliest due first.
    by_shard: BTreeMap<u64, Vec<StoredEvent>>,
    /// Shards that may hold due events beyond what is known of them.
    open: BTreeSet<u64>,
}

impl Known {
    /// Nothing known yet: every shard of the sweep is to be asked.
    pub fn new(shards: impl IntoIterator<Item = u64>) -> Self {
        Known {
            by_shard: BTreeMap::new(),
            open: shards.into_iter().collect(),
        }
    }

    /// The shards to ask now: open, and nothing of them known.
    pub fn to_ask(&self) -> Vec<u64> {
        self.open
            .iter()
            .copied()
            .filter(|s| self.by_shard.get(s).is_none_or(Vec::is_empty))
            .collect()
    }

    /// Files what a query of `asked` found (a shard cut by the query's limit
    /// or with a full page stays open).
    pub fn file(&mut self, asked: &[u64], page: DuePage) {
        for shard in asked {
            self.open.remove(shard);
            self.by_shard.remove(shard);
        }
        self.open.extend(page.open);
        self.put_back(page.events);
    }

    /// Takes every known event out, earliest due first, but those of `held`
    /// (in flight already: a query may show them before their lease).
    pub fn take_all(&mut self, held: &BTreeSet<EventRef>) -> Vec<StoredEvent> {
        let mut all: Vec<StoredEvent> = std::mem::take(&mut self.by_shard)
            .into_values()
            .flatten()
            .filter(|e| !held.contains(&e.reference()))
            .collect();
        all.sort_by(|a, b| {
            (a.due, &a.event.aggregate_id, &a.event.event_id).cmp(&(
                b.due,
                &b.event.aggregate_id,
                &b.event.event_id,
            ))
        });
        all
    }

    /// Keeps events not taken (in due order) for a later round.
    pub fn put_back(&mut self, events: Vec<StoredEvent>) {
        for e in events {
            let shard = due_shard(&e.event.aggregate_id);
            self.by_shard.entry(shard).or_default().push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_is_asked_again_only_when_open_and_nothing_of_it_is_known() {
        let mut known = Known::new([1, 2, 3]);
        assert_eq!(known.to_ask(), [1, 2, 3]);

        // Shard 1 filled its page, 2 and 3 did not; nothing known of 3.
        known.file(
            &[1, 2, 3],
            DuePage {
                events: Vec::new(),
                open: [1].into(),
            },
        );

        assert_eq!(known.to_ask(), [1]);
        known.file(&[1], DuePage::default());
        assert!(known.to_ask().is_empty());
        assert!(known.take_all(&BTreeSet::new()).is_empty());
    }
}
