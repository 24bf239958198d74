//! The reference server of the Files API (see `files-api.md`).
//!
//! Layout: [`routes`] (the `/v1` JSON routes and the router), [`objects`] (the presigned byte
//! routes, S3-like), [`upload`] (the multipart route), [`store`] (SQLite index + blob files),
//! [`seed`] (filling a data directory in bulk, for benchmarks),
//! [`blob`] (streaming a body to a temp file while hashing it), [`auth`] (API keys: loading, checking, authenticating),
//! [`presign`] (URL signing), [`validate`] (workspace ids, keys, paths), [`error`].
//!
//! The data directory holds `index.sqlite` (WAL), `secret.key` (the presigning secret, 0600),
//! `blobs/xx/<id>` (one file per stored upload) and `tmp/` (bodies being received).
//!
//! Keys come in two styles ([`KeyStyle`], contract: "Key styles"): `path` (the key is the
//! display path `path + name`) or `opaque` (every upload mints `obj_<32 hex>`). A data
//! directory remembers the style it was filled in; serving it in the other style is refused
//! while it holds files, because the two disagree on what an upload replaces.

mod auth;
mod blob;
mod conn;
mod dbpool;
mod error;
#[doc(hidden)]
pub(crate) mod fuzzing;
mod headers;
mod inflight;
mod objects;
mod presign;
mod routes;
mod s3;
mod seed;
mod store;
mod upload;
mod validate;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::wire::FileEntry;

pub use auth::{KeyGrant, keys_from_env, load_keys_file};
pub use conn::{MAX_HEADER_TIMEOUT, ServerLimits};
pub use error::ServerError;
pub use inflight::DEFAULT_MAX_UPLOADS_PER_KEY;
pub use presign::parse_public_url;
pub use s3::{
    ACCESS_KEY_ENV, DEFAULT_SWEEP_AFTER as DEFAULT_S3_SWEEP_AFTER, MAX_BUCKET_UPLOADS, S3Config,
    SECRET_KEY_ENV,
};
pub use seed::seed_files;

use auth::Keyring;
use presign::Signer;
use store::Store;

/// The environment variable holding a key with every scope and every workspace.
pub use crate::config::SERVER_KEY_ENV;

/// The scopes this server knows. A key's scope `*` grants all of them.
pub const SCOPES: &[&str] = &["files"];

/// Default lifetime of presigned URLs.
pub const DEFAULT_PRESIGN_TTL: Duration = Duration::from_secs(3600);

/// How the server makes the key of an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KeyStyle {
    /// `key = path + name`; an upload to an existing `path + name` replaces it.
    #[default]
    Path,
    /// Every upload, multipart or large, mints a new key `obj_<32 hex>`, so two files may
    /// share a display path; nothing is ever replaced. The confirm answers `{"key"}` only.
    Opaque,
}

impl KeyStyle {
    /// The name used on the command line and in the data directory.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStyle::Path => "path",
            KeyStyle::Opaque => "opaque",
        }
    }
}

impl fmt::Display for KeyStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub keys: Vec<KeyGrant>,
    pub presign_ttl: Duration,
    pub key_style: KeyStyle,
    /// The base of presigned URLs (see [`parse_public_url`]); `None` is `http://` and the
    /// bound address, refused for a wildcard address, which no client can reach.
    pub public_url: Option<String>,
    pub limits: ServerLimits,
    /// Concurrent uploads (multipart and presigned `PUT`) one API key may have; more are
    /// answered `503` with `Retry-After`.
    pub max_uploads_per_key: usize,
    /// Keep the bytes and the metadata in this bucket instead of `data_dir`, which then holds
    /// only this server's index of the bucket.
    pub s3: Option<S3Config>,
    /// How often the index reads what other servers wrote to the bucket.
    pub s3_poll: Duration,
    /// Large uploads never confirmed are removed from the bucket this long after their
    /// last write ([`DEFAULT_S3_SWEEP_AFTER`]).
    pub s3_sweep_after: Duration,
}

/// Default of [`ServerConfig::s3_poll`].
pub const DEFAULT_S3_POLL: Duration = Duration::from_millis(250);

