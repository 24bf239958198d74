//! The routes of the Files API: list, workspaces, download URL, delete, and the request
//! plumbing (auth, error mapping, retries) the transfer modules share.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{self, ApiError};
use super::retry::{RetryPolicy, parse_retry_after};
use crate::config::{API_KEY_ENV, LARGE_UPLOAD_THRESHOLD_ENV, STALL_TIMEOUT_ENV, whole_number};
use crate::wire::{DownloadUrlResponse, FileEntry, LARGE_UPLOAD_THRESHOLD, Workspace, split_key};

/// The API key. Its `Debug` never shows it; it leaves this type only as a header value
/// marked sensitive.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    /// The key from `FILEDECK_API_KEY`, if set and not empty.
    pub fn from_env() -> Option<Self> {
        crate::config::text(API_KEY_ENV).map(ApiKey)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Everything that shapes a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoint: Url,
    pub api_key: ApiKey,
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// Whole-request limit for the small JSON routes.
    pub request_timeout: Duration,
    /// A transfer with no byte moving for this long is abandoned (and retried).
    pub stall_timeout: Duration,
    /// Files larger than this take the three-step large-upload flow.
    pub large_threshold: u64,
    /// The page size asked of the list route (the reference server's maximum).
    pub list_limit: u32,
    /// Read size for streamed uploads.
    pub chunk_size: usize,
    /// The cap on the total rate of all transfers of this client (uploads and downloads
    /// together), bytes per second; `None`: no cap.
    pub limit_rate: Option<u64>,
}

impl ClientConfig {
    /// Defaults, then `FILEDECK_LARGE_UPLOAD_THRESHOLD` and `FILEDECK_STALL_TIMEOUT` (an
    /// unparsable value is an error naming it); the caller sets the cap from the settings.
    pub fn new(endpoint: &str, api_key: ApiKey) -> Result<Self, ApiError> {
        let mut endpoint = Url::parse(endpoint.trim())
            .map_err(|e| ApiError::Local(format!("the endpoint {endpoint:?} is not a URL: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(ApiError::Local(format!(
                "the endpoint must be http:// or https://, not {}://",
                endpoint.scheme()
            )));
        }
        // `join` replaces the last path segment unless the base ends in '/'.
        if !endpoint.path().ends_with('/') {
            let p = format!("{}/", endpoint.path());
            endpoint.set_path(&p);
        }
        let mut cfg = ClientConfig {
            endpoint,
            api_key,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
            stall_timeout: Duration::from_secs(60),
            large_threshold: LARGE_UPLOAD_THRESHOLD,
            list_limit: 10_000,
            chunk_size: 256 * 1024,
            limit_rate: None,
        };
        if let Some(v) = whole_number(LARGE_UPLOAD_THRESHOLD_ENV).map_err(ApiError::Local)? {
            cfg.large_threshold = v;
        }
        if let Some(v) = whole_number(STALL_TIMEOUT_ENV).map_err(ApiError::Local)? {
            cfg.stall_timeout = Duration::from_secs(v.max(1));
        }
        Ok(cfg)
    }
}

/// A cheap-to-clone handle on the Files API.
#[derive(Clone, Debug)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    pub(super) cfg: ClientConfig,
    auth: HeaderValue,
    /// The cap on every transfer of this client together (`limit_rate`).
    pub(super) limiter: Option<Arc<super::throttle::Limiter>>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub files: Vec<FileEntry>,
    pub next_cursor: Option<String>,
    /// A full page came back without a cursor: the server may have cut the listing short.
    pub maybe_incomplete: bool,
}

