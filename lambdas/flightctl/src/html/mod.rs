//! `flightctl report --html FILE`: the report as one self-contained HTML page
//! with charts, for the local stack, an offline replay or a review meeting.
//! [`view`] arranges the data the report computed (per SLO: its status over
//! its period and the values behind it), [`charts`] draws each chart with
//! `plotters` as SVG, [`page`] lays them out with inline CSS; [`axis`] writes
//! the axes' labels in the metrics' units. See docs/report.md.

pub mod axis;
pub mod charts;
pub mod page;
pub mod view;

use std::path::Path;

use anyhow::{Context, Result};
use flight_core::names::Deployment;
use flight_core::reads::MeasurementLog;
use flight_core::Catalog;

use crate::report::{Options, SloReport};

pub use view::{Point, Report, SloView};

/// Builds the report of `reports` (computed with `options`) from `store`'s
/// records and writes it to `path` as HTML, saying so on stderr; `source`
/// says where the records come from, for people.
pub async fn write<S: MeasurementLog + ?Sized>(
    path: &Path,
    store: &S,
    catalog: &Catalog,
    deployment: &Deployment,
    options: &Options,
    reports: &[SloReport],
    source: &str,
) -> Result<()> {
    let report = Report::build(store, catalog, deployment, options, reports, source).await?;
    let html = page::render(&report)?;
    std::fs::write(path, html)
        .with_context(|| format!("cannot write the HTML report to {}", path.display()))?;
    eprintln!(
        "flightctl: wrote the HTML report ({} SLOs) to {}",
        report.slos.len(),
        path.display()
    );
    Ok(())
}
