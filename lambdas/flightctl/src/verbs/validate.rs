//! `flightctl validate`: checks a catalog and reports every problem with its line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use flight_core::catalog::Catalog;

/// Check a catalog: names, event types, units, partition fields, SLOs.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "Check a catalog and report every problem with its line, e.g.\n  \
events/catalog.yaml:42:12: metrics[3].start: unknown event type `ProjectRequestd` (did you mean `ProjectRequested`?)\n\n\
Exit status: 0 when the catalog is valid, 1 when it has problems, 2 when it cannot be read.",
    after_help = "Examples:\n  flightctl validate\n  flightctl validate --catalog events/catalog.yaml"
)]
pub struct Args {
    /// The catalog file (YAML). Default: the catalog built into flightctl (events/catalog.yaml).
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,
}

/// Prints a summary of a valid catalog (exit 0), or its problems (exit 1).
pub fn run(args: Args) -> Result<ExitCode> {
    let (name, text) = crate::catalog::source(args.catalog.as_deref())?;
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
