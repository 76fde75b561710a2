//! Where an SLO stands at an instant (issue 11 design §5, `flightctl
//! report`): its error budget over the period holding that instant, counted
//! exactly with [`crate::slo`], and what its alarms see then, with the
//! evaluation model.

use crate::duration::Seconds;
use crate::engine::Measurement;
use crate::envelope::Millis;
use crate::slo::{evaluate, SloStatus};

use super::evaluate::{History, SloAlarms, WindowReading};

/// An SLO's budget over its period and its alarms' state, at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodBudget {
    /// Values, good and bad over the period `[status.since, status.until)`;
    /// budget total / spent / left are its [`SloStatus`] methods.
    pub status: SloStatus,
    /// Each window alarm's burn rate at the instant.
    pub burn_rates: Vec<WindowReading>,
    /// The names of the composite alarms in ALARM at the instant.
    pub firing: Vec<String>,
}

impl PeriodBudget {
    /// Bad values the objective allows over the period so far: `values × (100 − objective) / 100`.
    pub fn budget_total(&self) -> f64 {
        self.status.budget()
    }

    /// Bad values so far.
    pub fn spent(&self) -> u64 {
        self.status.bad()
    }

    /// Bad values still allowed (negative when overspent).
    pub fn left(&self) -> f64 {
        self.status.budget_left()
    }

    /// What is left as a percentage of the budget (see [`SloStatus::budget_left_percent`]).
    pub fn left_percent(&self) -> Option<f64> {
        self.status.budget_left_percent()
    }
}

/// `alarms.slo`'s budget over its period holding `at`, and its alarms at
/// `at` with values visible `publish_delay` after their timestamps (0 for
/// "now" from the store, where every record is already there).
pub fn period_budget(
    alarms: &SloAlarms,
    measurements: &[Measurement],
    at: Millis,
    publish_delay: Seconds,
) -> PeriodBudget {
    let slo = &alarms.slo;
    let (since, until) = slo.period.bounds(at);
    let history = History::new(slo, measurements, publish_delay);
    let burn_rates = alarms.readings_at(&history, at);
    let firing = alarms
        .firing(&burn_rates)
        .into_iter()
        .map(|c| c.name.clone())
        .collect();
    PeriodBudget {
        status: evaluate(slo, measurements, since, until),
        burn_rates,
        firing,
    }
}
