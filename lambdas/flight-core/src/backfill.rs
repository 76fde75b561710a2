//! Backfill planning, pure: which data points of a metric the stored events
//! complete that were never published, after a metric was added to the
//! catalog or changed.
//!
//! A completing event's data point of metric `M` is, by what the store says of it:
//!
//! - **published** when `M` is in the event's `done` set or a measurement
//!   record `M#<M>#<event id>` exists (the two are written together);
//! - **settling** when the event is pending with the settle function (`due`
//!   is set): the settle function publishes what is in its `todo`, and a
//!   backfill does not touch an event until it has settled;
//! - **busy** when another backfill holds it (`M` in `todo`, no `due`, an
//!   unexpired lease);
//! - otherwise **missing**, including a claim a crashed backfill left behind
//!   (`M` in `todo`, no `due`, the lease expired): the backfill claims it,
//!   publishes it and records it as done, so a second run finds it published.
//!
//! Values are computed from the set of stored events, as
//! [`crate::engine::measure_all`] does: a function of the events, not of the
//! order they arrived in.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::Metric;
use crate::engine::{data_point, evaluate_metric, sort_measurements, Measurement};
use crate::envelope::Millis;
use crate::ports::{EventRef, StoredEvent};
use crate::service::cloudwatch_delivery;

/// A data point to backfill: the event that completes it, and the data point
/// (`None` when the event completes none, e.g. a duration with no start: it
/// is still recorded as done, so the next run does not look at it again).
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillItem {
    pub event: EventRef,
    pub measurement: Option<Measurement>,
}

/// What a backfill of one metric has to do, and what it leaves alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackfillPlan {
    pub metric: String,
    /// Missing data points, in report order (time, then aggregate, then event).
    pub items: Vec<BackfillItem>,
    /// Completing events whose data point was published (or recorded) before.
    pub published: usize,
    /// Completing events pending with the settle function.
    pub settling: usize,
    /// Completing events another backfill is publishing now.
    pub busy: usize,
    /// Completing events earlier than `since`, left out.
    pub before_since: usize,
}

impl BackfillPlan {
    /// The data points CloudWatch takes (stamped within its range).
    pub fn sendable(&self) -> usize {
        self.items
            .iter()
            .filter_map(|i| i.measurement.as_ref())
            .filter(|m| m.delivery == crate::engine::Delivery::Published)
            .count()
    }
}

