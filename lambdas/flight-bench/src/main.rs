//! `flight-bench`: what `scripts/bench.sh` needs besides criterion and
//! `/usr/bin/time`. Not deployed. Each measuring command prints its figures as
//! `key<TAB>value` lines on stdout; `report` turns them into the table.

mod calibrate;
mod cost;
mod gen;
mod ingest;
mod load;
mod ready;
mod report;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use flight_core::{Clock, SystemClock};

/// Figures, printed as `key<TAB>value` lines.
#[derive(Default)]
pub struct Results(Vec<(String, f64)>);

impl Results {
    pub fn add(&mut self, key: &str, value: f64) {
        self.0.push((key.to_string(), value));
    }

    fn print(&self) {
        for (key, value) in &self.0 {
            println!("{key}\t{value}");
        }
    }
}

#[derive(Parser)]
#[command(
    name = "flight-bench",
    about = "Benchmark support for scripts/bench.sh"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a PutEvents entry file of generated events (every domain of the default catalog).
    GenEvents {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Activate/pass cycles of one long-lived resource among those events.
        #[arg(long, default_value_t = 50_000)]
        long_cycles: usize,
        /// Shuffled, or grouped by aggregate (`flightctl replay` streams it; shuffled needs `--in-memory`).
        #[arg(long, value_enum, default_value = "shuffled")]
        order: gen::Order,
        #[arg(long)]
        out: PathBuf,
    },
    /// The ingest handler end to end against DynamoDB Local and moto
    /// (FC_DYNAMODB_ENDPOINT, FC_AWS_ENDPOINT), with the deployed settings.
    Ingest {
        /// Mixed events (short stories of every domain).
        #[arg(long, default_value_t = 2_000)]
        events: usize,
        /// Activate/pass cycles on one long-lived resource.
        #[arg(long, default_value_t = 500)]
        cycles: usize,
    },
    /// Start to ready of a Lambda binary under `cargo lambda watch --only-lambda-apis`.
    Ready {
        /// The function's binary (a native release build of `ingest`).
        #[arg(long)]
        binary: PathBuf,
        /// The emulator, e.g. http://127.0.0.1:9000 (Runtime API under /.rt).
        #[arg(long)]
        emulator: String,
        #[arg(long, default_value_t = 15)]
        runs: usize,
    },
    /// The load model: ingest and settle over a latency and limit model of
    /// DynamoDB and CloudWatch, in simulated time (docs/scale.md).
    LoadModel(load::Args),
    /// The load model against DynamoDB Local and moto: requests per event by
    /// operation (checked) and latency ratios (informative) (docs/scale.md).
    Calibrate(calibrate::Args),
    /// The monthly bill at 10, 1,000 and 10,000 events/s, from the load
    /// model's request mix and list prices (docs/scale.md, "Cost").
    Cost(cost::Args),
    /// Print the table and the budgets' verdicts; exit 1 if any fails.
    Report {
        /// The figures (`key<TAB>value` lines).
        #[arg(long)]
        results: PathBuf,
        /// Criterion's output folder (target/criterion).
        #[arg(long)]
        criterion: PathBuf,
        /// The zips to size.
        #[arg(long = "zip")]
        zips: Vec<PathBuf>,
        /// Exit 0 even if a budget fails.
        #[arg(long)]
        no_fail: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("flight-bench: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn run(cli: Cli) -> Result<ExitCode> {
    let mut results = Results::default();
    match cli.command {
        Command::GenEvents {
            events,
            long_cycles,
            order,
            out,
        } => {
            let file = std::fs::File::create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let mut writer = BufWriter::with_capacity(1 << 20, file);
            // 2026-11-01T00:00:00Z: replay does not check CloudWatch's range.
            gen::write_entries(&mut writer, events, long_cycles, order, 1_793_491_200_000)?;
            writer.flush()?;
            eprintln!("flight-bench: wrote {events} events to {}", out.display());
        }
        Command::Ingest { events, cycles } => {
            runtime()?.block_on(ingest::run(events, cycles, &mut results))?;
        }
        Command::Ready {
            binary,
            emulator,
            runs,
        } => {
            let table = format!("bench-ready-{}", SystemClock.now());
            runtime()?.block_on(async {
                let dynamodb = std::env::var("FC_DYNAMODB_ENDPOINT")
                    .context("FC_DYNAMODB_ENDPOINT: not set (scripts/services.sh start)")?;
                let config = flight_aws::aws_config(None).await;
                let client = flight_aws::dynamodb_client(&config, Some(&dynamodb));
                flight_aws::DynamoStore::create_table(&client, &table)
                    .await
                    .context("creating the table of the start-to-ready runs")
            })?;
            ready::measure(&binary, &emulator, &table, runs, &mut results)?;
        }
        Command::LoadModel(args) => return load::main(&args),
        Command::Calibrate(args) => return runtime()?.block_on(calibrate::main(&args)),
        Command::Cost(args) => return cost::main(&args),
        Command::Report {
            results: path,
            criterion,
            zips,
            no_fail,
        } => {
            let figures = report::read_results(&path)?;
            let zips = zips
                .iter()
                .map(|z| {
                    std::fs::metadata(z)
                        .map(|m| (z.display().to_string(), m.len()))
                        .with_context(|| format!("cannot read {}", z.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            let failed = report::report(&figures, &criterion, &zips);
            return Ok(if failed > 0 && !no_fail {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            });
        }
    }
    results.print();
    Ok(ExitCode::SUCCESS)
}
