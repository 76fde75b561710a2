//! Fault injection at the ports: [`FaultyStore`] and [`FaultySink`] wrap an
//! [`EventStore`] and a [`MetricSink`] and, at a chosen call (counted across
//! both), fail it in one of the ways the real services fail ([`Fault`]), or
//! "crash": stop the work there, as a Lambda process that dies, so that no
//! later call of that invocation has any effect.
//!
//! [`drive`] runs a scenario through the Lambda handlers the way the platform
//! does: a failed invocation is delivered again (EventBridge and Lambda
//! retry), the sweep runs on schedule, and a crashed publisher's lease expires.
//!
//! Self-contained (crates and `super::stories` only), so the flight-aws tests
//! include it with `#[path]` and run the same faults against DynamoDB Local.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use flight_core::engine::Measurement;
use flight_core::handler::{handle_event, handle_settle};
use flight_core::memory::{CollectingSink, ManualClock};
use flight_core::ports::{
    Appended, Completion, Direction, EventRef, EventStore, Lease, MetricSink, SinkError,
    StoreError, StoredEvent, TimelineEntry,
};
use flight_core::{FlightController, Millis};
use serde_json::Value;

use super::stories::{MINUTE, NOW, SECOND};

/// How one call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// Refused, no effect, and the process goes on: a DynamoDB throttle or
    /// transaction conflict, a CloudWatch 5xx.
    Error,
    /// The call took effect but its answer was lost: a timeout after the
    /// request was sent (DynamoDB wrote; CloudWatch accepted).
    Timeout,
    /// Part of the call took effect (the first half of its items), then it
    /// failed: a batch whose first requests went through.
    Partial,
    /// A conditional-check conflict: a claim finds every event taken by
    /// someone else (other calls: as [`Fault::Error`]).
    Conflict,
    /// The process dies just before the call: nothing from here on happens.
    CrashBefore,
    /// The process dies just after the call took effect.
    CrashAfter,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::Error,
        Fault::Timeout,
        Fault::Partial,
        Fault::Conflict,
        Fault::CrashBefore,
        Fault::CrashAfter,
    ];

    pub fn crashes(self) -> bool {
        matches!(self, Fault::CrashBefore | Fault::CrashAfter)
    }

    fn describe(self, call: &str) -> String {
        let sink = call == "publish";
        match self {
            Fault::Error | Fault::Conflict if sink => {
                "CloudWatch answered 503 ServiceUnavailable".into()
            }
            Fault::Error => "DynamoDB answered ThrottlingException".into(),
            Fault::Conflict => "DynamoDB cancelled the transaction: TransactionConflict".into(),
            Fault::Timeout => "timed out after the request was sent".into(),
            Fault::Partial => "failed part-way: the first requests went through".into(),
            Fault::CrashBefore | Fault::CrashAfter => "the process stopped here".into(),
        }
    }
}

/// A fault that happened: at which call (0-based, across both ports), on
/// which operation, and what the sink had accepted just before.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub step: usize,
    pub call: &'static str,
    pub fault: Fault,
    /// The call before this one was a `publish` that the sink accepted in full.
    pub after_accepted_publish: bool,
    /// What a `publish` call made the sink accept (with Timeout, Partial,
    /// CrashAfter), or, on a `complete` right after an accepted publish, what
    /// that publish sent: the data points that may go out twice.
    pub exposed: Vec<Measurement>,
}

impl Fired {
    /// Whether this fault falls between the sink accepting data points and
    /// the store recording them as published: the one place where a retry
    /// can send a data point twice.
    pub fn accepted_then_unrecorded(&self) -> bool {
        match self.call {
            "publish" => {
                matches!(
                    self.fault,
                    Fault::Timeout | Fault::CrashAfter | Fault::Partial
                ) && !self.exposed.is_empty()
            }
            "complete" => {
                self.after_accepted_publish
                    && matches!(
                        self.fault,
                        Fault::Error | Fault::Conflict | Fault::CrashBefore | Fault::Partial
                    )
            }
            _ => false,
        }
    }
}

