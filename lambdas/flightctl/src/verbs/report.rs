//! `flightctl report`: where each SLO stands at an instant, computed exactly
//! from the measurement records in the store, with its error budget and its
//! alarms' burn rates (the logic: `crate::report`), then each metric's
//! refused data points and series against its budget (`crate::series_report`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use flight_core::names::Deployment;
use flight_core::reads::{MeasurementLog, SeriesLog};
use flight_core::replay::system_now;
use flight_core::{Catalog, Millis};

use crate::instant::{self, When};
use crate::target::TargetArgs;
use crate::{records, report, series_report};

/// Where each SLO stands: attainment, error budget, burn rates and the alerts firing, exactly, from the store.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "For each SLO of the catalog, at an instant (now, or --at): over its period holding that \
instant (rolling: the last 28d, 7d, ... before it; calendar: from the start of its month or week, in its time \
zone, to it), its values, how many are good (on the good side of the threshold, the threshold itself good) and \
bad, the attainment (percent good), the error budget (the bad values the objective allows: values x (100 - \
objective)%), how much of it is spent (the bad values) and left, and whether the SLO is met. Then, per burn-rate \
alarm the catalog generates, its window's burn rate at the instant (bad share of the window's values / budget \
share) against its factor, and which alerts (page, ticket) fire. Computed exactly from the measurement records \
in the event store, not from CloudWatch's percentile approximations, with flight-core's evaluation model (the \
one `flightctl alerts backtest` runs).\n\n\
The burn rates count every stored record as visible (publishing delay 0): CloudWatch sees a data point only \
after the lateness window and the next sweep (6m by default), so right after a bad value the report can show \
an alert a few minutes before CloudWatch fires it; --publish-delay 6m shows what CloudWatch saw at the instant.\n\n\
--since DURATION reports the SLO table over that long back from the instant instead of each SLO's period (the \
burn rates keep their windows); the refused data points and series below cover --since (default 24h) back from \
the instant.\n\n\
Exit status: 0 when the report was made (met or not, firing or not), 2 when the store cannot be read.",
    after_help = "Examples:\n  flightctl report                     # the local stack, now\n  \
flightctl report --env prod --at 2026-11-05T09:00:00Z\n  \
flightctl report --env prod --at 3h --publish-delay 6m   # what CloudWatch saw three hours ago\n  \
flightctl report --env prod --since 30d\n  \
flightctl report --env dev --json | jq '.slos[] | {name, error_budget, firing}'\n  \
flightctl report --from-files history/*.json --html report.html   # offline, no AWS"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The instant to report on: an RFC 3339 time, or a duration back from now (e.g. 3h). Default: now.
    #[arg(long, value_name = "TIME", value_parser = instant::parse)]
    pub at: Option<When>,
    /// Report over this long back from the instant (e.g. 24h, 7d, 30d) instead of each SLO's period.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<Millis>,
    /// Count a record visible to the alarms this long after its time (e.g. 6m). Default: 0.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub publish_delay: Option<Millis>,
    /// Print JSON for scripts instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML page with charts (docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
    /// PutEvents entry files to measure offline (as `flightctl replay` does) instead of reading a
    /// store; no AWS. The instant defaults to the last record's time.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub from_files: Vec<std::path::PathBuf>,
}

/// Prints the SLOs' status and burn rates as tables, or as JSON with `--json`.
pub async fn run(args: Args) -> Result<ExitCode> {
    let now = system_now();
    if !args.from_files.is_empty() {
        let (_, catalog) = crate::catalog::load(args.target.catalog.as_deref())?;
        let records = records::read_files(&catalog, &args.from_files, now, "report")?;
        let last = records.span().map_or(now, |(_, last)| last + 1);
        let source = Source {
            catalog: &catalog,
            deployment: &records::offline_deployment(args.target.env.as_deref()),
            text: format!(
                "{} records measured offline from {} PutEvents file(s)",
                records.len(),
                args.from_files.len()
            ),
        };
        return render(&records, &source, &args, last, now).await;
    }
    let target = super::resolve(&args.target).await?;
    let source = Source {
        catalog: &target.catalog,
        deployment: &target.deployment,
        text: format!("table {}", target.deployment.event_table()),
    };
    render(&target.store(), &source, &args, now, now).await
}

/// Where the records come from: the catalog and deployment they are read
/// with, and a description for people.
struct Source<'a> {
    catalog: &'a Catalog,
    deployment: &'a Deployment,
    text: String,
}

/// The report of `store` at `--at` (default `default_at`).
async fn render<S: MeasurementLog + SeriesLog + ?Sized>(
    store: &S,
    source: &Source<'_>,
    args: &Args,
    default_at: Millis,
    now: Millis,
) -> Result<ExitCode> {
    let (catalog, deployment) = (source.catalog, source.deployment);
    let at = args.at.map_or(default_at, |w| w.resolve(now));
    let options = report::Options {
        at,
        since: args.since,
        publish_delay: args.publish_delay.map_or(0, |d| (d / 1000) as u64),
    };
    let reports = report::reports(store, catalog, deployment, &options)
        .await
        .with_context(|| format!("cannot read the measurement records of {}", source.text))?;
    if let Some(path) = &args.html {
        crate::html::write(
            path,
            store,
            catalog,
            deployment,
            &options,
            &reports,
            &source.text,
        )
        .await?;
    }
    let metrics = series_report::rows(
        store,
        catalog,
        at - args.since.unwrap_or(24 * 3_600_000),
        at + 1,
    )
    .await?;
    if args.json {
        let mut value = report::to_json(catalog, &deployment.environment, now, &options, &reports);
        value["metrics"] = series_report::to_json(&metrics);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "SLOs of environment {} at {}, from the measurement records in {}",
            deployment.environment,
            flight_core::envelope::format_time(at),
            source.text
        );
        let statuses: Vec<_> = reports.iter().map(|r| r.status.clone()).collect();
        print!("{}", report::table(catalog, &statuses));
        print!(
            "{}",
            report::burn_table(&reports, at, options.publish_delay)
        );
        print!("{}", series_report::table(&metrics));
    }
    Ok(ExitCode::SUCCESS)
}
