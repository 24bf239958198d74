//! Seed a data directory of the reference server with N small synthetic files, for
//! benchmarks: `cargo run --release --example seed -- DIR WORKSPACE N`.
//! Then `FILEDECK_SERVER_KEY=… filedeck serve --data DIR` serves them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "an example stops at the first surprise"
)]

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, ws, n] = &args[..] else {
        eprintln!("usage: seed DIR WORKSPACE N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    // `SEED_STYLE=filter`: the filter benchmark's keys (benches/filter.rs): ~70-byte
    // display paths, 1 % of them non-ASCII.
    let filter_style = std::env::var("SEED_STYLE").is_ok_and(|v| v == "filter");
    let mut config = filedeck::server::ServerConfig::new(dir, "127.0.0.1:0".parse().expect("addr"));
    config.keys.push(filedeck::server::KeyGrant {
        token: "seed".into(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    let srv = filedeck::server::bind(config).await.expect("server");
    for start in (0..n).step_by(10_000) {
        let batch = (start..n.min(start + 10_000))
            .map(|i| {
                if filter_style {
                    return (filter_key(i), format!("{i}\n").into_bytes());
                }
                let folder = if i < 20_000 {
                    "big/".to_string()
                } else {
                    format!("runs/run{:03}/", i / 1000)
                };
                (
                    format!("{folder}sample_{i:07}_R1.fastq.gz"),
                    format!("{i}\n").into_bytes(),
                )
            })
            .collect();
        filedeck::server::put_many(&srv, ws, batch, None)
            .await
            .expect("seed");
    }
    srv.shutdown().await;
    eprintln!("seeded {n} files into {ws} in {dir}");
}

const EXT: [&str; 4] = [".fastq.gz", ".bam", ".vcf.gz", ".cram.crai"];

/// The same keys as benches/filter.rs.
fn filter_key(i: usize) -> String {
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
    format!("{folder}{name}")
}
