//! `flight-bench calibrate` (issue 13): one workload of the load model's story
//! mix (a few thousand events, then a settle sweep past the lateness window),
//! run twice with the deployed settings: through the real [`DynamoStore`] on
//! DynamoDB Local and [`CloudWatchSink`] on moto, and through the load model's
//! [`ModeledStore`] and [`ModeledSink`] in simulated time. Requests per event,
//! by operation, must agree (the model mirrors the adapters); the latency
//! ratios measured on DynamoDB Local are printed next to the model's
//! assumptions, for information only. `docs/scale.md` ("Calibration").

mod timed;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use flight_aws::{Operation, RequestCounts};
use flight_core::shard::Sweep;
use flight_core::{Catalog, Clock, EventStore, FlightController, MetricSink, Millis, SystemClock};
use serde_json::Value;

use self::timed::{Sample, Timed};
use crate::gen::eventbridge;
use crate::ingest::{deployed_settings, local_stack, ShiftedClock, WINDOW};
use crate::load::{
    Arrivals, Config, Ended, Executor, Latencies, ModeledSink, ModeledStore, Sim, PUT_METRIC_DATA,
};

/// The arguments of `flight-bench calibrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events of the story mix.
    #[arg(long, default_value_t = 3_000)]
    pub events: u64,
    /// The mix's rate and hot-resource rate (only their ratio matters here:
    /// one event in `rate / hot_rate` is the hot resource's), as load-model's defaults.
    #[arg(long, default_value_t = 1_200.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 100.0)]
    pub hot_rate: f64,
    /// Largest relative difference allowed between the two runs' requests per
    /// event of any operation (docs/scale.md says why 5 %).
    #[arg(long, default_value_t = 0.05)]
    pub tolerance: f64,
    /// Exit 0 even if the counts differ.
    #[arg(long)]
    pub no_fail: bool,
}

/// What one run of the workload sent.
#[derive(Debug, Clone, Copy, Default)]
struct Sent {
    requests: RequestCounts,
    put_metric_data: u64,
    published: usize,
}

/// The workload: every event through the ingest use case, then, once the
/// lateness window has passed (`pass_window`), one sweep of every shard.
/// Returns the data points published.
async fn workload<S, M, C, F>(
    service: &FlightController<S, M, C>,
    events: &[Value],
    pass_window: impl FnOnce() -> F,
) -> Result<usize>
where
    S: EventStore,
    M: MetricSink,
    C: Clock,
    F: Future<Output = ()>,
{
    for (i, event) in events.iter().enumerate() {
        service
            .ingest(event, None)
            .await
            .with_context(|| format!("ingest of event {i}"))?;
    }
    pass_window().await;
    let report = service
        .settle_sweep(Sweep::ALL)
        .await
        .context("the settle sweep")?;
    Ok(report.published.len())
}

/// The events of the load model's story mix, as EventBridge delivers them.
fn story_mix(args: &Args, epoch: Millis) -> Vec<Value> {
    let config = Config {
        rate: args.rate,
        hot_rate: args.hot_rate.min(args.rate),
        seconds: 0,
        sweeps: 1,
        timeout: 60,
        window: WINDOW as u64 / 1000,
        drain_ticks: 0,
        seed: 13,
    };
    let mut arrivals = Arrivals::new(&config, epoch);
    (0..args.events)
        .map(|i| eventbridge(&arrivals.next(i), &format!("eb-{i}")))
        .collect()
}

/// The workload through DynamoStore on DynamoDB Local and CloudWatchSink on moto.
async fn on_local_stack(catalog: &Arc<Catalog>, events: &[Value]) -> Result<(Sent, Vec<Sample>)> {
    let (store, sink) = local_stack().await?;
    let timed = Arc::new(Timed::new(store.clone()));
    let clock = Arc::new(ShiftedClock::default());
    let service = FlightController::new(
        catalog.clone(),
        timed.clone(),
        sink.clone(),
        clock.clone(),
        deployed_settings(),
    );
    let published = workload(&service, events, || {
        timed.settling();
        clock.advance(WINDOW + 1_000);
        std::future::ready(())
    })
    .await?;
    let samples = timed.take_samples();
    let sent = Sent {
        requests: store.request_counts(),
        put_metric_data: sink.put_metric_data_calls(),
        published,
    };
    Ok((sent, samples))
}

