#![no_main]
//! Arbitrary bytes must never panic, abort or allocate beyond the limits;
//! every error must point inside the input.

use picklecost::pickle::{InspectOptions, Limits, globals_of, inspect_all_with, is_plain_data, scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scan(data);
    // Small limits so the fuzzer reaches the limit paths with short inputs.
    let opts = InspectOptions {
        dump: true,
        limits: Limits { max_depth: 64, max_stack_entries: 256, max_memo_strings: 16, ..Limits::default() },
        ..InspectOptions::default()
    };
    for r in inspect_all_with(data, &opts) {
        if let Err(e) = r {
            assert!(e.offset() <= data.len());
        }
    }
    let _ = globals_of(data);
    let _ = is_plain_data(data);
});