impl ServerConfig {
    /// A configuration with no keys (add some, or set `FILEDECK_SERVER_KEY`), a one-hour
    /// presign lifetime, path-style keys and the default [`ServerLimits`].
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            listen,
            keys: Vec::new(),
            presign_ttl: DEFAULT_PRESIGN_TTL,
            key_style: KeyStyle::Path,
            public_url: None,
            limits: ServerLimits::default(),
            max_uploads_per_key: DEFAULT_MAX_UPLOADS_PER_KEY,
            s3: None,
            s3_poll: DEFAULT_S3_POLL,
            s3_sweep_after: DEFAULT_S3_SWEEP_AFTER,
        }
    }
}

/// Counters a running server keeps.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// Body bytes served by the presigned GET route, counted as the body stream yields them.
    pub bytes_sent: AtomicU64,
    /// Requests received, on every route.
    pub requests: AtomicU64,
}

/// State shared by every handler.
pub(crate) struct AppState {
    pub(crate) store: Arc<Store>,
    pub(crate) signer: Signer,
    pub(crate) keys: Keyring,
    pub(crate) presign_ttl: Duration,
    pub(crate) stats: Arc<ServerStats>,
    /// Runs every index call, apart from tokio's blocking pool.
    pub(crate) db: Arc<dbpool::DbPool>,
    pub(crate) inflight: inflight::Inflight,
    pub(crate) local_addr: SocketAddr,
    /// The base of every presigned URL; never taken from a request, whose `Host` and
    /// `X-Forwarded-*` a client chooses.
    pub(crate) public_url: String,
    /// The S3 store, when the bytes live in a bucket (`store` is then its index).
    pub(crate) bucket: Option<Arc<s3::Bucket>>,
}

/// A server bound to its port and serving in a background task. Dropping it also stops the
/// server (gracefully, in the background); [`RunningServer::shutdown`] waits for that.
pub struct RunningServer {
    pub addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// `http://HOST:PORT`, with a loopback host when the server listens on every address.
    pub fn base_url(&self) -> String {
        format!("http://{}", connectable(self.addr))
    }

    /// The base of the presigned URLs this server hands out.
    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn stats(&self) -> Arc<ServerStats> {
        self.state.stats.clone()
    }

    pub fn key_style(&self) -> KeyStyle {
        self.state.store.key_style()
    }

    /// Stop accepting connections and wait for the open ones to finish, at most
    /// `limits.shutdown_grace`; what is still open then is closed.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "server ended with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
        }
    }

    /// Serve until the task ends (it ends only on an error: nothing else can signal it).
    pub async fn wait(self) -> Result<(), ServerError> {
        let _keep_running = self.shutdown;
        self.task
            .await
            .map_err(|e| ServerError::Task(e.to_string()))?
    }
}

fn connectable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}

/// Open the data directory, bind the port and build the router.
async fn prepare(
    config: ServerConfig,
) -> Result<(TcpListener, Router, Arc<AppState>), ServerError> {
    let mut keys = config.keys;
    // The caller may have added it already.
    if let Some(key) = keys_from_env()
        && !keys.iter().any(|k| k.token == key.token)
    {
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(ServerError::NoKeys);
    }
    auth::check_keys(&keys).map_err(ServerError::InvalidKeys)?;
    let public_url = match &config.public_url {
        Some(url) => Some(parse_public_url(url).map_err(ServerError::PublicUrl)?),
        None if config.listen.ip().is_unspecified() => {
            return Err(ServerError::WildcardWithoutPublicUrl(config.listen));
        }
        None => None,
    };

    let data_dir = config.data_dir;
    let key_style = config.key_style;
    let store_id = config
        .s3
        .as_ref()
        .map_or_else(|| store::LOCAL_STORE.to_string(), S3Config::id);
    let (store, signer) = tokio::task::spawn_blocking(move || {
        // The store makes the data directory, owner-only.
        let store = Store::open(&data_dir, key_style, &store_id)?;
        let signer = Signer::load_or_create(&data_dir)?;
        Ok::<_, ServerError>((store, signer))
    })
    .await
    .map_err(|e| ServerError::Task(e.to_string()))??;
    let store = Arc::new(store);
    let db = Arc::new(dbpool::DbPool::new(dbpool::DB_THREADS).map_err(ServerError::Io)?);
    let bucket = match &config.s3 {
        Some(s3_config) => {
            let bucket = s3::Bucket::open(s3_config, store.clone(), db.clone()).await?;
            s3::spawn_tail(Arc::downgrade(&bucket), config.s3_poll);
            s3::spawn_sweep(Arc::downgrade(&bucket), config.s3_sweep_after);
            Some(bucket)
        }
        None => None,
    };

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let public_url = public_url.unwrap_or_else(|| format!("http://{local_addr}"));
    let state = Arc::new(AppState {
        store,
        bucket,
        signer,
        keys: Keyring::new(keys),
        presign_ttl: config.presign_ttl,
        stats: Arc::new(ServerStats::default()),
        db,
        inflight: inflight::Inflight::new(config.max_uploads_per_key),
        local_addr,
        public_url,
    });
    let router = routes::router(state.clone());
    Ok((listener, router, state))
}

