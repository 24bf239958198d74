//! The presigned byte routes, which behave like S3: `GET`/`HEAD` with ranges, and `PUT` of a
//! large upload's bytes. No `Authorization`: the URL's signature is the credential.

use std::io::SeekFrom;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::blob::BlobWriter;
use super::error::ErrorReply;
use super::headers::content_disposition;
use super::presign::Target;
use super::store::StoredFile;
use super::upload::guess_content_type;
use super::{AppState, KeyStyle};
use crate::wire::{MAX_PUT_BYTES, split_key};

/// Read size of downloads; each download to a slow reader holds a buffer of this size.
const READ_CHUNK: usize = 64 * 1024;

/// `GET` and `HEAD` on a presigned download URL.
pub(crate) async fn get_object(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ErrorReply> {
    let target = state.signer.verify("GET", &uri)?;
    let (stored, mut file) = open_object(&state, &target).await?;
    let entry = stored.entry;
    // The store always knows a size; only other servers may leave it out.
    let size = entry.size.unwrap_or_default();
    let etag = entry.etag.unwrap_or_default();
    let content_type = entry
        .content_type
        .unwrap_or_else(|| "application/octet-stream".to_string());

    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(_) if !if_range_matches(&headers, &etag) => RangeRequest::Full,
        Some(value) => parse_range(value, size),
        None => RangeRequest::Full,
    };
    let (status, span) = match range {
        RangeRequest::Full => (StatusCode::OK, None),
        RangeRequest::Partial(span) => (StatusCode::PARTIAL_CONTENT, Some(span)),
        RangeRequest::Unsatisfiable => {
            let mut response = ErrorReply::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "invalid_request",
                format!("the requested range is not within the {size} bytes of the object"),
            )
            .into_response();
            insert(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes */{size}"),
            );
            insert(&mut response, header::ACCEPT_RANGES, "bytes");
            return Ok(response);
        }
    };
    let (start, length) = match &span {
        Some(span) => (*span.start(), span.end() - span.start() + 1),
        None => (0, size),
    };

    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(|e| ErrorReply::internal("cannot seek blob", e))?;
        }
        let stats = state.stats.clone();
        let stream =
            ReaderStream::with_capacity(file.take(length), READ_CHUNK).inspect(move |chunk| {
                if let Ok(chunk) = chunk {
                    stats
                        .bytes_sent
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            });
        Body::from_stream(stream)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    insert(&mut response, header::CONTENT_TYPE, &content_type);
    insert(&mut response, header::CONTENT_LENGTH, &length.to_string());
    insert(&mut response, header::ETAG, &etag);
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    // The bytes are a user's upload, served from the API's own origin: a browser must
    // neither guess a type (an upload sniffed as HTML would run as this origin) nor render
    // it, only save it, under its name (not its path: a path is no file name).
    insert(&mut response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    insert(
        &mut response,
        header::CONTENT_DISPOSITION,
        &content_disposition(&entry.name),
    );
    if let Some(modified) = entry.created_at.as_deref().and_then(|t| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    }) {
        insert(
            &mut response,
            header::LAST_MODIFIED,
            &httpdate::fmt_http_date(modified.into()),
        );
    }
    if let Some(span) = span {
        insert(
            &mut response,
            header::CONTENT_RANGE,
            &format!("bytes {}-{}/{size}", span.start(), span.end()),
        );
    }
    Ok(response)
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Look the key up and open its blob. A blob replaced between the lookup and the open is
/// gone: look again.
async fn open_object(
    state: &AppState,
    target: &Target,
) -> Result<(StoredFile, tokio::fs::File), ErrorReply> {
    for _ in 0..3 {
        let store = state.store.clone();
        let (ws, key) = (target.workspace.clone(), target.key.clone());
        let stored = state
            .db
            .run(move || store.get(&ws, &key))
            .await
            .map_err(|e| ErrorReply::internal("lookup task", e))??
            .ok_or_else(|| ErrorReply::not_found(format!("no file {}", target.key)))?;
        match tokio::fs::File::open(&stored.blob_path).await {
            Ok(file) => return Ok((stored, file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ErrorReply::internal("cannot open blob", e)),
        }
    }
    Err(ErrorReply::internal(
        "cannot open blob",
        "the blob keeps vanishing",
    ))
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    Full,
    Partial(RangeInclusive<u64>),
    Unsatisfiable,
}

/// `If-Range` absent, or equal to the current ETag (strong comparison).
fn if_range_matches(headers: &HeaderMap, etag: &str) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(value) => value.to_str().is_ok_and(|v| v.trim() == etag),
    }
}

