//! The reference server over real HTTP: `bind()` on 127.0.0.1:0 with a temp data dir,
//! driven by reqwest. No mocks.
//!
//! The contract as a client sees it runs on both stores: tests written with `contract!` run
//! once per store (`NAME::local`, `NAME::s3`: the data directory, or a bucket of s3s-fs),
//! or once per store and key style (`NAME::local_path` … `NAME::s3_opaque`). Where the
//! stores legitimately differ (the bucket's own URLs, errors and rules), the body branches
//! on `store`, saying why. The plain `#[tokio::test]`s and `key_styles!` ones are about the
//! local store's internals (data directory, index, its own `/objects/` route and URLs),
//! each saying why it cannot apply to a bucket; the `opaque_*` ones are about the opaque
//! style alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use filedeck::server::{self, KeyGrant, KeyStyle, RunningServer, ServerConfig};
use filedeck::wire::{
    DownloadUrlResponse, FileEntry, ListResponse, UploadUrlResponse, WorkspacesResponse,
};
use md5::{Digest, Md5};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

#[path = "support/s3.rs"]
mod s3;
#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

const ADMIN: &str = "admin-token-0123456789";
const WS1: &str = "ws1-only-token-0123456789";
const NO_FILES: &str = "no-files-scope-token-0123";
const NO_WS: &str = "no-workspace-token-0123456";

fn keys() -> Vec<KeyGrant> {
    vec![
        KeyGrant {
            token: ADMIN.into(),
            scopes: vec!["files".into()],
            workspaces: vec!["*".into()],
        },
        KeyGrant {
            token: WS1.into(),
            scopes: vec!["files".into()],
            workspaces: vec!["ws1".into(), "ws_named".into()],
        },
        KeyGrant {
            token: NO_FILES.into(),
            scopes: vec!["query".into()],
            workspaces: vec!["*".into()],
        },
        KeyGrant {
            token: NO_WS.into(),
            scopes: vec!["files".into()],
            workspaces: Vec::new(),
        },
    ]
}

/// Where a server under test keeps its files: the contract holds on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Store {
    /// The data directory (the default store).
    Local,
    /// A bucket of s3s-fs (see `support/s3.rs`); the data directory holds only the index.
    S3,
}

struct Env {
    dir: TempDir,
    server: RunningServer,
    base: String,
    http: Client,
    /// The bucket of an S3-store server; it stops with the `Env`.
    s3: Option<s3::S3Fs>,
}

fn client() -> Client {
    Client::builder().no_proxy().build().unwrap()
}

async fn start_in(dir: &Path, ttl: Duration) -> RunningServer {
    try_start_in(dir, ttl, KeyStyle::Path).await.unwrap()
}

fn config_in(dir: &Path, ttl: Duration, style: KeyStyle) -> ServerConfig {
    let mut config = ServerConfig::new(dir, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
    config.keys = keys();
    config.presign_ttl = ttl;
    config.key_style = style;
    config
}

async fn try_start_in(
    dir: &Path,
    ttl: Duration,
    style: KeyStyle,
) -> Result<RunningServer, server::ServerError> {
    server::bind(config_in(dir, ttl, style)).await
}

async fn start_with_ttl(store: Store, ttl: Duration) -> Env {
    start_env(store, ttl, KeyStyle::Path).await
}

async fn start_styled(store: Store, style: KeyStyle) -> Env {
    start_env(store, Duration::from_secs(3600), style).await
}

async fn start_env(store: Store, ttl: Duration, style: KeyStyle) -> Env {
    start_configured(store, |config| {
        config.presign_ttl = ttl;
        config.key_style = style;
    })
    .await
}

/// A server on `store` with the test keys, `tweak` applied to its configuration.
async fn start_configured(store: Store, tweak: impl FnOnce(&mut ServerConfig)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let s3 = (store == Store::S3).then(s3::S3Fs::start);
    let mut config = config_in(dir.path(), Duration::from_secs(3600), KeyStyle::Path);
    config.s3 = s3.as_ref().map(|s3| s3.config(""));
    tweak(&mut config);
    let server = server::bind(config).await.unwrap();
    let base = server.base_url();
    Env {
        dir,
        server,
        base,
        http: client(),
        s3,
    }
}

async fn start(store: Store) -> Env {
    start_with_ttl(store, Duration::from_secs(3600)).await
}

/// Run `async fn NAME(store) { … }` once per store (tests `NAME::local`, `NAME::s3`), or
/// `async fn NAME(store, style) { … }` once per store and key style (`NAME::local_path`,
/// `NAME::local_opaque`, `NAME::s3_path`, `NAME::s3_opaque`): `cargo test --test server s3_`
/// or `::s3` picks one store. As `key_styles!`, a `#[tokio::test(…)]` after the doc comments
/// replaces the default `#[tokio::test]`.
macro_rules! contract {
    (
        $(#[doc = $doc:literal])*
        #[tokio::test $($test_args:tt)*]
        $(#[$attr:meta])*
        async fn $name:ident($store:ident) $body:block
    ) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn local() {
                let $store = Store::Local;
                $body
            }

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn s3() {
                let $store = Store::S3;
                $body
            }
        }
    };
    (
        $(#[doc = $doc:literal])*
        #[tokio::test $($test_args:tt)*]
        $(#[$attr:meta])*
        async fn $name:ident($store:ident, $style:ident) $body:block
    ) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn local_path() {
                let ($store, $style) = (Store::Local, KeyStyle::Path);
                $body
            }

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn local_opaque() {
                let ($store, $style) = (Store::Local, KeyStyle::Opaque);
                $body
            }

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn s3_path() {
                let ($store, $style) = (Store::S3, KeyStyle::Path);
                $body
            }

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn s3_opaque() {
                let ($store, $style) = (Store::S3, KeyStyle::Opaque);
                $body
            }
        }
    };
    (
        $(#[doc = $doc:literal])*
        async fn $name:ident($($args:ident),+) $body:block
    ) => {
        contract! {
            $(#[doc = $doc])*
            #[tokio::test]
            async fn $name($($args),+) $body
        }
    };
}

fn md5_etag(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(bytes)))
}

/// Status and error code of an error answer (which must be the contract's JSON).
async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("error body is JSON");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_string();
    assert!(
        body["error"]["message"].is_string(),
        "error.message: {body}"
    );
    (status, code)
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn upload(
        &self,
        token: &str,
        ws: &str,
        path: Option<&str>,
        filename: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let mut form = Form::new()
            .percent_encode_noop()
            .text("workspace_id", ws.to_string());
        if let Some(path) = path {
            form = form.text("path", path.to_string());
        }
        form = form.part("file", Part::bytes(bytes).file_name(filename.to_string()));
        self.http
            .post(self.url("/v1/files/upload"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    async fn upload_ok(
        &self,
        ws: &str,
        path: Option<&str>,
        filename: &str,
        bytes: &[u8],
    ) -> FileEntry {
        let response = self.upload(ADMIN, ws, path, filename, bytes.to_vec()).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{filename}");
        response.json().await.unwrap()
    }

    async fn list(&self, ws: &str, query: &[(&str, &str)]) -> ListResponse {
        let mut q = vec![("workspace_id", ws)];
        q.extend_from_slice(query);
        let response = self
            .http
            .get(self.url("/v1/files"))
            .bearer_auth(ADMIN)
            .query(&q)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn download_url(&self, ws: &str, key: &str) -> String {
        let response = self
            .http
            .get(self.url("/v1/files/download"))
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", ws), ("key", key)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: DownloadUrlResponse = response.json().await.unwrap();
        assert!(body.expires_in.is_some());
        body.url
    }

    async fn upload_url(&self, body: Value) -> reqwest::Response {
        self.http
            .post(self.url("/v1/files/upload-url"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn upload_url_ok(
        &self,
        ws: &str,
        filename: &str,
        content_type: &str,
        size: u64,
    ) -> UploadUrlResponse {
        let response = self
            .upload_url(json!({"filename": filename, "workspace_id": ws,
                               "content_type": content_type, "size": size}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn confirm(&self, ws: &str, key: &str, size: u64) -> reqwest::Response {
        let filename = key.rsplit('/').next().unwrap();
        self.confirm_named(ws, key, filename, size).await
    }

    async fn confirm_named(
        &self,
        ws: &str,
        key: &str,
        filename: &str,
        size: u64,
    ) -> reqwest::Response {
        self.http
            .post(self.url("/v1/files/upload-confirm"))
            .bearer_auth(ADMIN)
            .json(&json!({"file_key": key, "workspace_id": ws, "filename": filename, "size": size}))
            .send()
            .await
            .unwrap()
    }

    async fn put(&self, url: &str, content_type: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.http
            .put(url)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }
}

/// Files under `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The bucket prefixes holding files' bytes: bodies of the multipart route, and large
/// uploads PUT straight to the bucket.
const BUCKET_BYTES: [&str; 2] = ["blobs/", "uploads/"];
/// The bucket prefixes holding metadata: the log, what step 1 of the large flow promised,
/// and the key style.
const BUCKET_METADATA: [&str; 3] = ["log/", "intents/", "key-style"];

impl Env {
    fn store(&self) -> Store {
        if self.s3.is_some() {
            Store::S3
        } else {
            Store::Local
        }
    }

    /// Objects holding file bytes: blob files in the data directory, or bucket objects.
    fn blobs(&self) -> usize {
        match &self.s3 {
            None => files_under(&self.dir.path().join("blobs")).len(),
            Some(s3) => BUCKET_BYTES.iter().map(|p| s3.objects(p).len()).sum(),
        }
    }

    /// What only an upload still in progress may hold: temp files in `tmp/`; in the
    /// bucket, objects outside its known prefixes, and the parts and temp files of
    /// unfinished multipart uploads (s3s-fs keeps those beside the buckets).
    fn leftovers(&self) -> Vec<String> {
        match &self.s3 {
            None => files_under(&self.dir.path().join("tmp"))
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            Some(s3) => {
                let mut out: Vec<String> = s3
                    .objects("")
                    .into_iter()
                    .filter(|key| {
                        !BUCKET_BYTES
                            .iter()
                            .chain(&BUCKET_METADATA)
                            .any(|p| key.starts_with(p))
                    })
                    .collect();
                for entry in std::fs::read_dir(s3.root.path()).unwrap() {
                    let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                    if name.starts_with(".upload") || name.starts_with(".tmp.") {
                        out.push(name);
                    }
                }
                out
            }
        }
    }

    /// `blobs()` is `want`, once the store is done: S3 removes unnamed objects in the
    /// background, after the answer.
    async fn assert_blobs(&self, want: usize, what: &str) {
        if self.store() == Store::S3 {
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.blobs() != want && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        assert_eq!(self.blobs(), want, "{what}");
    }

    /// Nothing is left of finished or refused uploads (awaited: removals may follow the
    /// answer).
    async fn assert_no_leftovers(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.store() == Store::S3 && !self.leftovers().is_empty() && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(self.leftovers(), Vec::<String>::new(), "upload leftovers");
    }

    /// Where presigned URLs for workspace `ws` point: filedeck's `/objects/` routes, or
    /// the bucket itself.
    fn presigned_base(&self, ws: &str) -> String {
        match &self.s3 {
            None => format!("{}/objects/{ws}/", self.base),
            Some(s3) => format!("{}/{}/", s3.endpoint, s3::BUCKET),
        }
    }

    /// How the upload URL of file `key` in `ws` starts: the key's `/objects/` route, or an
    /// object of the bucket's `uploads/` (named by the upload, not the key).
    fn upload_url_start(&self, ws: &str, key: &str) -> String {
        match &self.s3 {
            None => format!("{}{key}?", self.presigned_base(ws)),
            Some(_) => format!("{}uploads/{ws}/", self.presigned_base(ws)),
        }
    }
}

/// A server restarted on the data directory (and bucket) of another.
struct Restarted {
    env: Env,
    /// The base URL of the server before the restart.
    server_was: String,
}

impl Env {
    async fn restarted(self, style: KeyStyle) -> Restarted {
        let Env {
            dir,
            server,
            base: server_was,
            s3,
            ..
        } = self;
        server.shutdown().await;
        let mut config = config_in(dir.path(), Duration::from_secs(3600), style);
        config.s3 = s3.as_ref().map(|s3| s3.config(""));
        let server = server::bind(config).await.unwrap();
        let env = Env {
            base: server.base_url(),
            dir,
            server,
            http: client(),
            s3,
        };
        Restarted { env, server_was }
    }
}

/// An S3 error answer's status and `<Code>` (the bucket answers its own errors in XML).
async fn s3_error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body = response.text().await.unwrap();
    let code = body
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map_or_else(
            || format!("no <Code> in {body:?}"),
            |(code, _)| code.to_string(),
        );
    (status, code)
}

contract! {
    async fn auth_and_request_errors(store) {
        let env = start(store).await;
        let files = env.url("/v1/files");

        let r = env
            .http
            .get(&files)
            .query(&[("workspace_id", "ws1")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into())
        );
        let r = env
            .http
            .get(&files)
            .bearer_auth("wrong-token")
            .query(&[("workspace_id", "ws1")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into())
        );
        // A prefix of a real token is no token.
        let r = env
            .http
            .get(&files)
            .bearer_auth(&ADMIN[..10])
            .query(&[("workspace_id", "ws1")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into())
        );
        // Unauthenticated before the body is judged.
        let r = env
            .http
            .post(env.url("/v1/files/upload-url"))
            .body("not json")
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::UNAUTHORIZED);

        let r = env
            .http
            .get(&files)
            .bearer_auth(NO_FILES)
            .query(&[("workspace_id", "ws1")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        let r = env
            .http
            .get(&files)
            .bearer_auth(WS1)
            .query(&[("workspace_id", "ws2")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        let r = env.upload(WS1, "ws2", None, "a.txt", b"x".to_vec()).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        let r = env
            .http
            .get(&files)
            .bearer_auth(WS1)
            .query(&[("workspace_id", "ws1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);

        // Missing / malformed workspace_id, bad limits, bad cursor.
        let r = env
            .http
            .get(&files)
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_request".into())
        );
        for bad in [
            &[("workspace_id", "has space")][..],
            &[("workspace_id", "a/b")],
            &[("workspace_id", "")],
        ] {
            let r = env
                .http
                .get(&files)
                .bearer_auth(ADMIN)
                .query(bad)
                .send()
                .await
                .unwrap();
            assert_eq!(
                error_of(r).await,
                (StatusCode::BAD_REQUEST, "invalid_request".into()),
                "{bad:?}"
            );
        }
        let long = "w".repeat(129);
        let r = env
            .http
            .get(&files)
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", long.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);
        for limit in ["0", "abc", "-1", ""] {
            let r = env
                .http
                .get(&files)
                .bearer_auth(ADMIN)
                .query(&[("workspace_id", "ws1"), ("limit", limit)])
                .send()
                .await
                .unwrap();
            assert_eq!(
                error_of(r).await.0,
                StatusCode::BAD_REQUEST,
                "limit {limit:?}"
            );
        }
        let r = env
            .http
            .get(&files)
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", "ws1"), ("cursor", "!!!")])
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);
        let r = env
            .http
            .delete(&files)
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", "ws1")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_request".into())
        );
        let r = env
            .http
            .post(env.url("/v1/files/upload-url"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body("{\"filename\": 1}")
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_request".into())
        );
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(ADMIN)
            .body("plain")
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::BAD_REQUEST, "invalid_request".into())
        );

        // Unknown routes and wrong methods answer JSON too.
        let r = env.http.get(env.url("/nope")).send().await.unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::NOT_FOUND, "not_found".into())
        );
        let r = env
            .http
            .put(&files)
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::METHOD_NOT_ALLOWED);

        // An empty workspace lists as empty; absent files are 404.
        let list = env.list("empty_ws", &[]).await;
        assert!(list.files.is_empty() && list.next_cursor.is_none());
        let r = env
            .http
            .get(env.url("/v1/files/download"))
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", "ws1"), ("key", "missing.txt")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::NOT_FOUND, "not_found".into())
        );
        let r = env
            .http
            .delete(&files)
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", "ws1"), ("key", "missing.txt")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::NOT_FOUND, "not_found".into())
        );
        assert!(env.server.stats().requests.load(Ordering::Relaxed) >= 20);
    }
}

// Store-independent (run once): bind refuses before it opens any store.
#[tokio::test]
async fn no_keys_is_refused() {
    if std::env::var_os("FILEDECK_SERVER_KEY").is_some() {
        return; // bind would take that key
    }
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    let err = server::bind(config).await.unwrap_err().to_string();
    assert!(err.contains("no API keys"), "{err}");
    assert!(err.contains("FILEDECK_SERVER_KEY"), "{err}");
}

// Store-independent (run once): the keys file alone, no server.
#[test]
fn keys_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.toml");
    std::fs::write(
        &path,
        "[[key]]\ntoken = \"tok-a\"\nscopes = [\"files\"]\nworkspaces = [\"*\"]\n\n\
         [[key]]\ntoken = \"tok-b\"\nscopes = [\"files\"]\nworkspaces = [\"ws1\", \"ws2\"]\n",
    )
    .unwrap();
    let keys = server::load_keys_file(&path).unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1].workspaces, vec!["ws1", "ws2"]);
    assert!(
        !format!("{keys:?}").contains("tok-a"),
        "Debug must not show tokens"
    );

    // A syntax error on the token's line does not echo the token.
    std::fs::write(&path, "[[key]]\ntoken = \"secret-tok\nscopes = []\n").unwrap();
    let err = server::load_keys_file(&path).unwrap_err().to_string();
    assert!(!err.contains("secret-tok"), "{err}");
    assert!(err.contains("line"), "{err}");
    std::fs::write(
        &path,
        "[[key]]\ntoken = \"t1\"\nscopes = [\"files\"]\nworkspaces = [\"bad ws\"]\n",
    )
    .unwrap();
    assert!(server::load_keys_file(&path).is_err());
    std::fs::write(
        &path,
        "[[key]]\ntoken = \"same\"\nscopes = []\nworkspaces = []\n\
         [[key]]\ntoken = \"same\"\nscopes = []\nworkspaces = []\n",
    )
    .unwrap();
    let err = server::load_keys_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("repeats") && !err.contains("\"same\""),
        "{err}"
    );
    assert!(server::load_keys_file(&dir.path().join("absent.toml")).is_err());
}

const BAD_KEYS: &[(&str, &str)] = &[
    // (path, filename)
    ("..", "x"),
    ("/", "abs"),
    ("/abs", "x"),
    ("a/../..", "b"),
    ("a//", "b"),
    ("a/./", "b"),
    ("a\0b/", "x"),
    ("a\u{1b}b/", "x"),
    ("a\u{7f}/", "x"),
    ("a\u{85}/", "x"),
    ("a\\b/", "x"),
    ("", "x/"),
    ("", ".."),
];

contract! {
    async fn invalid_keys_are_refused(store) {
        let env = start(store).await;
        let long_segment = "s".repeat(256);
        let long_key_path = "p/".repeat(512);
        let mut cases: Vec<(String, String)> = BAD_KEYS
            .iter()
            .map(|(p, f)| (p.to_string(), f.to_string()))
            .collect();
        cases.push((String::new(), long_segment.clone()));
        cases.push((format!("{long_segment}/"), "x".into()));
        cases.push((long_key_path, "x".into()));
        for (path, filename) in &cases {
            let r = env
                .upload(ADMIN, "ws1", Some(path), filename, b"data".to_vec())
                .await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::BAD_REQUEST, "invalid_request".into()),
                "upload path {path:?} filename {filename:?}"
            );
            let r = env
                .upload_url(
                    json!({"filename": filename, "workspace_id": "ws1", "path": path,
                                   "content_type": "text/plain", "size": 4}),
                )
                .await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::BAD_REQUEST, "invalid_request".into()),
                "upload-url path {path:?} filename {filename:?}"
            );
        }
        // Keys given whole: download, delete and confirm validate them too.
        for key in [
            "../x",
            "/abs",
            "a/../../b",
            "a//b",
            "a\0b",
            "a\u{1b}",
            "a/",
            &long_segment,
        ] {
            let r = env
                .http
                .get(env.url("/v1/files/download"))
                .bearer_auth(ADMIN)
                .query(&[("workspace_id", "ws1"), ("key", key)])
                .send()
                .await
                .unwrap();
            assert_eq!(
                error_of(r).await.0,
                StatusCode::BAD_REQUEST,
                "download {key:?}"
            );
            let r = env.confirm("ws1", key, 1).await;
            assert_eq!(
                error_of(r).await.0,
                StatusCode::BAD_REQUEST,
                "confirm {key:?}"
            );
        }
        // A 255-byte segment is fine; nothing bad was stored.
        let ok = "s".repeat(255);
        env.upload_ok("ws1", Some("raw"), &ok, b"ok").await;
        let list = env.list("ws1", &[]).await;
        assert_eq!(list.files.len(), 1);
        assert_eq!(list.files[0].key, format!("raw/{ok}"));
        assert_eq!(list.files[0].path, "raw/");
        env.assert_no_leftovers().await;
    }
}