#[derive(Default)]
struct PlanState {
    calls: usize,
    /// Faults to inject, by call number.
    armed: Vec<(usize, Fault)>,
    crashed: bool,
    fired: Vec<Fired>,
    /// Every call made (its operation), in order.
    log: Vec<&'static str>,
    /// The last call was a publish the sink accepted in full: what it sent.
    last_accepted: Option<Vec<Measurement>>,
}

/// What a wrapper does with a call.
enum Verdict {
    Go,
    /// Fail without effect.
    Refuse(Fault),
    /// Make the call (or part of it), then fail.
    EffectThenFail(Fault),
    /// A claim that finds nothing to claim.
    Conflict,
    /// The process is dead: no effect.
    Dead,
}

/// Which calls fail and how; shared by the store and the sink wrappers.
#[derive(Default)]
pub struct FaultPlan {
    state: Mutex<PlanState>,
}

impl FaultPlan {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Injects `fault` at call `step` (0-based, counted across both ports).
    pub fn arm(&self, step: usize, fault: Fault) {
        self.lock().armed.push((step, fault));
    }

    /// The process is replaced (the platform delivers again to a new one).
    pub fn restart(&self) {
        self.lock().crashed = false;
    }

    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    pub fn log(&self) -> Vec<&'static str> {
        self.lock().log.clone()
    }

    pub fn fired(&self) -> Vec<Fired> {
        self.lock().fired.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn verdict(&self, call: &'static str, publishing: Option<&[Measurement]>) -> Verdict {
        let mut state = self.lock();
        let step = state.calls;
        state.calls += 1;
        state.log.push(call);
        let previous_accepted = state.last_accepted.take();
        if state.crashed {
            return Verdict::Dead;
        }
        let armed = state
            .armed
            .iter()
            .position(|(at, _)| *at == step)
            .map(|i| state.armed.remove(i).1);
        let Some(fault) = armed else {
            if let Some(points) = publishing {
                state.last_accepted = Some(points.to_vec());
            }
            return Verdict::Go;
        };
        let exposed = match (call, fault) {
            ("publish", Fault::Timeout | Fault::CrashAfter) => {
                publishing.unwrap_or_default().to_vec()
            }
            ("publish", Fault::Partial) => {
                let points = publishing.unwrap_or_default();
                points[..points.len() / 2].to_vec()
            }
            ("complete", _) => previous_accepted.clone().unwrap_or_default(),
            _ => Vec::new(),
        };
        state.fired.push(Fired {
            step,
            call,
            fault,
            after_accepted_publish: previous_accepted.is_some(),
            exposed,
        });
        if fault.crashes() {
            state.crashed = true;
        }
        match fault {
            Fault::Error | Fault::CrashBefore => Verdict::Refuse(fault),
            Fault::Conflict if call == "claim" => Verdict::Conflict,
            Fault::Conflict => Verdict::Refuse(fault),
            Fault::Timeout | Fault::Partial | Fault::CrashAfter => Verdict::EffectThenFail(fault),
        }
    }

    fn message(&self, call: &str, fault: Option<Fault>) -> String {
        match fault {
            Some(fault) => format!("injected fault on {call}: {}", fault.describe(call)),
            None => format!("injected fault on {call}: the process had stopped"),
        }
    }
}

/// An [`EventStore`] that fails as its [`FaultPlan`] says.
pub struct FaultyStore<S> {
    pub inner: S,
    pub plan: Arc<FaultPlan>,
}

/// A [`MetricSink`] that fails as its [`FaultPlan`] says.
pub struct FaultySink<M> {
    pub inner: M,
    pub plan: Arc<FaultPlan>,
}

impl<S: EventStore> FaultyStore<S> {
    fn error(&self, call: &str, fault: Option<Fault>) -> StoreError {
        StoreError {
            message: self.plan.message(call, fault),
            retryable: true,
        }
    }
}

