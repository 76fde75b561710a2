//! The fault plan: which call (counted across the store and the sink) fails,
//! and how ([`Fault`]); what fired ([`Fired`]); and the verdict the faulty
//! ports act on.

use std::sync::{Arc, Mutex};

use flight_core::engine::Measurement;

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
    /// Every way a call fails.
    pub const ALL: [Fault; 6] = [
        Fault::Error,
        Fault::Timeout,
        Fault::Partial,
        Fault::Conflict,
        Fault::CrashBefore,
        Fault::CrashAfter,
    ];

    /// Whether the process dies with it.
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
    /// The call's number, 0-based, across both ports.
    pub step: usize,
    /// The operation (`append`, `claim`, `publish`, …).
    pub call: &'static str,
    /// How it failed.
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
pub(crate) enum Verdict {
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
    /// A plan with no fault armed.
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

    /// How many calls were made.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Every call made (its operation), in order.
    pub fn log(&self) -> Vec<&'static str> {
        self.lock().log.clone()
    }

    /// The faults that fired.
    pub fn fired(&self) -> Vec<Fired> {
        self.lock().fired.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn verdict(
        &self,
        call: &'static str,
        publishing: Option<&[Measurement]>,
    ) -> Verdict {
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

    pub(crate) fn message(&self, call: &str, fault: Option<Fault>) -> String {
        match fault {
            Some(fault) => format!("injected fault on {call}: {}", fault.describe(call)),
            None => format!("injected fault on {call}: the process had stopped"),
        }
    }
}
