//! `filedeck --demo`: the reference server in-process over a fresh temporary data dir,
//! seeded from `assets/demo/` plus a generated folder of 1,000 files.

use std::path::{Path, PathBuf};

use super::Failure;
use crate::api::{ApiKey, Client, ClientConfig};
use crate::server::{self, RunningServer, ServerConfig};

/// The demo server's key: not a secret, it guards a throwaway local server.
pub const DEMO_KEY: &str = "demo";

fn assets_dir() -> PathBuf {
    std::env::var_os("FILEDECK_DEMO_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"))
}

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
    seed(&running, &assets_dir()).await?;
    Ok(running)
}

async fn seed(running: &RunningServer, assets: &Path) -> Result<(), Failure> {
    let assets = assets.to_path_buf();
    let workspaces = tokio::task::spawn_blocking(move || read_assets(&assets))
        .await
        .map_err(|e| Failure::Failed(format!("reading the demo assets failed: {e}")))??;
    for (ws, mut files) in workspaces {
        if ws == "ws_genomics" {
            files.extend(generated());
        }
        server::put_many(running, &ws, files, None)
            .await
            .map_err(|e| Failure::Failed(format!("seeding the demo data failed: {e}")))?;
    }
    Ok(())
}

/// `assets/demo/<workspace>/<key…>` → per workspace, (key, bytes).
fn read_assets(root: &Path) -> Result<Vec<(String, Vec<(String, Vec<u8>)>)>, Failure> {
    let fail = |e: std::io::Error| {
        Failure::Failed(format!(
            "cannot read the demo assets in {}: {e}",
            root.display()
        ))
    };
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .map_err(fail)?
        .filter_map(Result::ok)
        .collect();
    dirs.sort_by_key(|d| d.file_name());
    for d in dirs {
        if !d.path().is_dir() {
            continue;
        }
        let ws = d.file_name().to_string_lossy().into_owned();
        let mut files = Vec::new();
        collect(&d.path(), "", &mut files).map_err(fail)?;
        out.push((ws, files));
    }
    Ok(out)
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() {
            collect(&path, &format!("{prefix}{name}/"), out)?;
        } else {
            out.push((format!("{prefix}{name}"), std::fs::read(&path)?));
        }
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
pub async fn run(workspaces: Vec<String>) -> Result<(), Failure> {
    let data = tempfile::Builder::new()
        .prefix("filedeck-demo-")
        .tempdir()
        .map_err(|e| Failure::Failed(format!("cannot create a temporary data dir: {e}")))?;
    let running = start(data.path()).await?;
    let url = running.base_url();
    tracing::info!(%url, "demo server running");
    let cfg = ClientConfig::new(&url, ApiKey::new(DEMO_KEY))?;
    let client = Client::new(cfg)?;
    let result = super::tui(client, &url, workspaces).await;
    running.shutdown().await;
    result
}
