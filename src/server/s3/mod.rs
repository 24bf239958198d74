//! The S3 store (`serve --store s3://BUCKET[/PREFIX]`): bytes and metadata live in a bucket,
//! and each server lists from a local index it keeps in step with the bucket.
//!
//! In the bucket, under the prefix:
//! - `blobs/<id>`: the bytes of a file (a fresh id per upload, so a replaced file's bytes
//!   are never overwritten in place): a body of the multipart route, or a large upload
//!   copied there by its confirm;
//! - `uploads/<ws>/<upload id>`: the bytes of a large upload until its confirm, PUT straight
//!   to the bucket on a presigned URL of the bucket's own (SigV4, `Content-Type` signed).
//!   The URL stays valid until it expires, so the confirm copies the bytes out of its reach;
//! - `intents/<ws>/<sha256 of key>.json`: what step 1 of the large flow promised (name,
//!   path, type, size, upload id), so that the confirm may land on any server, and
//!   `intents/<ws>/<upload id>.confirmed`: the blob an upload was confirmed as, so a
//!   repeated confirm answers the same file;
//! - `log/<ms>-<server>-<seq>.json`: the metadata, an append-only log ([`log`]). A file is
//!   listed once a log record names it: an unconfirmed upload never is;
//! - `key-style`: the key style of the files (`path` or `opaque`), which every server on
//!   the bucket must use.
//!
//! Rooms: [`log`] (writing and tailing the log), [`writer`] (a body streamed into the bucket
//! while hashed), [`ops`] (what the routes ask of the store), [`sweep`] (what unconfirmed
//! large uploads leave).

mod log;
mod ops;
mod sweep;
mod writer;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

use super::dbpool::DbPool;
use super::error::ServerError;
use super::store::Store;
use crate::wire::FileEntry;

pub(crate) use log::LogTail;
pub(crate) use ops::BucketFile;
pub use sweep::DEFAULT_SWEEP_AFTER;
pub(crate) use sweep::spawn_sweep;
pub(crate) use writer::BucketBlob;

/// The environment variables the credentials are read from (never a flag: a command line is
/// visible to every user of the machine).
pub const ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";

/// Under the prefix: the key style of the bucket's files (`path` or `opaque`).
const KEY_STYLE_OBJECT: &str = "key-style";

