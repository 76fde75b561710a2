//! `flightctl`: Flight Controller's command line for operators and producers.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use flight_core::catalog::{Catalog, DEFAULT_CATALOG_NAME, DEFAULT_CATALOG_YAML};
use flight_core::replay::{measurement_lines, replay, system_now};

#[derive(Parser)]
#[command(
    name = "flightctl",
    version,
    about = "Flight Controller: SLO measurements from the events of your processes",
    long_about = "Flight Controller turns process events (a project requested, assigned, created; \
a guardrail activated, then passed) into SLO measurements in CloudWatch.\n\n\
flightctl checks the catalog that defines event types, metrics and SLOs, and replays \
PutEvents entry files offline through the same engine the Lambda functions run."
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
    }
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
    let inputs = files
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(|text| (path.display().to_string(), text))
        })
        .collect::<Result<Vec<_>>>()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(replay(
        Arc::new(catalog),
        &inputs,
        environment,
        system_now(),
    ));
    let mut stdout = std::io::stdout().lock();
    for line in measurement_lines(&outcome.measurements) {
        use std::io::Write;
        writeln!(stdout, "{line}").context("cannot write to stdout")?;
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
