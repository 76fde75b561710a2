//! `flightctl test-run`: a test run proven through the capture table. Stamps
//! the entry files for a fresh run, puts them on the environment's bus with
//! retries, then polls the capture table until the measurements they should
//! produce arrived (or the time is up) and says what arrived, what was
//! expected and what is missing (the logic: `crate::test_run`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_cloudwatch::types::AlarmType;
use flight_core::replay::system_now;

use crate::put_events::{self, Delivery, EventBridgeBus, RetryPolicy};
use crate::target::{Target, TargetArgs};
use crate::test_run::{self, prove};

/// How long the capture function keeps a run's records (its table's TTL).
const CAPTURE_TTL: Duration = Duration::from_secs(3600);

/// Put entry files as a test run and prove, through the capture table, that their measurements arrived.
#[derive(clap::Args, Debug)]
#[command(
    long_about = "A test run, proven asynchronously through the capture table (the environment must have \
capture enabled: the local stack, or enable_capture = true). The PutEvents entry files are stamped for a \
fresh run: times moved so that each file's latest event happens now (durations kept; CloudWatch takes no \
data points older than 14 days), event and aggregate ids made unique to the run (two runs of one file stay \
apart), detail.test_run_id set. The entries go on the environment's bus in PutEvents calls, failed entries \
sent again with backoff. Then the capture table is polled until the measurements that the offline replay of \
the same stamped entries computes have arrived, or --timeout passes.\n\n\
Prints what arrived, what was expected and what is missing (with --report, per metric the measurements \
and the SLO status; with --json, an object for scripts). Progress goes to stderr.\n\n\
Exit status: 0 when everything expected arrived, 1 when not (or when entries could not be put), 2 when \
it could not run (no entry files, unreadable files, no environment).",
    after_help = "Examples:\n  flightctl test-run events/guardrail.json             # the local stack (FC_AWS_ENDPOINT set)\n  \
flightctl test-run --report events/*.json\n  \
flightctl test-run --env dev --timeout 900 events/guardrail.json\n  \
flightctl test-run --json events/identity.json | jq '.missing'"
)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Seconds to wait for the measurements. Default: 60 on the local stack, 900 in AWS.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// The test-run id. Default: a fresh one (run-<UUID>).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Also print, per metric, the run's measurements and the SLO status.
    #[arg(long)]
    pub report: bool,
    /// Print the outcome as JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
    /// Sends of one entry before the run gives up on it.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// PutEvents entry files: a JSON array of {Source, DetailType, Detail, Time?, Resources?}.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Stamps, puts and proves the run; exit 0 when everything expected arrived.
