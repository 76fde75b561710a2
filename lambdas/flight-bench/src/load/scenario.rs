//! One run of the load model: events arrive at a steady rate and go through
//! the real ingest use case; every minute the schedule starts the configured
//! settle invocations, each a fresh [`FlightController`] running the real
//! settle use case until it drains or reaches its timeout. All of it over
//! [`ModeledStore`] and [`ModeledSink`] in simulated time.

use std::sync::Arc;

use flight_core::shard::Sweep;
use flight_core::{Catalog, Clock, FlightController, Millis, Settings};

use super::cloudwatch::{ModeledSink, SinkUsage, PUT_METRIC_DATA};
use super::dynamo::{Latencies, ModeledStore, Usage};
use super::exec::{Ended, Executor, Sim};
use crate::gen::{eventbridge, long_guardrail, round, Generated};

const SECOND: i64 = 1_000_000;
/// The schedule's period (EventBridge: every minute).
const PERIOD: i64 = 60 * SECOND;

/// A deployment's settle configuration and the load offered to it.
#[derive(Debug, Clone)]
pub struct Config {
    /// Events per second of the mixed stories (every domain of the default catalog).
    pub rate: f64,
    /// Events per second on one resource (activate/pass cycles), within `rate`.
    pub hot_rate: f64,
    /// How long events arrive, in seconds.
    pub seconds: u64,
    /// Settle invocations the schedule starts each minute, each with its
    /// [`Sweep`] of the `due` shards; divides the shard count.
    pub sweeps: usize,
    /// A settle invocation's timeout, in seconds.
    pub timeout: u64,
    /// The lateness window, in seconds (it delays settling; the rate it
    /// sustains does not depend on it).
    pub window: u64,
    /// Schedule ticks after the arrivals end, to drain what is left.
    pub drain_ticks: u64,
    pub seed: u64,
}

/// The state at one schedule tick.
#[derive(Debug, Clone, Copy)]
pub struct Tick {
    /// Events whose data points were due by now and are not yet published.
    pub backlog: u64,
    /// Whether everything due at the previous tick was published by now.
    pub drained: bool,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub events: u64,
    /// Events that complete a data point (they wait to settle).
    pub completing: u64,
    pub settled: u64,
    pub invocations: u64,
    pub timed_out: u64,
    /// Seconds the settle invocations ran, together.
    pub busy_s: f64,
    pub ticks: Vec<Tick>,
    pub store: Usage,
    pub sink: SinkUsage,
    pub errors: u64,
}

impl Outcome {
    /// Events one invocation settles per second it runs.
    pub fn per_invocation(&self) -> f64 {
        if self.busy_s > 0.0 {
            self.settled as f64 / self.busy_s
        } else {
            0.0
        }
    }

    /// Completing events per second the configuration settles: each
    /// invocation's rate while it runs, times the sweeps, over the part of
    /// each minute an invocation may run. Its ceiling when it is offered
    /// more than that (the scaling table's rows are); a configuration that
    /// keeps up shows about what it was offered, its invocations running on
    /// a trickle.
    pub fn capacity(&self, config: &Config) -> f64 {
        let share = (config.timeout as f64 * SECOND as f64 / PERIOD as f64).min(1.0);
        self.per_invocation() * config.sweeps as f64 * share
    }

    /// DynamoDB requests and PutMetricData calls per event.
    pub fn requests_per_event(&self) -> f64 {
        (self.store.requests + self.sink.calls) as f64 / self.events.max(1) as f64
    }

    /// Whether every tick found the previous tick's due events published.
    pub fn drained_every_minute(&self) -> bool {
        self.ticks.iter().all(|t| t.drained)
    }
}

enum Done {
    Ingested { due: Option<Millis>, failed: bool },
    Swept { started: i64, failed: bool },
}

/// The events of arrival `i`: stories of every domain, with the hot resource's
/// events mixed in at `hot_rate`.
pub struct Arrivals {
    pending: std::collections::VecDeque<Generated>,
    round: usize,
    hot_cycle: usize,
    hot_every: u64,
    epoch: Millis,
}

impl Arrivals {
    /// The story mix `config` offers, its events' times from `epoch` on.
    pub fn new(config: &Config, epoch: Millis) -> Self {
        Self {
            pending: Default::default(),
            round: 0,
            hot_cycle: 0,
            hot_every: if config.hot_rate > 0.0 {
                (config.rate / config.hot_rate).round().max(1.0) as u64
            } else {
                0
            },
            epoch,
        }
    }

    /// The event of arrival `i` (arrivals are numbered from 0, in order).
    pub fn next(&mut self, i: u64) -> Generated {
        if self.hot_every > 0 && i.is_multiple_of(self.hot_every) {
            let c = self.hot_cycle;
            self.hot_cycle += 1;
            let mut pair = long_guardrail("hot", c / 2..c / 2 + 1, self.epoch);
            return pair.swap_remove(c % 2);
        }
        if self.pending.is_empty() {
            self.pending
                .extend(round("load", self.round, self.epoch + self.round as Millis));
            self.round += 1;
        }
        self.pending.pop_front().expect("a round has events")
    }
}

