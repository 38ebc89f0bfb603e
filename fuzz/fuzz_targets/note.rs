#![no_main]
//! cargo fuzz run note — the body lives in `fuzz/targets.rs` (shared with the stable
//! harness `tests/fuzz_stable.rs`).

libfuzzer_sys::fuzz_target!(|data: &[u8]| lumen_fuzz::note(data));
