//! `flightctl report`: where each SLO stands, computed exactly from the
//! measurement records in the store (the logic: `crate::report`), then each
//! metric's refused data points and series against its budget
//! (`crate::series_report`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use flight_core::replay::system_now;
use flight_core::Millis;

use crate::target::TargetArgs;
use crate::{report, series_report};

/// Where each SLO stands: attainment and error budget left, exactly, from the store.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "For each SLO of the catalog: its data points over its window (or --since), how many are \
good (on the good side of the threshold), the attainment (percent good), the error budget (the bad data points \
the objective allows) and how much of it is left, and whether the SLO is met. Computed exactly from the \
measurement records in the event store, not from CloudWatch's percentile approximations.\n\n\
Exit status: 0 when the report was made (met or not), 2 when the store cannot be read.",
    after_help = "Examples:\n  flightctl report                     # the local stack\n  \
flightctl report --env prod --since 30d\n  flightctl report --env dev --json | jq '.slos[] | select(.status == \"breached\")'"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Report over this period back from now (e.g. 24h, 7d, 30d) instead of each SLO's window.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<Millis>,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also write the report as one self-contained HTML page with charts (docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

/// Prints the SLOs' status as a table, or as JSON with `--json`.
pub async fn run(args: Args) -> Result<ExitCode> {
    let target = super::resolve(&args.target).await?;
    let now = system_now();
    let statuses = report::statuses(&target.store(), &target.catalog, args.since, now)
        .await
        .with_context(|| {
            format!(
                "cannot read the measurement records of environment {} (table {})",
                target.deployment.environment,
                target.deployment.event_table()
            )
        })?;
    if let Some(path) = &args.html {
        let source = format!("table {}", target.deployment.event_table());
        let env = &target.deployment.environment;
        crate::html::write(
            path,
            &target.store(),
            &target.catalog,
            &statuses,
            env,
            &source,
            now,
        )
        .await?;
    }
    let metrics = series_report::rows(
        &target.store(),
        &target.catalog,
        now - args.since.unwrap_or(24 * 3_600_000),
        now + 1,
    )
    .await?;
    if args.json {
        let mut value = report::to_json(
            &target.catalog,
            &target.deployment.environment,
            now,
            &statuses,
        );
        value["metrics"] = series_report::to_json(&metrics);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "SLOs of environment {} at {}, from the measurement records in table {}",
            target.deployment.environment,
            flight_core::envelope::format_time(now),
            target.deployment.event_table()
        );
        print!("{}", report::table(&target.catalog, &statuses));
        print!("{}", series_report::table(&metrics));
    }
    Ok(ExitCode::SUCCESS)
}