/// Bind `config.listen`, open the data directory and serve in a background task.
///
/// Fails when no API key is configured (neither `config.keys` nor `FILEDECK_SERVER_KEY`).
pub async fn bind(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let limits = config.limits.clone();
    limits.check()?;
    let (listener, router, state) = prepare(config).await?;
    let addr = state.local_addr;
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(conn::run(listener, router, limits, async move {
        // A dropped sender also stops the server.
        let _ = signal.await;
    }));
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        task,
    })
}

/// Bind and serve until `shutdown` completes, then stop gracefully (within
/// `limits.shutdown_grace`). Prints nothing.
pub async fn serve(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let limits = config.limits.clone();
    limits.check()?;
    let (listener, router, _state) = prepare(config).await?;
    conn::run(listener, router, limits, shutdown).await
}

/// Store `bytes` at display path `display` (`path + name`) in workspace `ws` through the same
/// path as an upload (temp file, hashes, fsync, rename, index row). In path style `display`
/// is the key and replaces a file there; in opaque style a new key is minted, as for any
/// upload. For seeding demos and tests.
pub async fn put_bytes(
    server: &RunningServer,
    ws: &str,
    display: &str,
    bytes: Vec<u8>,
    description: Option<String>,
) -> Result<FileEntry, ServerError> {
    let mut entries = put_many(server, ws, vec![(display.to_string(), bytes)], description).await?;
    entries
        .pop()
        .ok_or_else(|| ServerError::Task("nothing was stored".to_string()))
}

/// Store many files, given by display path (see [`put_bytes`]), in workspace `ws` at once:
/// the blobs are written (and fsynced) in parallel and indexed in one transaction — all of
/// them, or none on an error. The entries come back in the order given.
pub async fn put_many(
    server: &RunningServer,
    ws: &str,
    files: Vec<(String, Vec<u8>)>,
    description: Option<String>,
) -> Result<Vec<FileEntry>, ServerError> {
    validate::workspace_id(ws).map_err(ServerError::InvalidRequest)?;
    for (key, _) in &files {
        validate::file_key(key).map_err(ServerError::InvalidRequest)?;
    }
    if let Some(bucket) = &server.state.bucket {
        return s3::put_many(bucket, ws, files, description).await;
    }
    let store = server.state.store.clone();
    let mut pending = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(32));
    for (index, (key, bytes)) in files.into_iter().enumerate() {
        let store = store.clone();
        let limit = limit.clone();
        pending.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut writer = blob::BlobWriter::create(store.temp_path()).await?;
            writer.write(Bytes::from(bytes)).await?;
            let written = writer.finish().await?;
            Ok::<_, std::io::Error>((index, key, written))
        });
    }
    let mut written = Vec::new();
    while let Some(done) = pending.join_next().await {
        let done = done.map_err(|e| ServerError::Task(e.to_string()))?;
        written.push(done.map_err(ServerError::Io)?);
    }
    written.sort_by_key(|(index, _, _)| *index);
    let ws = ws.to_string();
    server
        .state
        .db
        .run(move || {
            let mut new_files = Vec::with_capacity(written.len());
            for (_, display, blob) in written {
                let content_type = upload::guess_content_type(&display);
                let placed = store.place_blob(blob)?;
                let (path, name) = crate::wire::split_key(&display);
                new_files.push(store::NewFile {
                    path: path.to_string(),
                    name: name.to_string(),
                    description: description.clone(),
                    content_type,
                    blob: placed,
                });
            }
            store
                .insert_files(&ws, new_files)
                .map_err(ServerError::from)
        })
        .await
        .map_err(|e| ServerError::Task(e.to_string()))?
}
