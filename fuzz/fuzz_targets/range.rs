//! The server's `Range` parser: never a panic, and a part it serves lies inside the object.
#![no_main]

use filedeck::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u64, bool, &str)| {
    let (size, small, value) = input;
    // Small objects too, where off-by-one edges are reachable.
    let size = if small { size % 16 } else { size };
    if let Some(Some((first, last))) = fuzzing::parse_range(value, size) {
        assert!(
            first <= last && last < size,
            "{value:?} on {size} bytes gave {first}..={last}"
        );
    }
});
