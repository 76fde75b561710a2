//! `flightctl put-events`: PutEvents entry files onto an environment's bus,
//! each entry validated first (the logic: `crate::put_events`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use flight_core::replay::system_now;

use crate::put_events::{self, Checked, EventBridgeBus, Outcome, RetryPolicy};
use crate::target::TargetArgs;

/// Put PutEvents entry files on an environment's bus, each entry validated first.
#[derive(clap::Args, Debug)]
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
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Validate only; send nothing (needs no environment).
    #[arg(long)]
    pub dry_run: bool,
    /// Sends of one entry before it is reported as failed.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// PutEvents entry files: a JSON array of {Source, DetailType, Detail, Time?, Resources?}.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Validates every entry, sends the valid ones (unless `--dry-run`) and
/// prints a receipt per entry.
pub async fn run(args: Args) -> Result<ExitCode> {
    let (_, catalog) = crate::catalog::load(args.target.catalog.as_deref())?;
    let now = system_now();
    let mut prepared = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
        prepared.extend(
            put_events::prepare(&catalog, &name, &text, now)
                .map_err(|e| anyhow::anyhow!("{name}: {e}; no entry was sent"))?,
        );
    }
    let checked: Vec<&Checked> = prepared
        .iter()
        .filter_map(|p| p.check.as_ref().ok())
        .collect();
    let mut stats = put_events::SendStats::default();
    let mut bus_name = None;
    let deliveries = if args.dry_run {
        None
    } else {
        let target = super::resolve(&args.target).await?;
        let bus = EventBridgeBus::new(target.eventbridge(), target.deployment.event_bus());
        let entries: Vec<_> = checked.iter().map(|c| c.entry.clone()).collect();
        let policy = RetryPolicy {
            max_attempts: args.max_attempts,
            ..RetryPolicy::default()
        };
        let bar = indicatif::ProgressBar::new(entries.len() as u64);
        let (sent, sent_stats) =
            put_events::send(&bus, &entries, &policy, |n| bar.set_position(n as u64)).await;
        bar.finish_and_clear();
        stats = sent_stats;
        bus_name = Some(target.deployment.event_bus());
        Some(sent)
    };
    let receipts = put_events::receipts(&prepared, deliveries.as_deref());
    for receipt in &receipts {
        println!("{receipt}");
    }
    let count = |f: fn(&Outcome) -> bool| receipts.iter().filter(|r| f(&r.outcome)).count();
    let refused = count(|o| matches!(o, Outcome::Refused { .. }));
    let failed = count(|o| matches!(o, Outcome::Failed { .. }));
    match &bus_name {
        None => eprintln!(
            "put-events (dry run): {} entries in {} file(s): {} valid, {refused} refused; nothing sent",
            receipts.len(),
            args.files.len(),
            checked.len()
        ),
        Some(bus) => {
            eprintln!(
                "put-events: {} entries in {} file(s): {} sent to bus {bus}, {refused} refused, {failed} failed \
                 ({} PutEvents calls, {} retried sends)",
                receipts.len(),
                args.files.len(),
                count(|o| matches!(o, Outcome::Sent { .. })),
                stats.calls,
                stats.retries
            );
            let elsewhere: BTreeSet<&str> = checked
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
    Ok(super::status(receipts.iter().all(put_events::Receipt::ok)))
}
