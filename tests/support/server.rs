//! The reference server for the integration tests: in-process, 127.0.0.1, a free port,
//! one key with every scope and workspace.

use std::path::Path;

use filedeck::server::{self, RunningServer, ServerConfig};

pub async fn start(data: &Path, token: &str) -> RunningServer {
    start_with(data, token, |_| {}).await
}

/// As [`start`], with `tweak` applied to the configuration first.
pub async fn start_with(
    data: &Path,
    token: &str,
    tweak: impl FnOnce(&mut ServerConfig),
) -> RunningServer {
    let mut config = ServerConfig::new(data, "127.0.0.1:0".parse().unwrap());
    config.keys.push(server::ApiKey {
        token: token.into(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    tweak(&mut config);
    server::bind(config).await.unwrap()
}
