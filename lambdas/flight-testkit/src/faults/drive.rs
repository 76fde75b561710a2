//! Driving a scenario the way the platform does: a failed invocation is
//! delivered again (EventBridge and Lambda retry) to a new process, the sweep
//! runs on schedule, and a crashed publisher's lease expires.

use flight_core::handler::{handle_event, handle_settle};
use flight_core::EventStore;
use serde_json::Value;

use super::ports::FaultyService;
use crate::clock::{MINUTE, SECOND};

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Op {
    /// EventBridge delivers this event to the ingest function.
    Ingest(Value),
    /// The scheduled sweep runs.
    Settle,
}

/// What a scenario run did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Invocations that failed (and were delivered again).
    pub failed_invocations: usize,
    /// Port calls made, faults included.
    pub calls: usize,
}

/// The most deliveries of one invocation: a fault plus a crash, then success.
const MAX_ATTEMPTS: usize = 4;

/// Runs the sweep as its schedule would, a minute apart (a failed sweep is
/// simply followed by the next), until one that met no fault finds nothing
/// to publish; returns how many events the sweeps published.
async fn sweep_until_quiet<S: EventStore>(
    service: &FaultyService<S>,
    outcome: &mut Outcome,
) -> u64 {
    let plan = service.store().plan.clone();
    let mut events = 0;
    for sweep in 0.. {
        assert!(sweep < 10, "the sweep does not come to rest");
        let faults_before = plan.fired().len();
        match handle_settle(service).await {
            Ok(report) => {
                let published = report["events"].as_u64().unwrap_or_default();
                events += published;
                if published == 0 && plan.fired().len() == faults_before {
                    break;
                }
            }
            Err(error) => {
                outcome.failed_invocations += 1;
                assert!(error.retryable, "{error}");
                plan.restart();
            }
        }
        service.clock().advance(MINUTE);
    }
    events
}

/// Runs `ops` through the handlers as the platform would: an invocation that
/// fails must fail with a retryable error (the platform retries it), and is
/// delivered again, after a second, to a new process, until it succeeds.
/// Then, once every lease and lateness window has passed, the sweep runs
/// until nothing is left to publish.
pub async fn drive<S: EventStore>(service: &FaultyService<S>, ops: &[Op]) -> Outcome {
    let plan = service.store().plan.clone();
    let mut outcome = Outcome::default();
    for op in ops {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = match op {
                Op::Ingest(event) => handle_event(service, event, None).await.map(|_| ()),
                Op::Settle => handle_settle(service).await.map(|_| ()),
            };
            match result {
                Ok(()) => break,
                Err(error) => {
                    assert!(
                        error.retryable,
                        "a failure the platform must retry was reported as not retryable: {error}"
                    );
                    assert!(
                        error.message.contains("injected fault"),
                        "the error names what failed: {error}"
                    );
                    outcome.failed_invocations += 1;
                    assert!(
                        attempts < MAX_ATTEMPTS,
                        "{op:?} still fails after {attempts} deliveries: {error}"
                    );
                    plan.restart();
                    service.clock().advance(SECOND);
                }
            }
        }
        service.clock().advance(SECOND);
    }
    // The schedule goes on: once every lease (two minutes) and window has
    // passed, the sweeps repair what crashed invocations left behind.
    plan.restart();
    for round in 0.. {
        assert!(
            round < 5,
            "work is still pending after {round} rounds of sweeps"
        );
        service
            .clock()
            .advance(service.settings().lease + service.settings().lateness_window + MINUTE);
        let faults_before = plan.fired().len();
        let published = sweep_until_quiet(service, &mut outcome).await;
        if published == 0 && plan.fired().len() == faults_before {
            break;
        }
    }
    outcome.calls = plan.calls();
    outcome
}
