//! `flightctl`, Flight Controller's command line for operators and producers,
//! as a library: the verbs that talk to an environment (`put-events`,
//! `report`, `backfill`, `health`) and what they share (the target
//! environment, durations). `main.rs` is the command line around them.

pub mod backfill;
pub mod duration;
pub mod health;
pub mod put_events;
pub mod report;
pub mod series_report;
pub mod target;
