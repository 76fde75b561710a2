//! `flightctl alerts backtest`: which pages and tickets the catalog's
//! burn-rate alarms would have sent over past measurement records. The
//! evaluation is flight-core's one model ([`flight_core::alerting`]: the
//! alarm definitions Terraform deploys, evaluated every minute with the
//! publishing delay); this module chooses the span and the SLOs, reads the
//! records (`crate::records`) and prints the episodes for people or scripts.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use flight_core::alerting::{episodes, Episode, History, SloAlarms};
use flight_core::catalog::Slo;
use flight_core::duration::{duration_text, Seconds};
use flight_core::envelope::format_time;
use flight_core::names::Deployment;
use flight_core::{Catalog, Millis};
use serde_json::{json, Value};

use crate::burn;
use crate::instant::{floor_minute, When};
use crate::records::{self, Records};
use crate::target::Target;

/// How far back a backtest goes when `--since` is not given: 30 days.
pub const DEFAULT_SINCE: Millis = 30 * 86_400_000;

/// What a backtest evaluates: its SLOs' alarms, over which minutes, with which delay.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The alarms of each SLO backtested, in catalog order.
    pub slos: Vec<SloAlarms>,
    /// The first minute evaluated.
    pub since: Millis,
    /// The last minute evaluated.
    pub until: Millis,
    /// How long after its time a data point is visible to the alarms.
    pub publish_delay: Seconds,
}

/// The options of a backtest, as the verb reads them.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub since: Option<When>,
    pub until: Option<When>,
    pub slo: Option<String>,
    /// Milliseconds; rounded down to whole seconds.
    pub publish_delay: Option<Millis>,
}

