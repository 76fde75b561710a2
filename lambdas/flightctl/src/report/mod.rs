//! `flightctl report`: where each SLO stands at an instant, computed exactly
//! from the measurement records in the event store ([`MeasurementLog`]: the
//! `by-metric` index in DynamoDB): over its period holding that instant (or
//! over `--since` back from it), its values, good and bad, attainment and
//! error budget, and what its burn-rate alarms see then. The arithmetic and
//! the evaluation model are flight-core's ([`flight_core::slo`],
//! [`period_budget`]); this module reads the records and prints them
//! ([`text`], [`json`]).

mod json;
mod text;

pub use json::to_json;
pub use text::{burn_table, table, threshold_text};

use anyhow::Result;
use flight_core::alerting::{period_budget, CompositeAlarm, SloAlarms, WindowReading};
use flight_core::duration::Seconds;
use flight_core::names::Deployment;
use flight_core::reads::MeasurementLog;
use flight_core::slo::{evaluate, SloStatus};
use flight_core::{Catalog, Millis};

use crate::records;

/// What a report is about: the instant, the span, the publishing delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The instant reported on (`--at`, default now).
    pub at: Millis,
    /// Report over this long back from `at` instead of each SLO's period.
    pub since: Option<Millis>,
    /// How long after its time a record counts as visible to the alarms: 0
    /// by default (everything in the store is there), or the deployment's
    /// delay to see what CloudWatch saw at `at`.
    pub publish_delay: Seconds,
}

impl Options {
    /// A report at `at` over each SLO's period, every record visible.
    pub fn at(at: Millis) -> Options {
        Options {
            at,
            since: None,
            publish_delay: 0,
        }
    }
}

/// One SLO at the report's instant.
#[derive(Debug, Clone, PartialEq)]
pub struct SloReport {
    /// Values, good and bad over its period (or `--since`), and its budget.
    pub status: SloStatus,
    /// Each of its window alarms' burn rate at the instant.
    pub burn_rates: Vec<WindowReading>,
    /// Its composite alarms (page, ticket) in ALARM at the instant.
    pub firing: Vec<CompositeAlarm>,
}

/// The span an SLO is reported over: its period holding `at`, or `since` back from it.
fn span(slo: &flight_core::catalog::Slo, options: &Options) -> (Millis, Millis) {
    match options.since {
        Some(length) => (options.at - length, options.at),
        None => slo.period.bounds(options.at),
    }
}

/// Every SLO of the catalog at `options.at`, from the store's measurement
/// records: one read per metric (in DynamoDB, a paginated query of the
/// `by-metric` index), from the earliest instant any of its SLOs needs (its
/// period's start, or its longest alarm window before `at`).
pub async fn reports<S: MeasurementLog + ?Sized>(
    store: &S,
    catalog: &Catalog,
    deployment: &Deployment,
    options: &Options,
) -> Result<Vec<SloReport>> {
    let alarms: Vec<SloAlarms> = catalog
        .slos
        .iter()
        .map(|slo| SloAlarms::new(catalog, deployment, slo))
        .collect();
    let earliest = alarms
        .iter()
        .map(|a| {
            let longest = a.windows.iter().map(|w| w.window).max().unwrap_or(0);
            span(&a.slo, options)
                .0
                .min(options.at - longest as Millis * 1000)
        })
        .min()
        .unwrap_or(options.at);
    let metrics = catalog.slos.iter().map(|s| s.metric.as_str());
    let records = records::from_store(store, metrics, earliest, options.at, |_, _| {}).await?;
    Ok(alarms
        .iter()
        .map(|alarms| {
            let points = records.of(&alarms.slo.metric);
            let budget = period_budget(alarms, points, options.at, options.publish_delay);
            let status = match options.since {
                Some(_) => {
                    let (since, until) = span(&alarms.slo, options);
                    evaluate(&alarms.slo, points, since, until)
                }
                None => budget.status,
            };
            SloReport {
                status,
                burn_rates: budget.burn_rates,
                firing: alarms
                    .composites
                    .iter()
                    .filter(|c| budget.firing.contains(&c.name))
                    .cloned()
                    .collect(),
            }
        })
        .collect())
}

/// The status of every SLO of the catalog at `now`, over its period or
/// `since` back from `now` (the first part of [`reports`]).
pub async fn statuses<S: MeasurementLog + ?Sized>(
    store: &S,
    catalog: &Catalog,
    since: Option<Millis>,
    now: Millis,
) -> Result<Vec<SloStatus>> {
    let options = Options {
        since,
        ..Options::at(now)
    };
    let reports = reports(store, catalog, &Deployment::new("report"), &options).await?;
    Ok(reports.into_iter().map(|r| r.status).collect())
}
