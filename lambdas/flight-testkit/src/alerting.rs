//! Generated measurement histories for the alerting scenarios of issue 11
//! (design §6): the records an SLO's metric would have in the store, for the
//! backtest and `report` to replay. Each generator says what it produces;
//! the tests say which alerts each must raise, and when.
//!
//! Values are one of two: [`good_value`] (exactly at the threshold, which is
//! good) or [`bad_value`] (one unit past it). Times are milliseconds like
//! [`flight_core::Millis`]; traffic is steady, one value every `every`.

use std::collections::BTreeMap;

use flight_core::catalog::{GoodWhen, Slo};
use flight_core::{Delivery, Measurement, Millis};

use crate::clock::{HOUR, MINUTE};

/// A value on the good side of `slo`'s threshold: the threshold itself.
pub fn good_value(slo: &Slo) -> f64 {
    slo.threshold
}

/// A value on the bad side of `slo`'s threshold, one unit past it.
pub fn bad_value(slo: &Slo) -> f64 {
    match slo.good_when {
        GoodWhen::AtMost => slo.threshold + 1.0,
        GoodWhen::AtLeast => slo.threshold - 1.0,
    }
}

/// A measurement record of `slo`'s metric with `value` at `timestamp`.
pub fn record(slo: &Slo, value: f64, timestamp: Millis) -> Measurement {
    Measurement {
        metric: slo.metric.clone(),
        value,
        unit: "None".into(),
        timestamp,
        aggregate_id: format!("a-{timestamp}"),
        event_id: format!("e-{timestamp}"),
        dimensions: BTreeMap::from([("Environment".to_string(), "test".to_string())]),
        delivery: Delivery::Published,
        test_run_id: None,
    }
}

/// One value every `every` in `[from, until)`; the `i`-th (from 0) is bad
/// when `bad(i, timestamp)` says so.
pub fn traffic(
    slo: &Slo,
    from: Millis,
    until: Millis,
    every: Millis,
    bad: impl Fn(i64, Millis) -> bool,
) -> Vec<Measurement> {
    let mut out = Vec::new();
    let mut t = from;
    let mut i = 0;
    while t < until {
        let value = if bad(i, t) {
            bad_value(slo)
        } else {
            good_value(slo)
        };
        out.push(record(slo, value, t));
        t += every;
        i += 1;
    }
    out
}

/// A sudden outage: one value a minute, good for `before` up to `t0`, every
/// value bad from `t0` until `t0 + after`.
pub fn sudden_outage(slo: &Slo, t0: Millis, before: Millis, after: Millis) -> Vec<Measurement> {
    traffic(slo, t0 - before, t0 + after, MINUTE, |_, t| t >= t0)
}

/// A slow burn from `t0` on a metric with no earlier values: one value a
/// minute for `duration`, every `bad_every`-th bad (the 1st to
/// `bad_every − 1`-th good), so that no stretch of values is worse than
/// about `1 / bad_every` bad.
pub fn slow_burn(slo: &Slo, t0: Millis, duration: Millis, bad_every: i64) -> Vec<Measurement> {
    traffic(slo, t0, t0 + duration, MINUTE, |i, _| {
        i % bad_every == bad_every - 1
    })
}

/// A healthy month: 30 days from `start`, a value every 10 minutes, one in
/// `bad_every` bad (well inside the budget when `bad_every` is large).
pub fn healthy_month(slo: &Slo, start: Millis, bad_every: i64) -> Vec<Measurement> {
    traffic(slo, start, start + 30 * 24 * HOUR, 10 * MINUTE, |i, _| {
        i % bad_every == bad_every - 1
    })
}

/// Low traffic: `per_day` values a day, evenly spaced, for `days` days
/// from `start`, all good except the one at `bad_at` (an index).
pub fn low_traffic(
    slo: &Slo,
    start: Millis,
    days: i64,
    per_day: i64,
    bad_at: i64,
) -> Vec<Measurement> {
    traffic(
        slo,
        start,
        start + days * 24 * HOUR,
        24 * HOUR / per_day,
        |i, _| i == bad_at,
    )
}

/// An outage that ends: one value a minute, good from `t0 − before`, bad in
/// `[t0, t0 + outage)`, good again until `t0 + outage + after`.
pub fn recovery(
    slo: &Slo,
    t0: Millis,
    before: Millis,
    outage: Millis,
    after: Millis,
) -> Vec<Measurement> {
    traffic(slo, t0 - before, t0 + outage + after, MINUTE, |_, t| {
        t >= t0 && t < t0 + outage
    })
}

/// Values exactly at the threshold (good), one a minute over `[from, until)`.
pub fn at_threshold(slo: &Slo, from: Millis, until: Millis) -> Vec<Measurement> {
    traffic(slo, from, until, MINUTE, |_, _| false)
}

/// Across a calendar boundary: one value an hour from `boundary − before`
/// to `boundary + after`, every value before `boundary` bad one time in
/// `bad_every`, every value from `boundary` good.
pub fn across_boundary(
    slo: &Slo,
    boundary: Millis,
    before: Millis,
    after: Millis,
    bad_every: i64,
) -> Vec<Measurement> {
    traffic(slo, boundary - before, boundary + after, HOUR, |i, t| {
        t < boundary && i % bad_every == bad_every - 1
    })
}
