//! `flightctl`: Flight Controller's command line for operators and producers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use flight_core::catalog::{Catalog, DEFAULT_CATALOG_NAME, DEFAULT_CATALOG_YAML};
use flight_core::engine::format_measurement;
use flight_core::replay::{replay_sources, system_now};
use flight_core::Millis;
use flightctl::target::{Target, TargetArgs};
use flightctl::{backfill, duration, health, put_events, report, series_report};

#[derive(Parser)]
#[command(
    name = "flightctl",
    version,
    about = "Flight Controller: SLO measurements from the events of your processes",
    long_about = "Flight Controller turns process events (a project requested, assigned, created; \
a guardrail activated, then passed) into SLO measurements in CloudWatch.\n\n\
flightctl checks the catalog that defines event types, metrics and SLOs, replays \
PutEvents entry files offline through the same engine the Lambda functions run, and talks to an \
environment (deployed with --env NAME, or the local stack): puts events on its bus, reports where \
its SLOs stand, backfills a new or changed metric, and checks its health.",
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
    /// Check a catalog: names, event types, units, partition fields, SLOs.
    #[command(
        long_about = "Check a catalog and report every problem with its line, e.g.\n  \
events/catalog.yaml:42:12: metrics[3].start: unknown event type `ProjectRequestd` (did you mean `ProjectRequested`?)\n\n\
Exit status: 0 when the catalog is valid, 1 when it has problems, 2 when it cannot be read.",
        after_help = "Examples:\n  flightctl validate\n  flightctl validate --catalog events/catalog.yaml"
    )]
    Validate {
        /// The catalog file (YAML). Default: the catalog built into flightctl (events/catalog.yaml).
        #[arg(long, value_name = "PATH")]
        catalog: Option<PathBuf>,
    },
    /// Measure PutEvents entry files offline, with no AWS.
    #[command(
        long_about = "Run PutEvents entry files (the format of `aws events put-events --entries file://FILE`) \
through the metric engine with an in-memory store, in the order given, and print one JSON object per \
measurement to stdout:\n  \
{\"metric\":\"ProjectLeadTime\",\"value\":109800.0,\"unit\":\"Seconds\",\"timestamp\":\"2026-11-05T15:30:00Z\",\"aggregate_id\":\"project-apollo\",\"dimensions\":{}}\n\n\
Measurements are computed once the whole input is read, so delivery order does not matter. Each rejected \
entry is reported on stderr as FILE: entry INDEX: REASON; the other entries are still measured. \
Exit status: 0 when every entry was measured, 1 when any was rejected, 2 when a file cannot be read.",
        after_help = "Examples:\n  flightctl replay events/*.json\n  flightctl replay --catalog my-catalog.yaml --environment dev events/guardrail.json"
    )]
    Replay {
        /// The catalog file (YAML). Default: the catalog built into flightctl (events/catalog.yaml).
        #[arg(long, value_name = "PATH")]
        catalog: Option<PathBuf>,
        /// Add an `Environment` dimension with this value, as the deployed functions do.
        #[arg(long, value_name = "NAME")]
        environment: Option<String>,
        /// PutEvents entry files: a JSON array of {Source, DetailType, Detail, EventBusName, Time?}.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Put PutEvents entry files on an environment's bus, each entry validated first.
    #[command(
        long_about = "Put PutEvents entry files (the format of `aws events put-events --entries file://FILE`) on \
the environment's bus. Each entry is first validated as the ingest function validates it (envelope, event \
type, the payload fields the catalog's metrics need) and refused, with the reason, when it would be \
rejected; the others go in PutEvents calls of at most 10 entries and 256 KB. Entries EventBridge reports as \
failed (FailedEntryCount) are sent again with exponential backoff, up to --max-attempts. Entries go to the \
environment's bus whatever their EventBusName says.\n\n\
Prints a receipt per entry on stdout: the event id the store will use (the producer's, or the hash of the \
detail) and EventBridge's id, or why it was refused or failed. Putting a file twice is safe: events are \
stored once by event id.\n\n\
Exit status: 0 when every entry was sent (with --dry-run: is valid), 1 when any was refused or failed, 2 when \
a file cannot be read or the environment cannot be reached.",
        after_help = "Examples:\n  flightctl put-events --dry-run events/guardrail.json\n  \
flightctl put-events events/guardrail.json            # the local stack (FC_AWS_ENDPOINT set)\n  \
flightctl put-events --env dev events/*.json"
    )]
    PutEvents {
        #[command(flatten)]
        target: TargetArgs,
        /// Validate only; send nothing (needs no environment).
        #[arg(long)]
        dry_run: bool,
        /// Sends of one entry before it is reported as failed.
        #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
        max_attempts: u32,
        /// PutEvents entry files: a JSON array of {Source, DetailType, Detail, Time?, Resources?}.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Where each SLO stands: attainment and error budget left, exactly, from the store.
    #[command(
        long_about = "For each SLO of the catalog: its data points over its window (or --since), how many are \
good (on the good side of the threshold), the attainment (percent good), the error budget (the bad data points \
the objective allows) and how much of it is left, and whether the SLO is met. Computed exactly from the \
measurement records in the event store, not from CloudWatch's percentile approximations.\n\n\
Exit status: 0 when the report was made (met or not), 2 when the store cannot be read.",
        after_help = "Examples:\n  flightctl report                     # the local stack\n  \
flightctl report --env prod --since 30d\n  flightctl report --env dev --json | jq '.slos[] | select(.status == \"breached\")'"
    )]
    Report {
        #[command(flatten)]
        target: TargetArgs,
        /// Report over this period back from now (e.g. 24h, 7d, 30d) instead of each SLO's window.
        #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
        since: Option<Millis>,
        /// Print JSON for scripts instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Publish the never-published data points of a new or changed metric from the stored events.
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
    Backfill {
        #[command(flatten)]
        target: TargetArgs,
        /// The metric (its name in the catalog).
        #[arg(long, value_name = "NAME")]
        metric: String,
        /// Only data points completed in this period back from now (e.g. 14d). Default: all stored events.
        #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
        since: Option<Millis>,
        /// Plan only: print what would be published; publish and record nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check every part of an environment: bus, rules, functions, dead-letter queues, tables, backlog.
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
    Health {
        #[command(flatten)]
        target: TargetArgs,
        /// Print JSON for scripts instead of a table.
        #[arg(long)]
        json: bool,
        /// How far back Lambda function errors count.
        #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = duration::parse)]
        errors_since: Millis,
        /// How long settled data points may wait to be published before the backlog is unhealthy.
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration::parse)]
        backlog_after: Millis,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("flightctl: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Validate { catalog } => validate(catalog),
        Command::Replay {
            catalog,
            environment,
            files,
        } => run_replay(catalog, environment, files),
        Command::PutEvents {
            target,
            dry_run,
            max_attempts,
            files,
        } => block_on(run_put_events(target, dry_run, max_attempts, files)),
        Command::Report {
            target,
            since,
            json,
        } => block_on(run_report(target, since, json)),
        Command::Backfill {
            target,
            metric,
            since,
            dry_run,
        } => block_on(run_backfill(target, metric, since, dry_run)),
        Command::Health {
            target,
            json,
            errors_since,
            backlog_after,
        } => block_on(run_health(target, json, errors_since, backlog_after)),
    }
}

