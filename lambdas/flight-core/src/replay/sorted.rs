//! `flightctl replay --in-memory`: entries in any order, measured as
//! [`replay_sources`](super::replay_sources) measures them and handed over
//! as their lines in its order ([`sort_measurements`](crate::engine::sort_measurements):
//! time, metric, aggregate, event), without a [`Measurement`](crate::engine::Measurement)
//! per data point: each point's line is written once into one buffer
//! ([`Point::write_line`](crate::engine::Point::write_line), the same bytes),
//! and the points are sorted beside it ([`report_order`]).

use std::io;

use crate::catalog::Catalog;
use crate::engine::{for_each_point, report_order, EventFacts};
use crate::envelope::Millis;

use super::{read_aggregates, EntryRejection, ReadError};

/// What an in-memory replay handed over.
#[derive(Debug, Clone, Default)]
pub struct SortedOutcome {
    /// Lines (measurements) handed to the caller.
    pub measurements: usize,
    pub rejections: Vec<EntryRejection>,
    /// Entries read, in all files.
    pub entries: usize,
}

/// Why an in-memory replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum SortedError {
    /// A file could not be read (I/O).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The caller could not take a line (e.g. stdout closed).
    #[error("cannot write the measurements: {0}")]
    Emit(io::Error),
}

/// A data point's line in the buffer, and its place in the order.
struct Line<'a> {
    time: Millis,
    metric: &'a str,
    aggregate_id: &'a str,
    event_id: &'a str,
    start: usize,
    end: usize,
}

/// Replays entry files read from `sources` (name, reader), in order, as
/// [`replay_sources`](super::replay_sources) does (any order of entries,
/// every event held until the input ends), and passes each measurement's
/// line (with its newline) to `emit` in that replay's order.
pub fn replay_sorted<R: io::Read>(
    catalog: &Catalog,
    sources: impl IntoIterator<Item = (String, R)>,
    environment: Option<&str>,
    now: Millis,
    mut emit: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<SortedOutcome, SortedError> {
    let (aggregates, read) = read_aggregates(catalog, sources, now)?;
    let mut text = Vec::new();
    let mut lines: Vec<Line<'_>> = Vec::new();
    for events in &aggregates {
        for_each_point(catalog, events, environment, |point| {
            let start = text.len();
            point.write_line(&mut text)?;
            text.push(b'\n');
            lines.push(Line {
                time: point.event.time(),
                metric: &point.metric.name,
                aggregate_id: point.event.aggregate_id(),
                event_id: point.event.event_id(),
                start,
                end: text.len(),
            });
            Ok(())
        })
        .map_err(SortedError::Emit)?;
    }
    // The key is a data point's identity, so an unstable sort gives the one order.
    lines.sort_unstable_by(|a, b| {
        report_order(
            (a.time, a.metric, a.aggregate_id, a.event_id),
            (b.time, b.metric, b.aggregate_id, b.event_id),
        )
    });
    for line in &lines {
        emit(&text[line.start..line.end]).map_err(SortedError::Emit)?;
    }
    Ok(SortedOutcome {
        measurements: lines.len(),
        rejections: read.rejections,
        entries: read.entries,
    })
}
