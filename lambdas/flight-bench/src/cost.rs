//! `flight-bench cost` (issue 13): the monthly bill of a deployment at given
//! event rates of the load model's story mix, computed from the request mix
//! per event the load model counts (write and read units, PutMetricData
//! calls, completing events, what one settle invocation settles per second)
//! and AWS list prices ([`PRICES`]). Each rate gets the settle sweeps that
//! sustain it. `docs/scale.md` ("Cost") says what is in and out.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use flight_aws::Operation;
use flight_core::shard::{Sweep, DUE_SHARDS};
use flight_core::Catalog;

use crate::load::{self, Config};

/// AWS list prices in US dollars, us-east-1, on-demand, as of November 2026
/// (aws.amazon.com/lambda/pricing, /dynamodb/pricing/on-demand,
/// /cloudwatch/pricing; the README's "Cost per million events" quotes them).
#[derive(Debug, Clone, Copy)]
pub struct Prices {
    /// Per Lambda request.
    pub lambda_request: f64,
    /// Per GB-second of Lambda on arm64.
    pub lambda_gb_second: f64,
    /// Per DynamoDB on-demand write request unit.
    pub write_unit: f64,
    /// Per DynamoDB on-demand read request unit.
    pub read_unit: f64,
    /// Per CloudWatch PutMetricData request.
    pub put_metric_data: f64,
}

/// The prices this model uses (see [`Prices`]).
pub const PRICES: Prices = Prices {
    lambda_request: 0.20 / 1e6,
    lambda_gb_second: 0.000_013_333_4,
    write_unit: 0.625 / 1e6,
    read_unit: 0.125 / 1e6,
    put_metric_data: 0.01 / 1e3,
};

/// Seconds in the month the bill is for (30 days).
pub const MONTH_SECONDS: f64 = 30.0 * 86_400.0;
/// Schedule ticks in that month (one a minute).
const MONTH_MINUTES: f64 = MONTH_SECONDS / 60.0;

/// What the deployment bills per invocation, besides the model's counts.
#[derive(Debug, Clone, Copy)]
pub struct Deployment {
    /// Terraform `memory_size` of both functions, in GB (128 MB).
    pub memory_gb: f64,
    /// Billed duration of one ingest invocation: two DynamoDB round trips
    /// (~5 ms each) and ~2 ms of its own work (README, "Cost per million events").
    pub ingest_seconds: f64,
    /// Billed duration of a sweep's last, empty round (its `due` queries sent
    /// together: one round trip) and its own work; every invocation has one.
    pub idle_sweep_seconds: f64,
    /// Read units of one `due` query that finds nothing (eventually
    /// consistent, under 4 KB), as the model charges it.
    pub idle_query_read_units: f64,
}

/// The deployed settings (Terraform defaults).
pub const DEPLOYED: Deployment = Deployment {
    memory_gb: 0.125,
    ingest_seconds: 0.015,
    idle_sweep_seconds: 0.010,
    idle_query_read_units: 0.5,
};

/// The request mix per event of the story mix, as the load model counts it.
#[derive(Debug, Clone, Copy)]
pub struct Mix {
    /// Share of the events that complete a data point (and wait to settle).
    pub completing_share: f64,
    /// DynamoDB write and read request units per event, ingest and settle.
    pub write_units: f64,
    pub read_units: f64,
    /// PutMetricData calls per event.
    pub put_metric_data: f64,
    /// Completing events one settle invocation settles per second it runs.
    pub per_invocation: f64,
}

/// A month's bill at one rate, in US dollars.
#[derive(Debug, Clone, Copy)]
pub struct Bill {
    pub rate: f64,
    pub sweeps: u64,
    pub lambda: f64,
    pub writes: f64,
    pub reads: f64,
    pub put_metric_data: f64,
}

impl Bill {
    pub fn total(&self) -> f64 {
        self.lambda + self.writes + self.reads + self.put_metric_data
    }

    /// Dollars per million events.
    pub fn per_million(&self) -> f64 {
        self.total() / (self.rate * MONTH_SECONDS) * 1e6
    }
}

/// The fewest sweeps (a divisor of the shard count) whose invocations
/// together settle the completing events of `rate`, or `None` beyond them all.
pub fn sweeps_for(mix: &Mix, rate: f64) -> Option<u64> {
    let completing = rate * mix.completing_share;
    (1..=DUE_SHARDS)
        .find(|&n| Sweep::new(0, n).is_ok() && mix.per_invocation * n as f64 >= completing)
}

