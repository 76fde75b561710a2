//! `flightctl replay`: PutEvents entry files measured offline, through the
//! engine the Lambda functions run, with an in-memory store.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use flight_core::replay::{replay_grouped, replay_sorted, system_now};

/// Measure PutEvents entry files offline, with no AWS.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Run PutEvents entry files (the format of `aws events put-events --entries file://FILE`) \
through the metric engine with an in-memory store, in the order given, and print one JSON object per \
measurement to stdout:\n  \
{\"metric\":\"ProjectLeadTime\",\"value\":109800.0,\"unit\":\"Seconds\",\"timestamp\":\"2026-11-05T15:30:00Z\",\"aggregate_id\":\"project-apollo\",\"dimensions\":{}}\n\n\
The input is streamed: memory is bounded by the longest aggregate, not by the input, so files larger than \
memory replay. That needs each aggregate's entries together (the aggregates in any order: sorted by \
aggregate_id, one story per file, or as a DynamoDB export groups them); each aggregate is measured and \
printed as soon as another one starts. An aggregate that reappears after its entries ended stops the replay \
with exit status 2, naming the entry, rather than measure part of its history: sort the input, or replay \
it with --in-memory, which takes entries in any order by holding every event until the input ends (about \
160 bytes an event with its data points: a million events in about 155 MiB) and prints the lines sorted by time. Each rejected entry is reported on stderr as \
FILE: entry INDEX: REASON; the other entries are still measured. \
Exit status: 0 when every entry was measured, 1 when any was rejected, 2 when a file cannot be read or \
the input is not grouped by aggregate.",
    after_help = "Examples:\n  flightctl replay events/*.json\n  flightctl replay --catalog my-catalog.yaml --environment dev events/guardrail.json\n  flightctl replay --in-memory unsorted-export.json"
)]
pub struct Args {
    /// The catalog file (YAML). Default: the catalog built into flightctl (events/catalog.yaml).
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,
    /// Add an `Environment` dimension with this value, as the deployed functions do.
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
    /// Take entries in any order by holding every event in memory until the input ends (the
    /// default streams input grouped by aggregate and stops with status 2 if an aggregate reappears).
    #[arg(long)]
    pub in_memory: bool,
    /// Stream input grouped by aggregate: the default (kept for scripts that pass it).
    #[arg(long, hide = true, conflicts_with = "in_memory")]
    pub grouped: bool,
    /// PutEvents entry files: a JSON array of {Source, DetailType, Detail, EventBusName, Time?}.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Bytes of output written at a time: a million events print ~170 MB, so
/// a write per 8 KiB (the default) was 20,000 system calls.
const OUT_BUFFER: usize = 1 << 16;

/// Prints each measurement as a JSON line and each rejection on stderr.
pub fn run(args: Args) -> Result<ExitCode> {
    let (_, catalog) = crate::catalog::load(args.catalog.as_deref())?;
    // Opened here, read one at a time by `replay_sources`, which drops each
    // file's bytes once its entries are read (a million events: < 1 GiB).
    let inputs = args
        .files
        .iter()
        .map(|path| {
            std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(|file| (path.display().to_string(), file))
        })
        .collect::<Result<Vec<_>>>()?;
    if !args.in_memory {
        return run_grouped(&catalog, inputs, args.environment.as_deref());
    }
    let mut stdout = std::io::BufWriter::with_capacity(OUT_BUFFER, std::io::stdout().lock());
    let environment = args.environment.as_deref();
    let result = replay_sorted(&catalog, inputs, environment, system_now(), |line| {
        stdout.write_all(line)
    });
    stdout.flush().context("cannot write to stdout")?;
    drop(stdout);
    let outcome = result?;
    for rejection in &outcome.rejections {
        eprintln!("{rejection}");
    }
    eprintln!(
        "replayed {} entries from {} file(s): {} measurements, {} rejected",
        outcome.entries,
        args.files.len(),
        outcome.measurements,
        outcome.rejections.len()
    );
    Ok(super::status(outcome.rejections.is_empty()))
}

/// The default, streaming: measurements printed as each aggregate closes.
fn run_grouped(
    catalog: &flight_core::catalog::Catalog,
    inputs: Vec<(String, std::fs::File)>,
    environment: Option<&str>,
) -> Result<ExitCode> {
    let files = inputs.len();
    let mut stdout = std::io::BufWriter::with_capacity(OUT_BUFFER, std::io::stdout().lock());
    let mut line = Vec::with_capacity(256);
    let result = replay_grouped(catalog, inputs, environment, system_now(), |point| {
        line.clear();
        point.write_line(&mut line)?;
        line.push(b'\n');
        stdout.write_all(&line)
    });
    stdout.flush().context("cannot write to stdout")?;
    drop(stdout);
    let outcome = result?;
    for rejection in &outcome.rejections {
        eprintln!("{rejection}");
    }
    eprintln!(
        "replayed {} entries from {} file(s): {} measurements, {} rejected ({} aggregates, at most {} events held)",
        outcome.entries,
        files,
        outcome.measurements,
        outcome.rejections.len(),
        outcome.aggregates,
        outcome.most_events_held
    );
    Ok(super::status(outcome.rejections.is_empty()))
}
