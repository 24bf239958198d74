//! The reference server for the integration tests: in-process, 127.0.0.1, a free port,
//! one key with every scope and workspace.

use std::path::Path;

use filedeck::server::{self, RunningServer, ServerConfig};

pub async fn start(data: &Path, token: &str) -> RunningServer {
    let mut config = ServerConfig::new(data, "127.0.0.1:0".parse().unwrap());
    config.keys.push(server::ApiKey {
        token: token.into(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    server::bind(config).await.unwrap()
}