/// Runs a store call under the plan: `full` makes it, `part` makes its first
/// half (for [`Fault::Partial`]), `conflict` is the answer of a lost race.
macro_rules! guarded {
    ($self:ident, $call:literal, $full:expr, $part:expr, $conflict:expr) => {
        match $self.plan.verdict($call, None) {
            Verdict::Go => $full.await,
            Verdict::Conflict => Ok($conflict),
            Verdict::Refuse(fault) => Err($self.error($call, Some(fault))),
            Verdict::Dead => Err($self.error($call, None)),
            Verdict::EffectThenFail(fault) => {
                if fault == Fault::Partial {
                    let _ = $part.await;
                } else {
                    let _ = $full.await;
                }
                Err($self.error($call, Some(fault)))
            }
        }
    };
}

#[async_trait]
impl<S: EventStore> EventStore for FaultyStore<S> {
    async fn append(&self, event: &StoredEvent) -> Result<Appended, StoreError> {
        guarded!(
            self,
            "append",
            self.inner.append(event),
            self.inner.append(event),
            Appended::Stored
        )
    }

    async fn timeline(
        &self,
        aggregate_id: &str,
        timeline: &str,
        from: &str,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, StoreError> {
        let read = || {
            self.inner
                .timeline(aggregate_id, timeline, from, direction, limit)
        };
        guarded!(self, "timeline", read(), read(), Vec::new())
    }

    async fn mark_late(&self, event: &EventRef, due_if_unset: Millis) -> Result<(), StoreError> {
        guarded!(
            self,
            "mark_late",
            self.inner.mark_late(event, due_if_unset),
            self.inner.mark_late(event, due_if_unset),
            ()
        )
    }

    async fn due(&self, now: Millis, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        guarded!(
            self,
            "due",
            self.inner.due(now, limit),
            self.inner.due(now, limit),
            Vec::new()
        )
    }

    async fn claim(
        &self,
        events: &[StoredEvent],
        lease: &Lease,
        now: Millis,
    ) -> Result<Vec<EventRef>, StoreError> {
        guarded!(
            self,
            "claim",
            self.inner.claim(events, lease, now),
            self.inner.claim(&events[..events.len() / 2], lease, now),
            Vec::new()
        )
    }

    async fn complete(&self, completions: &[Completion]) -> Result<(), StoreError> {
        guarded!(
            self,
            "complete",
            self.inner.complete(completions),
            self.inner.complete(&completions[..completions.len() / 2]),
            ()
        )
    }

    async fn release(&self, events: &[EventRef], token: &str) -> Result<(), StoreError> {
        guarded!(
            self,
            "release",
            self.inner.release(events, token),
            self.inner.release(&events[..events.len() / 2], token),
            ()
        )
    }
}

#[async_trait]
impl<M: MetricSink> MetricSink for FaultySink<M> {
    async fn publish(&self, measurements: &[Measurement]) -> Result<(), SinkError> {
        let error = |fault| SinkError {
            message: self.plan.message("publish", fault),
        };
        match self.plan.verdict("publish", Some(measurements)) {
            Verdict::Go => self.inner.publish(measurements).await,
            Verdict::Refuse(fault) => Err(error(Some(fault))),
            Verdict::Conflict => Err(error(Some(Fault::Conflict))),
            Verdict::Dead => Err(error(None)),
            Verdict::EffectThenFail(fault) => {
                let accepted = if fault == Fault::Partial {
                    &measurements[..measurements.len() / 2]
                } else {
                    measurements
                };
                let _ = self.inner.publish(accepted).await;
                Err(error(Some(fault)))
            }
        }
    }
}

/// The service over faulty ports, a collecting sink and a manual clock.
pub type FaultyService<S> =
    FlightController<FaultyStore<S>, FaultySink<Arc<CollectingSink>>, Arc<ManualClock>>;

/// The service over `store` behind a [`FaultyStore`], a collecting sink
/// behind a [`FaultySink`] (one plan for both, with no fault armed), and a
/// manual clock at [`NOW`]; two-minute leases.
pub fn faulty_service<S: EventStore>(store: S, window: Millis) -> FaultyService<S> {
    let plan = FaultPlan::new();
    FlightController::new(
        super::stories::catalog(),
        FaultyStore {
            inner: store,
            plan: plan.clone(),
        },
        FaultySink {
            inner: Arc::new(CollectingSink::new()),
            plan,
        },
        Arc::new(ManualClock::new(NOW)),
        flight_core::Settings {
            environment: Some("test".into()),
            lateness_window: window,
            lease: 2 * MINUTE,
            enforce_cloudwatch_range: true,
        },
    )
}

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

/// A scenario for the fault matrix: its lateness window and its operations,
/// built with ids under a namespace (runs sharing a store stay apart).
pub struct Scenario {
    pub name: &'static str,
    pub window: Millis,
    pub ops: fn(&str) -> Vec<Op>,
}

fn story_event(
    namespace: &str,
    id: &str,
    event_type: &str,
    aggregate: &str,
    minute: i64,
    payload: Value,
) -> Value {
    let mut detail = serde_json::json!({
        "event_id": format!("{namespace}{id}"),
        "event_type": event_type,
        "aggregate_id": format!("{namespace}{aggregate}"),
        "time": (super::stories::EPOCH + minute * MINUTE) / 1000,
    });
    if let (Value::Object(detail), Value::Object(payload)) = (&mut detail, payload) {
        detail.extend(payload);
    }
    serde_json::json!({
        "version": "0", "id": format!("eb-{namespace}{id}"), "detail-type": event_type,
        "source": "tests.faults", "time": "2026-11-01T00:00:00Z", "detail": detail,
    })
}

fn fault_story(namespace: &str) -> Vec<Value> {
    let g = |id: &str, t: &str, partition: &str, minute: i64| {
        story_event(
            namespace,
            id,
            t,
            "res-1",
            minute,
            serde_json::json!({"guardrail_id": partition}),
        )
    };
    vec![
        g("a1", "GuardrailActivated", "g1", 0),
        g("a2", "GuardrailActivated", "g1", 10),
        g("p1", "GuardrailPassed", "g1", 30),
        g("b1", "GuardrailActivated", "g2", 5),
        g("b2", "GuardrailPassed", "g2", 45),
        story_event(namespace, "r", "ProjectRequested", "proj-1", 0, Value::Null),
        story_event(namespace, "c", "ProjectCreated", "proj-1", 60, Value::Null),
        story_event(
            namespace,
            "s",
            "PatchRunSummary",
            "run-1",
            20,
            serde_json::json!({"successful_instances": "i-1,i-2,i-3", "failed_instances": "i-4"}),
        ),
    ]
}

/// Window 0: each ingest publishes what its event completes at once; events
/// in time order, one redelivered.
pub fn published_at_ingest(namespace: &str) -> Vec<Op> {
    let story = fault_story(namespace);
    let mut ops: Vec<Op> = story.iter().cloned().map(Op::Ingest).collect();
    ops.insert(3, Op::Ingest(story[2].clone()));
    ops.push(Op::Settle);
    ops
}

/// A five-minute window: events out of order and redelivered, published by the sweep.
pub fn published_by_the_sweep(namespace: &str) -> Vec<Op> {
    let story = fault_story(namespace);
    let order = [2, 6, 1, 4, 0, 5, 2, 3, 7, 6];
    let mut ops: Vec<Op> = order
        .iter()
        .map(|&i| Op::Ingest(story[i].clone()))
        .collect();
    ops.push(Op::Settle);
    ops
}

pub const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "published at ingest (window 0)",
        window: 0,
        ops: published_at_ingest,
    },
    Scenario {
        name: "published by the sweep (window 5 min)",
        window: 5 * MINUTE,
        ops: published_by_the_sweep,
    },
];

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
    let expected = super::stories::expected(service.catalog(), &events, environment.as_deref());
    let published = service.sink().inner.published();
    let comparison = super::stories::Comparison::of(&expected, &published);
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
    let exposed: std::collections::BTreeSet<_> = window
        .iter()
        .flat_map(|f| f.exposed.iter().map(super::stories::identity))
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