/// A whole listing, every page followed.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub files: Vec<FileEntry>,
    pub maybe_incomplete: bool,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Result<Self, ApiError> {
        // reqwest reads HTTPS_PROXY/HTTP_PROXY/NO_PROXY itself, and the rustls platform
        // verifier trusts the system's CA store, corporate CAs included.
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .tcp_nodelay(true)
            .redirect(super::redirect::policy())
            .user_agent(concat!("filedeck/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::from_transport)?;
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", cfg.api_key.0)).map_err(|_| {
                ApiError::Local("the API key contains characters not allowed in a header".into())
            })?;
        auth.set_sensitive(true);
        Ok(Client {
            inner: Arc::new(Inner {
                limiter: cfg
                    .limit_rate
                    .map(|r| Arc::new(super::throttle::Limiter::new(r))),
                http,
                cfg,
                auth,
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    pub(super) fn url(&self, route: &str) -> Result<Url, ApiError> {
        self.inner
            .cfg
            .endpoint
            .join(route)
            .map_err(|e| ApiError::Local(format!("bad route {route}: {e}")))
    }

    /// A request to an API route, carrying the key. Presigned URLs never go through here.
    pub(super) fn api(&self, method: Method, route: &str) -> Result<RequestBuilder, ApiError> {
        Ok(self
            .inner
            .http
            .request(method, self.url(route)?)
            .header(AUTHORIZATION, self.inner.auth.clone()))
    }

    /// Send one request; a non-2xx status becomes the matching [`ApiError`].
    pub(super) async fn send(req: RequestBuilder, what: &str) -> Result<Response, ApiError> {
        let resp = req.send().await.map_err(ApiError::from_transport)?;
        check(resp, what).await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        what: &str,
    ) -> Result<T, ApiError> {
        let req = req.timeout(self.inner.cfg.request_timeout);
        let resp = Self::send(req, what).await?;
        let body = read_answer(resp, what).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::Protocol(format!("{what}: not the expected JSON ({e})")))
    }

    /// One page of `GET /v1/files`.
    pub async fn list_page(
        &self,
        workspace: &str,
        prefix: &str,
        cursor: Option<&str>,
    ) -> Result<ListPage, ApiError> {
        let limit = self.inner.cfg.list_limit;
        let what = format!("listing {workspace}/{prefix}");
        // A service may match `prefix` against `path` alone, so `raw/sam` would find
        // nothing: only the folder part is sent, the rest is filtered here.
        let folder = split_key(prefix).0;
        let body = self
            .inner
            .cfg
            .retry
            .run(&what, |_| async {
                let mut q: Vec<(&str, String)> = vec![
                    ("workspace_id", workspace.to_string()),
                    ("limit", limit.to_string()),
                ];
                if !folder.is_empty() {
                    q.push(("prefix", folder.to_string()));
                }
                if let Some(c) = cursor {
                    q.push(("cursor", c.to_string()));
                }
                let req = self
                    .api(Method::GET, "v1/files")?
                    .query(&q)
                    .timeout(self.inner.cfg.request_timeout);
                let resp = Self::send(req, &what).await?;
                read_answer(resp, &what).await
            })
            .await?;
        let mut page = parse_list(&body, limit, &what)?;
        // Also when the prefix is a folder: a service that ignores `prefix` (or a hostile
        // one) would otherwise have `get raw/` write whatever else it lists.
        if !prefix.is_empty() {
            page.files.retain(|f| f.display_key().starts_with(prefix));
        }
        Ok(page)
    }

    /// Every page of a listing, in order.
    pub async fn list_all(&self, workspace: &str, prefix: &str) -> Result<Listing, ApiError> {
        let mut out = Listing::default();
        let mut cursor: Option<String> = None;
        // A cursor seen before would go round for ever (A, B, A, B…).
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self.list_page(workspace, prefix, cursor.as_deref()).await?;
            out.files.extend(page.files);
            out.maybe_incomplete |= page.maybe_incomplete;
            match page.next_cursor {
                Some(c) if seen.insert(c.clone()) => cursor = Some(c),
                Some(_) => {
                    return Err(ApiError::Protocol(
                        "the server returned a cursor it had returned before".into(),
                    ));
                }
                None => return Ok(out),
            }
        }
    }

    /// `GET /v1/workspaces`; `None` when the server does not offer the route.
    pub async fn workspaces(&self) -> Result<Option<Vec<Workspace>>, ApiError> {
        let what = "listing workspaces";
        let result = self
            .inner
            .cfg
            .retry
            .run(what, |_| async {
                self.json::<serde_json::Value>(self.api(Method::GET, "v1/workspaces")?, what)
                    .await
            })
            .await;
        let value = match result {
            Ok(v) => v,
            Err(
                ApiError::NotFound(_)
                | ApiError::Forbidden(_)
                | ApiError::Protocol(_)
                | ApiError::InvalidRequest(_),
            ) => return Ok(None),
            Err(ApiError::Server {
                status: 405 | 501, ..
            }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let list = value.get("workspaces").cloned().unwrap_or(value);
        match serde_json::from_value::<Vec<Workspace>>(list) {
            Ok(ws) => Ok(Some(ws)),
            Err(_) => Ok(None),
        }
    }

    /// A presigned GET URL for `key`.
    pub async fn download_url(&self, workspace: &str, key: &str) -> Result<Url, ApiError> {
        Ok(self.download_link(workspace, key).await?.0)
    }

    /// A presigned GET URL for `key` and how many seconds it lives, when the server says.
    pub async fn download_link(
        &self,
        workspace: &str,
        key: &str,
    ) -> Result<(Url, Option<u64>), ApiError> {
        let what = format!("download URL for {key}");
        let resp: DownloadUrlResponse = self
            .inner
            .cfg
            .retry
            .run(&what, |_| async {
                let req = self
                    .api(Method::GET, "v1/files/download")?
                    .query(&[("workspace_id", workspace), ("key", key)]);
                self.json(req, &what).await
            })
            .await?;
        Ok((self.absolute(&resp.url)?, resp.expires_in))
    }

    /// Presigned URLs are normally absolute (often on another host); accept a relative one.
    pub(super) fn absolute(&self, url: &str) -> Result<Url, ApiError> {
        let url = Url::parse(url).or_else(|_| self.inner.cfg.endpoint.join(url));
        // Fetched, or copied as "a download link": never `javascript:`, `file:` or any
        // other scheme a server may answer.
        url.ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                ApiError::Protocol("the server returned an unusable presigned URL".into())
            })
    }

    /// `DELETE /v1/files`. A `404` on a retry counts as success: the first attempt landed.
    pub async fn delete(&self, workspace: &str, key: &str) -> Result<(), ApiError> {
        let what = &format!("deleting {key}");
        self.inner
            .cfg
            .retry
            .run(what, |attempt| async move {
                let req = self
                    .api(Method::DELETE, "v1/files")?
                    .query(&[("workspace_id", workspace), ("key", key)])
                    .timeout(self.inner.cfg.request_timeout);
                match Self::send(req, what).await {
                    Ok(_) => Ok(()),
                    Err(ApiError::NotFound(_)) if attempt > 0 => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .await
    }
}

/// Turn a non-2xx response into an error, reading at most a small body.
pub(super) async fn check(resp: Response, what: &str) -> Result<Response, ApiError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = read_capped(resp, 16 * 1024).await;
    let mut err = error::from_status(status.as_u16(), &body, what);
    if let ApiError::Server {
        retry_after: slot, ..
    } = &mut err
    {
        *slot = retry_after;
    }
    if status == StatusCode::TOO_MANY_REQUESTS && !matches!(err, ApiError::Server { .. }) {
        err = ApiError::Server {
            status: 429,
            message: format!("{what}: too many requests"),
            retry_after,
        };
    }
    Err(err)
}

/// The largest JSON answer read: a page of 10,000 file objects is a few MB; a server that
/// never ends its answer must not fill memory.
const MAX_ANSWER: usize = 64 << 20;

/// The body of a JSON answer, refused past [`MAX_ANSWER`].
pub(super) async fn read_answer(mut resp: Response, what: &str) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ApiError::from_transport)? {
        if buf.len() + chunk.len() > MAX_ANSWER {
            return Err(ApiError::Protocol(format!(
                "{what}: the answer is larger than {} MiB",
                MAX_ANSWER >> 20
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_capped(mut resp: Response, cap: usize) -> String {
    let mut buf = Vec::new();
    while buf.len() < cap {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c),
            _ => break,
        }
    }
    buf.truncate(cap);
    String::from_utf8_lossy(&buf).into_owned()
}

/// A listing object; `next_cursor` is `Some(_)` whenever the field is present, null included.
#[derive(serde::Deserialize)]
struct ListObject {
    files: Vec<FileEntry>,
    #[serde(default, alias = "nextCursor", deserialize_with = "present")]
    next_cursor: Option<serde_json::Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    use serde::Deserialize;
    Ok(Some(serde_json::Value::deserialize(d)?))
}

/// Parse a page straight into file entries (no intermediate JSON tree: a page may hold
/// ten thousand of them).
pub(crate) fn parse_list(body: &[u8], limit: u32, what: &str) -> Result<ListPage, ApiError> {
    let bad = |e: serde_json::Error| ApiError::Protocol(format!("{what}: not a listing ({e})"));
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    // `speaks_cursors`: the answer has a cursor field (even null), so a missing cursor
    // means "no more", not "this server cannot say".
    let (files, cursor, speaks_cursors) = if first == Some(b'[') {
        (
            serde_json::from_slice::<Vec<FileEntry>>(body).map_err(bad)?,
            None,
            false,
        )
    } else {
        let obj: ListObject = serde_json::from_slice(body).map_err(bad)?;
        let speaks = obj.next_cursor.is_some();
        let cursor = match obj.next_cursor {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        (obj.files, cursor, speaks)
    };
    let count = files.len();
    let files: Vec<FileEntry> = files.into_iter().map(FileEntry::normalise).collect();
    // Without a cursor we cannot tell a complete listing from one cut at the server's
    // cap; a page as long as we asked for, or at a usual cap, may be either.
    let maybe_incomplete = !speaks_cursors
        && count > 0
        && (count as u64 >= u64::from(limit) || matches!(count, 100 | 1000 | 5000 | 10_000));
    Ok(ListPage {
        files,
        next_cursor: cursor,
        maybe_incomplete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_tolerantly() {
        let v = serde_json::json!([{"key": "opaque-1", "name": "a.vcf", "path": "raw", "size": 3, "extra": 1}]);
        let page = parse_list(v.to_string().as_bytes(), 10_000, "x").unwrap();
        assert_eq!(page.files[0].display_key(), "raw/a.vcf");
        assert!(!page.maybe_incomplete);
        let v = serde_json::json!({"files": [{"key": "x/y.txt", "size": 1}], "next_cursor": "c"});
        let page = parse_list(v.to_string().as_bytes(), 10_000, "x").unwrap();
        assert_eq!(page.files[0].name, "y.txt");
        assert_eq!(page.files[0].path, "x/");
        assert_eq!(page.next_cursor.as_deref(), Some("c"));
        let many: Vec<_> = (0..100)
            .map(|i| serde_json::json!({"key": format!("f{i}")}))
            .collect();
        let bare = serde_json::Value::Array(many.clone()).to_string();
        assert!(
            parse_list(bare.as_bytes(), 10_000, "x")
                .unwrap()
                .maybe_incomplete
        );
        // A server that speaks cursors says "no more" with a null cursor.
        let v = serde_json::json!({"files": many, "next_cursor": null}).to_string();
        assert!(!parse_list(v.as_bytes(), 100, "x").unwrap().maybe_incomplete);
    }

    #[test]
    fn key_never_in_debug() {
        let cfg = ClientConfig::new("http://h:1", ApiKey::new("sekrit-123")).unwrap();
        let c = Client::new(cfg).unwrap();
        assert!(!format!("{c:?}").contains("sekrit"));
    }
}