fn block_on<F: std::future::Future<Output = Result<ExitCode>>>(future: F) -> Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

/// Resolves the target environment and says on stderr where the verb goes.
async fn resolve(args: &TargetArgs) -> Result<Target> {
    let target = Target::resolve(args).await?;
    eprintln!("flightctl: {}", target.describe());
    Ok(target)
}

async fn run_put_events(
    args: TargetArgs,
    dry_run: bool,
    max_attempts: u32,
    files: Vec<PathBuf>,
) -> Result<ExitCode> {
    let (_, catalog) = flightctl::target::load_catalog(args.catalog.as_deref())?;
    let now = system_now();
    let mut prepared = Vec::new();
    for path in &files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        prepared.extend(
            put_events::prepare(&catalog, &name, &text, now)
                .map_err(|e| anyhow::anyhow!("{name}: {e}; no entry was sent"))?,
        );
    }
    let checked: Vec<&put_events::Checked> = prepared
        .iter()
        .filter_map(|p| p.check.as_ref().ok())
        .collect();
    let mut stats = put_events::SendStats::default();
    let mut bus_name = None;
    let deliveries = if dry_run {
        None
    } else {
        let target = resolve(&args).await?;
        let bus = put_events::EventBridgeBus::new(target.eventbridge(), target.names.bus.clone());
        let entries: Vec<put_events::OutgoingEntry> =
            checked.iter().map(|c| c.entry.clone()).collect();
        let policy = put_events::RetryPolicy {
            max_attempts,
            ..put_events::RetryPolicy::default()
        };
        let bar = indicatif::ProgressBar::new(entries.len() as u64);
        let (sent, sent_stats) =
            put_events::send(&bus, &entries, &policy, |n| bar.set_position(n as u64)).await;
        bar.finish_and_clear();
        stats = sent_stats;
        bus_name = Some(target.names.bus.clone());
        Some(sent)
    };
    let receipts = put_events::receipts(&prepared, deliveries.as_deref());
    for receipt in &receipts {
        println!("{receipt}");
    }
    let count =
        |f: fn(&put_events::Outcome) -> bool| receipts.iter().filter(|r| f(&r.outcome)).count();
    let refused = count(|o| matches!(o, put_events::Outcome::Refused { .. }));
    let failed = count(|o| matches!(o, put_events::Outcome::Failed { .. }));
    match &bus_name {
        None => eprintln!(
            "put-events (dry run): {} entries in {} file(s): {} valid, {refused} refused; nothing sent",
            receipts.len(),
            files.len(),
            checked.len()
        ),
        Some(bus) => {
            eprintln!(
                "put-events: {} entries in {} file(s): {} sent to bus {bus}, {refused} refused, {failed} failed \
                 ({} PutEvents calls, {} retried sends)",
                receipts.len(),
                files.len(),
                count(|o| matches!(o, put_events::Outcome::Sent { .. })),
                stats.calls,
                stats.retries
            );
            let elsewhere: std::collections::BTreeSet<&str> = checked
                .iter()
                .filter_map(|c| c.named_bus.as_deref())
                .filter(|b| b != bus)
                .collect();
            if !elsewhere.is_empty() {
                eprintln!(
                    "put-events: note: entries name bus {}; they went to {bus}, the bus of the environment (--env)",
                    elsewhere.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
        }
    }
    Ok(if receipts.iter().all(put_events::Receipt::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn run_report(args: TargetArgs, since: Option<Millis>, json: bool) -> Result<ExitCode> {
    let target = resolve(&args).await?;
    let now = system_now();
    let statuses = report::statuses(&target.store(), &target.catalog, since, now)
        .await
        .with_context(|| {
            format!(
                "cannot read the measurement records of environment {} (table {})",
                target.names.environment, target.names.event_table
            )
        })?;
    let metrics = series_report::rows(
        &target.store(),
        &target.catalog,
        now - since.unwrap_or(24 * 3_600_000),
        now + 1,
    )
    .await?;
    if json {
        let mut value = report::to_json(&target.catalog, &target.names.environment, now, &statuses);
        value["metrics"] = series_report::to_json(&metrics);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!(
            "SLOs of environment {} at {}, from the measurement records in table {}",
            target.names.environment,
            flight_core::envelope::format_time(now),
            target.names.event_table
        );
        print!("{}", report::table(&target.catalog, &statuses));
        print!("{}", series_report::table(&metrics));
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_backfill(
    args: TargetArgs,
    metric: String,
    since: Option<Millis>,
    dry_run: bool,
) -> Result<ExitCode> {
    let target = resolve(&args).await?;
    let sink =
        flight_aws::CloudWatchSink::new(target.cloudwatch(), target.catalog.namespace.clone());
    let since = since.map(|s| system_now() - s);
    let outcome = backfill::run(
        &target.store(),
        &sink,
        &target.catalog,
        &metric,
        &target.names.environment,
        since,
        dry_run,
    )
    .await?;
    let summary = backfill::summary(&metric, &target.names.environment, &outcome, dry_run);
    if dry_run {
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

async fn run_health(
    args: TargetArgs,
    json: bool,
    errors_since: Millis,
    backlog_after: Millis,
) -> Result<ExitCode> {
    let target = resolve(&args).await?;
    let options = health::Options {
        errors_since,
        backlog_after,
        now: system_now(),
    };
    let report = health::check(&target, options).await;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&health::to_json(&report))?
        );
    } else {
        print!(
            "{}",
            health::text(
                &format!("environment {}", target.names.environment),
                &report
            )
        );
    }
    Ok(if health::all_healthy(&report) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The catalog's text and the name to report it under.
fn catalog_source(path: Option<PathBuf>) -> Result<(String, String)> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the catalog {}", path.display()))?;
            Ok((path.display().to_string(), text))
        }
        None => Ok((
            DEFAULT_CATALOG_NAME.to_string(),
            DEFAULT_CATALOG_YAML.to_string(),
        )),
    }
}

fn load_catalog(path: Option<PathBuf>) -> Result<std::result::Result<Catalog, String>> {
    let (name, text) = catalog_source(path)?;
    Ok(Catalog::parse(&text).map_err(|e| {
        format!(
            "{}\n{name}: {} problem(s); fix them, then run `flightctl validate --catalog {name}`",
            e.render_for(&name),
            e.issues.len()
        )
    }))
}

fn validate(path: Option<PathBuf>) -> Result<ExitCode> {
    let (name, text) = catalog_source(path)?;
    match Catalog::parse(&text) {
        Ok(catalog) => {
            println!(
                "{name}: valid: {} event types, {} metrics, {} SLOs in namespace {}",
                catalog.event_types.len(),
                catalog.metrics.len(),
                catalog.slos.len(),
                catalog.namespace
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("{}", error.render_for(&name));
            eprintln!("{name}: {} problem(s)", error.issues.len());
            Ok(ExitCode::from(1))
        }
    }
}

fn run_replay(
    catalog: Option<PathBuf>,
    environment: Option<String>,
    files: Vec<PathBuf>,
) -> Result<ExitCode> {
    let catalog = match load_catalog(catalog)? {
        Ok(catalog) => catalog,
        Err(message) => {
            eprintln!("{message}");
            return Ok(ExitCode::from(2));
        }
    };
    // Opened here, read one at a time by `replay_sources`, which drops each
    // file's bytes once its entries are read (a million events: < 1 GiB).
    let inputs = files
        .iter()
        .map(|path| {
            std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(|file| (path.display().to_string(), file))
        })
        .collect::<Result<Vec<_>>>()?;
    let outcome = replay_sources(&catalog, inputs, environment, system_now())?;
    {
        use std::io::Write;
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        for m in &outcome.measurements {
            writeln!(stdout, "{}", format_measurement(m)).context("cannot write to stdout")?;
        }
        stdout.flush().context("cannot write to stdout")?;
    }
    for rejection in &outcome.rejections {
        eprintln!("{rejection}");
    }
    eprintln!(
        "replayed {} entries from {} file(s): {} measurements, {} rejected",
        outcome.entries,
        files.len(),
        outcome.measurements.len(),
        outcome.rejections.len()
    );
    Ok(if outcome.rejections.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