contract! {
    async fn multipart_upload_metadata_and_replace(store) {
        let env = start(store).await;
        // Fields in any order: the file before workspace_id and path.
        let form = Form::new()
            .percent_encode_noop()
            .text("description", "first sample")
            .part(
                "file",
                Part::bytes(b"##fileformat=VCFv4.2\n".to_vec()).file_name("sample.vcf"),
            )
            .text("path", "raw")
            .text("workspace_id", "ws1");
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(ADMIN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let entry: FileEntry = r.json().await.unwrap();
        assert_eq!(entry.key, "raw/sample.vcf");
        assert_eq!(
            (entry.path.as_str(), entry.name.as_str()),
            ("raw/", "sample.vcf")
        );
        assert_eq!(entry.size, Some(21));
        assert_eq!(entry.description.as_deref(), Some("first sample"));
        assert_eq!(entry.content_type.as_deref(), Some("text/x-vcf"));
        assert_eq!(entry.etag, Some(md5_etag(b"##fileformat=VCFv4.2\n")));
        assert_eq!(
            entry.sha256.as_deref(),
            Some(hex::encode(sha2::Sha256::digest(b"##fileformat=VCFv4.2\n")).as_str())
        );
        let created = entry.created_at.clone().unwrap();
        assert!(created.ends_with('Z') && created.len() == 20, "{created}");

        // The file before a forbidden workspace: refused, nothing kept.
        let form = Form::new()
            .part("file", Part::bytes(vec![1u8; 100_000]).file_name("x.bin"))
            .text("workspace_id", "ws2");
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(WS1)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::FORBIDDEN);
        // No file field, no workspace.
        let form = Form::new().text("workspace_id", "ws1");
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(ADMIN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);
        let form = Form::new().part("file", Part::bytes(vec![1u8; 10]).file_name("x.bin"));
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(ADMIN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);

        // Other types: a declared specific type wins; generic ones are guessed.
        let form = Form::new().text("workspace_id", "ws1").part(
            "file",
            Part::bytes(b"a,b\n".to_vec())
                .file_name("t.dat")
                .mime_str("text/csv")
                .unwrap(),
        );
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(ADMIN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let e: FileEntry = r.json().await.unwrap();
        assert_eq!(e.content_type.as_deref(), Some("text/csv"));
        let form = Form::new().text("workspace_id", "ws1").part(
            "file",
            Part::bytes(b">chr1\nACGT\n".to_vec())
                .file_name("ref.fa")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(ADMIN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let e: FileEntry = r.json().await.unwrap();
        assert_eq!(e.content_type.as_deref(), Some("text/x-fasta"));
        assert_eq!(
            env.upload_ok("ws1", None, "r.vcf.gz", b"gz")
                .await
                .content_type
                .as_deref(),
            Some("application/gzip")
        );
        assert_eq!(
            env.upload_ok("ws1", None, "r.bam", b"bam")
                .await
                .content_type
                .as_deref(),
            Some("application/octet-stream")
        );

        // Repeating an upload replaces the file; its old blob goes.
        let blobs_before = env.blobs();
        let again = env
            .upload_ok("ws1", Some("raw/"), "sample.vcf", b"replaced")
            .await;
        assert_eq!(again.size, Some(8));
        env.assert_blobs(blobs_before, "the replaced blob is gone").await;
        let list = env.list("ws1", &[("prefix", "raw/")]).await;
        assert_eq!(list.files.len(), 1);
        assert_eq!(list.files[0].size, Some(8));
        assert_eq!(list.files[0].description, None);

        // Delete: 204, then 404; the blob is gone.
        let r = env
            .http
            .delete(env.url("/v1/files"))
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", "ws1"), ("key", "raw/sample.vcf")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        env.assert_blobs(blobs_before - 1, "the deleted file's blob is gone")
            .await;
        let r = env
            .http
            .delete(env.url("/v1/files"))
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", "ws1"), ("key", "raw/sample.vcf")])
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::NOT_FOUND);
        env.assert_no_leftovers().await;
    }
}

contract! {
    async fn file_folder_collisions(store) {
        let env = start(store).await;
        env.upload_ok("ws1", None, "a", b"file a").await;
        let r = env
            .upload(ADMIN, "ws1", Some("a"), "b", b"x".to_vec())
            .await;
        assert_eq!(error_of(r).await, (StatusCode::CONFLICT, "conflict".into()));
        let r = env
            .upload(ADMIN, "ws1", Some("a/deeper/"), "b", b"x".to_vec())
            .await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);

        env.upload_ok("ws1", Some("c/d"), "e", b"file c/d/e").await;
        for (path, name) in [(None, "c"), (Some("c"), "d")] {
            let r = env.upload(ADMIN, "ws1", path, name, b"x".to_vec()).await;
            assert_eq!(error_of(r).await.0, StatusCode::CONFLICT, "{path:?} {name}");
        }
        // Same checks on the large-upload flow: at upload-url, and at the confirm.
        let r = env
            .upload_url(json!({"filename": "c", "workspace_id": "ws1", "content_type": "text/plain", "size": 1}))
            .await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);
        let info = env.upload_url_ok("ws1", "f", "text/plain", 1).await;
        env.upload_ok("ws1", Some("f"), "g", b"g").await;
        assert_eq!(
            env.put(&info.upload_url, "text/plain", b"f".to_vec())
                .await
                .status(),
            StatusCode::OK
        );
        let r = env.confirm("ws1", "f", 1).await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);
        // Nothing collided was stored; other workspaces are independent.
        let keys: Vec<String> = env
            .list("ws1", &[])
            .await
            .files
            .into_iter()
            .map(|f| f.key)
            .collect();
        assert_eq!(keys, vec!["a", "c/d/e", "f/g"]);
        env.upload_ok("ws2", Some("a"), "b", b"fine").await;
    }
}