/// Plans the backfill of `metric` from stored events (any types; those the
/// metric does not involve are ignored) and the references of the events
/// whose measurement record of `metric` exists (`recorded`). Only events
/// completing a data point at or after `since` are planned; data points are
/// marked with the delivery CloudWatch would give them at `now`.
pub fn plan(
    metric: &Metric,
    events: &[StoredEvent],
    recorded: &BTreeSet<EventRef>,
    environment: Option<&str>,
    since: Option<Millis>,
    now: Millis,
) -> BackfillPlan {
    let stored: BTreeMap<EventRef, &StoredEvent> =
        events.iter().map(|e| (e.reference(), e)).collect();
    let mut plan = BackfillPlan {
        metric: metric.name.clone(),
        ..BackfillPlan::default()
    };
    for (event, value) in evaluate_metric(metric, events.iter().map(|e| &e.event)) {
        let reference = EventRef {
            aggregate_id: event.aggregate_id.clone(),
            event_id: event.event_id.clone(),
        };
        let Some(record) = stored.get(&reference) else {
            continue;
        };
        if since.is_some_and(|since| event.time < since) {
            plan.before_since += 1;
        } else if record.done.contains(&metric.name) || recorded.contains(&reference) {
            plan.published += 1;
        } else if record.due.is_some() {
            plan.settling += 1;
        } else if record.todo.contains(&metric.name)
            && record.lease.as_ref().is_some_and(|l| l.until > now)
        {
            plan.busy += 1;
        } else {
            let measurement = value.map(|value| {
                let mut m = data_point(metric, event, value, environment);
                m.delivery = cloudwatch_delivery(m.timestamp, now);
                m
            });
            plan.items.push(BackfillItem {
                event: reference,
                measurement,
            });
        }
    }
    let mut with_points: Vec<Measurement> = plan
        .items
        .iter()
        .filter_map(|i| i.measurement.clone())
        .collect();
    sort_measurements(&mut with_points);
    let order: BTreeMap<(String, String), usize> = with_points
        .iter()
        .enumerate()
        .map(|(i, m)| ((m.aggregate_id.clone(), m.event_id.clone()), i))
        .collect();
    plan.items.sort_by_key(|item| {
        order
            .get(&(item.event.aggregate_id.clone(), item.event.event_id.clone()))
            .copied()
            .unwrap_or(usize::MAX)
    });
    plan
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::catalog::Catalog;
    use crate::engine::Delivery;
    use crate::envelope::Event;
    use crate::ports::Lease;

    const HOUR: Millis = 3_600_000;
    const NOW: Millis = 1_800_000_000_000;

    fn stored(
        catalog: &Catalog,
        id: &str,
        event_type: &str,
        aggregate: &str,
        time: Millis,
    ) -> StoredEvent {
        let raw = json!({
            "detail-type": event_type,
            "time": "2020-01-01T00:00:00Z",
            "detail": {"event_id": id, "event_type": event_type, "aggregate_id": aggregate, "time": time / 1000},
        });
        StoredEvent {
            event: Event::from_eventbridge(&raw, catalog).expect("valid"),
            stored_at: time,
            timeline: None,
            todo: BTreeSet::new(),
            done: BTreeSet::new(),
            due: None,
            lease: None,
            sealed_at: None,
        }
    }

    fn story(catalog: &Catalog) -> Vec<StoredEvent> {
        vec![
            stored(catalog, "r1", "AccountRequested", "a1", NOW - 3 * HOUR),
            stored(catalog, "c1", "AccountCreated", "a1", NOW - 2 * HOUR),
            stored(
                catalog,
                "r2",
                "AccountRequested",
                "a2",
                NOW - 20 * 24 * HOUR,
            ),
            stored(catalog, "c2", "AccountCreated", "a2", NOW - 15 * 24 * HOUR),
            // No request: no data point, still planned (and recorded as done).
            stored(catalog, "c3", "AccountCreated", "a3", NOW - HOUR),
            stored(catalog, "x", "ProjectRequested", "p", NOW - HOUR),
        ]
    }

    #[test]
    fn missing_data_points_are_planned_with_their_original_time_and_delivery() {
        let catalog = Arc::new(Catalog::default_catalog());
        let metric = catalog.metric("AccountLeadTime").unwrap();
        let events = story(&catalog);
        let plan = plan(metric, &events, &BTreeSet::new(), Some("dev"), None, NOW);
        assert_eq!(plan.items.len(), 3, "{plan:?}");
        let points: Vec<_> = plan
            .items
            .iter()
            .filter_map(|i| i.measurement.as_ref())
            .collect();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].event_id, "c2");
        assert_eq!(points[0].delivery, Delivery::TooOld);
        assert_eq!(points[0].value, 5.0 * 24.0 * 3600.0);
        assert_eq!(points[1].event_id, "c1");
        assert_eq!(points[1].timestamp, NOW - 2 * HOUR);
        assert_eq!(points[1].value, 3600.0);
        assert_eq!(points[1].delivery, Delivery::Published);
        assert_eq!(points[1].dimensions["Environment"], "dev");
        assert_eq!(plan.sendable(), 1);
        assert!(plan.items.last().unwrap().measurement.is_none());
    }

    #[test]
    fn published_settling_busy_and_earlier_events_are_left_alone() {
        let catalog = Arc::new(Catalog::default_catalog());
        let metric = catalog.metric("AccountLeadTime").unwrap();
        let mut events = story(&catalog);
        let name = "AccountLeadTime".to_string();
        events[1].done.insert(name.clone()); // c1: published
        events[4].todo.insert(name.clone()); // c3: another backfill holds it
        events[4].lease = Some(Lease {
            token: "t".into(),
            until: NOW + 1,
        });
        let recorded = BTreeSet::new();
        let plan_now = plan(metric, &events, &recorded, None, None, NOW);
        assert_eq!(
            (plan_now.published, plan_now.busy, plan_now.items.len()),
            (1, 1, 1)
        );
        // Its lease expired: a claim left behind, taken over.
        let later = plan(metric, &events, &recorded, None, None, NOW + 1);
        assert_eq!((later.busy, later.items.len()), (0, 2));
        // Pending with the settle function.
        events[3].due = Some(NOW);
        let settling = plan(metric, &events, &recorded, None, None, NOW + 1);
        assert_eq!((settling.settling, settling.items.len()), (1, 1));
        // A measurement record marks it published too; --since leaves out earlier ones.
        let recorded = BTreeSet::from([events[4].reference()]);
        let since = plan(
            metric,
            &events,
            &recorded,
            None,
            Some(NOW - 10 * HOUR),
            NOW + 1,
        );
        assert_eq!(
            (since.before_since, since.published, since.items.len()),
            (1, 2, 0)
        );
    }
}