/// The month at `rate` events/s with `sweeps` settle invocations a minute.
pub fn bill(mix: &Mix, deployment: &Deployment, prices: &Prices, rate: f64, sweeps: u64) -> Bill {
    let events = rate * MONTH_SECONDS;
    let completing = events * mix.completing_share;
    let sweeps_run = sweeps as f64 * MONTH_MINUTES;
    let settle_seconds =
        completing / mix.per_invocation + sweeps_run * deployment.idle_sweep_seconds;
    let gb_seconds = deployment.memory_gb * (events * deployment.ingest_seconds + settle_seconds);
    let shards_per_sweep = DUE_SHARDS as f64 / sweeps as f64;
    let idle_reads = sweeps_run * shards_per_sweep * deployment.idle_query_read_units;
    // A sweep that finds data points publishes them in at least one call.
    let calls = (events * mix.put_metric_data).max(if completing > 0.0 { sweeps_run } else { 0.0 });
    Bill {
        rate,
        sweeps,
        lambda: (events + sweeps_run) * prices.lambda_request
            + gb_seconds * prices.lambda_gb_second,
        writes: events * mix.write_units * prices.write_unit,
        reads: (events * mix.read_units + idle_reads) * prices.read_unit,
        put_metric_data: calls * prices.put_metric_data,
    }
}

/// The arguments of `flight-bench cost`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Event rates to price, events/s of the story mix.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,10000")]
    pub rates: Vec<f64>,
    /// Settle sweeps for each rate (default: the fewest that sustain it,
    /// from the load model's rate per invocation).
    #[arg(long, value_delimiter = ',')]
    pub sweeps: Vec<u64>,
    /// Completing events/s one invocation settles, instead of the model's.
    #[arg(long)]
    pub per_invocation: Option<f64>,
    /// The load-model run the mix is counted in: offered events/s, one sweep.
    #[arg(long, default_value_t = 1_200.0)]
    pub model_rate: f64,
    /// Seconds of arrivals in that run.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
}

/// The request mix of one load-model run (one sweep, offered more than it
/// settles); prints it by operation.
fn model_mix(args: &Args) -> Mix {
    let config = Config {
        rate: args.model_rate,
        hot_rate: 100.0_f64.min(args.model_rate),
        seconds: args.seconds,
        sweeps: 1,
        timeout: 60,
        window: 60,
        drain_ticks: 2,
        seed: 13,
    };
    let outcome = load::run_scenario(&config, &Arc::new(Catalog::default_catalog()));
    let events = outcome.events.max(1) as f64;
    print_mix(&outcome, events);
    Mix {
        completing_share: outcome.completing as f64 / events,
        write_units: outcome.store.write_units / events,
        read_units: outcome.store.read_units / events,
        put_metric_data: outcome.sink.calls as f64 / events,
        per_invocation: outcome.per_invocation(),
    }
}

/// The model's requests and units per event, by operation.
fn print_mix(outcome: &load::Outcome, events: f64) {
    let counts = &outcome.store.operations;
    println!("| per event (load model) | requests | WRU | RRU |");
    println!("|---|---:|---:|---:|");
    for (name, operation, requests) in [
        ("PutItem", Operation::PutItem, counts.put_item),
        ("UpdateItem", Operation::UpdateItem, counts.update_item),
        (
            "TransactWriteItems",
            Operation::TransactWriteItems,
            counts.transact_write_items,
        ),
        ("Query", Operation::Query, counts.query),
        ("GetItem", Operation::GetItem, counts.get_item),
    ] {
        let (writes, reads) = outcome.store.units_by_operation[operation as usize];
        println!(
            "| {name} | {:.4} | {:.3} | {:.3} |",
            requests as f64 / events,
            writes / events,
            reads / events
        );
    }
    println!(
        "| PutMetricData | {:.4} | | |",
        outcome.sink.calls as f64 / events
    );
    println!(
        "| **total** | {:.4} | {:.3} | {:.3} |",
        (outcome.store.requests + outcome.sink.calls) as f64 / events,
        outcome.store.write_units / events,
        outcome.store.read_units / events
    );
    println!();
}