contract! {
    async fn large_upload_flow(store) {
        let env = start(store).await;
        let body = b"large upload bytes".to_vec();
        let size = body.len() as u64;
        let r = env
            .upload_url(
                json!({"filename": "big.bam", "workspace_id": "ws1", "path": "bam",
                               "content_type": "application/octet-stream", "size": size}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let raw: Value = r.json().await.unwrap();
        assert_eq!(raw["fileKey"], "bam/big.bam");
        assert_eq!(raw["expires_in"], 3600);
        let url = raw["uploadUrl"].as_str().unwrap().to_string();
        assert!(
            url.starts_with(&env.upload_url_start("ws1", "bam/big.bam")),
            "{url}"
        );

        // Nothing arrived yet.
        let r = env.confirm("ws1", "bam/big.bam", size).await;
        assert_eq!(
            error_of(r).await,
            (StatusCode::NOT_FOUND, "not_found".into())
        );

        // A first PUT, then a repeated one replacing it before the confirm.
        let r = env
            .put(&url, "application/octet-stream", b"x".repeat(body.len()))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = env
            .put(&url, "application/octet-stream", body.clone())
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["etag"].to_str().unwrap(), md5_etag(&body));
        assert!(
            env.list("ws1", &[]).await.files.is_empty(),
            "unconfirmed files are not listed"
        );

        let r = env.confirm("ws1", "bam/big.bam", size + 1).await;
        assert_eq!(error_of(r).await, (StatusCode::CONFLICT, "conflict".into()));
        let r = env.confirm("ws1", "bam/big.bam", size).await;
        assert_eq!(r.status(), StatusCode::OK);
        let entry: FileEntry = r.json().await.unwrap();
        assert_eq!(entry.key, "bam/big.bam");
        assert_eq!(entry.size, Some(size));
        assert_eq!(entry.etag, Some(md5_etag(&body)));
        // The bucket's bytes never pass through filedeck: it cannot know their SHA-256.
        let sha256 = hex::encode(sha2::Sha256::digest(&body));
        match store {
            Store::Local => assert_eq!(entry.sha256.as_deref(), Some(sha256.as_str())),
            Store::S3 => assert_eq!(entry.sha256, None),
        }
        assert_eq!(
            entry.content_type.as_deref(),
            Some("application/octet-stream")
        );
        let again = env.confirm("ws1", "bam/big.bam", size).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.json::<FileEntry>().await.unwrap(), entry);
        let r = env.confirm("ws1", "bam/big.bam", size + 5).await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);
        let list = env.list("ws1", &[]).await;
        assert_eq!(list.files, vec![entry]);
        let got = env
            .http
            .get(env.download_url("ws1", "bam/big.bam").await)
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap(), body);
        // One blob: the first PUT's was replaced.
        env.assert_blobs(1, "one blob").await;

        // A JSON body is read whatever its Content-Type says.
        let r = env
            .http
            .post(env.url("/v1/files/upload-url"))
            .bearer_auth(ADMIN)
            .body(r#"{"filename":"n.txt","workspace_id":"ws1","content_type":"text/plain","size":1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);

        // A zero-byte upload works too.
        let info = env.upload_url_ok("ws1", "empty.txt", "text/plain", 0).await;
        assert_eq!(
            env.put(&info.upload_url, "text/plain", Vec::new())
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            env.confirm("ws1", "empty.txt", 0).await.status(),
            StatusCode::OK
        );
    }
}

contract! {
    async fn presigned_put_violations(store) {
        let env = start(store).await;
        let info = env.upload_url_ok("ws1", "v.txt", "text/plain", 5).await;
        let url = info.upload_url.clone();
        // The local store's own `/objects/` route checks the PUT itself, and its URL
        // carries its terms (`X-Size`); the bucket checks the signature (which covers the
        // Content-Type) and its own rules, and the size is checked at the confirm.
        if store == Store::Local {

            let r = env
                .http
                .put(&url)
                .bearer_auth(ADMIN)
                .header("content-type", "text/plain")
                .body(b"hello".to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(
                error_of(r).await,
                (StatusCode::BAD_REQUEST, "invalid_request".into())
            );

            let stream =
                futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"hello"))]);
            let r = env
                .http
                .put(&url)
                .header("content-type", "text/plain")
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .unwrap();
            assert_eq!(error_of(r).await.0, StatusCode::LENGTH_REQUIRED);

            let r = env.put(&url, "application/json", b"hello".to_vec()).await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::FORBIDDEN, "bad_signature".into())
            );
            let r = env.put(&url, "text/plain", b"hello!".to_vec()).await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::FORBIDDEN, "bad_signature".into())
            );
            let r = env
                .put(
                    &url.replace("X-Size=5", "X-Size=6"),
                    "text/plain",
                    b"hello!".to_vec(),
                )
                .await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::FORBIDDEN, "bad_signature".into())
            );
            let r = env
                .put(
                    &url.replace("/v.txt?", "/w.txt?"),
                    "text/plain",
                    b"hello".to_vec(),
                )
                .await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::FORBIDDEN, "bad_signature".into())
            );
            // The upload URL is no download URL, and the other way round.
            let r = env.http.get(&url).send().await.unwrap();
            assert_eq!(
                error_of(r).await,
                (StatusCode::FORBIDDEN, "bad_signature".into())
            );
        } else {
            // (A bearer token beside the presigned query is the bucket's business: AWS
            // refuses two credentials, s3s-fs ignores the header; not checked.)
            let r = env.put(&url, "application/json", b"hello".to_vec()).await;
            assert_eq!(
                s3_error_of(r).await,
                (StatusCode::FORBIDDEN, "SignatureDoesNotMatch".into())
            );
            let other = url.replacen("/uploads/ws1/", "/uploads/ws2/", 1);
            let r = env.put(&other, "text/plain", b"hello".to_vec()).await;
            assert_eq!(
                s3_error_of(r).await,
                (StatusCode::FORBIDDEN, "SignatureDoesNotMatch".into())
            );
            // The upload URL is no download URL.
            let r = env.http.get(&url).send().await.unwrap();
            assert_eq!(
                s3_error_of(r).await,
                (StatusCode::FORBIDDEN, "SignatureDoesNotMatch".into())
            );
        }

        for size in [server_max_put() + 1, u64::MAX] {
            let r = env
                .upload_url(json!({"filename": "huge.bin", "workspace_id": "ws1",
                                   "content_type": "application/octet-stream", "size": size}))
                .await;
            assert_eq!(
                error_of(r).await,
                (StatusCode::BAD_REQUEST, "invalid_request".into())
            );
        }
        let ok = env
            .upload_url(json!({"filename": "max.bin", "workspace_id": "ws1",
                               "content_type": "application/octet-stream", "size": server_max_put()}))
            .await;
        assert_eq!(ok.status(), StatusCode::OK);

        // After all that, nothing arrived and no temp file is left; the right PUT works.
        assert_eq!(
            env.confirm("ws1", "v.txt", 5).await.status(),
            StatusCode::NOT_FOUND
        );
        env.assert_no_leftovers().await;
        if store == Store::S3 {
            // The bucket takes a body of another length (a presigned URL does not sign
            // Content-Length): the confirm refuses it.
            let r = env.put(&url, "text/plain", b"hello!".to_vec()).await;
            assert_eq!(r.status(), StatusCode::OK);
            let r = env.confirm("ws1", "v.txt", 5).await;
            assert_eq!(error_of(r).await, (StatusCode::CONFLICT, "conflict".into()));
            let r = env.confirm("ws1", "v.txt", 6).await;
            assert_eq!(error_of(r).await, (StatusCode::CONFLICT, "conflict".into()));
            assert!(env.list("ws1", &[]).await.files.is_empty());
        }
        assert_eq!(
            env.put(&url, "text/plain", b"hello".to_vec())
                .await
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            env.confirm("ws1", "v.txt", 5).await.status(),
            StatusCode::OK
        );
    }
}

fn server_max_put() -> u64 {
    filedeck::wire::MAX_PUT_BYTES
}

