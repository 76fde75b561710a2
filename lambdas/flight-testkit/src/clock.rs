//! The tests' time: a fixed "now" (well inside CloudWatch's accepted range
//! once a manual clock starts there) and the durations they count in, in
//! milliseconds like [`flight_core::Millis`].

/// 2026-11-01T00:00:00Z in milliseconds: "now" for the tests.
pub const NOW: i64 = 1_793_491_200_000;
/// One second in milliseconds.
pub const SECOND: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE: i64 = 60_000;
/// One hour in milliseconds.
pub const HOUR: i64 = 3_600_000;
/// Event times start here: ten days before [`NOW`], inside CloudWatch's range.
pub const EPOCH: i64 = NOW - 10 * 24 * HOUR;