impl Plan {
    /// The plan for `catalog` in `deployment` at `now`; `last_record` (the
    /// latest record of files read offline) sets the default end: the
    /// minute after it plus the publishing delay, so every record is seen.
    pub fn new(
        catalog: &Catalog,
        deployment: &Deployment,
        options: &Options,
        last_record: Option<Millis>,
        now: Millis,
    ) -> Result<Plan> {
        let selected: Vec<&Slo> = match &options.slo {
            Some(name) => match catalog.slos.iter().find(|s| &s.name == name) {
                Some(slo) => vec![slo],
                None => bail!(
                    "--slo: the catalog has no SLO `{name}`; its SLOs: {}",
                    catalog
                        .slos
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            None => catalog.slos.iter().collect(),
        };
        let publish_delay = options
            .publish_delay
            .map_or(catalog.alerting.publish_delay(), |d| (d / 1000) as Seconds);
        let until = match (options.until, last_record) {
            (Some(until), _) => until.resolve(now),
            (None, Some(last)) => last + 60_000 + publish_delay as Millis * 1000,
            (None, None) => now,
        };
        let until = floor_minute(until);
        let since = floor_minute(
            options
                .since
                .unwrap_or(When::Ago(DEFAULT_SINCE))
                .resolve(until),
        );
        if since >= until {
            bail!(
                "--since ({}) is not before --until ({})",
                format_time(since),
                format_time(until)
            );
        }
        Ok(Plan {
            slos: selected
                .into_iter()
                .map(|slo| SloAlarms::new(catalog, deployment, slo))
                .collect(),
            since,
            until,
            publish_delay,
        })
    }

    /// The earliest record time the evaluation needs: a window before `since`.
    pub fn read_from(&self) -> Millis {
        let longest = self
            .slos
            .iter()
            .flat_map(|s| s.windows.iter().map(|w| w.window))
            .max()
            .unwrap_or(0);
        self.since - longest as Millis * 1000
    }

    /// The metrics of the SLOs backtested.
    pub fn metrics(&self) -> Vec<&str> {
        self.slos.iter().map(|s| s.slo.metric.as_str()).collect()
    }
}

/// The records of the plan's metrics from the target's event store,
/// saying on stderr how many it read.
pub async fn read_store(target: &Target, plan: &Plan) -> Result<Records> {
    records::from_store(
        &target.store(),
        plan.metrics(),
        plan.read_from(),
        plan.until,
        |metric, n| eprintln!("backtest: read {n} measurement records of {metric}"),
    )
    .await
}

/// One SLO's episodes over the plan.
#[derive(Debug, Clone)]
pub struct SloEpisodes {
    pub slo: Slo,
    /// Its records the evaluation saw.
    pub records: usize,
    pub episodes: Vec<Episode>,
}

/// Evaluates every SLO of the plan each minute (flight-core's model); says
/// on stderr how far it got, SLO by SLO.
pub fn run(plan: &Plan, records: &Records) -> Vec<SloEpisodes> {
    let minutes = (plan.until - plan.since) / 60_000 + 1;
    plan.slos
        .iter()
        .enumerate()
        .map(|(i, alarms)| {
            let measurements = records.of(&alarms.slo.metric);
            let history = History::new(&alarms.slo, measurements, plan.publish_delay);
            let found = episodes(alarms, &history, plan.since, plan.until);
            eprintln!(
                "backtest: [{}/{}] {}: {minutes} minutes evaluated, {} episode(s)",
                i + 1,
                plan.slos.len(),
                alarms.slo.name,
                found.len()
            );
            SloEpisodes {
                slo: alarms.slo.clone(),
                records: measurements.len(),
                episodes: found,
            }
        })
        .collect()
}

/// The episodes for people: per SLO, each page and ticket with when it fired,
/// when it cleared (or that it still fires) and the burn rates when it fired.
pub fn text(plan: &Plan, source: &str, results: &[SloEpisodes]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Backtest from {} to {}, evaluated every minute with a publishing delay of {}, over the {source}",
        format_time(plan.since),
        format_time(plan.until),
        duration_text(plan.publish_delay)
    );
    for result in results {
        let _ = writeln!(
            out,
            "\n{} ({} record{}): {}",
            result.slo.name,
            result.records,
            if result.records == 1 { "" } else { "s" },
            match result.episodes.len() {
                0 => "nothing fired".to_string(),
                n => format!("{n} episode(s)"),
            }
        );
        for e in &result.episodes {
            let cleared = match e.cleared_at {
                Some(at) => format!(
                    "cleared {} (after {})",
                    format_time(at),
                    crate::duration::format(at - e.fired_at)
                ),
                None => "still firing".to_string(),
            };
            let _ = writeln!(
                out,
                "  {:<6}  fired {}  {cleared}  {}",
                e.severity.as_str().to_uppercase(),
                format_time(e.fired_at),
                e.alarm
            );
            let rates: Vec<String> = e.burn_rates.iter().map(burn::text).collect();
            let _ = writeln!(
                out,
                "          burn rates when it fired: {}",
                rates.join(", ")
            );
        }
    }
    let count = |severity: &str| {
        results
            .iter()
            .flat_map(|r| &r.episodes)
            .filter(|e| e.severity.as_str() == severity)
            .count()
    };
    let _ = writeln!(
        out,
        "\n{} page(s), {} ticket(s)",
        count("page"),
        count("ticket")
    );
    out
}

/// The episodes as JSON, for scripts.
pub fn to_json(plan: &Plan, source: &str, results: &[SloEpisodes]) -> Value {
    let slos: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "name": r.slo.name,
                "metric": r.slo.metric,
                "records": r.records,
                "episodes": r.episodes.iter().map(|e| json!({
                    "severity": e.severity.as_str(),
                    "alarm": e.alarm,
                    "fired_at": format_time(e.fired_at),
                    "cleared_at": e.cleared_at.map(format_time),
                    "still_firing": e.cleared_at.is_none(),
                    "burn_rates": e.burn_rates.iter().map(burn::to_json).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "since": format_time(plan.since),
        "until": format_time(plan.until),
        "publish_delay_seconds": plan.publish_delay,
        "source": source,
        "slos": slos,
    })
}
