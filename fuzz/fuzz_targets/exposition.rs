//! `cargo +nightly fuzz run exposition fuzz/corpus/exposition`: the exposition parser
//! must never panic, and its report must stay consistent with the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = lumen::domain::exposition::parse(data);
    let lines = data.split(|&b| b == b'\n').count();
    assert!(p.errors.len() <= p.unreadable);
    assert!(p.samples.len() + p.unreadable <= lines);
    assert!(p.errors.iter().all(|(l, _)| *l >= 1 && *l <= lines));
});
