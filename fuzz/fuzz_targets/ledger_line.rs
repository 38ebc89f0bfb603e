//! Fuzz the ledger line parsers: no panic on any bytes, and the fast stats parser
//! accepts exactly what `parse_line` accepts, with the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumen::domain::ledger::{parse_line, parse_stat_fields};

fuzz_target!(|data: &[u8]| {
    let slow = parse_line(data);
    let fast = parse_stat_fields(data);
    match (slow, fast) {
        (Ok(e), Ok(f)) => {
            assert_eq!(e.branch, f.branch);
            assert_eq!(e.event, f.event);
            assert_eq!(e.timestamp, f.timestamp);
            assert_eq!(e.tokens, f.tokens);
            assert_eq!(e.cost.map(f64::to_bits), f.cost.map(f64::to_bits));
            assert_eq!(e.tier.as_deref(), f.tier.as_deref());
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("parsers disagree: {:?} vs {:?}", a.is_ok(), b.is_ok()),
    }
});
