//! One byte range of a file's presigned URL, for previews: `Range: bytes=a-b`, never the
//! whole object. A server that ignores `Range` (a `200` with the whole file) is read up to
//! the limit the caller gives, then the connection is dropped.

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use url::Url;

use super::client::{Client, check};
use super::error::ApiError;
use super::remote::parse_content_range;

/// What a ranged GET brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeBytes {
    /// The bytes from the asked start (or from 0 when the range was ignored).
    pub bytes: Vec<u8>,
    /// Where `bytes` start in the file.
    pub start: u64,
    /// The file's size, when the answer said.
    pub total: Option<u64>,
    /// The server ignored the range and sent the file from its start.
    pub ignored_range: bool,
    /// The file ends within (or before) what was asked.
    pub eof: bool,
}

impl Client {
    /// Bytes `start..end` (end exclusive) of the file behind `url`. When the server
    /// answers the whole file instead (`200`), at most `limit` bytes of it are read.
    pub async fn get_range(
        &self,
        url: &Url,
        start: u64,
        end: u64,
        limit: u64,
    ) -> Result<RangeBytes, ApiError> {
        let what = "preview";
        let last = end.saturating_sub(1).max(start);
        let req = self
            .inner
            .http
            .get(url.clone())
            .header(RANGE, format!("bytes={start}-{last}"))
            .timeout(self.inner.cfg.request_timeout);
        let resp = req.send().await.map_err(ApiError::from_transport)?;
        if resp.status() == StatusCode::RANGE_NOT_SATISFIABLE {
            // Past the end: the file is shorter than `start`.
            let total = resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range)
                .and_then(|(_, t)| t);
            return Ok(RangeBytes {
                start,
                total,
                eof: true,
                ..RangeBytes::default()
            });
        }
        let resp = check(resp, what).await?;
        let partial = resp.status() == StatusCode::PARTIAL_CONTENT;
        let (from, total, want) = if partial {
            let (s, total) = resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_content_range)
                .unwrap_or((Some(start), None));
            if s != Some(start) {
                return Err(ApiError::Protocol(format!(
                    "asked for bytes from {start}, the server sent them from {}",
                    s.map_or("an unknown place".to_string(), |s| s.to_string())
                )));
            }
            (start, total, end.saturating_sub(start))
        } else {
            (0, resp.content_length(), limit)
        };
        let want_usize = usize::try_from(want).unwrap_or(usize::MAX);
        let mut bytes = Vec::with_capacity(want_usize.min(16 << 20));
        let mut stream = resp.bytes_stream();
        let mut ended = false;
        while bytes.len() < want_usize {
            match stream.next().await {
                Some(Ok(chunk)) => {
                    let room = want_usize - bytes.len();
                    bytes.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or(&chunk));
                }
                Some(Err(e)) => return Err(ApiError::from_transport(e)),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        // Dropping the stream unread closes the connection: a server that ignored the
        // range stops sending there.
        drop(stream);
        let got = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let eof = match total {
            Some(t) => from.saturating_add(got) >= t,
            None => ended,
        };
        if let Some(t) = total
            && ended
            && from.saturating_add(got) < t.min(from.saturating_add(want))
        {
            return Err(ApiError::Protocol(format!(
                "the connection ended after {got} of the {} bytes asked",
                t.min(from.saturating_add(want)) - from
            )));
        }
        Ok(RangeBytes {
            bytes,
            start: from,
            total,
            ignored_range: !partial,
            eof,
        })
    }
}
