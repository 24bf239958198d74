//! The server's listing rate for a large workspace, through the API over loopback:
//! `cargo bench --bench listing [-- FILES]` (default 100,000 files). Prints a table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::time::Instant;

use filedeck::api::{ApiKey, Client, ClientConfig};
use filedeck::server::{self, ServerConfig};

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
    let mut config = ServerConfig::new(data.path(), "127.0.0.1:0".parse().expect("addr"));
    config.keys.push(server::KeyGrant {
        token: KEY.into(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    let srv = server::bind(config).await.expect("server");
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
    eprintln!("seeded {files} files in {:.1} s", t.elapsed().as_secs_f64());

    let client = Client::new(ClientConfig::new(&srv.base_url(), ApiKey::new(KEY)).expect("cfg"))
        .expect("client");
    let http = reqwest::Client::new();
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
    // The server alone: the same pages fetched raw, cursors read from the JSON.
    let t = Instant::now();
    let (mut cursor, mut pages, mut count) = (None::<String>, 0, 0usize);
    loop {
        let mut req = http
            .get(format!("{}/v1/files", srv.base_url()))
            .bearer_auth(KEY)
            .query(&[("workspace_id", WS), ("limit", "10000")]);
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
    let s = t.elapsed().as_secs_f64();
    println!(
        "| raw HTTP pages of 10,000 | {count} | {pages} | {s:.3} | {:.0} |",
        count as f64 / s
    );
    srv.shutdown().await;
}
