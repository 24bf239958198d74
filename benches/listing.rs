//! The server's listing rate for a large workspace, through the API over loopback, whole
//! and by prefix: `cargo bench --bench listing [-- FILES] [--opaque] [--s3]` (default
//! 100,000 files, path-style keys, local disk; `--s3`: the S3 store on s3s-fs, whose index
//! a second, fresh server then rebuilds from the bucket, timed). Prints a table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::time::{Duration, Instant};

use filedeck::api::{ApiKey, Client, ClientConfig};
use filedeck::server::{self, ServerConfig};

#[path = "../tests/support/s3.rs"]
mod s3;

const WS: &str = "ws_bench";
const KEY: &str = "bench-key";

#[tokio::main]
async fn main() {
    let files: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let data = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("temp dir");
    let bucket = std::env::args().any(|a| a == "--s3").then(s3::S3Fs::start);
    let configure = |dir: &std::path::Path| {
        let mut config = ServerConfig::new(dir, "127.0.0.1:0".parse().expect("addr"));
        if std::env::args().any(|a| a == "--opaque") {
            config.key_style = server::KeyStyle::Opaque;
        }
        config.s3 = bucket.as_ref().map(|b| b.config(""));
        config.keys.push(server::KeyGrant {
            token: KEY.into(),
            scopes: vec!["files".into()],
            workspaces: vec!["*".into()],
        });
        config
    };
    let store = if bucket.is_some() {
        "S3 store (s3s-fs)"
    } else {
        "local disk"
    };
    let srv = server::bind(configure(data.path())).await.expect("server");
    let t = Instant::now();
    for start in (0..files).step_by(10_000) {
        let batch = (start..files.min(start + 10_000))
            .map(|i| {
                (
                    format!("runs/run{:03}/sample_{i:07}.fastq.gz", i / 1000),
                    format!("{i}").into_bytes(),
                )
            })
            .collect();
        server::put_many(&srv, WS, batch, None).await.expect("seed");
    }
    eprintln!(
        "seeded {files} files in {:.1} s ({store})",
        t.elapsed().as_secs_f64()
    );
    // With the S3 store: a second server with an empty data directory builds its index
    // from the bucket's log, then serves the listing below.
    let mut rebuilt = None;
    let srv = if bucket.is_some() {
        srv.shutdown().await;
        let fresh = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))
            .expect("temp dir");
        let t = Instant::now();
        let second = server::bind(configure(fresh.path())).await.expect("server");
        rebuilt = Some((t.elapsed(), fresh));
        second
    } else {
        srv
    };
    println!("store: {store}");
    if let Some((took, _)) = &rebuilt {
        println!(
            "a fresh server rebuilt its index of {files} files from the bucket in {:.2} s",
            took.as_secs_f64()
        );
    }

    let client = Client::new(ClientConfig::new(&srv.base_url(), ApiKey::new(KEY)).expect("cfg"))
        .expect("client");
    let http = reqwest::Client::new();
    first_pages(&http, &srv.base_url()).await;
    println!("| what | files | pages | seconds | files/s |");
    println!("|---|---:|---:|---:|---:|");
    for rep in 0..3 {
        let t = Instant::now();
        let listing = client.list_all(WS, "").await.expect("list");
        let s = t.elapsed().as_secs_f64();
        assert_eq!(listing.files.len(), files);
        println!(
            "| client list_all (parsed), run {} | {files} | {} | {s:.3} | {:.0} |",
            rep + 1,
            files.div_ceil(10_000),
            files as f64 / s
        );
    }
    // The server alone: the same pages fetched raw, cursors read from the JSON; then by
    // prefix (a run folder, part of one, one file) and page size.
    let base = srv.base_url();
    let run = "runs/run003/";
    let part = "runs/run003/sample_000301";
    let one = "runs/run003/sample_0003012";
    for (what, prefix, limit) in [
        ("raw HTTP pages of 10,000", "", 10_000),
        ("prefix: one run folder, pages of 10,000", run, 10_000),
        ("prefix: one run folder, pages of 1,000", run, 1_000),
        ("prefix: 10 files of a folder", part, 10_000),
        ("prefix: one file, pages of 100", one, 100),
    ] {
        let t = Instant::now();
        let (count, pages) = raw_pages(&http, &base, prefix, limit).await;
        let s = t.elapsed().as_secs_f64();
        println!(
            "| {what} | {count} | {pages} | {s:.3} | {:.0} |",
            count as f64 / s
        );
    }
    srv.shutdown().await;
}

/// The first page of the whole workspace, as a browser asks for it, 20 times per size:
/// median and max milliseconds from request to parsed JSON.
async fn first_pages(http: &reqwest::Client, base: &str) {
    println!("| first page | limit | median ms | max ms |");
    println!("|---|---:|---:|---:|");
    for limit in ["100", "1000", "10000"] {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let v: serde_json::Value = http
                .get(format!("{base}/v1/files"))
                .bearer_auth(KEY)
                .query(&[("workspace_id", WS), ("limit", limit)])
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            times.push(t.elapsed());
            assert!(v["files"].as_array().is_some_and(|f| !f.is_empty()));
        }
        times.sort();
        println!(
            "| first page of the workspace | {limit} | {:.1} | {:.1} |",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0
        );
    }
}

/// Every page of `GET /v1/files` under `prefix`: (files, pages).
async fn raw_pages(http: &reqwest::Client, base: &str, prefix: &str, limit: u32) -> (usize, usize) {
    let limit = limit.to_string();
    let (mut cursor, mut pages, mut count) = (None::<String>, 0, 0usize);
    loop {
        let mut req = http
            .get(format!("{base}/v1/files"))
            .bearer_auth(KEY)
            .query(&[
                ("workspace_id", WS),
                ("prefix", prefix),
                ("limit", limit.as_str()),
            ]);
        if let Some(c) = &cursor {
            req = req.query(&[("cursor", c)]);
        }
        let v: serde_json::Value = req.send().await.expect("get").json().await.expect("json");
        count += v["files"].as_array().map_or(0, Vec::len);
        pages += 1;
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    (count, pages)
}
