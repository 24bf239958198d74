//! `filedeck --demo`: the reference server in-process over a fresh temporary data dir,
//! seeded from `assets/demo/` (embedded at build time) plus a generated folder of
//! 1,000 files.

use std::path::Path;

use super::Failure;
use crate::api::{ApiKey, ClientConfig};
use crate::server::{self, RunningServer, ServerConfig};

/// The demo server's key: not a secret, it guards a throwaway local server.
pub const DEMO_KEY: &str = "demo";

include!(concat!(env!("OUT_DIR"), "/demo_assets.rs"));

/// Start the demo server (127.0.0.1, a free port) and seed it.
pub async fn start(data: &Path) -> Result<RunningServer, Failure> {
    let mut config = ServerConfig::new(data, ([127, 0, 0, 1], 0).into());
    config.keys.push(server::ApiKey {
        token: DEMO_KEY.to_string(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    let running = server::bind(config)
        .await
        .map_err(|e| Failure::Failed(format!("cannot start the demo server: {e}")))?;
    seed(&running).await?;
    Ok(running)
}

/// (key, bytes) of files to store.
type Files = Vec<(String, Vec<u8>)>;

/// Seed every workspace of the embedded assets (`<workspace>/<key>`).
async fn seed(running: &RunningServer) -> Result<(), Failure> {
    let mut workspaces: Vec<(&str, Files)> = Vec::new();
    for (path, bytes) in DEMO_ASSETS {
        let Some((ws, key)) = path.split_once('/') else {
            continue;
        };
        match workspaces.iter_mut().find(|(w, _)| *w == ws) {
            Some((_, files)) => files.push((key.to_string(), bytes.to_vec())),
            None => workspaces.push((ws, vec![(key.to_string(), bytes.to_vec())])),
        }
    }
    for (ws, mut files) in workspaces {
        if ws == "ws_genomics" {
            files.extend(generated());
        }
        server::put_many(running, ws, files, None)
            .await
            .map_err(|e| Failure::Failed(format!("seeding the demo data failed: {e}")))?;
    }
    Ok(())
}

/// A folder of 1,000 small generated files, to show a long listing.
fn generated() -> Vec<(String, Vec<u8>)> {
    (1..=1000)
        .map(|i| {
            let body = format!(
                "read_id,length,mean_q\n{}\n",
                (0..(i % 17 + 3))
                    .map(|j| format!(
                        "r{i:04}_{j},{},{}",
                        100 + (i * 7 + j) % 150,
                        20 + (i + j) % 20
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            (format!("runs/batch_{i:04}.csv"), body.into_bytes())
        })
        .collect()
}

/// Run the demo: the browser on a freshly seeded in-process server.
pub async fn run(workspaces: Vec<String>, concurrency: usize) -> Result<(), Failure> {
    let data = tempfile::Builder::new()
        .prefix("filedeck-demo-")
        .tempdir()
        .map_err(|e| Failure::Failed(format!("cannot create a temporary data dir: {e}")))?;
    let running = start(data.path()).await?;
    let url = running.base_url();
    tracing::info!(%url, "demo server running");
    let cfg = ClientConfig::new(&url, ApiKey::new(DEMO_KEY))?;
    let result = super::tui(cfg, &url, workspaces, concurrency, false).await;
    running.shutdown().await;
    result
}
