//! Files addressed by what the client knows of them: a key (the download route, then one
//! ranged byte of the file's URL) or a display path (a listing of the narrowest folder,
//! filtered here). Nothing here assumes `key == path + name`.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, RANGE};

use super::client::{Client, check};
use super::error::ApiError;
use super::verify::etag_md5;
use crate::wire::{FileEntry, split_key};

/// What a ranged GET of a file's first byte tells about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteObject {
    /// From `Content-Range` (or `Content-Length` when the range was ignored).
    pub size: Option<u64>,
    /// The raw `ETag`, as sent.
    pub etag: Option<String>,
    /// The hex MD5 of the bytes, when the `ETag` may be read as one (see [`etag_md5`]).
    pub md5: Option<String>,
}

/// What a display path maps to.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// Every listed file whose `path + name` is the display path (two or more only where
    /// keys are opaque).
    pub matches: Vec<FileEntry>,
    /// The listing may have been cut short: "no match" then means "unknown", not "absent".
    pub maybe_incomplete: bool,
}

impl Lookup {
    /// Known to hold no file of that display path.
    pub fn absent(&self) -> bool {
        self.matches.is_empty() && !self.maybe_incomplete
    }
}

/// `bytes START-END/TOTAL` or `bytes */TOTAL` → (START, TOTAL); `None` for either part
/// that is not a number.
pub(crate) fn parse_content_range(v: &str) -> Option<(Option<u64>, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let start = range
        .split_once('-')
        .and_then(|(s, _)| s.trim().parse().ok());
    Some((start, total.trim().parse().ok()))
}

impl Client {
    /// The file `key`, addressed directly: its download URL (`404`: gone, `Ok(None)`), then
    /// `Range: bytes=0-0` on that URL for its size and `ETag`. Not `HEAD`: a URL presigned
    /// for GET refuses it on real S3, the method being part of the signature.
    pub async fn stat(&self, workspace: &str, key: &str) -> Result<Option<RemoteObject>, ApiError> {
        let what = format!("looking up {key}");
        let mut refreshed = false;
        loop {
            let url = match self.download_url(workspace, key).await {
                Ok(u) => u,
                Err(ApiError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let result = self
                .inner
                .cfg
                .retry
                .run(&what, |_| async {
                    let req = self
                        .inner
                        .http
                        .get(url.clone())
                        .header(RANGE, "bytes=0-0")
                        .timeout(self.inner.cfg.request_timeout);
                    let resp = req.send().await.map_err(ApiError::from_transport)?;
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    // An empty object has no byte 0: `416` with `bytes */0`.
                    if status != StatusCode::RANGE_NOT_SATISFIABLE {
                        check(resp, &what).await?;
                    }
                    Ok((status, headers))
                })
                .await;
            let (status, headers) = match result {
                Ok(r) => r,
                Err(ApiError::UrlExpired) if !refreshed => {
                    refreshed = true;
                    continue;
                }
                Err(ApiError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
            let size = match status {
                StatusCode::PARTIAL_CONTENT | StatusCode::RANGE_NOT_SATISFIABLE => {
                    header(CONTENT_RANGE)
                        .and_then(parse_content_range)
                        .and_then(|(_, total)| total)
                }
                // The range was ignored: the whole body was offered (and is dropped unread).
                _ => header(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
            };
            return Ok(Some(RemoteObject {
                size,
                etag: header(ETAG).map(str::to_string),
                md5: etag_md5(&headers),
            }));
        }
    }

    /// Every file listed at exactly `display` (`path + name`), from a listing of its folder
    /// only.
    pub async fn lookup(&self, workspace: &str, display: &str) -> Result<Lookup, ApiError> {
        let folder = split_key(display).0;
        let listing = self.list_all(workspace, folder).await?;
        Ok(Lookup {
            matches: listing
                .files
                .into_iter()
                .filter(|f| f.display_key() == display)
                .collect(),
            maybe_incomplete: listing.maybe_incomplete,
        })
    }

    /// The listing's entry for `key`, found under the folder of `display` (where the file was
    /// listed before); `Ok(None)` when that folder no longer lists it.
    pub async fn entry_by_key(
        &self,
        workspace: &str,
        key: &str,
        display: &str,
    ) -> Result<Option<FileEntry>, ApiError> {
        let lookup = self.lookup(workspace, display).await?;
        Ok(lookup.matches.into_iter().find(|f| f.key == key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(
            parse_content_range("bytes 0-0/10"),
            Some((Some(0), Some(10)))
        );
        assert_eq!(parse_content_range("bytes */0"), Some((None, Some(0))));
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((Some(0), None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
