//! The preview decoders never panic, whatever the bytes: the first byte picks the name
//! hint and whether the bytes are the whole file; the rest is the file (raw, or gzip /
//! BGZF-wrapped by the fuzzer's own mutations).
#![no_main]

use filedeck::preview::{Input, decode};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    "a.txt", "a.csv", "a.tsv", "a.vcf.gz", "a.bam", "a.fastq.gz", "a.fa", "a.bin",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let whole = pick & 0x80 != 0;
    let d = decode(Input { bytes, name, whole });
    for l in &d.lines {
        assert!(!l.text.chars().any(filedeck::sanitize::invisible));
    }
});
