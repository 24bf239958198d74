//! Two `filedeck serve --store s3://…` processes' worth of servers on one s3s-fs bucket: how
//! long after an upload through one the other lists it. `cargo bench --bench s3_lag [--
//! UPLOADS] [--seed FILES]` (default 30 uploads, 100 ms apart, into an empty bucket; `--seed`
//! first fills the bucket with that many files, since s3s-fs's listings walk the bucket).
//! Prints a table.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::time::{Duration, Instant};

use filedeck::server::{self, KeyGrant, RunningServer, ServerConfig};

#[path = "../tests/support/s3.rs"]
mod s3;

const WS: &str = "ws_lag";
const KEY: &str = "lag-key-0123456789";

async fn start(dir: &std::path::Path, bucket: &s3::S3Fs) -> RunningServer {
    let mut config = ServerConfig::new(dir, "127.0.0.1:0".parse().unwrap());
    config.s3 = Some(bucket.config(""));
    config.keys.push(KeyGrant {
        token: KEY.into(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    server::bind(config).await.unwrap()
}

fn arg_after(flag: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1)?.parse().ok())
}

#[tokio::main]
async fn main() {
    let uploads: usize = std::env::args()
        .skip(1)
        .take_while(|a| a != "--seed")
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let seed = arg_after("--seed").unwrap_or(0);
    let bucket = s3::S3Fs::start();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start(a_dir.path(), &bucket).await;
    if seed > 0 {
        let t = Instant::now();
        for from in (0..seed).step_by(10_000) {
            let batch = (from..seed.min(from + 10_000))
                .map(|i| (format!("seed/f{i:07}.txt"), format!("{i}").into_bytes()))
                .collect();
            server::put_many(&a, WS, batch, None).await.unwrap();
        }
        eprintln!("seeded {seed} files in {:.1} s", t.elapsed().as_secs_f64());
    }
    let b = start(b_dir.path(), &bucket).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut lags = Vec::with_capacity(uploads);
    for i in 0..uploads {
        let name = format!("up{i:03}.txt");
        let form = reqwest::multipart::Form::new()
            .text("workspace_id", WS)
            .text("path", "lag/")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"x".to_vec()).file_name(name.clone()),
            );
        http.post(format!("{}/v1/files/upload", a.base_url()))
            .bearer_auth(KEY)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        // From the upload's answer: the file is in the bucket's log from then on.
        let answered = Instant::now();
        loop {
            let page: serde_json::Value = http
                .get(format!("{}/v1/files", b.base_url()))
                .bearer_auth(KEY)
                .query(&[("workspace_id", WS), ("prefix", &format!("lag/{name}"))])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if page["files"].as_array().is_some_and(|f| !f.is_empty()) {
                lags.push(answered.elapsed());
                break;
            }
            assert!(
                answered.elapsed() < Duration::from_secs(120),
                "never listed"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lags.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| bucket holds | uploads | median ms | p90 ms | max ms |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {seed} files | {uploads} | {:.0} | {:.0} | {:.0} |",
        ms(lags[lags.len() / 2]),
        ms(lags[lags.len() * 9 / 10]),
        ms(lags[lags.len() - 1])
    );
}
