//! `flightctl alerts`: the SLOs' burn-rate alerts. `alerts backtest` replays
//! stored measurement records (or PutEvents files) through the alarms the
//! catalog generates, with flight-core's evaluation model (the logic:
//! `crate::backtest`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use flight_core::replay::system_now;
use flight_core::Millis;

use crate::instant::{self, When};
use crate::target::TargetArgs;
use crate::{backtest, records};

/// The SLOs' burn-rate alerts (pages and tickets).
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// What `flightctl alerts` does.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Backtest(BacktestArgs),
}

/// Which pages and tickets the SLOs' alarms would have sent over past measurement records.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Replay measurement records through the burn-rate alarms the catalog generates (the same \
definitions Terraform deploys), evaluated the way CloudWatch evaluates them: every minute, each window alarm \
over the values stamped in its window that are visible by then (a data point reaches CloudWatch a publishing \
delay after its time: the lateness window plus the settle sweep, 6 min by default), missing data as not \
breaching, no alarm when a window holds fewer than min_values values; a page or ticket fires when a rule's long \
and short window alarms are both in ALARM.\n\n\
Prints every page and ticket episode: when it fired, when it cleared (or that it is still firing at the end), \
and the burn rate of each of its rules' windows when it fired. The records come from the event store of the \
environment (the local stack, or --env NAME), or from PutEvents entry files measured offline (--from-files, \
no AWS). Progress goes to stderr.\n\n\
Exit status: 0 when the backtest ran (whatever fired), 2 when it could not run.",
    after_help = "Examples:\n  \
flightctl alerts backtest                                   # the local stack, the last 30 days\n  \
flightctl alerts backtest --env prod --since 7d --slo guardrail-lead-time\n  \
flightctl alerts backtest --since 2026-10-01T00:00:00Z --until 2026-11-01T00:00:00Z --env dev --json\n  \
flightctl alerts backtest --from-files history/*.json        # offline, no AWS\n  \
flightctl alerts backtest --since 1h --publish-delay 3s     # the local stack: 2s lateness window + 1s sweep"
)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Start of the backtest: an RFC 3339 time, or a duration back from --until. Default: 30d.
    #[arg(long, value_name = "TIME", value_parser = instant::parse)]
    pub since: Option<When>,
    /// End of the backtest: an RFC 3339 time, or a duration back from now. Default: now; with
    /// --from-files, the last record's time plus the publishing delay.
    #[arg(long, value_name = "TIME", value_parser = instant::parse)]
    pub until: Option<When>,
    /// Only this SLO (its name in the catalog). Default: every SLO.
    #[arg(long, value_name = "NAME")]
    pub slo: Option<String>,
    /// How long after its time a data point reaches CloudWatch. Default: the catalog's lateness
    /// window plus its sweep interval (6m with the defaults).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub publish_delay: Option<Millis>,
    /// PutEvents entry files to measure offline (as `flightctl replay` does) instead of reading a
    /// store; no AWS. Alarms are then named after environment `offline` (or --env).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub from_files: Vec<PathBuf>,
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `flightctl alerts SUBCOMMAND`.
pub async fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Backtest(args) => run_backtest(args).await,
    }
}

async fn run_backtest(args: BacktestArgs) -> Result<ExitCode> {
    let now = system_now();
    let options = backtest::Options {
        since: args.since,
        until: args.until,
        slo: args.slo.clone(),
        publish_delay: args.publish_delay,
    };
    let (plan, source, records) = if args.from_files.is_empty() {
        let target = super::resolve(&args.target).await?;
        let plan = backtest::Plan::new(&target.catalog, &target.deployment, &options, None, now)?;
        let records = backtest::read_store(&target, &plan).await?;
        let source = format!(
            "measurement records of environment {} (table {})",
            target.deployment.environment,
            target.deployment.event_table()
        );
        (plan, source, records)
    } else {
        let (_, catalog) = crate::catalog::load(args.target.catalog.as_deref())?;
        let records = records::read_files(&catalog, &args.from_files, now, "backtest")?;
        let deployment = records::offline_deployment(args.target.env.as_deref());
        let last = records.span().map(|(_, last)| last);
        let plan = backtest::Plan::new(&catalog, &deployment, &options, last, now)?;
        let source = format!(
            "measurement records of {} PutEvents file(s), measured offline",
            args.from_files.len()
        );
        (plan, source, records)
    };
    let results = backtest::run(&plan, &records);
    if args.json {
        let value = backtest::to_json(&plan, &source, &results);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", backtest::text(&plan, &source, &results));
    }
    Ok(ExitCode::SUCCESS)
}
