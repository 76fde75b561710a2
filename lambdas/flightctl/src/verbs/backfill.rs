//! `flightctl backfill`: publishes the never-published data points of a new
//! or changed metric from the stored events (the logic: `crate::backfill`).

use std::process::ExitCode;

use anyhow::Result;
use flight_core::replay::system_now;
use flight_core::Millis;

use crate::backfill;
use crate::target::TargetArgs;

/// Publish the never-published data points of a new or changed metric from the stored events.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "After a metric is added to the catalog or changed (and deployed), compute its data points \
from the events already in the store and publish those that were never published, each with the time of the \
event that completed it. Data points older than CloudWatch's 14 days (or over 2 hours ahead) are recorded and \
reported, not sent. Data points already published, or pending with the settle function, are left alone, and \
each one published is recorded (as the settle function records its own), so running it twice publishes \
nothing the second time; two backfills at once never publish one data point twice.\n\n\
It reads the whole event table (a scan with a filter on the metric's event types), which is fine for an \
occasional operator task; --dry-run shows what it would publish (a JSON line per data point on stdout).\n\n\
Exit status: 0 when done, 2 when it could not run or stopped part-way (run it again: nothing is sent twice).",
    after_help = "Examples:\n  flightctl backfill --metric GuardrailLeadTime --dry-run\n  \
flightctl backfill --catalog my-catalog.yaml --metric GuardrailResolutionTime\n  \
flightctl backfill --env dev --metric ProjectLeadTime --since 14d"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The metric (its name in the catalog).
    #[arg(long, value_name = "NAME")]
    pub metric: String,
    /// Only data points completed in this period back from now (e.g. 14d). Default: all stored events.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<Millis>,
    /// Plan only: print what would be published; publish and record nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs the backfill and prints its summary (and, with `--dry-run`, its plan).
pub async fn run(args: Args) -> Result<ExitCode> {
    let target = super::resolve(&args.target).await?;
    let sink =
        flight_aws::CloudWatchSink::new(target.cloudwatch(), target.catalog.namespace.clone());
    let since = args.since.map(|s| system_now() - s);
    let outcome = backfill::run(
        &target.store(),
        &sink,
        &target.catalog,
        &args.metric,
        &target.deployment.environment,
        since,
        args.dry_run,
    )
    .await?;
    let summary = backfill::summary(
        &args.metric,
        &target.deployment.environment,
        &outcome,
        args.dry_run,
    );
    if args.dry_run {
        for item in &outcome.plan.items {
            if let Some(m) = &item.measurement {
                println!("{}", flight_core::engine::format_measurement(m));
            }
        }
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}
