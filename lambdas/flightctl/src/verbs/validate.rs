//! `flightctl validate`: checks a catalog and reports every problem with its
//! line; for a valid one, its alert policy per SLO (`crate::policy`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use flight_core::catalog::Catalog;
use serde_json::json;

use crate::policy;

/// Check a catalog (names, event types, units, partition fields, SLOs, alerting) and show its alert policy.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Check a catalog and report every problem with its line, e.g.\n  \
events/catalog.yaml:42:12: metrics[3].start: unknown event type `ProjectRequestd` (did you mean `ProjectRequested`?)\n\n\
A valid catalog's alert policy follows, per SLO: its period, its rules (long and short window, the burn-rate \
factor asked for and the effective one, flagged when capped at half the highest burn rate the objective allows), \
and how long a total outage takes to page and to ticket (found by the same evaluation model as `flightctl \
alerts backtest`: one value a minute, all bad from an instant, with the publishing delay).\n\n\
Exit status: 0 when the catalog is valid, 1 when it has problems, 2 when it cannot be read.",
    after_help = "Examples:\n  flightctl validate\n  flightctl validate --catalog events/catalog.yaml\n  \
flightctl validate --json | jq '.alerting.slos[] | {name, total_outage_seconds_to}'"
)]
pub struct Args {
    /// The catalog file (YAML). Default: the catalog built into flightctl (events/catalog.yaml).
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,
    /// Print JSON for scripts: `valid`, the counts, and the alert policy (or the problems).
    #[arg(long)]
    pub json: bool,
}

/// Prints a summary of a valid catalog and its alert policy (exit 0), or its problems (exit 1).
pub fn run(args: Args) -> Result<ExitCode> {
    let (name, text) = crate::catalog::source(args.catalog.as_deref())?;
    match Catalog::parse(&text) {
        Ok(catalog) if args.json => {
            let value = json!({
                "catalog": name,
                "valid": true,
                "namespace": catalog.namespace,
                "event_types": catalog.event_types.len(),
                "metrics": catalog.metrics.len(),
                "slos": catalog.slos.len(),
                "alerting": policy::to_json(&catalog),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Ok(catalog) => {
            println!(
                "{name}: valid: {} event types, {} metrics, {} SLOs in namespace {}",
                catalog.event_types.len(),
                catalog.metrics.len(),
                catalog.slos.len(),
                catalog.namespace
            );
            print!("{}", policy::text(&catalog));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            let rendered = error.render_for(&name);
            if args.json {
                let value = json!({
                    "catalog": name,
                    "valid": false,
                    "problems": rendered.lines().collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            }
            eprintln!("{rendered}");
            eprintln!("{name}: {} problem(s)", error.issues.len());
            Ok(ExitCode::from(1))
        }
    }
}