/// The workload through the load model's store and sink, in simulated time.
fn in_the_model(catalog: &Arc<Catalog>, events: &[Value], now: Millis) -> Result<Sent> {
    let sim = Arc::new(Sim::new(now));
    let store = Arc::new(ModeledStore::new(sim.clone(), Latencies::default(), 13));
    let sink = Arc::new(ModeledSink::new(sim.clone(), PUT_METRIC_DATA, 14));
    let service = FlightController::new(
        catalog.clone(),
        store.clone(),
        sink.clone(),
        sim.clone(),
        deployed_settings(),
    );
    let mut exec = Executor::new(&sim);
    exec.spawn(
        0,
        None,
        workload(&service, events, || sim.sleep((WINDOW + 1_000) * 1_000)),
    );
    let mut published = None;
    while exec.next_wake().is_some() {
        if let Some(Ended::Finished(result)) = exec.step() {
            published = Some(result?);
        }
    }
    let published = published.context("the model's workload did not finish")?;
    Ok(Sent {
        requests: store.usage().operations,
        put_metric_data: sink.usage().calls,
        published,
    })
}

/// One line of the comparison: an operation's requests per event in each run.
pub struct Compared {
    pub operation: &'static str,
    pub local: f64,
    pub model: f64,
}

impl Compared {
    /// Whether the two agree within `tolerance` (relative to the larger).
    pub fn agrees(&self, tolerance: f64) -> bool {
        (self.local - self.model).abs() <= tolerance * self.local.max(self.model)
    }
}

fn compare(local: &Sent, model: &Sent, events: f64) -> Vec<Compared> {
    let per = |n: u64| n as f64 / events;
    let row = |operation, l: u64, m: u64| Compared {
        operation,
        local: per(l),
        model: per(m),
    };
    let (l, m) = (&local.requests, &model.requests);
    vec![
        row("PutItem", l.put_item, m.put_item),
        row("Query", l.query, m.query),
        row(
            "TransactWriteItems",
            l.transact_write_items,
            m.transact_write_items,
        ),
        row(
            "(actions in transactions)",
            l.transaction_actions,
            m.transaction_actions,
        ),
        row("UpdateItem", l.update_item, m.update_item),
        row("GetItem", l.get_item, m.get_item),
        row(
            "PutMetricData",
            local.put_metric_data,
            model.put_metric_data,
        ),
    ]
}

fn median(samples: &[Sample], keep: impl Fn(&Sample) -> bool) -> Option<(Duration, usize)> {
    let mut kept: Vec<&Sample> = samples.iter().filter(|s| keep(s)).collect();
    if kept.is_empty() {
        return None;
    }
    kept.sort_by_key(|s| s.took);
    let mut actions: Vec<usize> = kept.iter().map(|s| s.actions).collect();
    actions.sort_unstable();
    Some((kept[kept.len() / 2].took, actions[actions.len() / 2]))
}

fn print_latencies(samples: &[Sample]) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let model = Latencies::default();
    let put = median(samples, |s| s.operation == Operation::PutItem);
    let query = median(samples, |s| s.operation == Operation::Query && !s.settling);
    let settle_query = median(samples, |s| s.operation == Operation::Query && s.settling);
    let transaction = median(samples, |s| s.operation == Operation::TransactWriteItems);
    println!();
    println!("Latency ratios (medians; DynamoDB Local is a JVM on this machine, not DynamoDB: informative, not checked)");
    println!();
    println!("| ratio | DynamoDB Local | model assumes |");
    println!("|---|---:|---:|");
    let Some((put, _)) = put else {
        println!("| (no PutItem timed) | | |");
        return;
    };
    let single = model.single.p50_ms;
    println!(
        "| PutItem median (ingest) | {:.2} ms | {single:.1} ms |",
        ms(put)
    );
    if let Some((t, actions)) = transaction {
        let assumed = model.transaction.p50_ms + model.per_item_ms * actions as f64;
        println!(
            "| TransactWriteItems ÷ PutItem (median {actions} actions) | {:.2} ({:.2} ms) | {:.2} ({assumed:.1} ms) |",
            ms(t) / ms(put),
            ms(t),
            assumed / single
        );
    }
    for (name, q) in [
        (
            "Query ÷ PutItem (ingest's timeline query, one in flight)",
            query,
        ),
        (
            "Query ÷ PutItem (settle's span reads, up to 32 in flight)",
            settle_query,
        ),
    ] {
        if let Some((q, _)) = q {
            println!(
                "| {name} | {:.2} ({:.2} ms) | {:.2} |",
                ms(q) / ms(put),
                ms(q),
                1.0
            );
        }
    }
}