/// One number of a range: decimal digits only, and it may be too big for a `u64`.
enum RangeNumber {
    Value(u64),
    Overflow,
    Invalid,
}

fn range_number(text: &str) -> RangeNumber {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return RangeNumber::Invalid;
    }
    // Only digits: a parse failure can only be overflow.
    text.parse()
        .map_or(RangeNumber::Overflow, RangeNumber::Value)
}

/// One `bytes=` range. Syntax we do not serve (other units, several ranges, garbage) is
/// ignored, as RFC 9110 allows: the whole object is sent. A number too big for a `u64` is
/// well-formed but names bytes no object has: unsatisfiable, never the whole object.
pub(crate) fn parse_range(value: &str, size: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let suffix = match range_number(last) {
            RangeNumber::Value(suffix) => suffix,
            RangeNumber::Overflow => return RangeRequest::Unsatisfiable,
            RangeNumber::Invalid => return RangeRequest::Full,
        };
        if suffix == 0 || size == 0 {
            return RangeRequest::Unsatisfiable;
        }
        return RangeRequest::Partial(size.saturating_sub(suffix)..=size - 1);
    }
    let start = match range_number(first) {
        RangeNumber::Value(start) => start,
        RangeNumber::Overflow => return RangeRequest::Unsatisfiable,
        RangeNumber::Invalid => return RangeRequest::Full,
    };
    let end = if last.is_empty() {
        None
    } else {
        match range_number(last) {
            RangeNumber::Value(end) if end >= start => Some(end),
            RangeNumber::Overflow => return RangeRequest::Unsatisfiable,
            _ => return RangeRequest::Full,
        }
    };
    if start >= size {
        return RangeRequest::Unsatisfiable;
    }
    let end = end.map_or(size - 1, |end| end.min(size - 1));
    RangeRequest::Partial(start..=end)
}

