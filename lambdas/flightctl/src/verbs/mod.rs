//! The verbs of `flightctl`, one file each: its command-line arguments (with
//! its help text and examples) and its `run`, which returns the exit status.
//! Exit status: 0 when all is well, 1 when the verb found a problem, 2 (an
//! `Err`) when it could not run.

pub mod alerts;
pub mod backfill;
pub mod health;
pub mod put_events;
pub mod replay;
pub mod report;
pub mod test_run;
pub mod validate;

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::target::{Target, TargetArgs};

/// Runs an async verb to completion on a runtime of its own.
pub fn block_on<F: std::future::Future<Output = Result<ExitCode>>>(future: F) -> Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

/// Resolves the target environment and says on stderr where the verb goes.
pub async fn resolve(args: &TargetArgs) -> Result<Target> {
    let target = Target::resolve(args).await?;
    eprintln!("flightctl: {}", target.describe());
    Ok(target)
}

/// Exit status 0 when `ok`, else 1 (the verb ran and found a problem).
pub fn status(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
