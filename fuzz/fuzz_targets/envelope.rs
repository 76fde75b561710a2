//! The envelope parser on arbitrary bytes: parsed as JSON, then read as an
//! EventBridge event (and as its detail), then ingested and settled.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    flight_fuzz::checks::envelope(flight_fuzz::catalog(), data);
});
