//! The fault matrix: a scenario run with faults armed, checked against the
//! definition (nothing lost or wrong; a data point twice only where a fault
//! fell between the sink accepting it and the store recording it), and every
//! single fault at every call of a fault-free run.

use std::collections::BTreeSet;

use flight_core::{EventStore, Millis};
use serde_json::Value;

use super::drive::{drive, Op};
use super::plan::{Fault, Fired};
use super::ports::FaultyService;
use super::scenarios::Scenario;
use crate::stories::{expected, identity, Comparison};

/// What a fault matrix found.
#[derive(Debug, Clone, Default)]
pub struct MatrixReport {
    /// Scenario runs, each with its faults.
    pub runs: usize,
    /// Faults that fired.
    pub faults: usize,
    /// Invocations that failed and were delivered again.
    pub failed_invocations: usize,
    /// Data points expected, over all runs.
    pub expected_points: usize,
    /// Data points lost, wrong or unexpected (asserted zero).
    pub lost: usize,
    /// Copies sent twice outside the accepted-then-died window (asserted zero).
    pub doubled_elsewhere: usize,
    /// Runs with a fault between CloudWatch accepting and the record.
    pub window_runs: usize,
    /// Of those, runs where a data point went out twice.
    pub window_runs_doubled: usize,
    /// Extra copies in those runs.
    pub window_extra_copies: usize,
}

impl MatrixReport {
    /// Adds another report's figures.
    pub fn add(&mut self, other: &MatrixReport) {
        self.runs += other.runs;
        self.faults += other.faults;
        self.failed_invocations += other.failed_invocations;
        self.expected_points += other.expected_points;
        self.lost += other.lost;
        self.doubled_elsewhere += other.doubled_elsewhere;
        self.window_runs += other.window_runs;
        self.window_runs_doubled += other.window_runs_doubled;
        self.window_extra_copies += other.window_extra_copies;
    }
}

/// Runs a scenario once with `faults` armed (step, fault) on a new service
/// from `make(namespace, window)`, and checks it against the definition:
/// nothing lost, nothing wrong, and a data point twice only where a fault
/// fell between the sink accepting it and the store recording it.
pub async fn run_once<S, F, Fut>(
    scenario: &Scenario,
    faults: &[(usize, Fault)],
    namespace: &str,
    make: &F,
) -> (MatrixReport, Vec<&'static str>)
where
    S: EventStore,
    F: Fn(String, Millis) -> Fut,
    Fut: std::future::Future<Output = FaultyService<S>>,
{
    let ops = (scenario.ops)(namespace);
    let service = make(namespace.to_string(), scenario.window).await;
    for (step, fault) in faults {
        service.store().plan.arm(*step, *fault);
    }
    let outcome = drive(&service, &ops).await;
    let events: Vec<Value> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Ingest(e) => Some(e.clone()),
            Op::Settle => None,
        })
        .collect();
    let environment = service.settings().environment.clone();
    let expected = expected(service.catalog(), &events, environment.as_deref());
    let published = service.sink().inner.published();
    let comparison = Comparison::of(&expected, &published);
    let fired = service.store().plan.fired();
    let context = format!(
        "{}: faults {faults:?} fired as {:?}; {comparison:?}",
        scenario.name,
        fired
            .iter()
            .map(|f| (f.step, f.call, f.fault))
            .collect::<Vec<_>>()
    );
    assert!(comparison.lost.is_empty(), "lost data points: {context}");
    assert!(comparison.wrong.is_empty(), "wrong values: {context}");
    assert!(
        comparison.unexpected.is_empty(),
        "unexpected data points: {context}"
    );
    let window: Vec<&Fired> = fired
        .iter()
        .filter(|f| f.accepted_then_unrecorded())
        .collect();
    let exposed: BTreeSet<_> = window
        .iter()
        .flat_map(|f| f.exposed.iter().map(identity))
        .collect();
    let elsewhere: usize = comparison
        .doubled
        .iter()
        .filter(|(id, _)| !exposed.contains(id))
        .map(|(_, n)| n - 1)
        .sum();
    assert_eq!(
        elsewhere, 0,
        "a data point went out twice outside the accepted-then-unrecorded window: {context}"
    );
    // The window is real: a fault there that is not partial does send again.
    if window.iter().any(|f| f.fault != Fault::Partial) {
        assert!(
            !comparison.doubled.is_empty(),
            "expected the accepted-then-died case to send again: {context}"
        );
    }
    let report = MatrixReport {
        runs: 1,
        faults: fired.len(),
        failed_invocations: outcome.failed_invocations,
        expected_points: expected.len(),
        lost: comparison.lost.len() + comparison.wrong.len() + comparison.unexpected.len(),
        doubled_elsewhere: elsewhere,
        window_runs: usize::from(!window.is_empty()),
        window_runs_doubled: usize::from(!window.is_empty() && !comparison.doubled.is_empty()),
        window_extra_copies: comparison.extra_copies(),
    };
    (report, service.store().plan.log())
}

/// Whether injecting `fault` at call `step` of a run whose calls are `log`
/// tells anything another case does not: a conflict differs from an error
/// only on a claim, and a crash just before a call is a crash just after the
/// one before it.
pub fn distinct(log: &[&'static str], step: usize, fault: Fault) -> bool {
    match fault {
        Fault::Conflict => log.get(step) == Some(&"claim"),
        Fault::CrashBefore => step == 0,
        _ => true,
    }
}

/// Every single fault of `faults` at every call of a fault-free run (but
/// those [`distinct`] skips).
pub async fn single_fault_matrix<S, F, Fut>(
    scenario: &Scenario,
    faults: &[Fault],
    namespace: &str,
    make: &F,
) -> MatrixReport
where
    S: EventStore,
    F: Fn(String, Millis) -> Fut,
    Fut: std::future::Future<Output = FaultyService<S>>,
{
    let (baseline, log) = run_once(scenario, &[], &format!("{namespace}base-"), make).await;
    assert_eq!(
        baseline.window_extra_copies, 0,
        "{}: fault-free run doubled",
        scenario.name
    );
    let mut report = MatrixReport::default();
    for step in 0..log.len() {
        for &fault in faults.iter().filter(|f| distinct(&log, step, **f)) {
            let ns = format!("{namespace}{step}{fault:?}-");
            let (one, _) = run_once(scenario, &[(step, fault)], &ns, make).await;
            assert_eq!(
                one.faults, 1,
                "{}: the fault at call {step} fired",
                scenario.name
            );
            report.add(&one);
        }
    }
    report
}
