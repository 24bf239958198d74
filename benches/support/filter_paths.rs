//! The filter benchmark's files, shared by `benches/filter.rs` (in memory) and
//! `examples/seed.rs` (`SEED_STYLE=filter`, on a server for `scripts/filter_bench.py`), so
//! both measure the same paths: `projects/proj_PP/seq_run/batch_BBB/` folders of 1,000
//! files, a mean display path of ~70 bytes, 1 % of the names non-ASCII (`échantillon_…µ…`).

const EXT: [&str; 4] = [".fastq.gz", ".bam", ".vcf.gz", ".cram.crai"];

/// The folder (ending in `/`) and the name of file `i`.
pub fn filter_path(i: usize) -> (String, String) {
    let folder = format!(
        "projects/proj_{:02}/seq_run/batch_{:03}/",
        i / 100_000,
        (i / 1000) % 100
    );
    let name = if i % 100 == 7 {
        format!("échantillon_{i:07}_µL{}{}", i % 8, EXT[i % 4])
    } else {
        format!(
            "sample_{i:07}_lane{}_R{}_{:04x}{}",
            i % 8,
            1 + i % 2,
            (i * 2654435761) & 0xffff,
            EXT[i % 4]
        )
    };
    (folder, name)
}