/// `flight-bench cost`: prints the mix and the table.
pub fn main(args: &Args) -> Result<std::process::ExitCode> {
    if !args.sweeps.is_empty() && args.sweeps.len() != args.rates.len() {
        bail!("--sweeps: one per rate ({} rates)", args.rates.len());
    }
    if args.rates.iter().any(|r| *r <= 0.0) {
        bail!("rates must be positive");
    }
    let mut mix = model_mix(args);
    if let Some(per) = args.per_invocation {
        mix.per_invocation = per;
    }
    println!(
        "Request mix per event (load model, {:.0} events/s offered for {} s, one sweep): {:.3} WRU, {:.3} RRU, {:.4} PutMetricData calls; {:.0} % of events complete a data point; one settle invocation settles {:.0} of them per second",
        args.model_rate,
        args.seconds,
        mix.write_units,
        mix.read_units,
        mix.put_metric_data,
        mix.completing_share * 100.0,
        mix.per_invocation
    );
    println!("Prices: us-east-1 list prices, November 2026 (flight-bench cost.rs PRICES); 128 MB arm64 functions, ingest {:.0} ms, an idle sweep {:.0} ms; a month of 30 days", DEPLOYED.ingest_seconds * 1e3, DEPLOYED.idle_sweep_seconds * 1e3);
    println!();
    println!("| events/s | sweeps | Lambda $/month | DynamoDB writes | DynamoDB reads | CloudWatch PutMetricData | total $/month | $ per million events |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, &rate) in args.rates.iter().enumerate() {
        let sweeps = match args.sweeps.get(i) {
            Some(&s) => {
                Sweep::new(0, s).with_context(|| format!("--sweeps {s}"))?;
                s
            }
            None => sweeps_for(&mix, rate).with_context(|| {
                format!("{rate} events/s: more than {DUE_SHARDS} sweeps settle")
            })?,
        };
        let b = bill(&mix, &DEPLOYED, &PRICES, rate, sweeps);
        println!(
            "| {rate:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | **{:.2}** | {:.2} |",
            b.sweeps,
            b.lambda,
            b.writes,
            b.reads,
            b.put_metric_data,
            b.total(),
            b.per_million()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half the events complete; 4 WRU, 2 RRU and 0.01 calls per event; an
    /// invocation settles 100 completing events per second.
    const MIX: Mix = Mix {
        completing_share: 0.5,
        write_units: 4.0,
        read_units: 2.0,
        put_metric_data: 0.01,
        per_invocation: 100.0,
    };
    const ROUND: Deployment = Deployment {
        memory_gb: 0.125,
        ingest_seconds: 0.016,
        idle_sweep_seconds: 0.010,
        idle_query_read_units: 0.5,
    };

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0)
    }

    #[test]
    fn ten_events_a_second_for_a_month_with_one_sweep() {
        // 25,920,000 events, 12,960,000 completing, 43,200 sweeps of 32 shards.
        let b = bill(&MIX, &ROUND, &PRICES, 10.0, 1);
        // Requests: (25,920,000 + 43,200) × $0.2/M = $5.19264. GB-s:
        // 0.125 × (25,920,000 × 0.016 + 12,960,000 / 100 + 43,200 × 0.01)
        // = 0.125 × 544,752 = 68,094 GB-s × $0.0000133334.
        assert!(
            close(b.lambda, 5.19264 + 68_094.0 * 0.000_013_333_4),
            "{b:?}"
        );
        // 103,680,000 WRU × $0.625/M.
        assert!(close(b.writes, 64.80), "{b:?}");
        // 51,840,000 RRU + 43,200 × 32 shards × 0.5 idle = 52,531,200 RRU
        // × $0.125/M = $6.5664 (with 32 `due` shards).
        let idle = 43_200.0 * DUE_SHARDS as f64 * 0.5;
        assert!(close(b.reads, (51_840_000.0 + idle) * 0.125e-6), "{b:?}");
        // 259,200 calls × $0.01/1,000.
        assert!(close(b.put_metric_data, 2.592), "{b:?}");
        assert!(close(b.per_million(), b.total() / 25.92), "{b:?}");
    }

    #[test]
    fn a_trickle_still_pays_one_put_metric_data_per_sweep_and_its_idle_reads() {
        // 25,920 events a month: 259 calls by the mix, but 43,200 sweeps publish.
        let b = bill(&MIX, &ROUND, &PRICES, 0.01, 1);
        assert!(close(b.put_metric_data, 0.432), "{b:?}");
        // Two sweeps read 16 shards each: the same idle reads.
        let two = bill(&MIX, &ROUND, &PRICES, 0.01, 2);
        assert!(close(two.reads, b.reads), "{two:?}");
    }

    #[test]
    fn the_sweeps_are_the_fewest_that_divide_the_shards_and_keep_up() {
        // Completing events/s: 5, 150, 500 (5 sweeps would do; 8 divide the shards).
        assert_eq!(sweeps_for(&MIX, 10.0), Some(1));
        assert_eq!(sweeps_for(&MIX, 300.0), Some(2));
        assert_eq!(sweeps_for(&MIX, 1_000.0), Some(8));
        // More than one sweep per shard would be needed.
        let beyond = (DUE_SHARDS + 1) as f64 * 100.0 / 0.5;
        assert_eq!(sweeps_for(&MIX, beyond), None);
    }
}