/// `PUT` on a presigned upload URL: the bytes of a large upload, kept as the key's pending
/// upload until the confirm.
pub(crate) async fn put_object(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ErrorReply> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(ErrorReply::invalid(
            "a presigned URL carries its own credentials: send no Authorization header",
        ));
    }
    let length_required = || {
        ErrorReply::new(
            StatusCode::LENGTH_REQUIRED,
            "invalid_request",
            "Content-Length is required (chunked transfer encoding is not accepted)",
        )
    };
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(length_required());
    }
    let length: u64 = match headers.get(header::CONTENT_LENGTH) {
        // HTTP/1.1 without Content-Length or Transfer-Encoding: an empty body (what clients
        // send for a zero-byte PUT). Any other body of unknown length is refused.
        None if body.size_hint().exact() == Some(0) => 0,
        None => return Err(length_required()),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| ErrorReply::invalid("Content-Length is not a number"))?,
    };
    if length > MAX_PUT_BYTES {
        return Err(ErrorReply::invalid(format!(
            "one PUT is limited to {MAX_PUT_BYTES} bytes"
        )));
    }
    let target = state.signer.verify("PUT", &parts.uri)?;
    let terms = target.put.ok_or_else(ErrorReply::bad_signature)?;
    // Where the confirm will put the file. An opaque key carries its display path in the
    // URL; a path key is its display path. A URL made in the other style (the data
    // directory was emptied and served anew) would break that: refuse it.
    let display = match (state.store.key_style(), terms.display) {
        (KeyStyle::Path, None) => {
            let (path, name) = split_key(&target.key);
            (path.to_string(), name.to_string())
        }
        (KeyStyle::Opaque, Some(display)) => display,
        _ => {
            return Err(ErrorReply::forbidden(
                "this upload URL was made for the other key style",
            ));
        }
    };
    let content_type = match headers.get(header::CONTENT_TYPE) {
        None => "",
        Some(v) => v.to_str().map_err(|_| ErrorReply::bad_signature())?.trim(),
    };
    if content_type != terms.content_type.trim() || length != terms.size {
        return Err(ErrorReply::bad_signature());
    }
    // Refused before the body is read; `put_pending` checks again, for a confirm that
    // lands while the body is arriving.
    let store = state.store.clone();
    let upload = terms.upload.clone();
    if state
        .db
        .run(move || store.is_spent(&upload))
        .await
        .map_err(|e| ErrorReply::internal("lookup task", e))??
    {
        return Err(ErrorReply::forbidden(spent_message(&target.key)));
    }

    // Both answered before the body is read, and held until the answer.
    let _permit = state
        .inflight
        .admit(&terms.key_id)
        .ok_or_else(ErrorReply::busy)?;
    let mut turn = state.inflight.begin(&terms.upload);

    let mut writer = BlobWriter::create(state.store.temp_path())
        .await
        .map_err(|e| ErrorReply::internal("cannot create temp file", e))?;
    let mut stream = body.into_data_stream();
    loop {
        // Dropping the writer on the way out removes the temp file.
        let chunk = tokio::select! {
            chunk = stream.next() => chunk,
            () = turn.superseded() => return Err(superseded()),
        };
        let Some(chunk) = chunk else { break };
        let chunk = chunk.map_err(|e| {
            tracing::debug!(error = %e, "PUT body unreadable");
            ErrorReply::invalid("the body ended before Content-Length bytes arrived")
        })?;
        writer
            .write(chunk)
            .await
            .map_err(|e| ErrorReply::internal("cannot write upload", e))?;
    }
    if writer.received() != length {
        return Err(ErrorReply::invalid(format!(
            "received {} bytes, Content-Length said {length}",
            writer.received()
        )));
    }
    let received = writer
        .finish()
        .await
        .map_err(|e| ErrorReply::internal("cannot store upload", e))?;

    let stored_type = if terms.content_type.trim().is_empty() {
        guess_content_type(&display.1)
    } else {
        terms.content_type.trim().to_string()
    };
    // A newer PUT that started while this body arrived wins, even when this one ends at
    // the same moment: the check and the placing happen under one lock that a newer PUT
    // must take before placing its own bytes.
    let Some(place) = turn.place().await else {
        return Err(superseded());
    };
    let store = state.store.clone();
    let etag = state
        .db
        .run(move || {
            // The job may run well after it was queued: a newer PUT that started
            // meanwhile wins, and waits on this lock for the answer.
            if !place.still_newest() {
                return Ok(None);
            }
            let blob = store.place_blob(received)?;
            let etag = blob.etag().to_string();
            store.put_pending(
                &target.workspace,
                &target.key,
                (&display.0, &display.1),
                &stored_type,
                (&terms.upload, target.expires),
                blob,
            )?;
            drop(place);
            Ok::<_, super::error::StoreError>(Some(etag))
        })
        .await
        .map_err(|e| ErrorReply::internal("upload task", e))??
        .ok_or_else(superseded)?;

    let mut response = StatusCode::OK.into_response();
    insert(&mut response, header::ETAG, &etag);
    Ok(response)
}

fn superseded() -> ErrorReply {
    ErrorReply::conflict("superseded by a newer PUT on the same URL")
}

fn spent_message(key: &str) -> String {
    format!("the upload {key} is confirmed: its URL takes no more bytes")
}

#[cfg(test)]
mod tests {
    use super::RangeRequest::{Full, Partial, Unsatisfiable};
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 10), Partial(0..=9));
        assert_eq!(parse_range("bytes=3-5", 10), Partial(3..=5));
        assert_eq!(parse_range("bytes=3-50", 10), Partial(3..=9));
        assert_eq!(parse_range("bytes=-4", 10), Partial(6..=9));
        assert_eq!(parse_range("bytes=-40", 10), Partial(0..=9));
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-3", 10), Full);
        assert_eq!(parse_range("bytes=0-1,3-4", 10), Full);
        assert_eq!(parse_range("items=0-1", 10), Full);
        let huge = "99999999999999999999999";
        assert_eq!(parse_range(&format!("bytes={huge}-"), 10), Unsatisfiable);
        assert_eq!(parse_range(&format!("bytes=0-{huge}"), 10), Unsatisfiable);
        assert_eq!(parse_range(&format!("bytes=-{huge}"), 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=+3-5", 10), Full);
    }
}
