//! `flightctl`: Flight Controller's command line for operators and producers.
//! Parses the command line and runs the verb (`flightctl::verbs`); an error
//! is printed on stderr and exits 2.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use flightctl::verbs::{
    alerts, backfill, block_on, health, put_events, replay, report, test_run, validate,
};

#[derive(Parser)]
#[command(
    name = "flightctl",
    version,
    about = "Flight Controller: SLO measurements from the events of your processes",
    long_about = "Flight Controller turns process events (a project requested, assigned, created; \
a guardrail activated, then passed) into SLO measurements in CloudWatch.\n\n\
flightctl checks the catalog that defines event types, metrics and SLOs, replays \
PutEvents entry files offline through the same engine the Lambda functions run, and talks to an \
environment (deployed with --env NAME, or the local stack): puts events on its bus, proves test runs \
through its capture table, reports where its SLOs stand and their error budgets and burn rates, backtests \
the SLOs' burn-rate alerts on past records, backfills a new or changed metric, and checks \
its health.",
    after_help = "Environments: --env NAME (AWS credentials and region from the usual AWS configuration), or the \
local stack: scripts/local.sh --keep, then eval \"$(grep -v _PID= $FC_LOCAL_DIR/local.env)\" (sets \
FC_AWS_ENDPOINT and FC_DYNAMODB_ENDPOINT; the environment is then `local`).\n\n\
Exit status: 0 when all is well, 1 when the verb found a problem (a refused entry, an unhealthy part, ...), \
2 when it could not run (bad arguments, unreadable files, unreachable services)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Validate(validate::Args),
    Replay(replay::Args),
    PutEvents(put_events::Args),
    TestRun(test_run::Args),
    Report(report::Args),
    Backfill(backfill::Args),
    Health(health::Args),
    Alerts(alerts::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Validate(args) => validate::run(args),
        Command::Replay(args) => replay::run(args),
        Command::PutEvents(args) => block_on(put_events::run(args)),
        Command::TestRun(args) => block_on(test_run::run(args)),
        Command::Report(args) => block_on(report::run(args)),
        Command::Backfill(args) => block_on(backfill::run(args)),
        Command::Health(args) => block_on(health::run(args)),
        Command::Alerts(args) => block_on(alerts::run(args)),
    };
    result.unwrap_or_else(|error| {
        eprintln!("flightctl: {error:#}");
        ExitCode::from(2)
    })
}