contract! {
    async fn expired_and_tampered_urls(store) {
        let env = start_with_ttl(store, Duration::ZERO).await;
        env.upload_ok("ws1", None, "e.txt", b"expire me").await;
        let url = env.download_url("ws1", "e.txt").await;
        let info = env.upload_url_ok("ws1", "p.txt", "text/plain", 3).await;
        // The store's own words: filedeck's JSON, or the bucket's XML (whose clock counts
        // whole seconds, so a URL of no lifetime is expired only after the second).
        let expired = |r: reqwest::Response| async move {
            match store {
                Store::Local => assert_eq!(error_of(r).await, (StatusCode::FORBIDDEN, "expired".into())),
                Store::S3 => assert_eq!(s3_error_of(r).await, (StatusCode::FORBIDDEN, "AccessDenied".into())),
            }
        };
        if store == Store::S3 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        expired(env.http.get(&url).send().await.unwrap()).await;
        let r = env.http.head(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        expired(env.put(&info.upload_url, "text/plain", b"abc".to_vec()).await).await;
        assert_eq!(env.confirm("ws1", &info.file_key, 3).await.status(), StatusCode::NOT_FOUND);

        // Tampering is found before the expiry.
        let env = start(store).await;
        env.upload_ok("ws1", None, "t.txt", b"tamper").await;
        env.upload_ok("ws1", None, "u.txt", b"other").await;
        let url = env.download_url("ws1", "t.txt").await;
        assert_eq!(
            env.http.get(&url).send().await.unwrap().status(),
            StatusCode::OK
        );
        let (signature, expires) = match store {
            Store::Local => ("X-Signature=", "X-Expires="),
            Store::S3 => ("X-Amz-Signature=", "X-Amz-Expires="),
        };
        let sig_at = url.find(signature).unwrap() + signature.len();
        let mut flipped = url.clone().into_bytes();
        flipped[sig_at] = if flipped[sig_at] == b'0' { b'1' } else { b'0' };
        let query_at = url.find('?').unwrap();
        let other = env.download_url("ws1", "u.txt").await;
        let mut tampered = vec![
            String::from_utf8(flipped).unwrap(),
            // Another file's object with this one's signature.
            format!("{}{}", &other[..other.find('?').unwrap()], &url[query_at..]),
            url.replace(expires, &format!("{expires}9")),
        ];
        match store {
            Store::Local => tampered.extend([
                url.replace("/ws1/", "/ws2/"),
                url[..url.find("&X-Signature").unwrap()].to_string(),
                format!("{}/objects/ws1/t.txt", env.base),
            ]),
            // The bucket's URLs name no workspace; unsigned, they are anonymous requests.
            Store::S3 => tampered.extend([
                url.replace("response-content-disposition=", "response-content-disposition=x"),
            ]),
        }
        for bad in &tampered {
            let r = env.http.get(bad).send().await.unwrap();
            let error = match store {
                Store::Local => error_of(r).await,
                Store::S3 => s3_error_of(r).await,
            };
            let want = match store {
                Store::Local => "bad_signature",
                Store::S3 => "SignatureDoesNotMatch",
            };
            assert_eq!(error, (StatusCode::FORBIDDEN, want.into()), "{bad}");
        }
        if store == Store::S3 {
            let bare = &url[..query_at];
            for unsigned in [bare.to_string(), url[..url.find("&X-Amz-Signature").unwrap()].to_string()] {
                let r = env.http.get(&unsigned).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{unsigned}");
            }
        }
    }
}

contract! {
    async fn byte_ranges_head_and_stats(store) {
        let env = start(store).await;
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        env.upload_ok("ws1", Some("r"), "data.bin", &data).await;
        let url = env.download_url("ws1", "r/data.bin").await;
        let etag = md5_etag(&data);
        let stats = env.server.stats();
        // Bytes a bucket sends never pass through filedeck: its counters are the local
        // store's alone.
        let local = store == Store::Local;
        let sent = || stats.bytes_sent.load(Ordering::Relaxed);

        let r = env.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-length"], "1000");
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
        // s3s-fs does not advertise ranges (AWS does); they are served all the same.
        if local {
            assert_eq!(r.headers()["accept-ranges"], "bytes");
        }
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        assert!(r.headers().contains_key("last-modified"));
        assert_eq!(r.bytes().await.unwrap(), data);
        if local {
            assert_eq!(sent(), 1000);
        }

        let cases: &[(&str, usize, usize)] = &[
            ("bytes=100-", 100, 1000),
            ("bytes=10-19", 10, 20),
            ("bytes=-50", 950, 1000),
            ("bytes=990-5000", 990, 1000),
            ("bytes=-5000", 0, 1000),
        ];
        for &(range, from, to) in cases {
            // s3s-fs answers a suffix longer than the object 500 (AWS serves it whole).
            if !local && range == "bytes=-5000" {
                continue;
            }
            let r = env
                .http
                .get(&url)
                .header("range", range)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
            assert_eq!(
                r.headers()["content-range"].to_str().unwrap(),
                format!("bytes {from}-{}/1000", to - 1)
            );
            assert_eq!(
                r.headers()["content-length"].to_str().unwrap(),
                (to - from).to_string()
            );
            assert_eq!(r.bytes().await.unwrap(), &data[from..to], "{range}");
        }
        // A resume sent fewer bytes than the file.
        let before = sent();
        let r = env
            .http
            .get(&url)
            .header("range", "bytes=900-")
            .send()
            .await
            .unwrap();
        assert_eq!(r.bytes().await.unwrap().len(), 100);
        if local {
            assert_eq!(sent() - before, 100);
        }

        for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
            let r = env
                .http
                .get(&url)
                .header("range", range)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
            // The bucket's 416 is its XML error; s3s-fs's carries no Content-Range.
            if local {
                assert_eq!(r.headers()["content-range"], "bytes */1000");
            }
        }
        // If-Range: a matching ETag honours the range, another one gets the whole object.
        let r = env
            .http
            .get(&url)
            .header("range", "bytes=500-")
            .header("if-range", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        // s3s-fs ignores If-Range (AWS honours it, though its API documents no such
        // header); a bucket's file is a new object per upload, under a new URL, anyway.
        if local {
            let r = env
                .http
                .get(&url)
                .header("range", "bytes=500-")
                .header("if-range", "\"0123456789abcdef0123456789abcdef\"")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert!(!r.headers().contains_key("content-range"));
            assert_eq!(r.bytes().await.unwrap(), data);
        }

        // A SigV4 URL signs its method: the bucket refuses HEAD on a GET's URL (as AWS
        // does), so HEAD is the local store's alone.
        if local {
            let before = sent();
            let r = env.http.head(&url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.headers()["content-length"], "1000");
            assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
            if local {
                assert_eq!(r.headers()["accept-ranges"], "bytes");
            }
            assert!(r.bytes().await.unwrap().is_empty());
            let r = env
                .http
                .head(&url)
                .header("range", "bytes=-10")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
            assert_eq!(r.headers()["content-length"], "10");
            assert_eq!(sent(), before, "HEAD sends no body");
        } else {
            let r = env.http.head(&url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }

        // Keys needing encoding survive the URL; an empty file has no satisfiable range.
        let odd = "we?ird #%20 näme.txt";
        env.upload_ok("ws1", Some("sp ace/"), odd, b"odd").await;
        let url = env.download_url("ws1", &format!("sp ace/{odd}")).await;
        assert_eq!(
            env.http
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
            &b"odd"[..]
        );
        env.upload_ok("ws1", None, "empty.txt", b"").await;
        let url = env.download_url("ws1", "empty.txt").await;
        let r = env.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-length"], "0");
        let r = env
            .http
            .get(&url)
            .header("range", "bytes=0-")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);

        // Never the Host the client chose: the URL is on the server's public URL.
        let r = env
            .http
            .get(env.url("/v1/files/download"))
            .bearer_auth(ADMIN)
            .header("host", "files.example.org:8443")
            .query(&[("workspace_id", "ws1"), ("key", "empty.txt")])
            .send()
            .await
            .unwrap();
        let body: DownloadUrlResponse = r.json().await.unwrap();
        let start = match store {
            Store::Local => format!("{}empty.txt?", env.presigned_base("ws1")),
            Store::S3 => env.presigned_base("ws1"),
        };
        assert!(body.url.starts_with(&start), "{}", body.url);
    }
}

/// Headers a client (or an attacker in front of a victim) chooses, which must not steer
/// where presigned URLs point.
const SPOOFED: &[(&str, &str)] = &[
    ("host", "attacker.example"),
    ("x-forwarded-host", "attacker.example"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-port", "444"),
    ("x-forwarded-prefix", "/evil"),
    ("forwarded", "for=1.2.3.4;host=attacker.example;proto=https"),
];

/// A download URL and an upload URL of `env`, asked with `headers`.
async fn presigned_with(env: &Env, headers: &[(&str, &str)]) -> (String, String) {
    let mut get = env
        .http
        .get(env.url("/v1/files/download"))
        .bearer_auth(ADMIN)
        .query(&[("workspace_id", "ws1"), ("key", "a.txt")]);
    let mut put = env.http.post(env.url("/v1/files/upload-url")).bearer_auth(ADMIN).json(
        &json!({"filename": "b.txt", "workspace_id": "ws1", "content_type": "text/plain", "size": 3}),
    );
    for (name, value) in headers {
        get = get.header(*name, *value);
        put = put.header(*name, *value);
    }
    let r = get.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let download: DownloadUrlResponse = r.json().await.unwrap();
    let r = put.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let upload: UploadUrlResponse = r.json().await.unwrap();
    (download.url, upload.upload_url)
}

/// Issue 10, item 4: presigned URLs come from the configured public URL alone; spoofed
/// `Host`, `X-Forwarded-*` and `Forwarded` headers, one at a time or all at once, change
/// nothing of where they point.
// Local store only: `public_url` places filedeck's own `/objects/` URLs; a bucket's URLs are
// on its endpoint, which no request header reaches (presigned_urls_default_to_the_bound_address::s3).
#[tokio::test]
async fn presigned_urls_ignore_spoofed_host_and_forwarded_headers() {
    let dir = tempfile::tempdir().unwrap();
    let public = "https://files.example.com:8443";
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    config.keys = keys();
    config.public_url = Some(format!("{public}/"));
    let server = server::bind(config).await.unwrap();
    assert_eq!(server.public_url(), public);
    let env = Env {
        base: server.base_url(),
        dir,
        server,
        http: client(),
        s3: None,
    };
    env.upload_ok("ws1", None, "a.txt", b"abc").await;
    let mut cases: Vec<Vec<(&str, &str)>> = vec![vec![], SPOOFED.to_vec()];
    cases.extend(SPOOFED.iter().map(|h| vec![*h]));
    for headers in cases {
        let (get, put) = presigned_with(&env, &headers).await;
        for url in [&get, &put] {
            assert!(
                url.starts_with(&format!("{public}/objects/ws1/")),
                "{headers:?}: {url}"
            );
        }
    }
}

contract! {
    /// Without `public_url`, the URLs are on the address the server bound (its real port),
    /// whatever the request says.
    async fn presigned_urls_default_to_the_bound_address(store) {
        let env = start(store).await;
        assert_eq!(env.server.public_url(), env.base);
        env.upload_ok("ws1", None, "a.txt", b"abc").await;
        let (get, put) = presigned_with(&env, SPOOFED).await;
        for url in [&get, &put] {
            assert!(url.starts_with(&env.presigned_base("ws1")), "{url}");
        }
        let bytes = env
            .http
            .get(&get)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"abc");
    }
}

/// A path prefix in the public URL is for a reverse proxy that strips it: the URLs carry
/// it, the server serves them without it (what such a proxy forwards).
// Local store only: a proxy in front of filedeck's own `/objects/` routes; a bucket's URLs
// do not pass through filedeck.
#[tokio::test]
async fn a_public_url_path_prefix_is_stripped_by_the_proxy_in_front() {
    let dir = tempfile::tempdir().unwrap();
    let public = "http://proxy.example/filedeck";
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    config.keys = keys();
    config.public_url = Some(public.to_string());
    let server = server::bind(config).await.unwrap();
    let env = Env {
        base: server.base_url(),
        dir,
        server,
        http: client(),
        s3: None,
    };
    env.upload_ok("ws1", None, "a.txt", b"abc").await;
    let (get, put) = presigned_with(&env, &[]).await;
    // What the proxy forwards: its own origin and prefix off, the rest as it came.
    let forwarded = |url: &str| {
        let rest = url.strip_prefix(public).unwrap_or_else(|| panic!("{url}"));
        assert!(rest.starts_with("/objects/ws1/"), "{url}");
        format!("{}{rest}", env.base)
    };
    let r = env.http.get(forwarded(&get)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(&r.bytes().await.unwrap()[..], b"abc");
    let r = env
        .put(&forwarded(&put), "text/plain", b"xyz".to_vec())
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    // The prefix left on is no route of the server's.
    let unstripped = format!(
        "{}/filedeck{}",
        env.base,
        &forwarded(&get)[env.base.len()..]
    );
    let r = env.http.get(unstripped).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// A wildcard listen address has no address a client can reach: without a public URL the
/// server refuses to start; with one it starts. Bad public URLs are refused.
// Store-independent (run once): bind refuses before it opens any store.
#[tokio::test]
async fn a_wildcard_listen_needs_a_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path(), "0.0.0.0:0".parse().unwrap());
    config.keys = keys();
    let err = server::bind(config.clone()).await.unwrap_err();
    assert!(
        matches!(err, server::ServerError::WildcardWithoutPublicUrl(_)),
        "{err}"
    );
    assert!(err.to_string().contains("--public-url"), "{err}");
    for bad in [
        "ftp://x.example",
        "https://u:p@x.example",
        "https://x.example/?a=b",
        "x.example",
    ] {
        let mut bad_config = config.clone();
        bad_config.public_url = Some(bad.to_string());
        let err = server::bind(bad_config).await.unwrap_err();
        assert!(
            matches!(err, server::ServerError::PublicUrl(_)),
            "{bad}: {err}"
        );
    }
    config.public_url = Some("https://files.example.com".to_string());
    let server = server::bind(config).await.unwrap();
    assert_eq!(server.public_url(), "https://files.example.com");
    server.shutdown().await;
}

contract! {
    async fn listing_pages_and_prefixes(store) {
        let env = start(store).await;
        let files: Vec<(String, Vec<u8>)> = (0..2500)
            .map(|i| (format!("d{}/f{i:05}.txt", i % 10), vec![b'x'; i % 7]))
            .collect();
        let started = Instant::now();
        server::put_many(&env.server, "big", files, None)
            .await
            .unwrap();
        eprintln!("put_many of 2500 files: {:?}", started.elapsed());
        for (path, name) in [(None, "a.txt"), (None, "zz.txt"), (Some("d3"), "extra.txt")] {
            env.upload_ok("big", path, name, b"via http").await;
        }
        server::put_bytes(
            &env.server,
            "big",
            "d3/seeded.txt",
            b"seed".to_vec(),
            Some("seeded".into()),
        )
        .await
        .unwrap();
        let total = 2504;

        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut q = vec![("limit", "1000")];
            if let Some(c) = &cursor {
                q.push(("cursor", c.as_str()));
            }
            let page = env.list("big", &q).await;
            pages += 1;
            keys.extend(page.files.into_iter().map(|f| f.key));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(keys.len(), total);
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );

        // Default page size, prefix, prefix with a cursor, clamped limit.
        let page = env.list("big", &[]).await;
        assert_eq!(page.files.len(), 100);
        assert!(page.next_cursor.is_some());
        let d3 = env
            .list("big", &[("prefix", "d3/"), ("limit", "10000")])
            .await;
        assert_eq!(d3.files.len(), 252);
        assert!(d3.next_cursor.is_none());
        assert!(
            d3.files
                .iter()
                .all(|f| f.key.starts_with("d3/") && f.path == "d3/")
        );
        let seeded = d3.files.iter().find(|f| f.key == "d3/seeded.txt").unwrap();
        assert_eq!(seeded.description.as_deref(), Some("seeded"));
        let first = env
            .list("big", &[("prefix", "d3/"), ("limit", "200")])
            .await;
        let rest = env
            .list(
                "big",
                &[
                    ("prefix", "d3/"),
                    ("limit", "200"),
                    ("cursor", first.next_cursor.as_deref().unwrap()),
                ],
            )
            .await;
        assert_eq!(first.files.len() + rest.files.len(), 252);
        assert!(rest.next_cursor.is_none());
        let all = env.list("big", &[("limit", "99999")]).await;
        assert_eq!(all.files.len(), total);
        let none = env.list("big", &[("prefix", "nothing/")]).await;
        assert!(none.files.is_empty() && none.next_cursor.is_none());
        let partial = env.list("big", &[("prefix", "d3/f0")]).await;
        assert!(!partial.files.is_empty() && partial.files.iter().all(|f| f.key.starts_with("d3/f0")));
    }
}

// Local store only: `seed_files` fills a data directory (a bucket is seeded by `put_many`, as in
// prefix_filters_display_paths).
key_styles! {
    /// A data directory seeded in bulk (`seed_files`, no server running) serves its files
    /// as uploads would: listed with their display paths, sizes and hashes, and their bytes
    /// downloaded. A bad path or a collision stores nothing of its batch, not even a blob.
    async fn seeded_files_serve_like_uploads(style) {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            ("a/one.txt".to_string(), b"one".to_vec()),
            ("a/b/échantillon_µL.bam".to_string(), Vec::new()),
            ("two.txt".to_string(), b"second file".to_vec()),
        ];
        let seeded = server::seed_files(dir.path(), style, "seeded", files.clone()).unwrap();
        assert_eq!(seeded, 3);
        let refused: [Vec<(String, Vec<u8>)>; 2] = [
            vec![("ok.txt".into(), b"x".to_vec()), ("../up.txt".into(), b"x".to_vec())],
            // `a` is a folder of the first seed.
            vec![("ok.txt".into(), b"x".to_vec()), ("a".into(), b"x".to_vec())],
        ];
        for batch in refused {
            assert!(server::seed_files(dir.path(), style, "seeded", batch).is_err());
        }
        assert!(server::seed_files(dir.path(), style, "not a workspace!", Vec::new()).is_err());
        assert_eq!(files_under(&dir.path().join("blobs")).len(), 3);

        let server = try_start_in(dir.path(), Duration::from_secs(3600), style)
            .await
            .unwrap();
        let base = server.base_url();
        let env = Env { dir, server, base, http: client(), s3: None };
        let listed = env.list("seeded", &[("limit", "100")]).await.files;
        assert_eq!(listed.len(), 3);
        for (display, bytes) in &files {
            let entry = listed
                .iter()
                .find(|f| format!("{}{}", f.path, f.name) == *display)
                .unwrap_or_else(|| panic!("{display} is not listed"));
            assert_eq!(is_opaque_key(&entry.key), style == KeyStyle::Opaque, "{}", entry.key);
            assert_eq!(entry.size, Some(bytes.len() as u64));
            assert_eq!(entry.etag, Some(md5_etag(bytes)));
            assert_eq!(
                entry.sha256.as_deref(),
                Some(hex::encode(sha2::Sha256::digest(bytes)).as_str())
            );
            let url = env.download_url("seeded", &entry.key).await;
            let got = env.http.get(url).send().await.unwrap().bytes().await.unwrap();
            assert_eq!(&got[..], &bytes[..], "{display}");
        }
    }
}

contract! {
    async fn concurrent_uploads_of_one_key_leave_one_whole_file(store) {
        let env = start(store).await;
        let a = vec![b'a'; 3 * 1024 * 1024 + 17];
        let b = vec![b'b'; 2 * 1024 * 1024 + 5];
        for _ in 0..3 {
            let (ra, rb) = tokio::join!(
                env.upload(ADMIN, "ws1", Some("same"), "key.bin", a.clone()),
                env.upload(ADMIN, "ws1", Some("same"), "key.bin", b.clone()),
            );
            assert_eq!(ra.status(), StatusCode::CREATED);
            assert_eq!(rb.status(), StatusCode::CREATED);
            let url = env.download_url("ws1", "same/key.bin").await;
            let got = env
                .http
                .get(&url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert!(got == a || got == b, "stored bytes are one of the bodies");
            let listed = env.list("ws1", &[]).await.files;
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].size, Some(got.len() as u64));
            assert_eq!(listed[0].etag, Some(md5_etag(&got)));
            env.assert_blobs(1, "replaced blob removed").await;
        }
    }
}

contract! {
    async fn workspaces_route(store) {
        let env = start(store).await;
        let get = |token: &'static str| {
            let http = env.http.clone();
            let url = env.url("/v1/workspaces");
            async move { http.get(url).bearer_auth(token).send().await.unwrap() }
        };
        let r = get(ADMIN).await;
        let body: WorkspacesResponse = r.json().await.unwrap();
        assert!(body.workspaces.is_empty(), "no workspace exists yet");
        env.upload_ok("ws_b", None, "x", b"x").await;
        env.upload_ok("ws_a", None, "y", b"y").await;
        let body: WorkspacesResponse = get(ADMIN).await.json().await.unwrap();
        let ids: Vec<&str> = body.workspaces.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, vec!["ws_a", "ws_b"]);
        assert_eq!(body.workspaces[0].name.as_deref(), Some("ws_a"));
        let body: WorkspacesResponse = get(WS1).await.json().await.unwrap();
        let ids: Vec<&str> = body.workspaces.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, vec!["ws1", "ws_named"]);
        assert_eq!(error_of(get(NO_FILES).await).await.0, StatusCode::FORBIDDEN);
        let r = env
            .http
            .get(env.url("/v1/workspaces"))
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::UNAUTHORIZED);
    }
}