pub async fn run(args: Args) -> Result<ExitCode> {
    if args.files.is_empty() {
        bail!(
            "no entry files given: name the PutEvents entry files to put, e.g. \
             flightctl test-run events/guardrail.json (see flightctl test-run --help)"
        );
    }
    let mut texts = Vec::new();
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        texts.push((path.display().to_string(), text));
    }
    let target = super::resolve(&args.target).await?;
    let run_id = args.run_id.clone().unwrap_or_else(test_run::new_run_id);
    let run = match test_run::prepare(
        &texts,
        &run_id,
        &target.deployment.event_bus(),
        system_now(),
    ) {
        Ok(run) => run,
        Err(problems) => {
            for problem in &problems {
                eprintln!("test-run: {problem}");
            }
            eprintln!(
                "test-run: {} entries cannot be put; fix them and run again (nothing was sent)",
                problems.len()
            );
            return Ok(ExitCode::from(1));
        }
    };
    for file in &run.files {
        eprintln!(
            "test-run: stamped {}: {} entries, times moved by {}",
            file.name,
            file.entries.len(),
            prove::human(file.shift as f64 / 1000.0, "Seconds")
        );
    }
    let where_ = if target.is_local() {
        "the local stack".to_string()
    } else {
        format!("environment {}", target.deployment.environment)
    };
    eprintln!(
        "test-run: run {run_id} on {where_}: putting {} entries on bus {}",
        run.entries.len(),
        target.deployment.event_bus()
    );
    if !put(&target, &run, args.max_attempts).await {
        return Ok(ExitCode::from(1));
    }

    let catalog = target.catalog.clone();
    let stamped: Vec<(String, String)> = run
        .files
        .iter()
        .map(|f| (f.name.clone(), f.text()))
        .collect();
    let expected = prove::expected(Arc::clone(&catalog), &stamped).await;
    let timeout = args
        .timeout
        .unwrap_or(if target.is_local() { 60 } else { 900 });
    let capture_table = target.deployment.capture_table();
    eprintln!(
        "test-run: waiting up to {timeout}s for the measurements in capture table {capture_table}"
    );
    let capture =
        flight_aws::DynamoCapture::new(target.dynamodb(), capture_table.clone(), CAPTURE_TTL);
    let (captured, comparison) =
        prove::wait(&capture, &run_id, &expected, Duration::from_secs(timeout))
            .await
            .with_context(|| {
                format!(
                    "cannot read capture table {capture_table}: is capture enabled in {where_} \
                     (enable_capture = true; the local stack has it)?"
                )
            })?;
    let passed = prove::passed(&expected, &captured, &comparison);
    if args.json {
        let mut value = prove::to_json(&run_id, &expected, &captured, &comparison);
        value["environment"] = target.deployment.environment.clone().into();
        value["bus"] = target.deployment.event_bus().into();
        value["capture_table"] = capture_table.clone().into();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        if args.report {
            let prefix = &target.deployment.slo_alarm_prefix();
            let alarms = alarm_states(&target, prefix).await;
            print!(
                "{}",
                prove::report(
                    &catalog,
                    &captured.measurements,
                    &alarms,
                    &target.deployment
                )
            );
            println!();
        }
        print!(
            "{}",
            prove::summary(&run_id, &expected, &captured, &comparison)
        );
    }
    if passed {
        eprintln!("test-run: PASSED: run {run_id}");
    } else {
        eprintln!("test-run: FAILED: run {run_id} (see above)");
    }
    Ok(super::status(passed))
}

/// Puts the run's entries with retries; says on stderr, and returns false,
/// when any could not be put.
async fn put(target: &Target, run: &test_run::Prepared, max_attempts: u32) -> bool {
    let bus = EventBridgeBus::new(target.eventbridge(), target.deployment.event_bus());
    let policy = RetryPolicy {
        max_attempts,
        ..RetryPolicy::default()
    };
    let (deliveries, stats) = put_events::send(&bus, &run.entries, &policy, |_| {}).await;
    let failures: Vec<String> = deliveries
        .iter()
        .filter_map(|d| match d {
            Delivery::Failed {
                code,
                message,
                attempts,
            } => Some(format!("{code}: {message} ({attempts} attempts)")),
            Delivery::Sent { .. } => None,
        })
        .collect();
    if failures.is_empty() {
        if stats.retries > 0 {
            eprintln!("test-run: all put ({} entries sent again)", stats.retries);
        }
        return true;
    }
    eprintln!(
        "test-run: PutEvents did not take {} of {} entries:",
        failures.len(),
        run.entries.len()
    );
    for failure in &failures {
        eprintln!("  {failure}");
    }
    eprintln!(
        "test-run: check the bus exists ({}: is the environment deployed, the local stack running?) \
         and that your credentials may put events on it; then run again",
        target.deployment.event_bus()
    );
    false
}

/// The SLO alarms' states by name; empty (with a note) where CloudWatch cannot say.
async fn alarm_states(target: &Target, prefix: &str) -> BTreeMap<String, String> {
    match target
        .cloudwatch()
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .alarm_types(AlarmType::CompositeAlarm)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
    {
        Ok(out) => {
            let metric = out.metric_alarms().iter().filter_map(|a| {
                Some((
                    a.alarm_name()?.to_string(),
                    a.state_value()?.as_str().to_string(),
                ))
            });
            let composite = out.composite_alarms().iter().filter_map(|a| {
                Some((
                    a.alarm_name()?.to_string(),
                    a.state_value()?.as_str().to_string(),
                ))
            });
            metric.chain(composite).collect()
        }
        Err(e) => {
            eprintln!(
                "test-run: alarm states unavailable: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(e)
            );
            BTreeMap::new()
        }
    }
}
