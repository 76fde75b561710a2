//! The load model (`flight-bench load-model`, issue 13): the real ingest and
//! settle use cases over the in-memory store, wrapped in a latency and limit
//! model of DynamoDB ([`dynamo`]) and CloudWatch ([`cloudwatch`]), run in
//! simulated time ([`exec`]). For each offered rate and settle configuration
//! it prints the throughput of one invocation, the rate the configuration
//! sustains, the backlog at each minute and the requests per event, then the
//! budgets' verdicts. `docs/scale.md` says what the model assumes and what it
//! cannot capture.

mod cloudwatch;
mod dynamo;
mod exec;
mod scenario;

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use flight_core::Catalog;

pub use scenario::{Config, Outcome};
// The model's parts, for `flight-bench calibrate` and `flight-bench cost`.
pub use cloudwatch::{ModeledSink, PUT_METRIC_DATA};
pub use dynamo::{Latencies, ModeledStore};
pub use exec::{Ended, Executor, Sim};
pub use scenario::{run as run_scenario, Arrivals};

/// The arguments of `flight-bench load-model`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Offered events per second (one row per rate and sweep count).
    #[arg(long, value_delimiter = ',', default_value = "1200")]
    pub rates: Vec<f64>,
    /// Offer this many events per second per sweep instead of `--rates`
    /// (one row per sweep count: the scaling table).
    #[arg(long)]
    pub rate_per_sweep: Option<f64>,
    /// Settle invocations started each minute.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    pub sweeps: Vec<usize>,
    /// Events per second on one hot resource, within the rate.
    #[arg(long, default_value_t = 100.0)]
    pub hot_rate: f64,
    /// How long events arrive, in seconds.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// The settle function's timeout, in seconds (Terraform: 60).
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// The lateness window of the model, in seconds.
    #[arg(long, default_value_t = 60)]
    pub window: u64,
    /// Budget: SWEEPS:RATE, the configuration with SWEEPS invocations
    /// sustains RATE completing events per second (repeatable).
    #[arg(long = "budget-capacity", value_parser = parse_capacity)]
    pub budget_capacity: Vec<(usize, f64)>,
    /// Budget: at most this many AWS requests per event.
    #[arg(long)]
    pub budget_requests: Option<f64>,
    /// Exit 0 even if a budget fails.
    #[arg(long)]
    pub no_fail: bool,
}

fn parse_capacity(text: &str) -> Result<(usize, f64), String> {
    let (sweeps, rate) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: expected SWEEPS:RATE, e.g. 16:10000"))?;
    Ok((
        sweeps.parse().map_err(|e| format!("`{sweeps}`: {e}"))?,
        rate.parse().map_err(|e| format!("`{rate}`: {e}"))?,
    ))
}

/// Runs every row, prints the table and the verdicts; returns how many budgets failed.
pub fn run(args: &Args) -> Result<usize> {
    if args
        .rates
        .iter()
        .chain(&args.rate_per_sweep)
        .any(|r| *r <= 0.0)
    {
        bail!("rates must be positive");
    }
    for &sweeps in &args.sweeps {
        flight_core::shard::Sweep::new(0, sweeps as u64)?;
    }
    let catalog = Arc::new(Catalog::default_catalog());
    println!(
        "| offered events/s | sweeps | completing events/s | settled/s per invocation | sustainable completing events/s | backlog at each minute | drained every minute | requests/event | throttled | CPU s |"
    );
    println!("|---:|---:|---:|---:|---:|---|---|---:|---:|---:|");
    let mut rows = Vec::new();
    let pairs: Vec<(f64, usize)> = match args.rate_per_sweep {
        Some(per) => args.sweeps.iter().map(|&s| (per * s as f64, s)).collect(),
        None => args
            .rates
            .iter()
            .flat_map(|&r| args.sweeps.iter().map(move |&s| (r, s)))
            .collect(),
    };
    {
        for (rate, sweeps) in pairs {
            let config = Config {
                rate,
                hot_rate: args.hot_rate.min(rate),
                seconds: args.seconds,
                sweeps,
                timeout: args.timeout,
                window: args.window,
                drain_ticks: 2,
                seed: 13,
            };
            let started = std::time::Instant::now();
            let outcome = scenario::run(&config, &catalog);
            let cpu = started.elapsed().as_secs_f64();
            print_row(&config, &outcome, cpu);
            if outcome.errors > 0 {
                eprintln!(
                    "load-model: {} use-case calls failed at {rate}/s, {sweeps} sweeps",
                    outcome.errors
                );
            }
            if outcome.store.throttled > 0 {
                eprintln!(
                    "load-model: {rate}/s, {sweeps} sweeps: throttled requests by key: {}",
                    outcome.store.throttled_keys()
                );
            }
            rows.push((config, outcome));
        }
    }
    Ok(verdicts(args, &rows))
}

fn print_row(config: &Config, o: &Outcome, cpu: f64) {
    let completing = o.completing as f64 / config.seconds as f64;
    let backlog: Vec<String> = o.ticks.iter().map(|t| t.backlog.to_string()).collect();
    println!(
        "| {:.0} | {} | {:.0} | {:.0} | {:.0} | {} | {} | {:.2} | {} | {:.1} |",
        config.rate,
        config.sweeps,
        completing,
        o.per_invocation(),
        o.capacity(config),
        backlog.join(" → "),
        if o.drained_every_minute() {
            "yes"
        } else {
            "no"
        },
        o.requests_per_event(),
        o.store.throttled + o.sink.throttled,
        cpu,
    );
}

/// Prints each budget's verdict; returns how many failed.
fn verdicts(args: &Args, rows: &[(Config, Outcome)]) -> usize {
    let mut failed = 0;
    let mut verdict = |ok: bool, text: String| {
        println!("{} {text}", if ok { "PASS" } else { "FAIL" });
        failed += usize::from(!ok);
    };
    for &(sweeps, budget) in &args.budget_capacity {
        let best = rows
            .iter()
            .filter(|(c, _)| c.sweeps == sweeps)
            .map(|(c, o)| o.capacity(c))
            .reduce(f64::max);
        match best {
            Some(capacity) => verdict(
                capacity >= budget,
                format!("{sweeps} sweeps sustain {capacity:.0} completing events/s (budget ≥ {budget:.0})"),
            ),
            None => verdict(false, format!("no row with {sweeps} sweeps to check ≥ {budget:.0}/s")),
        }
    }
    if let Some(budget) = args.budget_requests {
        for (c, o) in rows {
            verdict(
                o.requests_per_event() <= budget,
                format!(
                    "{:.0}/s, {} sweeps: {:.2} requests per event (budget ≤ {budget})",
                    c.rate,
                    c.sweeps,
                    o.requests_per_event()
                ),
            );
        }
    }
    failed
}

/// `flight-bench load-model`: exit status 1 when a budget fails (unless `--no-fail`).
pub fn main(args: &Args) -> Result<std::process::ExitCode> {
    let failed = run(args).context("load model")?;
    Ok(if failed > 0 && !args.no_fail {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}