// Local store only: `secret.key` signs filedeck's own URLs, and `tmp/` and `blobs/` are the data
// directory's (a bucket's restart: a_new_server_rebuilds_its_index_from_the_bucket, tests/s3.rs).
#[tokio::test]
async fn restart_keeps_secret_files_and_cleans_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let first = start_in(dir.path(), Duration::from_secs(3600)).await;
    let entry = server::put_bytes(&first, "ws1", "keep/me.txt", b"persisted".to_vec(), None)
        .await
        .unwrap();
    let r = http
        .get(format!("{}/v1/files/download", first.base_url()))
        .bearer_auth(ADMIN)
        .query(&[("workspace_id", "ws1"), ("key", "keep/me.txt")])
        .send()
        .await
        .unwrap();
    let url = r.json::<DownloadUrlResponse>().await.unwrap().url;
    let old_base = first.base_url();
    first.shutdown().await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Leftovers of a crash: a temp file and an unreferenced blob.
    std::fs::write(dir.path().join("tmp").join("crashed.part"), b"partial").unwrap();
    std::fs::write(
        dir.path().join("blobs").join("ab").join("abandoned"),
        b"orphan",
    )
    .unwrap();

    let second = start_in(dir.path(), Duration::from_secs(3600)).await;
    let url = url.replace(&old_base, &second.base_url());
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a URL minted before the restart still verifies"
    );
    assert_eq!(r.bytes().await.unwrap(), &b"persisted"[..]);
    assert!(files_under(&dir.path().join("tmp")).is_empty());
    let blobs = files_under(&dir.path().join("blobs"));
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    let r = http
        .get(format!("{}/v1/files", second.base_url()))
        .bearer_auth(ADMIN)
        .query(&[("workspace_id", "ws1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<ListResponse>().await.unwrap().files, vec![entry]);
    second.shutdown().await;
}

// ---- The 500 MiB limit, in a child process so its memory can be measured alone. ----

const CHILD_DIR_ENV: &str = "FILEDECK_TEST_CHILD_DATA_DIR";
const CHILD_TOKEN: &str = "child-env-token-0123456789";

/// Not a test by itself: the server process for `multipart_limit_streams_and_keeps_nothing`.
/// It binds with the key from `FILEDECK_SERVER_KEY` only, prints its address and serves
/// until its stdin closes.
// Local store only: the child of multipart_limit_streams_and_keeps_nothing.
#[tokio::test]
#[ignore = "run by multipart_limit_streams_and_keeps_nothing as a child process"]
async fn child_server_process() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else {
        return;
    };
    let key = server::keys_from_env().expect("FILEDECK_SERVER_KEY is set");
    assert_eq!(key.workspaces, vec!["*"]);
    let mut config = ServerConfig::new(PathBuf::from(dir), "127.0.0.1:0".parse().unwrap());
    // As the CLI may do: bind must not add the same key twice.
    config.keys.push(key);
    let running = server::bind(config).await.unwrap();
    println!("CHILD-SERVER {}", running.base_url());
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await
    .unwrap();
    running.shutdown().await;
}

struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// Local store only, for time: 525 MB through a child process whose memory is measured alone
// (on S3: multipart_over_the_limit_leaves_nothing_in_the_bucket, tests/s3.rs).
#[tokio::test]
async fn multipart_limit_streams_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = ChildGuard(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_server_process",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .env("FILEDECK_SERVER_KEY", CHILD_TOKEN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let stdout = child.0.stdout.take().unwrap();
    let reader = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // libtest may print "test child_server_process ... " before it on the line.
            if let Some(at) = line.find("CHILD-SERVER ") {
                return line[at + "CHILD-SERVER ".len()..].trim().to_string();
            }
        }
        panic!("the child server did not start");
    });
    let base = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the child server starts within a minute")
        .unwrap();
    let http = client();
    let rss_before = proc_status_kib(pid, "VmRSS:");

    // 525 MB, made on the fly, sent chunked: never a file, never whole in memory.
    const TOTAL: usize = 525_000_000;
    let chunk = Bytes::from(vec![b'z'; 1024 * 1024]);
    let chunks = futures_util::stream::unfold(0usize, move |sent| {
        let chunk = chunk.clone();
        async move {
            if sent >= TOTAL {
                return None;
            }
            let n = chunk.len().min(TOTAL - sent);
            Some((Ok::<_, std::io::Error>(chunk.slice(..n)), sent + n))
        }
    });
    let form = Form::new().text("workspace_id", "ws1").part(
        "file",
        Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("huge.bin"),
    );
    let started = Instant::now();
    let r = http
        .post(format!("{base}/v1/files/upload"))
        .bearer_auth(CHILD_TOKEN)
        .multipart(form)
        .send()
        .await
        .expect("the 413 answer arrives");
    assert_eq!(
        error_of(r).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    eprintln!("525 MB upload refused after {:?}", started.elapsed());

    // Nothing kept: no blob, no temp file, nothing listed. The 413 may be sent before the
    // handler's temp file is dropped, so its removal is awaited, not assumed.
    wait_for(
        "the refused upload's temp file to be removed",
        Duration::from_secs(30),
        || files_under(&dir.path().join("tmp")).is_empty(),
    )
    .await;
    assert!(files_under(&dir.path().join("blobs")).is_empty(), "no blob");
    // The server closes the refused upload's connection; a pooled client could pick that
    // dead connection for the next request, so the rest goes over fresh ones.
    let http = client();
    let r = http
        .get(format!("{base}/v1/files"))
        .bearer_auth(CHILD_TOKEN)
        .query(&[("workspace_id", "ws1")])
        .send()
        .await
        .unwrap();
    assert!(r.json::<ListResponse>().await.unwrap().files.is_empty());

    // A declared Content-Length over the limit is refused before the body is read.
    let r = http
        .post(format!("{base}/v1/files/upload"))
        .bearer_auth(CHILD_TOKEN)
        .header("content-type", "multipart/form-data; boundary=x")
        .header("content-length", "600000000")
        .body(Vec::new())
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    // The server's memory stayed small while it read half a gigabyte.
    if let (Some(before), Some(peak)) = (rss_before, proc_status_kib(pid, "VmHWM:")) {
        eprintln!("child server RSS before {before} KiB, peak {peak} KiB");
        assert!(
            peak <= 64 * 1024,
            "server peak RSS {peak} KiB is over 64 MiB"
        );
    }
    drop(child.0.stdin.take());
}

contract! {
    /// A key granted no workspace is refused before the body is read: the `403` arrives while
    /// the client has sent only the headers and the start of a `file` part (which comes first,
    /// so no `workspace_id` could refuse it), and nothing reaches the data directory.
    async fn multipart_refuses_a_key_without_workspaces_before_the_body(store) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let env = start(store).await;
        let addr = env.base.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let part_head =
            "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\n";
        // Declares 100 MB but sends a few KiB and then waits: a server that reads the body
        // before answering never answers within the deadline.
        let head = format!(
            "POST /v1/files/upload HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {NO_WS}\r\n\
             Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n\
             {part_head}"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[b'z'; 4096]).await.unwrap();
        stream.flush().await.unwrap();

        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(20), async {
            while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed without an answer");
                answer.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        assert!(
            read.is_ok(),
            "no answer while the body was still being sent"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        env.assert_no_leftovers().await;
        env.assert_blobs(0, "no blob").await;
    }
}

contract! {
    /// A `file` part before `workspace_id` naming a workspace the key may not use: received to
    /// a temp file, then refused `403`, and the temp file is gone with the answer.
    async fn multipart_file_first_for_another_workspace_keeps_nothing(store) {
        let env = start(store).await;
        let form = Form::new()
            .part(
                "file",
                Part::bytes(vec![b'q'; 8 * 1024 * 1024]).file_name("big.bin"),
            )
            .text("workspace_id", "ws2");
        let r = env
            .http
            .post(env.url("/v1/files/upload"))
            .bearer_auth(WS1)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_of(r).await,
            (StatusCode::FORBIDDEN, "forbidden".into())
        );
        env.assert_no_leftovers().await;
        env.assert_blobs(0, "no blob").await;
        assert!(env.list("ws2", &[]).await.files.is_empty());
    }
}

/// A 100,000-file workspace lists completely through its pages, each file once (slow to
/// seed: run with --ignored). Its rate is measured by `cargo bench --bench listing`.
// Local store only, for time: 100,000 objects in s3s-fs (ignored anyway; run explicitly).
#[tokio::test]
#[ignore = "seeds 100,000 files; run explicitly"]
async fn listing_100k_files_pages_through_all() {
    let env = start(Store::Local).await;
    for batch in 0..10 {
        let files: Vec<(String, Vec<u8>)> = (0..10_000)
            .map(|i| (format!("b{batch}/f{i:05}"), Vec::new()))
            .collect();
        server::put_many(&env.server, "huge", files, None)
            .await
            .unwrap();
    }
    let mut keys = std::collections::BTreeSet::new();
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("limit", "10000")];
        if let Some(c) = &cursor {
            q.push(("cursor", c.as_str()));
        }
        let page = env.list("huge", &q).await;
        count += page.files.len();
        keys.extend(page.files.into_iter().map(|f| f.key));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(count, 100_000);
    assert_eq!(keys.len(), 100_000, "a file listed twice");
}

/// A 1 GiB presigned PUT and its GET over loopback arrive whole (slow in debug builds: run
/// explicitly). Throughput is measured by `scripts/transfer_bench.py`, not here.
// Local store only, for time and because it counts filedeck's `bytes_sent`: on S3 the
// gigabyte goes to and from the bucket, never through filedeck.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "moves 2 GiB; run explicitly"]
async fn gigabyte_put_and_get_arrive_whole() {
    const SIZE: u64 = 1 << 30;
    let env = start(Store::Local).await;
    let info = env
        .upload_url_ok("ws1", "giga.bin", "application/octet-stream", SIZE)
        .await;
    let chunk = Bytes::from(vec![7u8; 1024 * 1024]);
    let chunks =
        futures_util::stream::iter((0..1024).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let r = env
        .http
        .put(&info.upload_url)
        .header("content-type", "application/octet-stream")
        .header("content-length", SIZE.to_string())
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        env.confirm("ws1", "giga.bin", SIZE).await.status(),
        StatusCode::OK
    );
    let url = env.download_url("ws1", "giga.bin").await;
    let mut r = env.http.get(&url).send().await.unwrap();
    let mut got = 0u64;
    while let Some(chunk) = r.chunk().await.unwrap() {
        assert!(chunk.iter().all(|&b| b == 7), "a byte changed on the way");
        got += chunk.len() as u64;
    }
    assert_eq!(got, SIZE);
    assert_eq!(env.server.stats().bytes_sent.load(Ordering::Relaxed), SIZE);
}

// ---- Key styles (contract: "Key styles"). ----

/// `obj_` and 32 lower-case hex digits.
fn is_opaque_key(key: &str) -> bool {
    key.strip_prefix("obj_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl Env {
    async fn delete(&self, ws: &str, key: &str) -> reqwest::Response {
        self.http
            .delete(self.url("/v1/files"))
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", ws), ("key", key)])
            .send()
            .await
            .unwrap()
    }

    async fn download(&self, ws: &str, key: &str) -> Bytes {
        let url = self.download_url(ws, key).await;
        let r = self.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.bytes().await.unwrap()
    }

    /// Every file under `prefix`, following cursors with pages of `limit`.
    async fn list_paged(&self, ws: &str, prefix: &str, limit: usize) -> Vec<FileEntry> {
        let limit = limit.to_string();
        let mut files = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = vec![("prefix", prefix), ("limit", limit.as_str())];
            if let Some(c) = &cursor {
                q.push(("cursor", c.as_str()));
            }
            let page = self.list(ws, &q).await;
            files.extend(page.files);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return files,
            }
        }
    }
}

