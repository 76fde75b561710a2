//! `flight-local`: the pieces of the local stack and of asynchronous test runs
//! that scripts/local.sh and scripts/put-events.sh put together.
//!
//! - `stamp`: restamps PutEvents entry files for a run (times moved to now,
//!   ids made unique to the run, `detail.test_run_id` set);
//! - `provision`: creates on DynamoDB Local and moto what Terraform creates in
//!   AWS, from the catalog module's outputs;
//! - `dispatch`: delivers each rule's events to its function, as Lambda would;
//! - `prove`: polls the capture table until a run's expected measurements
//!   arrived, then reports; exit 0 when all did, 1 otherwise.

mod dispatch;
mod prove;
mod stack;
mod stamp;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use flight_core::replay::{read_entries, system_now};
use flight_core::Catalog;

#[derive(Parser)]
#[command(
    name = "flight-local",
    about = "Local stack and test runs of Flight Controller"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Restamps PutEvents entry files into DIR (at most 10 entries per file
    /// written) and prints the paths written, one per line.
    Stamp {
        /// Where to write the stamped files.
        #[arg(long)]
        out: PathBuf,
        /// Mark the events as test events of this run (and make their ids unique to it).
        #[arg(long)]
        run_id: Option<String>,
        /// Put the entries on this bus (`EventBusName`).
        #[arg(long)]
        bus: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Creates the local stack from `terraform output -json` of the catalog module.
    Provision {
        /// The outputs, as `terraform output -json` writes them.
        #[arg(long)]
        outputs: PathBuf,
        /// Where to write what was created, for `dispatch`.
        #[arg(long)]
        stack: PathBuf,
    },
    /// Delivers each rule's queued events to its function until stopped.
    Dispatch {
        #[arg(long)]
        stack: PathBuf,
        /// How often the settle function runs (a schedule in AWS), in milliseconds.
        #[arg(long, default_value_t = 1000)]
        settle_every_ms: u64,
    },
    /// Waits for a run's expected measurements in the capture table, then
    /// reports what arrived, what was expected and what is missing.
    Prove {
        #[arg(long, env = "CAPTURE_TABLE_NAME")]
        capture_table: String,
        #[arg(long)]
        run_id: String,
        /// Seconds to wait before giving up.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// The catalog the functions run with (default: the one built in).
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Also print, per metric, the measurements and the SLO status.
        #[arg(long)]
        report: bool,
        /// Read the SLO alarms' states from CloudWatch: their names' prefix.
        #[arg(long)]
        alarm_prefix: Option<String>,
        /// The stamped entry files that were put.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("flight-local: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Stamp {
            out,
            run_id,
            bus,
            files,
        } => {
            stamp_files(&out, run_id, bus, &files)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Provision { outputs, stack } => {
            let text = std::fs::read_to_string(&outputs)
                .with_context(|| format!("cannot read {}", outputs.display()))?;
            let outputs = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", outputs.display()))?;
            let config = flight_aws::aws_config(None).await;
            let created = stack::provision(outputs, &stack::Clients::new(&config)).await?;
            std::fs::write(&stack, serde_json::to_string_pretty(&created)?)
                .with_context(|| format!("cannot write {}", stack.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dispatch {
            stack,
            settle_every_ms,
        } => {
            flight_lambda::init_logging();
            let stack = stack::Stack::load(&stack)?;
            dispatch::run(stack, Duration::from_millis(settle_every_ms)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Prove {
            capture_table,
            run_id,
            timeout,
            catalog,
            report,
            alarm_prefix,
            files,
        } => {
            let catalog = Arc::new(load_catalog(catalog.as_deref())?);
            let mut texts = Vec::new();
            for file in &files {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                texts.push((file.display().to_string(), text));
            }
            let expected = prove::expected(catalog.clone(), &texts).await;
            let config = flight_aws::aws_config(None).await;
            let capture = flight_aws::DynamoCapture::new(
                flight_aws::dynamodb_client(&config, None),
                capture_table,
                Duration::from_secs(3600),
            );
            let (run, comparison) =
                prove::wait(&capture, &run_id, &expected, Duration::from_secs(timeout)).await?;
            if report {
                let alarms = match &alarm_prefix {
                    Some(prefix) => alarm_states(&config, prefix).await,
                    None => BTreeMap::new(),
                };
                print!(
                    "{}",
                    prove::report(
                        &catalog,
                        &run.measurements,
                        &alarms,
                        alarm_prefix.as_deref().unwrap_or_default()
                    )
                );
                println!();
            }
            print!("{}", prove::summary(&run_id, &expected, &run, &comparison));
            let all_events = expected
                .event_ids
                .iter()
                .all(|id| run.events.iter().any(|e| &e.event_id == id));
            Ok(if comparison.passed() && all_events {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn load_catalog(path: Option<&Path>) -> Result<Catalog> {
    let Some(path) = path else {
        return Ok(Catalog::default_catalog());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Catalog::parse(&text).map_err(|e| anyhow::anyhow!(e.render_for(&path.display().to_string())))
}

fn stamp_files(
    out: &Path,
    run_id: Option<String>,
    bus: Option<String>,
    files: &[PathBuf],
) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let how = stamp::Stamp {
        run_id,
        bus,
        now: system_now(),
    };
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let entries = read_entries(&text)
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("{}", file.display()))?;
        let stamped = stamp::stamp(&entries, &how);
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "entries".into());
        let chunks: Vec<_> = stamped
            .entries
            .chunks(stamp::MAX_ENTRIES_PER_CALL)
            .collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let name = if chunks.len() == 1 {
                format!("{stem}.json")
            } else {
                format!("{stem}-{}.json", i + 1)
            };
            let path = out.join(name);
            std::fs::write(&path, serde_json::to_string_pretty(chunk)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}", path.display());
        }
        eprintln!(
            "stamped {}: {} entries, times moved by {} so the latest is now{}",
            file.display(),
            entries.len(),
            prove::human(stamped.shift as f64 / 1000.0, "Seconds"),
            how.run_id
                .as_deref()
                .map(|r| format!(", test run {r}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// The SLO alarms' states by name; empty (with a note) where CloudWatch cannot say.
async fn alarm_states(config: &flight_aws::SdkConfig, prefix: &str) -> BTreeMap<String, String> {
    let client = flight_aws::cloudwatch_client(config, None);
    match client
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .send()
        .await
    {
        Ok(out) => out
            .metric_alarms()
            .iter()
            .filter_map(|a| {
                Some((
                    a.alarm_name()?.to_string(),
                    a.state_value()?.as_str().to_string(),
                ))
            })
            .collect(),
        Err(e) => {
            eprintln!(
                "alarm states unavailable: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(e)
            );
            BTreeMap::new()
        }
    }
}
