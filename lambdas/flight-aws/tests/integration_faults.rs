//! Fault injection against DynamoDB Local: the fault matrix of flight-core's
//! `fault_injection.rs` (a throttle, a conditional-check conflict, a
//! CloudWatch error or timeout, a call that goes through in part, a crash
//! just before or after any call) with the DynamoDB store under the faulty
//! wrapper. After redelivery nothing is lost or wrong, and a data point goes
//! out twice only when the fault falls between CloudWatch accepting it and
//! the store recording it.

use std::sync::Arc;
use std::time::Instant;

use flight_core::Millis;
// `common::…`: the local stack's endpoints, unique names, stores and polling.
use flight_testkit::aws as common;
use flight_testkit::faults::{faulty_service, single_fault_matrix, Fault, SCENARIOS};

/// The fault matrix of one scenario, on a table of its own.
async fn matrix(test: &str, scenario: usize) {
    let Some(store) = common::new_store(test).await else {
        return;
    };
    let store = Arc::new(store);
    let started = Instant::now();
    let make = |_namespace: String, window: Millis| {
        let store = store.clone();
        async move { faulty_service(store, window) }
    };
    let scenario = &SCENARIOS[scenario];
    // Every run's ids are under a namespace of their own: runs share the table.
    let report = single_fault_matrix(scenario, &Fault::ALL, "", &make).await;
    assert_eq!(report.lost, 0);
    assert_eq!(report.doubled_elsewhere, 0);
    assert!(report.window_runs > 0);
    eprintln!(
        "reliability: faults (DynamoDB Local, one fault per run, {}): {} runs, {} faults injected, \
         {} failed invocations redelivered, lost 0, doubled outside the window 0; {} runs with a fault \
         between CloudWatch accepting and the record, {} of them sent a data point twice ({} extra copies); {:.1} s",
        scenario.name,
        report.runs,
        report.faults,
        report.failed_invocations,
        report.window_runs,
        report.window_runs_doubled,
        report.window_extra_copies,
        started.elapsed().as_secs_f64(),
    );
}

#[tokio::test]
async fn integration_every_fault_at_every_step_of_publishing_at_ingest_loses_nothing() {
    matrix("faults-ingest", 0).await;
}

#[tokio::test]
async fn integration_every_fault_at_every_step_of_the_sweep_loses_nothing() {
    matrix("faults-sweep", 1).await;
}
