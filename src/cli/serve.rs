//! `filedeck serve`: the reference server run over a data directory, one server per
//! directory, until SIGINT or SIGTERM.

use std::time::Duration;

use super::{Failure, ServeArgs, ServeLimits, shutdown_signal};
use crate::server;

pub(super) async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let ServeArgs {
        data,
        listen,
        keys,
        presign_ttl,
        key_style,
        public_url,
        store,
        limits,
    } = args;
    // One server per data directory: opening a store clears temp files and unindexed
    // blobs, which would be another live server's uploads in flight.
    let _lock = lock_data_dir(&data)?;
    let mut config = server::ServerConfig::new(data, listen);
    config.presign_ttl = Duration::from_secs(presign_ttl);
    config.key_style = key_style;
    config.max_uploads_per_key = limits.max_uploads_per_key;
    config.public_url = public_url;
    config.limits = limits.into_limits();
    config.s3 = store.store.map(|mut s3| {
        s3.endpoint = store.s3_endpoint;
        s3.region = store
            .s3_region
            .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()));
        s3
    });
    if let Some(path) = keys {
        config.keys = server::load_keys_file(&path).map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let running = server::bind(config).await.map_err(|e| match e {
        server::ServerError::WildcardWithoutPublicUrl(_) => Failure::Usage(e.to_string()),
        e => Failure::Failed(e.to_string()),
    })?;
    // Installed before the line below: a script may signal as soon as it reads it.
    let stop = shutdown_signal();
    // Scripts wait for this line: print it only once the port is bound.
    println!("listening on {}", running.base_url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    stop.await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

impl ServeLimits {
    fn into_limits(self) -> server::ServerLimits {
        server::ServerLimits {
            header_timeout: Duration::from_secs(self.header_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            min_body_rate: self.min_body_rate,
            body_rate_window: Duration::from_secs(self.body_rate_window),
            max_connections: self
                .max_connections
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            send_timeout: Duration::from_secs(self.send_timeout),
        }
    }
}

/// An exclusive lock on `DIR/.lock`, held while the server runs.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Failure::Failed(format!("cannot open {}: {e}", path.display())))?;
    // Released when the process ends.
    if file.try_lock().is_err() {
        return Err(Failure::Failed(format!(
            "another filedeck server is using {}; one server per data directory",
            dir.display()
        )));
    }
    Ok(file)
}
