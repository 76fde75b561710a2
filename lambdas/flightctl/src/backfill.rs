//! `flightctl backfill`: publishes the data points of a new or changed metric
//! that the stored events complete and that were never published.
//!
//! 1. Scan the event store for the metric's event types
//!    ([`BackfillStore::scan_events`]; in DynamoDB a table scan with a filter:
//!    it reads the whole table, acceptable for an occasional operator task),
//!    and read the metric's measurement records (the `by-metric` index).
//! 2. Plan ([`flight_core::backfill::plan`]): compute every data point from the
//!    set of events; keep those neither `done` nor recorded nor pending with
//!    the settle function.
//! 3. Per chunk: claim each event (a conditional update adding the metric to
//!    its `todo` under a lease, never while it is pending with settle), publish
//!    the claimed data points CloudWatch takes (original timestamps; older than
//!    14 days are not sent), then record them as the settle function does
//!    (`done` and the measurement record, in one transaction per event group).
//!
//! A second run finds everything `done` and publishes nothing. Two backfills
//! at once cannot both claim an event. A crash after CloudWatch accepted a
//! chunk and before it was recorded is the one case that sends it twice (as
//! for the settle function); a crash before leaves a claim that the next run
//! takes over once its lease expired.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use flight_core::backfill::{plan, BackfillItem, BackfillPlan};
use flight_core::catalog::LATE_EVENTS_METRIC;
use flight_core::ports::{Completion, EventRef, Lease};
use flight_core::reads::BackfillStore;
use flight_core::{Catalog, Clock, Delivery, Measurement, MetricSink, Millis, SystemClock};
use indicatif::{ProgressBar, ProgressStyle};

/// Events claimed, published and recorded together.
const CHUNK: usize = 100;
/// How long a backfill's claim holds: longer than a chunk takes.
const LEASE_MS: Millis = 120_000;

/// What a backfill did.
#[derive(Debug, Clone, Default)]
pub struct BackfillOutcome {
    pub plan: BackfillPlan,
    /// Events of the metric's types found in the store.
    pub events_scanned: usize,
    /// Data points sent to CloudWatch.
    pub published: Vec<Measurement>,
    /// Data points recorded but not sent: outside CloudWatch's range.
    pub unsent: Vec<Measurement>,
    /// Completing events recorded with no data point (e.g. an end with no start).
    pub without_point: usize,
    /// Events another process claimed first.
    pub lost: usize,
}

/// The metric to backfill, or an error that names the known ones.
pub fn metric<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a flight_core::Metric> {
    if name == LATE_EVENTS_METRIC {
        bail!("{LATE_EVENTS_METRIC} is Flight Controller's own count of late events, kept as they arrive; it cannot be backfilled");
    }
    catalog.metric(name).with_context(|| {
        format!(
            "--metric: no metric `{name}` in the catalog; it has {}. A new metric must be in the catalog \
             given with --catalog (or built into flightctl)",
            catalog.metrics.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
        )
    })
}

fn token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    format!("backfill-{:016x}", hasher.finish())
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Plans the backfill of `metric_name` from the store, and (unless
/// `dry_run`) publishes and records it.
#[allow(clippy::too_many_arguments)]
pub async fn run<S: BackfillStore + ?Sized>(
    store: &S,
    sink: &dyn MetricSink,
    catalog: &Catalog,
    metric_name: &str,
    environment: &str,
    since: Option<Millis>,
    dry_run: bool,
) -> Result<BackfillOutcome> {
    let metric = metric(catalog, metric_name)?;
    let types = Catalog::metric_event_types(metric);
    let location = store.location();
    let scanning = spinner(format!(
        "scanning {location} for {} events",
        types.join(" and ")
    ));
    let events = store
        .scan_events(&types, &mut |read, found| {
            scanning.set_message(format!(
                "scanning {location}: {read} items read, {found} {} events",
                types.join("/")
            ))
        })
        .await?;
    scanning.finish_and_clear();
    let recorded: BTreeSet<EventRef> = store
        .measurements_between(metric_name, Millis::MIN / 2, Millis::MAX / 2)
        .await?
        .into_iter()
        .map(|m| EventRef {
            aggregate_id: m.aggregate_id,
            event_id: m.event_id,
        })
        .collect();
    let now = SystemClock.now();
    let plan = plan(metric, &events, &recorded, Some(environment), since, now);
    let mut outcome = BackfillOutcome {
        events_scanned: events.len(),
        ..BackfillOutcome::default()
    };
    if dry_run || plan.items.is_empty() {
        outcome.plan = plan;
        return Ok(outcome);
    }
    let bar = ProgressBar::new(plan.items.len() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} events ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("backfilling {metric_name}"));
    for chunk in plan.items.chunks(CHUNK) {
        let done = publish_chunk(store, sink, metric_name, chunk, &mut outcome).await;
        bar.inc(chunk.len() as u64);
        if let Err(error) = done {
            bar.abandon();
            outcome.plan = plan;
            return Err(error.context(format!(
                "backfill of {metric_name} stopped after {} data points published; run the same command again: \
                 what was recorded is not published twice",
                outcome.published.len()
            )));
        }
    }
    bar.finish_and_clear();
    outcome.plan = plan;
    Ok(outcome)
}

