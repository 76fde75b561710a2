//! Streaming replay of input grouped by aggregate (`flightctl replay`'s
//! default): memory bounded by the open aggregate, not by the input.
//!
//! The rule: every data point depends on the events of one aggregate only
//! ([`measure_all`](crate::engine::measure_all)), so once an aggregate's entries are followed by another
//! aggregate's, it is closed: measured, handed to the caller and freed. That
//! gives the same measurements as [`replay_sources`](super::replay_sources)
//! exactly when each aggregate's entries are contiguous in the input (files in
//! the order given; the aggregates in any order, e.g. sorted, or as a DynamoDB
//! export groups them by partition key). Whether they are is checked, not
//! assumed: a 64-bit hash of every aggregate met is kept (about 16 bytes
//! per aggregate; seeded per process, so ids cannot be chosen to collide),
//! and an aggregate that reappears after another one started stops the
//! replay with [`GroupedError::NotGrouped`] instead of measuring a part of
//! its history. A hash collision can only raise that error wrongly, never
//! change a measurement.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use crate::catalog::Catalog;
use crate::engine::{for_each_point, EventFacts, Point};
use crate::envelope::Millis;

use super::chunks::for_each_raw_entry;
use super::held::Held;
use super::scan::QuickReader;
use super::{held_events, EntriesError, EntryRejection, ReadError};

/// What a grouped replay produced (its measurements went to the caller).
#[derive(Debug, Clone, Default)]
pub struct GroupedOutcome {
    /// Measurements handed to the caller.
    pub measurements: usize,
    /// Aggregates measured.
    pub aggregates: usize,
    pub rejections: Vec<EntryRejection>,
    /// Entries read, in all files.
    pub entries: usize,
    /// The most events held at once (the longest aggregate).
    pub most_events_held: usize,
}

/// Why a grouped replay stopped. Measurements of the aggregates closed
/// before have been handed to the caller already.
#[derive(Debug, thiserror::Error)]
pub enum GroupedError {
    /// A file could not be read (I/O).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A file is not a PutEvents entry file (found while streaming it).
    #[error("{file}: file unreadable: {reason} (streaming stops here: the entries before it were measured already)")]
    Unreadable { file: String, reason: String },
    /// An aggregate's entries are not contiguous.
    #[error(
        "{file}: entry {index}: aggregate {aggregate_id} reappears after other aggregates' entries: \
         streaming needs each aggregate's entries together (the aggregates in any order, e.g. the \
         input sorted by aggregate_id); sort the input that way, or replay with --in-memory, \
         which holds every event in memory"
    )]
    NotGrouped {
        file: String,
        /// Index of the entry in its file (0-based).
        index: usize,
        aggregate_id: String,
    },
    /// The caller could not take the measurements (e.g. stdout closed).
    #[error("cannot write the measurements: {0}")]
    Emit(std::io::Error),
}

/// Replays entry files read from `sources` (name, reader), in order, holding
/// only the events of the open aggregate (module documentation): each
/// aggregate's data points are passed to `emit`, one at a time in the order
/// [`measure_all`](crate::engine::measure_all) gives them, as soon as its
/// entries end (never all held: [`for_each_point`]; [`Point::measurement`]
/// is the measurement, [`Point::write_line`] its line). Entries are validated and rejected
/// as [`replay_sources`](super::replay_sources) does.
pub fn replay_grouped<R: std::io::Read>(
    catalog: &Catalog,
    sources: impl IntoIterator<Item = (String, R)>,
    environment: Option<&str>,
    now: Millis,
    mut emit: impl FnMut(Point<'_, Held>) -> std::io::Result<()>,
) -> Result<GroupedOutcome, GroupedError> {
    let mut outcome = GroupedOutcome::default();
    let mut open: Vec<Held> = Vec::new();
    let quick_reader = RefCell::new(QuickReader::default());
    // The aggregates met, by the hash of their id: the open one among them.
    let mut met = Met::default();
    let hasher = foldhash::fast::RandomState::default();
    // Measures the open aggregate, hands its measurements over and frees it.
    let mut close =
        |open: &mut Vec<Held>, outcome: &mut GroupedOutcome| -> Result<(), GroupedError> {
            if open.is_empty() {
                return Ok(());
            }
            outcome.most_events_held = outcome.most_events_held.max(open.len());
            let emitted = for_each_point(catalog, open, environment, |point| {
                outcome.measurements += 1;
                emit(point)
            });
            open.clear();
            outcome.aggregates += 1;
            emitted.map_err(GroupedError::Emit)
        };
    for (file, reader) in sources {
        let mut index = 0;
        let mut stop: Option<GroupedError> = None;
        let quick = |bytes: &[u8]| quick_reader.borrow_mut().read(catalog, bytes);
        let read = for_each_raw_entry(reader, quick, |item| {
            let event = held_events(catalog, &quick_reader, item, outcome.entries + index, now);
            index += 1;
            let events = match event {
                Ok(events) => events,
                Err(reason) => {
                    outcome.rejections.push(EntryRejection {
                        file: file.clone(),
                        index: index - 1,
                        reason,
                    });
                    return true;
                }
            };
            // An AWS service event may become several events of one aggregate.
            for (event, _) in events {
                let same = open.first().is_some_and(|e| e.same_aggregate(&event));
                if !same {
                    // Met before, and not open: its entries ended already.
                    if !met.insert(hasher.hash_one(event.aggregate_id())) {
                        stop = Some(GroupedError::NotGrouped {
                            file: file.clone(),
                            index: index - 1,
                            aggregate_id: event.aggregate_id().to_string(),
                        });
                        return false;
                    }
                    if let Err(e) = close(&mut open, &mut outcome) {
                        stop = Some(e);
                        return false;
                    }
                }
                open.push(event);
            }
            true
        });
        if let Some(error) = stop {
            return Err(error);
        }
        match read {
            Ok(()) => outcome.entries += index,
            Err(EntriesError::Io(error)) => return Err(ReadError { file, error }.into()),
            Err(EntriesError::Invalid(reason)) => {
                return Err(GroupedError::Unreadable { file, reason })
            }
        }
    }
    close(&mut open, &mut outcome)?;
    Ok(outcome)
}

/// The aggregates met, by the hash of their id: hashed already, so the set
/// takes the hash as it is.
type Met = HashSet<u64, BuildHasherDefault<Prehashed>>;

/// A [`Hasher`] for keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}
