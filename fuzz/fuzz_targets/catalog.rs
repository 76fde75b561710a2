//! The catalog parser on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    flight_fuzz::checks::catalog(data);
});
