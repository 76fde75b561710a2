//! Burn-rate alerting (issue 11): the alarms a catalog generates
//! ([`alarm_definitions`], mirrored by the Terraform catalog module), the one
//! model of how CloudWatch evaluates them ([`episodes`], [`backtest`]), how
//! long a total outage takes to alert ([`time_to_alert`]) and where an SLO's
//! error budget stands at an instant ([`period_budget`]).
//!
//! The policy itself (rules, factors, the low-traffic rule, the publishing
//! delay) is part of the catalog: see [`crate::catalog::Alerting`] and
//! `docs/alerting.md`.

mod budget;
mod definitions;
mod evaluate;
mod outage;

pub use budget::{period_budget, PeriodBudget};
pub use definitions::{
    alarm_definitions, budget_percent_text, burn_label, good_statistic, slo_alarms, CompositeAlarm,
    WindowAlarm, TREAT_MISSING_DATA,
};
pub use evaluate::{
    backtest, episodes, minute_at_or_after, read_window, Episode, History, Point, SloAlarms,
    WindowReading, MINUTE_MILLIS,
};
pub use outage::{outage_points, time_to_alert, time_to_alert_with_delay, TimeToAlert};
