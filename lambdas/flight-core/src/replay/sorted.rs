//! `flightctl replay --in-memory`: entries in any order, measured as
//! [`replay_sources`](super::replay_sources) measures them and handed over
//! as their lines in its order ([`sort_measurements`](crate::engine::sort_measurements):
//! time, metric, aggregate, event), without a [`Measurement`](crate::engine::Measurement)
//! per data point: the points, borrowed from the held events, are sorted
//! ([`report_order`]) and each one's line is written as it is handed over
//! ([`Point::write_line`](crate::engine::Point::write_line), the same bytes).

use std::io;

use crate::catalog::{Catalog, Metric};
use crate::engine::{for_each_point_unsorted, metric_ranks, report_order, EventFacts, Point};
use crate::envelope::Millis;

use super::in_memory::read_aggregates;
use super::{EntryRejection, Held, ReadError};

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
    /// More data points than an in-memory replay numbers (`u32::MAX`).
    #[error("more than {} data points to sort in memory: replay the input grouped by aggregate (streamed), or in parts", u32::MAX)]
    TooManyPoints,
}

/// A data point as the sort holds it: a [`Point`] without the environment,
/// which is the same for all (24 bytes instead of 40).
struct Found<'a> {
    metric: &'a Metric,
    event: &'a Held,
    value: f64,
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
    let mut points: Vec<Found<'_>> = Vec::with_capacity(read.entries);
    // Each point's time and metric's place in the report order, beside the
    // point's index: most comparisons end there, without reading the point.
    let mut order: Vec<(Millis, u32, u32)> = Vec::with_capacity(read.entries);
    let ranks = metric_ranks(catalog);
    // The rank of the metric of the point before (most often this one's).
    let mut last: Option<(&Metric, u32)> = None;
    aggregates.try_for_each(|events| {
        // Each aggregate's points in the engine's order: the sort below
        // puts them all in the report's.
        for_each_point_unsorted(catalog, events, |metric, event, value| {
            let rank = match last {
                Some((last, rank)) if std::ptr::eq(last, metric) => rank,
                _ => {
                    let index = catalog.metrics.iter().position(|m| std::ptr::eq(m, metric));
                    let rank = index.map_or(u32::MAX, |index| {
                        u32::try_from(ranks[index]).unwrap_or(u32::MAX)
                    });
                    last = Some((metric, rank));
                    rank
                }
            };
            // Wraps only past u32::MAX points, refused below before any use.
            order.push((event.time(), rank, points.len() as u32));
            points.push(Found {
                metric,
                event,
                value,
            });
        });
        match u32::try_from(points.len()) {
            Ok(_) => Ok(()),
            Err(_) => Err(SortedError::TooManyPoints),
        }
    })?;
    // The key is a data point's identity, so an unstable sort gives the one order.
    order.sort_unstable_by(|&(a_time, a_rank, a), &(b_time, b_rank, b)| {
        (a_time, a_rank).cmp(&(b_time, b_rank)).then_with(|| {
            let (a, b) = (&points[a as usize], &points[b as usize]);
            report_order(
                (
                    a_time,
                    &a.metric.name,
                    a.event.aggregate_id(),
                    a.event.event_id(),
                ),
                (
                    b_time,
                    &b.metric.name,
                    b.event.aggregate_id(),
                    b.event.event_id(),
                ),
            )
        })
    });
    let mut line = Vec::with_capacity(512);
    for &(_, _, index) in &order {
        line.clear();
        let Found {
            metric,
            event,
            value,
        } = points[index as usize];
        let point = Point {
            metric,
            event,
            value,
            environment,
        };
        point.write_line(&mut line).map_err(SortedError::Emit)?;
        line.push(b'\n');
        emit(&line).map_err(SortedError::Emit)?;
    }
    Ok(SortedOutcome {
        measurements: order.len(),
        rejections: read.rejections,
        entries: read.entries,
    })
}
