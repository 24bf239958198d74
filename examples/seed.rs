//! Seed a data directory of the reference server with N small synthetic files, for
//! benchmarks: `cargo run --release --example seed -- DIR WORKSPACE N`.
//! Then `FILEDECK_SERVER_KEY=… filedeck serve --data DIR` serves them.
//!
//! The files go straight into the data directory through the store
//! (`filedeck::server::seed_files`: unsynced blobs, large transactions), not through a
//! running server: a million files take about a minute instead of an hour. Run it only on a
//! data directory no server is serving.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "an example stops at the first surprise"
)]

#[path = "../benches/support/filter_paths.rs"]
mod filter_paths;

use std::path::Path;
use std::time::Instant;

use filedeck::server::{KeyStyle, seed_files};
use filter_paths::filter_path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, ws, n] = &args[..] else {
        eprintln!("usage: seed DIR WORKSPACE N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    // `SEED_STYLE=filter`: the filter benchmark's paths (benches/filter.rs): ~70-byte
    // display paths, 1 % of them non-ASCII.
    let filter_style = std::env::var("SEED_STYLE").is_ok_and(|v| v == "filter");
    let files = (0..n).map(|i| {
        let display = if filter_style {
            let (folder, name) = filter_path(i);
            format!("{folder}{name}")
        } else {
            let folder = if i < 20_000 {
                "big/".to_string()
            } else {
                format!("runs/run{:03}/", i / 1000)
            };
            format!("{folder}sample_{i:07}_R1.fastq.gz")
        };
        (display, format!("{i}\n").into_bytes())
    });
    let started = Instant::now();
    let stored = seed_files(Path::new(dir), KeyStyle::Path, ws, files).expect("seed");
    eprintln!(
        "seeded {stored} files into {ws} in {dir} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
