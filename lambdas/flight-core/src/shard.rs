//! The `due` shards: every event waiting to settle is filed under one of
//! [`DUE_SHARDS`] shards, by a hash of its aggregate id, so that settle
//! invocations can sweep disjoint parts of the work in parallel (a
//! [`Sweep`]). Claims keep exactly-once when sweeps overlap anyway; shards
//! keep them from competing for the same events, and spread the `due`
//! index's writes over as many partition keys (docs/scale.md).
//!
//! The count only ever grows by a multiple (8 → 32 → 64): an event filed
//! under shard `s` of an old count is still read, by the sweep that owns `s`.

use std::collections::BTreeSet;

use crate::ports::StoredEvent;

/// How many shards the `due` work is split into.
pub const DUE_SHARDS: u64 = 64;

/// Events read per shard for a round of `limit` over `shards` shards: an
/// even share with room for skew, at least 25 (and at most `limit`), so
/// that a round of 100 over 64 shards reads 1,600 items, not 6,400.
pub fn shard_page(limit: usize, shards: usize) -> usize {
    limit.min(limit.div_ceil(shards.max(1)).max(25))
}

/// What one due query over several shards found
/// ([`crate::ports::EventStore::due_page`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DuePage {
    /// Up to the query's limit, earliest due first.
    pub events: Vec<StoredEvent>,
    /// The shards that may hold due events `events` does not: their query
    /// filled its page ([`shard_page`]), or the limit cut some of what it
    /// found. Every other shard of the query returned all it had due (as
    /// far as the index showed at that read).
    pub open: BTreeSet<u64>,
}

impl DuePage {
    /// Merges each shard's page (at most `page` events, earliest due first):
    /// the earliest `limit` events of them all; a shard is open when its
    /// page was full or the limit cut it. The one rule of every store.
    pub fn merge(shards: Vec<(u64, Vec<StoredEvent>)>, page: usize, limit: usize) -> Self {
        let mut open = BTreeSet::new();
        let mut events = Vec::new();
        for (shard, found) in shards {
            if found.len() >= page {
                open.insert(shard);
            }
            events.extend(found);
        }
        events.sort_by(|a, b| {
            (a.due, &a.event.aggregate_id, &a.event.event_id).cmp(&(
                b.due,
                &b.event.aggregate_id,
                &b.event.event_id,
            ))
        });
        for cut in events.iter().skip(limit) {
            open.insert(due_shard(&cut.event.aggregate_id));
        }
        events.truncate(limit);
        DuePage { events, open }
    }
}

/// The shard of an aggregate's due events (FNV-1a of its id).
pub fn due_shard(aggregate_id: &str) -> u64 {
    fnv1a(aggregate_id.as_bytes()) % DUE_SHARDS
}

/// FNV-1a, 64-bit: the due shard's hash (stable across processes and
/// versions: a due event's shard is written into the store).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One of `of` parallel settle invocations: it sweeps the shards `s` with
/// `s % of == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    index: u64,
    of: u64,
}

/// A sweep that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    #[error("{of} sweeps: the count must divide {DUE_SHARDS} (1, 2, 4, 8, 16, 32 or 64)")]
    Count { of: u64 },
    #[error("sweep {index} of {of}: the index must be below the count")]
    Index { index: u64, of: u64 },
}

impl Sweep {
    /// The one sweep of every shard.
    pub const ALL: Sweep = Sweep { index: 0, of: 1 };

    /// Sweep `index` of `of`; `of` divides [`DUE_SHARDS`].
    pub fn new(index: u64, of: u64) -> Result<Self, SweepError> {
        if of == 0 || !DUE_SHARDS.is_multiple_of(of) {
            return Err(SweepError::Count { of });
        }
        if index >= of {
            return Err(SweepError::Index { index, of });
        }
        Ok(Sweep { index, of })
    }

    /// The shards it sweeps.
    pub fn shards(&self) -> impl Iterator<Item = u64> {
        (self.index..DUE_SHARDS).step_by(self.of as usize)
    }

    /// Whether this sweep holds an aggregate's due events.
    pub fn contains(&self, aggregate_id: &str) -> bool {
        due_shard(aggregate_id) % self.of == self.index
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    pub fn of(&self) -> u64 {
        self.of
    }
}

impl Default for Sweep {
    fn default() -> Self {
        Self::ALL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a_and_never_changes() {
        // Stored `due_shard` values depend on it: a change would lose due events.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_sweeps_of_a_count_cover_every_shard_once() {
        for of in [1, 2, 4, 8, 16, 32, 64] {
            let mut seen: Vec<u64> = (0..of)
                .flat_map(|i| Sweep::new(i, of).unwrap().shards())
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..DUE_SHARDS).collect::<Vec<_>>(), "{of} sweeps");
        }
    }

    #[test]
    fn a_count_that_does_not_divide_the_shards_is_refused() {
        assert_eq!(Sweep::new(0, 3), Err(SweepError::Count { of: 3 }));
        assert_eq!(Sweep::new(0, 0), Err(SweepError::Count { of: 0 }));
        assert_eq!(Sweep::new(4, 4), Err(SweepError::Index { index: 4, of: 4 }));
    }

    #[test]
    fn an_event_filed_under_an_old_count_of_shards_is_still_swept() {
        // Shard s of 8 or 32 is shard s of 64: the sweep of every count
        // that owns s reads it.
        for old_count in [8, 32] {
            assert_eq!(DUE_SHARDS % old_count, 0, "the count grew by a multiple");
            for aggregate in ["project-1", "arn:aws:s3:::bucket", "account-req-9"] {
                let old = fnv1a(aggregate.as_bytes()) % old_count;
                assert!(old < DUE_SHARDS);
                assert_eq!(due_shard(aggregate) % old_count, old);
                for of in [1, 2, 4, 8, 16, 32, 64] {
                    let owner = Sweep::new(old % of, of).unwrap();
                    assert!(
                        owner.shards().any(|s| s == old),
                        "{of} sweeps read shard {old}"
                    );
                }
            }
        }
    }
}
