#![no_main]
//! `cargo +nightly fuzz run duplicates` — see fuzz/checks.rs for the property.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_duplicates(data));