/// `flight-bench calibrate`: exit status 1 when requests per event differ
/// by more than the tolerance (unless `--no-fail`).
pub async fn main(args: &Args) -> Result<std::process::ExitCode> {
    if args.events == 0 || args.rate <= 0.0 {
        bail!("--events and --rate must be positive");
    }
    let catalog = Arc::new(Catalog::default_catalog());
    let now = SystemClock.now();
    // Times in the last two days: inside CloudWatch's range, as in `ingest`.
    let events = story_mix(args, now - 2 * 86_400_000);
    let model = in_the_model(&catalog, &events, now).context("the load model's run")?;
    let (local, samples) = on_local_stack(&catalog, &events)
        .await
        .context("the run on DynamoDB Local and moto")?;
    let n = events.len() as f64;
    println!(
        "Calibration: {} events of the load model's story mix (1 in {:.0} on the hot resource), window {} s, then one sweep of every shard; published {} data points on DynamoDB Local + moto, {} in the model",
        events.len(),
        (args.rate / args.hot_rate).round(),
        WINDOW / 1000,
        local.published,
        model.published
    );
    println!();
    println!("| requests per event | DynamoDB Local + moto | load model | model ÷ Local | agrees (±{:.0} %) |", args.tolerance * 100.0);
    println!("|---|---:|---:|---:|---|");
    let rows = compare(&local, &model, n);
    let mut failed = Vec::new();
    for row in &rows {
        let ratio = if row.local > 0.0 {
            format!("{:.3}", row.model / row.local)
        } else if row.model > 0.0 {
            "∞".into()
        } else {
            "—".into()
        };
        let agrees = row.agrees(args.tolerance);
        println!(
            "| {} | {:.4} | {:.4} | {ratio} | {} |",
            row.operation,
            row.local,
            row.model,
            if agrees { "yes" } else { "NO" }
        );
        if !agrees {
            failed.push(row.operation);
        }
    }
    if local.published != model.published {
        failed.push("data points published");
    }
    print_latencies(&samples);
    println!();
    if failed.is_empty() {
        println!(
            "PASS the load model sends the requests DynamoStore and CloudWatchSink send, per event, within {:.0} %",
            args.tolerance * 100.0
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    println!(
        "FAIL the load model does not mirror the adapters: {} differ (lambdas/flight-bench/src/load/dynamo.rs mirrors flight_aws::DynamoStore)",
        failed.join(", ")
    );
    Ok(if args.no_fail {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_within_the_tolerance_of_the_larger() {
        let row = |local, model| Compared {
            operation: "Query",
            local,
            model,
        };
        assert!(row(1.00, 1.04).agrees(0.05));
        assert!(!row(1.00, 1.06).agrees(0.05));
        assert!(row(0.0, 0.0).agrees(0.05));
        assert!(!row(0.0, 0.01).agrees(0.05));
    }

    #[test]
    fn the_model_runs_the_workload_to_the_end_and_publishes_what_it_measures() {
        let catalog = Arc::new(Catalog::default_catalog());
        let now = SystemClock.now();
        let args = Args {
            events: 300,
            rate: 1_200.0,
            hot_rate: 100.0,
            tolerance: 0.05,
            no_fail: false,
        };
        let events = story_mix(&args, now - 2 * 86_400_000);
        let sent = in_the_model(&catalog, &events, now).expect("the model's run");

        assert_eq!(sent.requests.put_item, 300);
        assert!(sent.published > 0);
        assert!(sent.requests.transact_write_items > 0);
        assert!(sent.put_metric_data > 0);
    }
}