contract! {
    /// Two uploads of one display path: one file (replaced) in path style, two files with
    /// their own keys and bytes in opaque style; download and delete go by key.
    async fn uploads_of_one_display_path(store, style) {
        let env = start_styled(store, style).await;
        let first = env.upload_ok("ws1", Some("raw"), "a.txt", b"one").await;
        let second = env.upload_ok("ws1", Some("raw/"), "a.txt", b"two!").await;
        for entry in [&first, &second] {
            assert_eq!((entry.path.as_str(), entry.name.as_str()), ("raw/", "a.txt"));
        }
        let listed = env.list("ws1", &[]).await.files;
        match style {
            KeyStyle::Path => {
                assert_eq!((first.key.as_str(), second.key.as_str()), ("raw/a.txt", "raw/a.txt"));
                assert_eq!(listed, vec![second.clone()]);
                env.assert_blobs(1, "the replaced blob is gone").await;
            }
            KeyStyle::Opaque => {
                assert!(is_opaque_key(&first.key) && is_opaque_key(&second.key), "{first:?}");
                assert_ne!(first.key, second.key);
                let mut want = vec![first.clone(), second.clone()];
                want.sort_by(|a, b| a.key.cmp(&b.key));
                assert_eq!(listed, want, "both listed, sorted by key");
                env.assert_blobs(2, "a blob per file").await;
                assert_eq!(env.download("ws1", &first.key).await, &b"one"[..]);
            }
        }
        assert_eq!(env.download("ws1", &second.key).await, &b"two!"[..]);
        // The display path is no key in opaque style.
        if style == KeyStyle::Opaque {
            let r = env
                .http
                .get(env.url("/v1/files/download"))
                .bearer_auth(ADMIN)
                .query(&[("workspace_id", "ws1"), ("key", "raw/a.txt")])
                .send()
                .await
                .unwrap();
            assert_eq!(error_of(r).await.0, StatusCode::NOT_FOUND);
        }

        assert_eq!(env.delete("ws1", &second.key).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(error_of(env.delete("ws1", &second.key).await).await.0, StatusCode::NOT_FOUND);
        let left = env.list("ws1", &[]).await.files;
        match style {
            KeyStyle::Path => assert!(left.is_empty()),
            KeyStyle::Opaque => assert_eq!(left, vec![first.clone()]),
        }
        let r = env
            .http
            .get(env.url("/v1/files/download"))
            .bearer_auth(ADMIN)
            .query(&[("workspace_id", "ws1"), ("key", second.key.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(error_of(r).await.0, StatusCode::NOT_FOUND);
        env.assert_blobs(left.len(), "a blob per file left").await;
    }
}

contract! {
    /// `prefix` filters `path + name` (never the key), results sorted by key, and cursors page
    /// through a prefix without loss or repeat.
    async fn prefix_filters_display_paths(store, style) {
        let env = start_styled(store, style).await;
        let files: Vec<(String, Vec<u8>)> = (0..300)
            .map(|i| (format!("d{}/f{i:04}.txt", i % 5), vec![b'x'; i % 3]))
            .collect();
        let seeded = server::put_many(&env.server, "ws1", files, None).await.unwrap();
        assert_eq!(seeded.len(), 300);
        assert_eq!(seeded[7].path, "d2/");
        assert_eq!(seeded[7].name, "f0007.txt");
        // Seeding a display path again: replaced in path style, a second file in opaque.
        let again = server::put_bytes(&env.server, "ws1", "d3/f0003.txt", b"new".to_vec(), None)
            .await
            .unwrap();
        env.upload_ok("ws1", Some("d3x"), "near.txt", b"not under d3/").await;
        let d3_count = match style {
            KeyStyle::Path => 60,
            KeyStyle::Opaque => 61,
        };

        for limit in [7, 10_000] {
            let d3 = env.list_paged("ws1", "d3/", limit).await;
            assert_eq!(d3.len(), d3_count, "limit {limit}");
            assert!(d3.iter().all(|f| f.path == "d3/"), "limit {limit}");
            assert!(d3.windows(2).all(|w| w[0].key < w[1].key), "sorted by key, no repeat");
            assert!(d3.contains(&again));
        }
        let partial = env.list_paged("ws1", "d3/f00", 4).await;
        let mut names: Vec<&str> = partial.iter().map(|f| f.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names, ["f0003.txt", "f0008.txt", "f0013.txt", "f0018.txt"]
            .iter()
            .chain(&["f0023.txt", "f0028.txt", "f0033.txt", "f0038.txt"])
            .chain(&["f0043.txt", "f0048.txt", "f0053.txt", "f0058.txt"])
            .chain(&["f0063.txt", "f0068.txt", "f0073.txt", "f0078.txt"])
            .chain(&["f0083.txt", "f0088.txt", "f0093.txt", "f0098.txt"])
            .copied()
            .collect::<Vec<_>>());
        let d3x = env.list("ws1", &[("prefix", "d3x")]).await.files;
        assert_eq!(d3x.len(), 1);
        assert_eq!(d3x[0].name, "near.txt");
        // Keys are not matched: in opaque style every key starts with obj_.
        assert!(env.list("ws1", &[("prefix", "obj_")]).await.files.is_empty());
        let all = env.list_paged("ws1", "", 1000).await;
        assert_eq!(all.len(), d3_count - 60 + 301);
        assert!(all.windows(2).all(|w| w[0].key < w[1].key));
    }
}

contract! {
    /// A file and a folder may not share a display path (`a` beside `a/b`), on every upload
    /// route; in opaque style two files at one display path are no collision.
    async fn file_folder_rule_on_display_paths(store, style) {
        let env = start_styled(store, style).await;
        env.upload_ok("ws1", None, "a", b"file a").await;
        let r = env.upload(ADMIN, "ws1", Some("a"), "b", b"x".to_vec()).await;
        assert_eq!(error_of(r).await, (StatusCode::CONFLICT, "conflict".into()));
        env.upload_ok("ws1", Some("c/d"), "e", b"file c/d/e").await;
        let r = env.upload(ADMIN, "ws1", None, "c", b"x".to_vec()).await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);
        let r = env
            .upload_url(json!({"filename": "c", "workspace_id": "ws1",
                               "content_type": "text/plain", "size": 1}))
            .await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);
        // A folder made between step 1 and the confirm.
        let info = env.upload_url_ok("ws1", "f", "text/plain", 1).await;
        env.upload_ok("ws1", Some("f"), "g", b"g").await;
        assert_eq!(env.put(&info.upload_url, "text/plain", b"f".to_vec()).await.status(), StatusCode::OK);
        let r = env.confirm_named("ws1", &info.file_key, "f", 1).await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);

        // The same file display path again.
        env.upload_ok("ws1", None, "a", b"file a, again").await;
        let mut shown: Vec<String> = env
            .list("ws1", &[])
            .await
            .files
            .into_iter()
            .map(|f| format!("{}{}", f.path, f.name))
            .collect();
        shown.sort();
        match style {
            KeyStyle::Path => assert_eq!(shown, ["a", "c/d/e", "f/g"]),
            KeyStyle::Opaque => assert_eq!(shown, ["a", "a", "c/d/e", "f/g"]),
        }
    }
}

contract! {
    /// The large-upload flow: a key minted at step 1 (the display path in path style), the
    /// confirm checks filename and size, and answers the file object (path style) or
    /// `{"key"}` alone (opaque style), the same again on a repeat.
    async fn large_upload_by_style(store, style) {
        let env = start_styled(store, style).await;
        let body = b"large upload bytes".to_vec();
        let size = body.len() as u64;
        let request = json!({"filename": "big.bam", "workspace_id": "ws1", "path": "bam",
                             "content_type": "application/octet-stream", "size": size});
        let info: UploadUrlResponse = env.upload_url(request.clone()).await.json().await.unwrap();
        let key = info.file_key.clone();
        match style {
            KeyStyle::Path => assert_eq!(key, "bam/big.bam"),
            KeyStyle::Opaque => assert!(is_opaque_key(&key), "{key}"),
        }
        assert!(
            info.upload_url.starts_with(&env.upload_url_start("ws1", &key)),
            "{}",
            info.upload_url
        );
        assert_eq!(error_of(env.confirm_named("ws1", &key, "big.bam", size).await).await.0, StatusCode::NOT_FOUND);
        let r = env.put(&info.upload_url, "application/octet-stream", body.clone()).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(env.list("ws1", &[]).await.files.is_empty(), "unconfirmed is unlisted");

        let r = env.confirm_named("ws1", &key, "other.bam", size).await;
        assert_eq!(error_of(r).await, (StatusCode::CONFLICT, "conflict".into()));
        let r = env.confirm_named("ws1", &key, "big.bam", size + 1).await;
        assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);
        let r = env.confirm_named("ws1", &key, "big.bam", size).await;
        assert_eq!(r.status(), StatusCode::OK);
        let answer: Value = r.json().await.unwrap();
        let listed = env.list("ws1", &[]).await.files;
        assert_eq!(listed.len(), 1);
        let entry = listed[0].clone();
        assert_eq!((entry.key.as_str(), entry.path.as_str(), entry.name.as_str()), (key.as_str(), "bam/", "big.bam"));
        assert_eq!(entry.size, Some(size));
        assert_eq!(entry.etag, Some(md5_etag(&body)));
        match style {
            KeyStyle::Path => assert_eq!(serde_json::from_value::<FileEntry>(answer.clone()).unwrap(), entry),
            KeyStyle::Opaque => assert_eq!(answer, json!({"key": key})),
        }
        let r = env.confirm_named("ws1", &key, "big.bam", size).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap(), answer, "a repeated confirm answers the same");
        assert_eq!(env.download("ws1", &key).await, body);

        // The same display path once more.
        let again: UploadUrlResponse = env.upload_url(request).await.json().await.unwrap();
        match style {
            KeyStyle::Path => assert_eq!(again.file_key, key),
            KeyStyle::Opaque => assert_ne!(again.file_key, key),
        }
        let newer = b"newer bytes, same size".to_vec();
        let newer = newer[..body.len()].to_vec();
        assert_eq!(env.put(&again.upload_url, "application/octet-stream", newer.clone()).await.status(), StatusCode::OK);
        assert_eq!(env.confirm_named("ws1", &again.file_key, "big.bam", size).await.status(), StatusCode::OK);
        let listed = env.list("ws1", &[("prefix", "bam/big")]).await.files;
        match style {
            KeyStyle::Path => assert_eq!(listed.len(), 1),
            KeyStyle::Opaque => assert_eq!(listed.len(), 2),
        }
        assert_eq!(env.download("ws1", &again.file_key).await, newer);
    }
}

contract! {
    /// Once confirmed, a PUT URL is spent (`403 forbidden`, before its body is read), so a
    /// repeated confirm still answers the bytes first confirmed; a confirm naming another
    /// file is `409`. A new URL for the same display path still works.
    async fn confirmed_put_url_is_spent(store, style) {
        let env = start_styled(store, style).await;
        let info = env.upload_url_ok("ws1", "once.txt", "text/plain", 4).await;
        assert_eq!(env.put(&info.upload_url, "text/plain", b"once".to_vec()).await.status(), StatusCode::OK);
        let r = env.confirm_named("ws1", &info.file_key, "once.txt", 4).await;
        assert_eq!(r.status(), StatusCode::OK);
        let answer: Value = r.json().await.unwrap();

        // A bucket's presigned URL cannot be spent (S3 has no such notion): the bucket takes
        // the PUT, but the confirmed file keeps the bytes it was confirmed with.
        let r = env.put(&info.upload_url, "text/plain", b"more".to_vec()).await;
        match store {
            Store::Local => assert_eq!(error_of(r).await, (StatusCode::FORBIDDEN, "forbidden".into())),
            Store::S3 => assert_eq!(r.status(), StatusCode::OK),
        }
        assert_eq!(env.download("ws1", &info.file_key).await, &b"once"[..]);
        let r = env.confirm_named("ws1", &info.file_key, "twice.txt", 4).await;
        assert_eq!(error_of(r).await, (StatusCode::CONFLICT, "conflict".into()));
        let r = env.confirm_named("ws1", &info.file_key, "once.txt", 4).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap(), answer, "the same object again");
        assert_eq!(env.download("ws1", &info.file_key).await, &b"once"[..]);
        env.assert_no_leftovers().await;
        env.assert_blobs(1, "one file, one blob").await;

        // A URL spent, then a server restart: still spent (the local store's own rule).
        let env = env.restarted(style).await;
        if store == Store::Local {
            let moved = info.upload_url.replace(&env.server_was, &env.env.base);
            let r = env.env.put(&moved, "text/plain", b"more".to_vec()).await;
            assert_eq!(error_of(r).await, (StatusCode::FORBIDDEN, "forbidden".into()));
        }
        let env = env.env;

        // A new URL for the same display path is a new upload.
        let next = env.upload_url_ok("ws1", "once.txt", "text/plain", 4).await;
        assert_eq!(env.put(&next.upload_url, "text/plain", b"next".to_vec()).await.status(), StatusCode::OK);
        let r = env.confirm_named("ws1", &next.file_key, "once.txt", 4).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(env.download("ws1", &next.file_key).await, &b"next"[..]);
    }
}

// Local store only: spent URLs are a rule of filedeck's own `/objects/` route (S3 has no such
// notion).
#[tokio::test]
async fn opaque_confirmed_url_is_spent() {
    let env = start_styled(Store::Local, KeyStyle::Opaque).await;
    let info = env.upload_url_ok("ws1", "once.txt", "text/plain", 4).await;
    assert_eq!(
        env.put(&info.upload_url, "text/plain", b"once".to_vec())
            .await
            .status(),
        StatusCode::OK
    );
    let r = env
        .confirm_named("ws1", &info.file_key, "once.txt", 4)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = env
        .put(&info.upload_url, "text/plain", b"more".to_vec())
        .await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    assert_eq!(env.download("ws1", &info.file_key).await, &b"once"[..]);
    assert!(files_under(&env.dir.path().join("tmp")).is_empty());
    assert_eq!(files_under(&env.dir.path().join("blobs")).len(), 1);
}

