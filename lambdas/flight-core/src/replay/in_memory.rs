//! Replay's reading of a whole input into memory ([`replay_sources`](super::replay_sources),
//! `flightctl replay --in-memory`): every event is held, in one list, and
//! once the input ends the events' indices are put in order of aggregate,
//! each aggregate's together and in input order, so the engine measures an
//! aggregate from the list of its events.
//!
//! Events are appended as they are read and their indices sorted once at
//! the end (a counting sort by aggregate), rather than scattered into a list per
//! aggregate as they come: a million generated events are 415,385
//! aggregates, mostly of two or three events, and a list each (room for
//! four at least) held more than the events did. The reader keeps one copy
//! of each aggregate id and numbers the aggregates
//! ([`QuickReader::keeping_aggregates`]).

use std::cell::RefCell;

use crate::catalog::Catalog;
use crate::engine::EventFacts;
use crate::envelope::Millis;

use super::entries::EntriesError;
use super::held::Held;
use super::{chunks, held_events, EntryRejection, QuickReader, ReadError, ReplayOutcome};

/// Held events by aggregate (module documentation).
#[derive(Debug, Default)]
pub(super) struct Aggregates {
    /// In input order.
    events: Vec<Held>,
    /// The index of each event in `events`, in order of aggregate.
    order: Vec<usize>,
    /// Where each aggregate's events end in `order` (none is empty).
    ends: Vec<usize>,
}

impl Aggregates {
    /// Each aggregate's events, in input order, handed to `each`; the
    /// aggregates in order of their earliest event.
    pub(super) fn try_for_each<'a, X>(
        &'a self,
        mut each: impl FnMut(&[&'a Held]) -> Result<(), X>,
    ) -> Result<(), X> {
        let mut aggregate: Vec<&Held> = Vec::new();
        let mut start = 0;
        for &end in &self.ends {
            aggregate.clear();
            aggregate.extend(self.order[start..end].iter().map(|&i| &self.events[i]));
            each(&aggregate)?;
            start = end;
        }
        Ok(())
    }

    /// `events` (in input order) by aggregate: `aggregate[i]` is the
    /// ordinal of event `i`'s aggregate, below `aggregates`. The events stay
    /// where they are (moving a million of them into aggregate order took
    /// longer than reading each aggregate's where they lie).
    fn group(events: Vec<Held>, aggregate: Vec<usize>, aggregates: usize) -> Aggregates {
        debug_assert_eq!(events.len(), aggregate.len());
        // The aggregates in order of their earliest event: the report's data
        // points, in time order, are then mostly near each other in memory.
        let place_of = places_by_earliest(&events, &aggregate, aggregates);
        // Where each aggregate ends: the running count of the events of it
        // and of those before it.
        let mut ends = vec![0; aggregates];
        for &a in &aggregate {
            ends[place_of[a]] += 1;
        }
        let mut end = 0;
        for count in &mut ends {
            end += *count;
            *count = end;
        }
        // Each event's index at its aggregate's next place (a counting sort).
        let mut next: Vec<usize> = std::iter::once(0).chain(ends.iter().copied()).collect();
        let mut order = vec![0; events.len()];
        for (index, &a) in aggregate.iter().enumerate() {
            let place = &mut next[place_of[a]];
            order[*place] = index;
            *place += 1;
        }
        // An aggregate met only in a file that turned out unreadable has no
        // events (its earliest is none: it is among the last).
        ends.dedup();
        ends.retain(|&end| end > 0);
        Aggregates {
            events,
            order,
            ends,
        }
    }
}

/// The place of each aggregate (by ordinal) in order of its earliest event
/// (ties in order of ordinal); those without events last.
fn places_by_earliest(events: &[Held], aggregate: &[usize], aggregates: usize) -> Vec<usize> {
    let mut earliest = vec![Millis::MAX; aggregates];
    for (event, &a) in events.iter().zip(aggregate) {
        earliest[a] = earliest[a].min(event.time());
    }
    let mut by_time: Vec<usize> = (0..aggregates).collect();
    by_time.sort_unstable_by_key(|&a| (earliest[a], a));
    let mut place_of = vec![0; aggregates];
    for (place, a) in by_time.into_iter().enumerate() {
        place_of[a] = place;
    }
    place_of
}

/// Every entry of `sources` read and held, in order of aggregate
/// ([`Aggregates`]), with the rejections and the count of entries
/// ([`replay_sources`](super::replay_sources)' reading). A file that turns
/// out not to be an entry file adds none of its events.
pub(super) fn read_aggregates<R: std::io::Read>(
    catalog: &Catalog,
    sources: impl IntoIterator<Item = (String, R)>,
    now: Millis,
) -> Result<(Aggregates, ReplayOutcome), ReadError> {
    let mut outcome = ReplayOutcome::default();
    let mut events: Vec<Held> = Vec::new();
    // The ordinal of each event's aggregate, in order of first appearance.
    let mut aggregate: Vec<usize> = Vec::new();
    let quick_reader = RefCell::new(QuickReader::keeping_aggregates());
    for (file, reader) in sources {
        let mut rejections = Vec::new();
        let mut index = 0;
        let entries_before = outcome.entries;
        let held_before = events.len();
        let quick = |bytes: &[u8]| quick_reader.borrow_mut().read(catalog, bytes);
        let read = chunks::for_each_raw_entry(reader, quick, |item| {
            match held_events(catalog, &quick_reader, item, entries_before + index, now) {
                Ok(held) => {
                    for (event, ordinal) in held {
                        events.push(event);
                        aggregate.push(ordinal);
                    }
                }
                Err(reason) => rejections.push(EntryRejection {
                    file: file.clone(),
                    index,
                    reason,
                }),
            }
            index += 1;
            true
        });
        match read {
            Ok(()) => {
                outcome.entries += index;
                outcome.rejections.extend(rejections);
            }
            Err(EntriesError::Io(error)) => return Err(ReadError { file, error }),
            Err(EntriesError::Invalid(reason)) => {
                events.truncate(held_before);
                aggregate.truncate(held_before);
                outcome.rejections.push(EntryRejection {
                    file,
                    index: 0,
                    reason: format!("file unreadable: {reason}"),
                })
            }
        }
    }
    let aggregates = quick_reader.borrow().aggregates_held();
    Ok((Aggregates::group(events, aggregate, aggregates), outcome))
}
