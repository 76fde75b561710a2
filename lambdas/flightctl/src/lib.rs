//! `flightctl`, Flight Controller's command line for operators and producers,
//! as a library. `verbs` holds one file per verb (its arguments, help text and
//! `run`); the logic the verbs share or test on its own lives beside it: the
//! catalog they load, the target environment, durations, and what
//! `put-events`, `test-run`, `report`, `backfill`, `health` and `alerts
//! backtest` compute.
//! `main.rs` parses the command line and dispatches to a verb.

pub mod backfill;
pub mod backtest;
pub mod burn;
pub mod catalog;
pub mod duration;
pub mod health;
pub mod html;
pub mod instant;
pub mod policy;
pub mod put_events;
pub mod records;
pub mod report;
pub mod series_report;
pub mod target;
pub mod test_run;
pub mod verbs;
