//! `flightctl health`: a check per part of an environment (the logic:
//! `crate::health`).

use std::process::ExitCode;

use anyhow::Result;
use flight_core::replay::system_now;
use flight_core::Millis;

use crate::health;
use crate::target::TargetArgs;

/// Check every part of an environment: bus, rules, functions, dead-letter queues, tables, backlog.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "A check per part, named `<kind>:<name>`: the bus exists; each function's rule is ENABLED \
and targets it with a dead-letter queue; each function is present (in AWS: the Lambda function is Active and had \
no Errors in --errors-since; on the local stack, where a dispatcher stands in for Lambda: its queue exists and \
redrives to its dead-letter queue); each dead-letter queue is empty; the tables are ACTIVE; and no settled data \
points have waited longer than --backlog-after to be published. Parts of the capture function are checked \
where the capture table exists.\n\n\
With --json: {\"<part>\": {\"healthy\": true, \"status\": \"...\"}, ...}.\n\n\
Exit status: 0 when every part is healthy, 1 when any is not, 2 when the check could not run.",
    after_help = "Examples:\n  flightctl health                     # the local stack\n  \
flightctl health --env dev --json\n  flightctl health --env prod --errors-since 1h --backlog-after 15m"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print JSON for scripts instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How far back Lambda function errors count.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::duration::parse)]
    pub errors_since: Millis,
    /// How long settled data points may wait to be published before the backlog is unhealthy.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = crate::duration::parse)]
    pub backlog_after: Millis,
}

/// Prints each part's check; exit 1 when any part is unhealthy.
pub async fn run(args: Args) -> Result<ExitCode> {
    let target = super::resolve(&args.target).await?;
    let options = health::Options {
        errors_since: args.errors_since,
        backlog_after: args.backlog_after,
        now: system_now(),
    };
    let report = health::check(&target, options).await;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&health::to_json(&report))?
        );
    } else {
        print!(
            "{}",
            health::text(
                &format!("environment {}", target.deployment.environment),
                &report
            )
        );
    }
    Ok(super::status(health::all_healthy(&report)))
}
