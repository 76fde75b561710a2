//! Fault injection at every step of the handler and of publishing, over the
//! in-memory store (flight-aws's `integration_faults.rs` runs the same matrix
//! against DynamoDB Local): a DynamoDB throttle, a conditional-check
//! conflict, a CloudWatch error or timeout, a call that goes through in part,
//! and a crash just before or just after any call. After redelivery nothing
//! is lost or wrong, and a data point goes out twice only when the fault
//! falls between CloudWatch accepting it and the store recording it.

use std::sync::Arc;

use flight_core::memory::MemoryStore;
use flight_core::Millis;
use flight_testkit::faults::{
    faulty_service, run_once, single_fault_matrix, Fault, FaultyService, MatrixReport, SCENARIOS,
};

async fn memory_service(_namespace: String, window: Millis) -> FaultyService<Arc<MemoryStore>> {
    faulty_service(Arc::new(MemoryStore::new()), window)
}

fn print(what: &str, r: &MatrixReport) {
    eprintln!(
        "reliability: faults ({what}): {} runs, {} faults injected, {} failed invocations redelivered, \
         {} data points expected per run on average, lost 0, doubled outside the window 0; \
         {} runs with a fault between CloudWatch accepting and the record, {} of them sent a data point twice ({} extra copies)",
        r.runs,
        r.faults,
        r.failed_invocations,
        r.expected_points / r.runs.max(1),
        r.window_runs,
        r.window_runs_doubled,
        r.window_extra_copies,
    );
}

#[tokio::test]
async fn every_single_fault_at_every_step_loses_nothing_and_doubles_only_after_cloudwatch_accepted()
{
    let mut total = MatrixReport::default();
    for scenario in &SCENARIOS {
        let report = single_fault_matrix(scenario, &Fault::ALL, "", &memory_service).await;
        assert_eq!(report.lost, 0);
        assert_eq!(report.doubled_elsewhere, 0);
        assert!(
            report.window_runs > 0,
            "{}: the window was reached",
            scenario.name
        );
        total.add(&report);
    }
    print("memory store, one fault per run", &total);
}

#[tokio::test]
async fn a_second_fault_while_recovering_from_the_first_loses_nothing_either() {
    let pairs = [
        (Fault::CrashAfter, Fault::CrashAfter),
        (Fault::CrashBefore, Fault::Error),
        (Fault::Timeout, Fault::CrashBefore),
        (Fault::Error, Fault::Timeout),
    ];
    let mut total = MatrixReport::default();
    for scenario in &SCENARIOS {
        let (_, log) = run_once(scenario, &[], "", &memory_service).await;
        for first in 0..log.len() {
            for (a, b) in pairs {
                // The second fault anywhere in the next 16 calls, recovery included.
                for second in first + 1..first + 17 {
                    let (report, _) =
                        run_once(scenario, &[(first, a), (second, b)], "", &memory_service).await;
                    total.add(&report);
                }
            }
        }
    }
    assert_eq!(total.lost, 0);
    assert_eq!(total.doubled_elsewhere, 0);
    print("memory store, two faults per run", &total);
}