/// Where a bucket store is, and how to reach it.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    /// `""` or ending in `/`.
    pub prefix: String,
    /// The store's URL, e.g. `http://127.0.0.1:3900`; `None` is AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// `(access key id, secret)`; `None` reads [`ACCESS_KEY_ENV`] and [`SECRET_KEY_ENV`].
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl S3Config {
    /// `s3://BUCKET[/PREFIX]`, with no endpoint, region or credentials yet.
    pub fn parse(url: &str) -> Result<S3Config, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{url:?} is not an s3://BUCKET[/PREFIX] URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(format!(
                "{bucket:?} is not a bucket name (3 to 63 of a-z, 0-9, '-', '.')"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..")
            || prefix.contains("//")
            || prefix.chars().any(char::is_control)
        {
            return Err(format!("{prefix:?} is not a usable prefix in the bucket"));
        }
        Ok(S3Config {
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            endpoint: None,
            region: None,
            credentials: None,
        })
    }

    /// The store's name in the index, so an index is never served for another store. Not
    /// the endpoint: one bucket may be reached by several names (`localhost`, an address).
    pub fn id(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn client(&self) -> Result<AmazonS3, ServerError> {
        self.client_with_timeout(Duration::from_secs(60))
    }

    /// A request may take `timeout` in all: a request the bucket leaves unanswered must not
    /// hold a route (or the start) for long.
    fn client_with_timeout(&self, timeout: Duration) -> Result<AmazonS3, ServerError> {
        let (id, secret) = match &self.credentials {
            Some(pair) => pair.clone(),
            None => {
                let var = |name: &str| {
                    std::env::var(name).map_err(|_| {
                        ServerError::S3(format!(
                            "set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV} to the bucket's \
                             credentials ({name} is not set)"
                        ))
                    })
                };
                (var(ACCESS_KEY_ENV)?, var(SECRET_KEY_ENV)?)
            }
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(self.region.as_deref().unwrap_or("us-east-1"))
            .with_access_key_id(id)
            .with_secret_access_key(secret)
            // The bytes are hashed here anyway (SHA-256 for the listing, MD5 for the ETag).
            .with_unsigned_payload(true)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(60),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(timeout),
            );
        if let Some(endpoint) = &self.endpoint {
            // A self-hosted store is reached by path (`/bucket/key`): its bucket names are
            // seldom in DNS.
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        builder
            .build()
            .map_err(|e| ServerError::S3(format!("cannot use the bucket: {e}")))
    }
}

/// The S3 store of a running server.
pub(crate) struct Bucket {
    pub(crate) client: Arc<AmazonS3>,
    /// For the confirm's server-side copy of up to 5 GiB, which a bucket may take minutes
    /// over.
    pub(crate) copier: Arc<AmazonS3>,
    prefix: String,
    pub(crate) index: Arc<Store>,
    /// The server's index threads: the bucket's index calls queue with the routes', never
    /// on tokio's blocking pool, which uploads use.
    db: Arc<DbPool>,
    pub(crate) log: LogTail,
    /// The bucket's `key-style` object names this server's style (checked or written).
    style_recorded: AtomicBool,
    /// Multipart-route bodies streaming into the bucket: each holds its parts in memory.
    writers: Arc<tokio::sync::Semaphore>,
}

/// Multipart-route bodies streaming into the bucket at once, across all keys: each holds up
/// to about 15 MiB (parts in flight and the one filling), so at most about 240 MiB in all.
/// More are answered `503` with `Retry-After` before their body is read.
pub const MAX_BUCKET_UPLOADS: usize = 16;

impl Bucket {
    /// Reach the bucket (one listing of the log, which also proves the credentials) and
    /// bring `index` up to date with it.
    pub(crate) async fn open(
        config: &S3Config,
        index: Arc<Store>,
        db: Arc<DbPool>,
    ) -> Result<Arc<Bucket>, ServerError> {
        tracing::info!(store = %config.id(), endpoint = ?config.endpoint, "reaching the bucket");
        let client = Arc::new(config.client()?);
        let copier = Arc::new(config.client_with_timeout(Duration::from_secs(15 * 60))?);
        let marked = index.clone();
        let mark = db
            .run(move || marked.log_mark())
            .await
            .map_err(|e| ServerError::Task(e.to_string()))?
            .map_err(|e| ServerError::S3(format!("cannot read the index: {e}")))?;
        let log = LogTail::new(mark);
        let bucket = Arc::new(Bucket {
            client,
            copier,
            prefix: config.prefix.clone(),
            index,
            db,
            log,
            style_recorded: AtomicBool::new(false),
            writers: Arc::new(tokio::sync::Semaphore::new(MAX_BUCKET_UPLOADS)),
        });
        bucket.keep_key_style(config).await?;
        let applied = bucket.catch_up().await.map_err(|e| {
            ServerError::S3(format!("cannot read the bucket {}: {e}", config.bucket))
        })?;
        tracing::info!(applied, "index brought up to date with the bucket log");
        Ok(bucket)
    }

    /// The bucket's files keep the key style they were stored in, as a data directory's do
    /// (its index records it): a server in another style is refused before it reads the
    /// log into its index. A bucket whose log holds no record may change style. The style
    /// is written with the first record a server writes (so a bucket made before it was
    /// recorded takes the style of the first server to write to it).
    async fn keep_key_style(&self, config: &S3Config) -> Result<(), ServerError> {
        let failed = |e: object_store::Error| {
            ServerError::S3(format!("cannot read the bucket {}: {e}", config.bucket))
        };
        let wanted = self.index.key_style();
        let stored = match self.client.get(&self.path(KEY_STYLE_OBJECT)).await {
            Ok(found) => found.bytes().await.map_err(failed)?,
            Err(object_store::Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(failed(e)),
        };
        let stored = String::from_utf8_lossy(&stored).trim().to_string();
        if stored == wanted.as_str() {
            self.style_recorded.store(true, Ordering::Relaxed);
            return Ok(());
        }
        let has_records = self
            .client
            .list(Some(&self.path("log")))
            .next()
            .await
            .transpose()
            .map_err(failed)?
            .is_some();
        if has_records {
            return Err(ServerError::S3(format!(
                "the bucket store {} holds files stored with --key-style {stored}; serve it \
                 with that style, or use another prefix for --key-style {wanted}",
                config.id()
            )));
        }
        Ok(())
    }

    /// Name this server's key style in the bucket, before its first log record.
    async fn record_key_style(&self) -> Result<(), String> {
        if self.style_recorded.load(Ordering::Relaxed) {
            return Ok(());
        }
        let style = self.index.key_style().as_str();
        self.client
            .put(&self.path(KEY_STYLE_OBJECT), style.into())
            .await
            .map_err(|e| format!("cannot record the key style: {e}"))?;
        self.style_recorded.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// A turn to stream a body into the bucket, held until the answer; `None` when
    /// [`MAX_BUCKET_UPLOADS`] are running.
    pub(crate) fn admit_upload(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.writers.clone().try_acquire_owned().ok()
    }

    fn path(&self, rest: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{rest}", self.prefix))
    }

    fn blob_path(&self, id: &str) -> ObjectPath {
        self.path(&format!("blobs/{id}"))
    }

    fn upload_path(&self, ws: &str, upload: &str) -> ObjectPath {
        self.path(&format!("uploads/{ws}/{upload}"))
    }

    fn intent_path(&self, ws: &str, key: &str) -> ObjectPath {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        self.path(&format!("intents/{ws}/{digest}.json"))
    }

    /// Remove blobs no file names any more; a failure leaves garbage, never a lost file.
    fn free(self: &Arc<Self>, blobs: Vec<String>) {
        if blobs.is_empty() {
            return;
        }
        let bucket = self.clone();
        tokio::spawn(async move {
            for blob in blobs {
                bucket.discard(&ObjectPath::from(blob)).await;
            }
        });
    }

    /// Remove an object nothing names; a failure leaves garbage, never a lost file. Gone
    /// already is done: every server frees what a record replaced.
    async fn discard(&self, path: &ObjectPath) {
        match self.client.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "cannot remove an unused object from the bucket"),
        }
    }
}

/// Keep the index in step with the bucket while the server runs: every `every`, read the
/// log records that appeared.
pub(crate) fn spawn_tail(bucket: Weak<Bucket>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = every;
        let mut failing = false;
        loop {
            tokio::time::sleep(wait).await;
            // The server is gone when nothing else holds its bucket.
            let Some(bucket) = bucket.upgrade() else {
                return;
            };
            match bucket.catch_up().await {
                Ok(_) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("the bucket log is readable again");
                    }
                    wait = every;
                }
                Err(e) => {
                    // Said once per outage; polled less often while it lasts.
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(error = %e, "cannot read the bucket log; trying again");
                    }
                    wait = (wait * 2).min(MAX_TAIL_BACKOFF);
                }
            }
        }
    })
}