async fn publish_chunk<S: BackfillStore + ?Sized>(
    store: &S,
    sink: &dyn MetricSink,
    metric: &str,
    chunk: &[BackfillItem],
    outcome: &mut BackfillOutcome,
) -> Result<()> {
    let now = SystemClock.now();
    let lease = Lease {
        token: token(),
        until: now + LEASE_MS,
    };
    let mut claimed: Vec<&BackfillItem> = Vec::with_capacity(chunk.len());
    for item in chunk {
        if store
            .claim_backfill(&item.event, metric, &lease, now)
            .await?
        {
            claimed.push(item);
        } else {
            outcome.lost += 1;
        }
    }
    let points: Vec<Measurement> = claimed
        .iter()
        .filter_map(|i| i.measurement.clone())
        .filter(|m| m.delivery == Delivery::Published)
        .collect();
    if !points.is_empty() {
        if let Err(error) = sink.publish(&points).await {
            let refs: Vec<EventRef> = claimed.iter().map(|i| i.event.clone()).collect();
            // Without the lease the next run takes these over at once.
            let _ = store.release(&refs, &lease.token).await;
            return Err(anyhow::Error::new(error));
        }
    }
    let completions: Vec<Completion> = claimed
        .iter()
        .map(|item| Completion {
            event: item.event.clone(),
            token: lease.token.clone(),
            finished: BTreeSet::from([metric.to_string()]),
            measurements: item.measurement.iter().cloned().collect(),
        })
        .collect();
    store.complete(&completions).await?;
    for item in claimed {
        match &item.measurement {
            Some(m) if m.delivery == Delivery::Published => outcome.published.push(m.clone()),
            Some(m) => outcome.unsent.push(m.clone()),
            None => outcome.without_point += 1,
        }
    }
    Ok(())
}

/// What a backfill did (or, in a dry run, would do), for people.
pub fn summary(
    metric: &str,
    environment: &str,
    outcome: &BackfillOutcome,
    dry_run: bool,
) -> String {
    let plan = &outcome.plan;
    let mut lines = vec![format!(
        "backfill of {metric} in environment {environment}{}: {} stored events of its types, {} data points to consider",
        if dry_run { " (dry run: nothing published)" } else { "" },
        outcome.events_scanned,
        plan.items.len() + plan.published + plan.settling + plan.busy + plan.before_since,
    )];
    let row = |label: &str, count: usize, note: &str| format!("  {label:<22}{count:>6}  {note}");
    if dry_run {
        let too_old = plan
            .items
            .iter()
            .filter_map(|i| i.measurement.as_ref())
            .filter(|m| m.delivery != Delivery::Published)
            .count();
        lines.push(row(
            "would publish",
            plan.sendable(),
            "data points, with their original timestamps (listed on stdout)",
        ));
        lines.push(row(
            "would keep, not send",
            too_old,
            "outside CloudWatch's range (older than 14 days, or over 2 hours ahead)",
        ));
        lines.push(row(
            "no data point",
            plan.items
                .iter()
                .filter(|i| i.measurement.is_none())
                .count(),
            "completing events with none (e.g. an end with no start)",
        ));
    } else {
        lines.push(row(
            "published now",
            outcome.published.len(),
            "data points, with their original timestamps",
        ));
        lines.push(row("kept, not sent", outcome.unsent.len(), "outside CloudWatch's range (older than 14 days, or over 2 hours ahead): recorded in the store"));
        lines.push(row(
            "no data point",
            outcome.without_point,
            "completing events with none (e.g. an end with no start): recorded as done",
        ));
        if outcome.lost > 0 {
            lines.push(row(
                "claimed by another",
                outcome.lost,
                "another backfill or the settle function took them first",
            ));
        }
    }
    lines.push(row(
        "already published",
        plan.published,
        "before this run: not sent again",
    ));
    lines.push(row(
        "settling",
        plan.settling,
        "pending with the settle function, which publishes them; run again later for the rest",
    ));
    if plan.busy > 0 {
        lines.push(row(
            "busy",
            plan.busy,
            "another backfill is publishing them now",
        ));
    }
    if plan.before_since > 0 {
        lines.push(row("before --since", plan.before_since, "left out"));
    }
    let mut by_delivery: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &outcome.unsent {
        *by_delivery.entry(m.delivery.as_str()).or_default() += 1;
    }
    for m in outcome.unsent.iter().take(10) {
        lines.push(format!(
            "  not sent ({}): {} {} at {} (aggregate {}, event {})",
            m.delivery.as_str(),
            m.metric,
            m.value,
            flight_core::envelope::format_time(m.timestamp),
            m.aggregate_id,
            m.event_id
        ));
    }
    if outcome.unsent.len() > 10 {
        lines.push(format!(
            "  … and {} more not sent",
            outcome.unsent.len() - 10
        ));
    }
    if !dry_run
        && outcome.published.is_empty()
        && outcome.unsent.is_empty()
        && outcome.without_point == 0
    {
        lines.push("nothing to publish: every data point of the stored events was published before (or is settling)".into());
    }
    lines.join("\n") + "\n"
}