// Local store only: `X-Name` is a term of filedeck's own URLs, and a data directory is served
// again in the other style.
#[tokio::test]
async fn opaque_upload_url_names_its_display_path() {
    let env = start_styled(Store::Local, KeyStyle::Opaque).await;
    let info = env.upload_url_ok("ws1", "n.txt", "text/plain", 1).await;
    // The display path is signed with the URL: changing it breaks the signature.
    assert!(
        info.upload_url.contains("X-Name=n.txt"),
        "{}",
        info.upload_url
    );
    let r = env
        .put(
            &info.upload_url.replace("X-Name=n.txt", "X-Name=m.txt"),
            "text/plain",
            b"n".to_vec(),
        )
        .await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::FORBIDDEN, "bad_signature".into())
    );
    // A path-style URL (no display path) is refused by an opaque server, and the other
    // way round: a data directory emptied and served in the other style.
    let dir = tempfile::tempdir().unwrap();
    let path_server = try_start_in(dir.path(), Duration::from_secs(3600), KeyStyle::Path)
        .await
        .unwrap();
    let path_url: UploadUrlResponse = client()
        .post(format!("{}/v1/files/upload-url", path_server.base_url()))
        .bearer_auth(ADMIN)
        .json(&json!({"filename": "p.txt", "workspace_id": "ws1", "content_type": "text/plain", "size": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    path_server.shutdown().await;
    let opaque_server = try_start_in(dir.path(), Duration::from_secs(3600), KeyStyle::Opaque)
        .await
        .unwrap();
    let url = path_url.upload_url.replace(
        &path_url.upload_url[..path_url.upload_url.find("/objects/").unwrap()],
        &opaque_server.base_url(),
    );
    let r = env.put(&url, "text/plain", b"p".to_vec()).await;
    assert_eq!(
        error_of(r).await,
        (StatusCode::FORBIDDEN, "forbidden".into())
    );
    opaque_server.shutdown().await;
}

// Local store only: the key style is recorded in the data directory's index.
#[tokio::test]
async fn data_dir_keeps_its_key_style() {
    let dir = tempfile::tempdir().unwrap();
    let ttl = Duration::from_secs(3600);
    // An empty data directory may change style.
    try_start_in(dir.path(), ttl, KeyStyle::Path)
        .await
        .unwrap()
        .shutdown()
        .await;
    let opaque = try_start_in(dir.path(), ttl, KeyStyle::Opaque)
        .await
        .unwrap();
    let entry = server::put_bytes(&opaque, "ws1", "k/v.txt", b"v".to_vec(), None)
        .await
        .unwrap();
    assert!(is_opaque_key(&entry.key));
    assert_eq!(opaque.key_style(), KeyStyle::Opaque);
    opaque.shutdown().await;
    // One that holds files may not.
    let err = try_start_in(dir.path(), ttl, KeyStyle::Path)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("--key-style opaque"), "{message}");
    let again = try_start_in(dir.path(), ttl, KeyStyle::Opaque)
        .await
        .unwrap();
    let r = client()
        .get(format!("{}/v1/files", again.base_url()))
        .bearer_auth(ADMIN)
        .query(&[("workspace_id", "ws1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<ListResponse>().await.unwrap().files, vec![entry]);
    again.shutdown().await;
}

/// The S3 side of data_dir_keeps_its_key_style: a bucket holding files keeps the style
/// they were stored in, whatever data directory (index) a new server brings; an empty one
/// may change style.
#[tokio::test]
async fn bucket_keeps_its_key_style() {
    let s3 = s3::S3Fs::start();
    let ttl = Duration::from_secs(3600);
    let on_bucket = |dir: &Path, style: KeyStyle| {
        let mut config = config_in(dir, ttl, style);
        config.s3 = Some(s3.config("styled"));
        server::bind(config)
    };
    let dirs: Vec<TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    on_bucket(dirs[0].path(), KeyStyle::Path)
        .await
        .unwrap()
        .shutdown()
        .await;
    let opaque = on_bucket(dirs[1].path(), KeyStyle::Opaque).await.unwrap();
    let entry = server::put_bytes(&opaque, "ws1", "k/v.txt", b"v".to_vec(), None)
        .await
        .unwrap();
    assert!(is_opaque_key(&entry.key));
    opaque.shutdown().await;
    // A fresh index in the other style: refused, naming the style the files were stored in.
    let err = on_bucket(dirs[2].path(), KeyStyle::Path).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("--key-style opaque"), "{message}");
    let again = on_bucket(dirs[3].path(), KeyStyle::Opaque).await.unwrap();
    let r = client()
        .get(format!("{}/v1/files", again.base_url()))
        .bearer_auth(ADMIN)
        .query(&[("workspace_id", "ws1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<ListResponse>().await.unwrap().files, vec![entry]);
    again.shutdown().await;
}

/// An index of schema version 1 (no display column, no display path in pending uploads,
/// no recorded key style) is migrated at open: its files list, its pending upload confirms.
// Local store only: the local index's schema migration (its pending uploads and spent URLs).
#[tokio::test]
async fn version_1_index_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let ttl = Duration::from_secs(3600);
    let first = start_in(dir.path(), ttl).await;
    let http = client();
    let kept = server::put_bytes(&first, "ws1", "raw/kept.txt", b"kept".to_vec(), None)
        .await
        .unwrap();
    let info: UploadUrlResponse = http
        .post(format!("{}/v1/files/upload-url", first.base_url()))
        .bearer_auth(ADMIN)
        .json(
            &json!({"filename": "late.txt", "workspace_id": "ws1", "path": "raw",
                      "content_type": "text/plain", "size": 4}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .put(&info.upload_url)
        .header("content-type", "text/plain")
        .body(b"late".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    first.shutdown().await;

    // Back to version 1's shape.
    let index = dir.path().join("index.sqlite");
    {
        let conn = rusqlite::Connection::open(&index).unwrap();
        conn.execute_batch(
            "DROP INDEX files_display;
             ALTER TABLE files DROP COLUMN display;
             ALTER TABLE pending DROP COLUMN path;
             ALTER TABLE pending DROP COLUMN name;
             DROP TABLE settings;
             ALTER TABLE pending DROP COLUMN upload;
             ALTER TABLE pending DROP COLUMN expires;
             DROP TABLE spent;
             ALTER TABLE files DROP COLUMN version;
             DROP TABLE tombstones;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }

    let second = start_in(dir.path(), ttl).await;
    let base = second.base_url();
    let r = http
        .get(format!("{base}/v1/files"))
        .bearer_auth(ADMIN)
        .query(&[("workspace_id", "ws1"), ("prefix", "raw/")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<ListResponse>().await.unwrap().files,
        vec![kept.clone()]
    );
    let confirm = |filename: &str| {
        http.post(format!("{base}/v1/files/upload-confirm"))
            .bearer_auth(ADMIN)
            .json(&json!({"file_key": "raw/late.txt", "workspace_id": "ws1",
                          "filename": filename, "size": 4}))
            .send()
    };
    assert_eq!(
        error_of(confirm("other.txt").await.unwrap()).await.0,
        StatusCode::CONFLICT
    );
    let late: FileEntry = confirm("late.txt").await.unwrap().json().await.unwrap();
    assert_eq!(
        (late.path.as_str(), late.name.as_str()),
        ("raw/", "late.txt")
    );
    // The migrated rows know their display paths: a file `raw` beside the folder `raw/`
    // is refused.
    let form = Form::new()
        .text("workspace_id", "ws1")
        .part("file", Part::bytes(b"x".to_vec()).file_name("raw"));
    let r = http
        .post(format!("{base}/v1/files/upload"))
        .bearer_auth(ADMIN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.0, StatusCode::CONFLICT);
    second.shutdown().await;

    let conn = rusqlite::Connection::open(&index).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let style: String = conn
        .query_row(
            "SELECT value FROM settings WHERE name = 'key_style'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(style, "path");
    // A version from the future is refused, not guessed at.
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let err = try_start_in(dir.path(), ttl, KeyStyle::Path)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

/// `filedeck serve --key-style opaque` serves opaque keys; a style it does not know is a
/// usage error.
// Local store only: the CLI's `--key-style` flag, on a data directory; the store plays no
// part.
#[tokio::test]
async fn serve_command_takes_a_key_style() {
    const BIN: &str = env!("CARGO_BIN_EXE_filedeck");
    let bad = Command::new(BIN)
        .args(["serve", "--data", "unused", "--key-style", "random"])
        .env("FILEDECK_SERVER_KEY", CHILD_TOKEN)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("opaque"));

    let dir = tempfile::tempdir().unwrap();
    let mut child = ChildGuard(
        Command::new(BIN)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--key-style",
                "opaque",
                "--data",
            ])
            .arg(dir.path())
            .env("FILEDECK_SERVER_KEY", CHILD_TOKEN)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let reader = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            if let Some(base) = line.unwrap().strip_prefix("listening on ") {
                return base.trim().to_string();
            }
        }
        panic!("the server did not start");
    });
    let base = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("the server starts within a minute")
        .unwrap();
    let form = Form::new()
        .text("workspace_id", "ws1")
        .part("file", Part::bytes(b"hi".to_vec()).file_name("hi.txt"));
    let r = client()
        .post(format!("{base}/v1/files/upload"))
        .bearer_auth(CHILD_TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let entry: FileEntry = r.json().await.unwrap();
    assert!(is_opaque_key(&entry.key), "{}", entry.key);
    assert_eq!(entry.name, "hi.txt");
}

contract! {
    /// Uploads of one display path at once: one whole file in path style (the last to
    /// commit), one file each in opaque style.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uploads_of_one_display_path(store, style) {
        let env = start_styled(store, style).await;
        let bodies: Vec<Vec<u8>> = (0..6u8)
            .map(|i| vec![b'a' + i; 200_000 + usize::from(i)])
            .collect();
        let uploads = bodies
            .iter()
            .map(|body| env.upload_ok("ws1", Some("same"), "file.bin", body));
        let entries = futures_util::future::join_all(uploads).await;
        let listed = env.list("ws1", &[]).await.files;
        match style {
            KeyStyle::Path => {
                assert_eq!(listed.len(), 1);
                let got = env.download("ws1", "same/file.bin").await;
                assert!(bodies.iter().any(|b| *b == got), "one whole upload");
                assert_eq!(listed[0].size, Some(got.len() as u64));
            }
            KeyStyle::Opaque => {
                assert_eq!(listed.len(), bodies.len());
                for (entry, body) in entries.iter().zip(&bodies) {
                    assert_eq!(env.download("ws1", &entry.key).await, body.as_slice());
                }
            }
        }
        env.assert_blobs(listed.len(), "a blob per file").await;
    }
}

// Local store only, for time: 100,000 objects in s3s-fs (ignored anyway; run explicitly).
key_styles! {
    /// Over 100,000 files, in each style, every prefix and page size lists exactly the
    /// files under it (slow to seed: run with --ignored). Its speed, by prefix, is measured
    /// by `cargo bench --bench listing` (`-- --opaque` for the opaque style).
    #[ignore = "seeds 100,000 files; run explicitly"]
    async fn listing_100k_by_prefix_counts(style) {
        let env = start_styled(Store::Local, style).await;
        for batch in 0..10 {
            let files: Vec<(String, Vec<u8>)> = (0..10_000)
                .map(|i| (format!("b{batch}/f{i:05}"), Vec::new()))
                .collect();
            server::put_many(&env.server, "huge", files, None)
                .await
                .unwrap();
        }
        for (prefix, limit, want) in [
            ("", 10_000, 100_000),
            ("b3/", 10_000, 10_000),
            ("b3/", 1_000, 10_000),
            ("b3/f012", 10_000, 100),
            ("b3/f01234", 100, 1),
        ] {
            let limit_text = limit.to_string();
            let mut count = 0;
            let mut cursor: Option<String> = None;
            loop {
                let mut q = vec![("prefix", prefix), ("limit", limit_text.as_str())];
                if let Some(c) = &cursor {
                    q.push(("cursor", c.as_str()));
                }
                let page = env.list("huge", &q).await;
                assert!(page.files.len() <= limit, "{prefix:?}: a page over its limit");
                assert!(
                    page.files.iter().all(|f| f.display_key().starts_with(prefix)),
                    "{prefix:?}: a file outside the prefix"
                );
                count += page.files.len();
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(count, want, "{style}: {prefix:?}");
        }
    }
}

// ---- Byte-route headers, overflowing ranges, files at rest (issue 10, items 5 and 6). ----

contract! {
    async fn byte_routes_send_nosniff_and_the_name_as_attachment(store) {
        let env = start(store).await;
        let name = "a \"quoted\" näme; ü=1.txt";
        let body = b"attachment bytes".to_vec();
        let size = body.len() as u64;
        let up = env.upload_url_ok("ws1", name, "text/html", size).await;
        let r = env.put(&up.upload_url, "text/html", body.clone()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = env.confirm_named("ws1", &up.file_key, name, size).await;
        assert_eq!(r.status(), StatusCode::OK);
        let url = env.download_url("ws1", &up.file_key).await;
        let expected = "attachment; filename*=UTF-8''a%20%22quoted%22%20n%C3%A4me%3B%20%C3%BC%3D1.txt";

        let get = env.http.get(&url).send().await.unwrap();
        let ranged = env
            .http
            .get(&url)
            .header("range", "bytes=2-")
            .send()
            .await
            .unwrap();
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
        let mut answers = vec![("GET", get), ("ranged GET", ranged)];
        // HEAD of a GET's SigV4 URL is refused by the bucket (see byte_ranges_head_and_stats).
        if store == Store::Local {
            answers.push(("HEAD", env.http.head(&url).send().await.unwrap()));
        }
        for (what, r) in answers {
            assert!(r.status().is_success(), "{what}: {}", r.status());
            // A presigned GET cannot ask the bucket for `nosniff` (no response-* parameter
            // sets it); the attachment disposition below keeps a browser from rendering.
            if store == Store::Local {
                assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{what}");
            }
            assert_eq!(
                r.headers()["content-disposition"].to_str().unwrap(),
                expected,
                "{what}"
            );
        }

        // The name, not the path.
        env.upload_ok("ws1", Some("deep/er/"), "plain.txt", b"x")
            .await;
        let url = env.download_url("ws1", "deep/er/plain.txt").await;
        let r = env.http.get(&url).send().await.unwrap();
        assert_eq!(
            r.headers()["content-disposition"],
            "attachment; filename*=UTF-8''plain.txt"
        );
    }
}

contract! {
    async fn overflowing_ranges_are_unsatisfiable(store) {
        let env = start(store).await;
        let data = vec![b'r'; 1000];
        env.upload_ok("ws1", None, "r.bin", &data).await;
        let url = env.download_url("ws1", "r.bin").await;
        let huge = "99999999999999999999999";
        let ranges = [
            format!("bytes={huge}-"),
            format!("bytes={huge}-{huge}"),
            format!("bytes=0-{huge}"),
            format!("bytes=-{huge}"),
        ];
        if store == Store::S3 {
            // The bucket's own range parser: s3s-fs refuses a number over 64 bits `400`
            // (never a byte of the file); HEAD is refused on a GET's URL anyway.
            for range in &ranges {
                let r = env.http.get(&url).header("range", range).send().await.unwrap();
                assert!(
                    [StatusCode::BAD_REQUEST, StatusCode::RANGE_NOT_SATISFIABLE].contains(&r.status()),
                    "{range}: {}",
                    r.status()
                );
            }
            return;
        }
        for range in &ranges {
            for head in [false, true] {
                let request = if head {
                    env.http.head(&url)
                } else {
                    env.http.get(&url)
                };
                let r = request.header("range", range).send().await.unwrap();
                assert_eq!(
                    r.status(),
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "{range} head={head}"
                );
                assert_eq!(r.headers()["content-range"], "bytes */1000", "{range}");
            }
        }
    }
}

#[cfg(unix)]
fn assert_mode(path: &Path, want: u32) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(
        mode,
        want,
        "{}: mode {mode:o}, want {want:o}",
        path.display()
    );
}

/// Wait for `cond` to hold, polling, for at most `limit`.
async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// Local store only: the modes of the data directory's files (the bucket's are its own).
#[cfg(unix)]
#[tokio::test]
async fn files_at_rest_are_owner_only_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    // The common umask, which leaves new files world-readable unless the server sets modes
    // itself. Process-wide, but every test here expects the same usual value.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let root = tempfile::tempdir().unwrap();
    // tempdir() makes its directory 0700: the server must make its own.
    let data = root.path().join("fresh").join("data");
    let server = start_in(&data, Duration::from_secs(3600)).await;
    let http = client();

    // A body streamed in pieces: its temp file exists, and is checked, mid-upload.
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|c| (Ok::<_, std::io::Error>(c), rx))
    });
    let form = Form::new().text("workspace_id", "ws1").part(
        "file",
        Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("secret.txt"),
    );
    let request = http
        .post(format!("{}/v1/files/upload", server.base_url()))
        .bearer_auth(ADMIN)
        .multipart(form)
        .send();
    let upload = tokio::spawn(request);
    tx.send(Bytes::from_static(b"first half, ")).await.unwrap();
    let tmp = data.join("tmp");
    wait_for("the upload's temp file", Duration::from_secs(30), || {
        !files_under(&tmp).is_empty()
    })
    .await;
    for file in files_under(&tmp) {
        assert_mode(&file, 0o600);
    }
    tx.send(Bytes::from_static(b"second half")).await.unwrap();
    drop(tx);
    let r = upload.await.unwrap().unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    assert_mode(&data, 0o700);
    assert_mode(&tmp, 0o700);
    assert_mode(&data.join("blobs"), 0o700);
    assert_mode(&data.join("blobs").join("00"), 0o700);
    let blobs = files_under(&data.join("blobs"));
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert_mode(&blobs[0], 0o600);
    for index in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        assert_mode(&data.join(index), 0o600);
    }
    server.shutdown().await;

    // A data directory and index left open by an older server are tightened at start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("index.sqlite"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let server = start_in(&data, Duration::from_secs(3600)).await;
    assert_mode(&data, 0o700);
    assert_mode(&data.join("index.sqlite"), 0o600);
    server.shutdown().await;
}

// ---- Uploads in flight: one per URL, a cap per key, no thread held while stalled ----

async fn start_capped(max_uploads_per_key: usize) -> Env {
    start_configured(Store::Local, |config| {
        config.max_uploads_per_key = max_uploads_per_key;
    })
    .await
}

/// Open a raw PUT of `url` declaring `declared` bytes and send `first` of them; the rest
/// is for the caller to send (or not).
async fn raw_put(url: &str, declared: u64, first: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {declared}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Status line and headers (lowercased) of the answer on `stream`, within a deadline.
async fn raw_answer(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(30), async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed without an answer");
            answer.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("an answer within the deadline");
    String::from_utf8_lossy(&answer).to_lowercase()
}

async fn list_as(env: &Env, token: &str, ws: &str) -> StatusCode {
    tokio::time::timeout(
        Duration::from_secs(20),
        env.http
            .get(env.url("/v1/files"))
            .bearer_auth(token)
            .query(&[("workspace_id", ws)])
            .send(),
    )
    .await
    .expect("a list answers while uploads stall")
    .unwrap()
    .status()
}

async fn fetch_bytes(env: &Env, ws: &str, key: &str) -> Vec<u8> {
    let url = env.download_url(ws, key).await;
    let response = env.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap().to_vec()
}

/// 200 PUTs on one URL, each stalled after 1 byte of 10: every older one is cut off with
/// `409`, a list by another key answers meanwhile, and the newest completes and is what
/// the confirm stores. Nothing of the older ones is left in `tmp/`.
// Local store only: PUTs on filedeck's own `/objects/` route (on S3 they go to the bucket).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_puts_on_one_url_leave_the_newest() {
    use tokio::io::AsyncWriteExt;
    const PUTS: usize = 200;
    let env = start_capped(1000).await;
    let big = env
        .upload_url_ok("ws1", "big.bin", "application/octet-stream", 10)
        .await;

    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..PUTS - 1 {
        let mut stream = raw_put(&big.upload_url, 10, b"o").await;
        let answers = answers.clone();
        tokio::spawn(async move {
            let answer = raw_answer(&mut stream).await;
            let _ = answers.send(answer);
            // Kept open so the survivor is not cut off by a closed connection.
            stream
        });
    }
    assert_eq!(list_as(&env, WS1, "ws1").await, StatusCode::OK);
    // All but the newest of them are cut off; then one more PUT cuts off that one too.
    for _ in 0..PUTS - 2 {
        let answer = answered.recv().await.unwrap();
        assert!(answer.starts_with("http/1.1 409"), "{answer}");
    }
    let mut last = raw_put(&big.upload_url, 10, b"N").await;
    let answer = answered.recv().await.unwrap();
    assert!(answer.starts_with("http/1.1 409"), "{answer}");
    assert_eq!(list_as(&env, WS1, "ws1").await, StatusCode::OK);

    last.write_all(b"EWEST!!!!").await.unwrap();
    let answer = raw_answer(&mut last).await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert_eq!(
        env.confirm("ws1", &big.file_key, 10).await.status(),
        StatusCode::OK
    );
    assert_eq!(fetch_bytes(&env, "ws1", &big.file_key).await, b"NEWEST!!!!");
    let tmp = env.dir.path().join("tmp");
    wait_for(
        "the cut-off temp files to go",
        Duration::from_secs(20),
        || files_under(&tmp).is_empty(),
    )
    .await;
}

/// An older PUT cut off by a newer one never places its bytes, even when it sends them all
/// afterwards; the confirm stores the newer bytes.
// Local store only: PUTs on filedeck's own `/objects/` route (on S3 they go to the bucket).
#[tokio::test]
async fn superseded_put_never_lands() {
    use tokio::io::AsyncWriteExt;
    let env = start(Store::Local).await;
    let up = env
        .upload_url_ok("ws1", "s.bin", "application/octet-stream", 4)
        .await;
    let mut older = raw_put(&up.upload_url, 4, b"ol").await;
    // Two connections race: the newer is sent only once the server holds the older (its
    // temp file is made after its turn is taken), or the roles could swap.
    let tmp = env.dir.path().join("tmp");
    wait_for("the older PUT's temp file", Duration::from_secs(30), || {
        files_under(&tmp).len() == 1
    })
    .await;
    let mut newer = raw_put(&up.upload_url, 4, b"ne").await;
    let answer = raw_answer(&mut older).await;
    assert!(answer.starts_with("http/1.1 409"), "{answer}");
    // Too late: the older one's remaining bytes change nothing.
    let _ = older.write_all(b"dd").await;
    newer.write_all(b"wr").await.unwrap();
    let answer = raw_answer(&mut newer).await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert_eq!(
        env.confirm("ws1", &up.file_key, 4).await.status(),
        StatusCode::OK
    );
    assert_eq!(fetch_bytes(&env, "ws1", &up.file_key).await, b"newr");
}

/// With a cap of 4, a 5th concurrent upload of one key is `503 unavailable` with
/// `Retry-After` (PUT and multipart alike), answered before its body; another key's uploads
/// go through; and once one of the four ends, the key may upload again.
// Local store only: its stalled uploads are PUTs on filedeck's own `/objects/` route (on S3
// they go to the bucket and count against no cap of filedeck's); the multipart half runs on
// both stores in multipart_uploads_per_key_are_capped.
#[tokio::test]
async fn uploads_per_key_are_capped() {
    let env = start_capped(4).await;
    let mut stalled = Vec::new();
    for i in 0..4 {
        let up = env
            .upload_url_ok("ws1", &format!("s{i}.bin"), "application/octet-stream", 100)
            .await;
        stalled.push(raw_put(&up.upload_url, 100, b"x").await);
    }
    // The server registers the four as it reads their heads: wait until it has.
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let up = env
            .upload_url_ok("ws1", "fifth.bin", "application/octet-stream", 1_000_000)
            .await;
        // Declares a megabyte, sends one byte: only an answer before the body can come.
        let mut fifth = raw_put(&up.upload_url, 1_000_000, b"y").await;
        let answer = raw_answer(&mut fifth).await;
        if answer.starts_with("http/1.1 503") || Instant::now() > deadline {
            break answer;
        }
    };
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("\r\nretry-after: "), "{answer}");
    let response = env
        .upload(ADMIN, "ws1", None, "m.txt", b"multipart".to_vec())
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(error_of(response).await.1, "unavailable");

    // Another key is not held back by this one's uploads.
    let response = env
        .upload(WS1, "ws1", None, "other.txt", b"other key".to_vec())
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    drop(stalled.pop());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = env
            .upload(ADMIN, "ws1", None, "m.txt", b"multipart".to_vec())
            .await;
        if response.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(Instant::now() < deadline, "the cap was never given back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

contract! {
    /// The cap on one key's uploads holds for the multipart route on either store (the part
    /// of uploads_per_key_are_capped a bucket's server sees): with 4 stalled mid-body, a
    /// 5th is `503 unavailable` with `Retry-After`, another key's upload goes through, and
    /// once one of the four ends the key may upload again.
    async fn multipart_uploads_per_key_are_capped(store) {
        use tokio::io::AsyncWriteExt;
        let env = start_configured(store, |config| config.max_uploads_per_key = 4).await;
        let addr = env.base.trim_start_matches("http://").to_string();
        let mut stalled = Vec::new();
        for i in 0..4 {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let head = format!(
                "POST /v1/files/upload HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\
                 Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n\
                 --b\r\nContent-Disposition: form-data; name=\"workspace_id\"\r\n\r\nws1\r\n\
                 --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s{i}.bin\"\r\n\r\nzz"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stalled.push(stream);
        }
        // The server admits the four as it reads their heads: wait until it has.
        let deadline = Instant::now() + Duration::from_secs(20);
        let refused = loop {
            let response = env.upload(ADMIN, "ws1", None, "m.txt", b"multipart".to_vec()).await;
            if response.status() == StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
                break response;
            }
            assert_eq!(response.status(), StatusCode::CREATED);
        };
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(error_of(refused).await.1, "unavailable");
        let response = env.upload(WS1, "ws1", None, "other.txt", b"other key".to_vec()).await;
        assert_eq!(response.status(), StatusCode::CREATED);

        drop(stalled.pop());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let response = env.upload(ADMIN, "ws1", None, "m.txt", b"multipart".to_vec()).await;
            if response.status() == StatusCode::CREATED {
                break;
            }
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(Instant::now() < deadline, "the cap was never given back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The server sees the dropped connections after the fact.
        drop(stalled);
        wait_for("the dropped uploads' leftovers to go", Duration::from_secs(20), || {
            env.leftovers().is_empty()
        })
        .await;
    }
}

/// Stalled uploads hold no blocking threads: a server whose runtime has only 4 of them,
/// with 50 PUTs and 10 multipart uploads stalled mid-body, still answers a list, and a
/// whole upload still completes.
// Local store only: most of its stalled uploads are PUTs on filedeck's own `/objects/`
// route, and its blocking threads are the local store's file writes.
#[test]
fn stalled_uploads_hold_no_blocking_threads() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse::<SocketAddr>().unwrap());
    config.keys = keys();
    config.max_uploads_per_key = 1000;
    let server = server_rt.block_on(server::bind(config)).unwrap();
    let base = server.base_url();
    let env = Env {
        dir,
        server,
        base,
        http: client(),
        s3: None,
    };
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client_rt.block_on(async {
        use tokio::io::AsyncWriteExt;
        let mut stalled = Vec::new();
        for i in 0..50 {
            let up = env
                .upload_url_ok("ws1", &format!("p{i}.bin"), "application/octet-stream", 1000)
                .await;
            stalled.push(raw_put(&up.upload_url, 1000, b"z").await);
        }
        let addr = env.base.trim_start_matches("http://").to_string();
        for _ in 0..10 {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let head = format!(
                "POST /v1/files/upload HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\
                 Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n\
                 --b\r\nContent-Disposition: form-data; name=\"workspace_id\"\r\n\r\nws1\r\n\
                 --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n\r\nzz"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stalled.push(stream);
        }
        assert_eq!(list_as(&env, WS1, "ws1").await, StatusCode::OK);
        let whole = tokio::time::timeout(
            Duration::from_secs(20),
            env.upload(WS1, "ws1", None, "whole.txt", b"whole".to_vec()),
        )
        .await
        .expect("an upload completes while others stall");
        assert_eq!(whole.status(), StatusCode::CREATED);
        drop(stalled);
    });
    drop(env);
    server_rt.shutdown_background();
}

contract! {
    /// Files seeded together (`put_many`) keep the rules uploads keep: a file and a folder
    /// at one display path refuse the whole batch, nothing of it kept; a display path given
    /// twice is one file (the later) in path style, two in opaque style.
    async fn seeding_keeps_the_rules_within_a_batch(store, style) {
        let env = start_styled(store, style).await;
        let batch = vec![("a".to_string(), b"1".to_vec()), ("a/b".to_string(), b"2".to_vec())];
        assert!(server::put_many(&env.server, "ws1", batch, None).await.is_err());
        assert!(env.list("ws1", &[]).await.files.is_empty());
        env.assert_blobs(0, "a refused batch keeps no blob").await;

        let batch = vec![("x".to_string(), b"1".to_vec()), ("x".to_string(), b"22".to_vec())];
        let stored = server::put_many(&env.server, "ws1", batch, None).await.unwrap();
        assert_eq!(stored.len(), 2);
        let listed = env.list("ws1", &[]).await.files;
        match style {
            KeyStyle::Path => {
                assert_eq!(listed, vec![stored[1].clone()], "the later one");
                assert_eq!(env.download("ws1", "x").await, &b"22"[..]);
            }
            KeyStyle::Opaque => assert_eq!(listed.len(), 2),
        }
        env.assert_blobs(listed.len(), "a blob per file").await;
    }
}

contract! {
    /// A confirm repeated while the first is under way (a client retrying on a timeout)
    /// answers the file too, and one file is listed.
    async fn concurrent_confirms_answer_one_file(store) {
        let env = start(store).await;
        for i in 0..5 {
            let name = format!("c{i}.txt");
            let info = env.upload_url_ok("ws1", &name, "text/plain", 4).await;
            assert_eq!(env.put(&info.upload_url, "text/plain", b"four".to_vec()).await.status(), StatusCode::OK);
            let (a, b) = tokio::join!(
                env.confirm_named("ws1", &info.file_key, &name, 4),
                env.confirm_named("ws1", &info.file_key, &name, 4),
            );
            assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK), "{name}");
            assert_eq!(env.download("ws1", &info.file_key).await, &b"four"[..]);
        }
        assert_eq!(env.list("ws1", &[]).await.files.len(), 5);
        env.assert_blobs(5, "a blob per file").await;
    }
}