/// The longest wait between polls of a bucket log that cannot be read.
const MAX_TAIL_BACKOFF: Duration = Duration::from_secs(10);

/// Store many files at once (seeding demos, tests and benchmarks): the blobs in parallel,
/// the metadata in records of up to 1,000 files.
pub(crate) async fn put_many(
    bucket: &Arc<Bucket>,
    ws: &str,
    files: Vec<(String, Vec<u8>)>,
    description: Option<String>,
) -> Result<Vec<FileEntry>, ServerError> {
    crate::server::validate::workspace_id(ws).map_err(ServerError::InvalidRequest)?;
    for (key, _) in &files {
        crate::server::validate::file_key(key).map_err(ServerError::InvalidRequest)?;
    }
    let written: Vec<ops::BucketFile> = futures_util::stream::iter(files)
        .map(|(display, bytes)| {
            let mut writer = bucket.writer();
            let description = description.clone();
            async move {
                writer.write(bytes::Bytes::from(bytes)).await?;
                let blob = writer.finish().await?;
                let (path, name) = crate::wire::split_key(&display);
                Ok::<_, std::io::Error>(ops::BucketFile {
                    path: path.to_string(),
                    name: name.to_string(),
                    description,
                    content_type: crate::mime::content_type(&display).to_string(),
                    blob,
                })
            }
        })
        .buffered(32)
        .try_collect()
        .await
        .map_err(ServerError::Io)?;
    let mut entries = Vec::with_capacity(written.len());
    let mut written = written.into_iter().peekable();
    while written.peek().is_some() {
        let batch: Vec<_> = written.by_ref().take(1000).collect();
        let done = bucket
            .put_files(ws, batch)
            .await
            .map_err(|e| ServerError::S3(e.message))?;
        entries.extend(done);
    }
    Ok(entries)
}