/// Runs `config` in simulated time.
pub fn run(config: &Config, catalog: &Arc<Catalog>) -> Outcome {
    // 2026-11-01T00:00:00Z; the model does not check CloudWatch's range.
    let epoch: Millis = 1_793_491_200_000;
    let sim = Arc::new(Sim::new(epoch));
    let store = Arc::new(ModeledStore::new(
        sim.clone(),
        Latencies::default(),
        config.seed,
    ));
    let sink = Arc::new(ModeledSink::new(
        sim.clone(),
        PUT_METRIC_DATA,
        config.seed + 1,
    ));
    let settings = Settings {
        environment: Some("load".into()),
        lateness_window: config.window as Millis * 1000,
        lease: 120_000,
        enforce_cloudwatch_range: false,
    };
    let controller = || {
        FlightController::new(
            catalog.clone(),
            store.clone(),
            sink.clone(),
            sim.clone(),
            settings.clone(),
        )
    };
    let ingest = controller();
    let mut exec: Executor<'_, Done> = Executor::new(&sim);
    let mut out = Outcome::default();
    let mut arrivals = Arrivals::new(config, epoch - 2 * 86_400_000);
    let total = (config.rate * config.seconds as f64) as u64;
    let gap = SECOND as f64 / config.rate;
    let mut due_times: Vec<Millis> = Vec::new();
    let last_tick =
        (config.seconds + config.window) as i64 * SECOND / PERIOD + 1 + config.drain_ticks as i64;
    let mut next_tick = PERIOD;
    let mut previous_due = 0u64;
    let mut i = 0u64;
    loop {
        let arrival = (i < total).then_some((i as f64 * gap) as i64);
        let wake = exec.next_wake();
        let tick_first = next_tick / PERIOD <= last_tick
            && [arrival, wake].iter().flatten().all(|t| next_tick <= *t);
        if tick_first {
            exec.advance_to(next_tick);
            let now = sim.now();
            due_times.sort_unstable();
            let due_now = due_times.partition_point(|d| *d <= now) as u64;
            out.ticks.push(Tick {
                backlog: due_now.saturating_sub(out.settled),
                drained: out.settled >= previous_due,
            });
            previous_due = due_now;
            for index in 0..config.sweeps {
                let invocation = controller();
                let sweep = Sweep::new(index as u64, config.sweeps as u64)
                    .expect("the sweep count was checked");
                let started = next_tick;
                exec.spawn(
                    started,
                    Some(started + config.timeout as i64 * SECOND),
                    async move {
                        let report = invocation.settle_sweep(sweep).await;
                        Done::Swept {
                            started,
                            failed: report.is_err(),
                        }
                    },
                );
                out.invocations += 1;
            }
            next_tick += PERIOD;
            continue;
        }
        match (arrival, wake) {
            (Some(at), w) if w.is_none_or(|w| at <= w) => {
                let event = eventbridge(&arrivals.next(i), &format!("eb-{i}"));
                let ingest = &ingest;
                exec.spawn(at, None, async move {
                    let report = ingest.ingest(&event, None).await;
                    Done::Ingested {
                        due: report.as_ref().ok().and_then(|r| r.due),
                        failed: report.is_err(),
                    }
                });
                i += 1;
            }
            (_, Some(_)) => match exec.step() {
                Some(Ended::Finished(Done::Ingested { due, failed })) => {
                    out.events += 1;
                    out.errors += u64::from(failed);
                    if let Some(due) = due {
                        out.completing += 1;
                        due_times.push(due);
                    }
                }
                Some(Ended::Finished(Done::Swept { started, failed })) => {
                    out.errors += u64::from(failed);
                    out.busy_s += (sim.now_us() - started) as f64 / SECOND as f64;
                }
                Some(Ended::TimedOut) => {
                    out.timed_out += 1;
                    out.busy_s += config.timeout as f64;
                }
                None => {}
            },
            (_, None) if next_tick / PERIOD > last_tick => break,
            (_, None) => {
                exec.advance_to(next_tick);
            }
        }
        out.settled = store.completed();
    }
    out.store = store.usage();
    out.sink = sink.usage();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_that_keeps_up_publishes_every_completing_event_each_minute() {
        let config = Config {
            rate: 200.0,
            hot_rate: 20.0,
            seconds: 60,
            sweeps: 2,
            timeout: 60,
            window: 60,
            drain_ticks: 1,
            seed: 1,
        };
        let outcome = run(&config, &Arc::new(Catalog::default_catalog()));

        assert_eq!(outcome.errors, 0);
        assert_eq!(outcome.events, 12_000);
        assert!(outcome.completing > 0);
        assert!(outcome.settled >= outcome.completing, "{outcome:?}");
        assert!(outcome.drained_every_minute(), "{:?}", outcome.ticks);
        assert_eq!(outcome.ticks.last().map(|t| t.backlog), Some(0));
        // Its invocations ran on a trickle: about what it was offered.
        let offered = outcome.completing as f64 / config.seconds as f64;
        assert!(outcome.capacity(&config) > 0.5 * offered, "{outcome:?}");
        // No key waits, the hot aggregate's included: a sweep paces each
        // aggregate's writes (docs/scale.md, "The hot aggregate").
        assert_eq!(
            outcome.store.throttled,
            0,
            "{}",
            outcome.store.throttled_keys()
        );
        assert!(outcome.sink.largest_points <= flight_aws::MAX_DATUMS_PER_REQUEST);
    }
}
