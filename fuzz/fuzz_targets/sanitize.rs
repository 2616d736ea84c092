#![no_main]
//! `cargo +nightly fuzz run sanitize` — see fuzz/checks.rs for the property.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_sanitize(data));
