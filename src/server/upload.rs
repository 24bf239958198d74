//! `POST /v1/files/upload`: multipart upload, streamed to disk, limited to 500 MiB.
//!
//! The bearer token is checked before anything is read ([`Authed`] runs first), and a key
//! granted no workspace is refused then too: nothing it sends could be stored. Fields may
//! come in any order: a `file` part before `workspace_id` is streamed to a temp file anyway
//! (bounded by the limit) and the workspace checked afterwards; the temp file goes when the
//! request ends without storing it. The `file` part is answered `413` as soon as its
//! bytes pass the limit, and the temp file is removed. The key is `path + filename` in path
//! style (replacing a file there), a new opaque key in opaque style (see the store).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::Authed;
use super::blob::{BlobWriter, Received};
use super::error::ErrorReply;
use super::s3::{Bucket, BucketBlob, BucketFile};
use super::store::NewFile;
use super::{AppState, validate};
use crate::wire::MULTIPART_LIMIT_BYTES;

/// Slack allowed above the file limit in a declared `Content-Length` (boundaries, fields).
const ENVELOPE_SLACK: u64 = 64 * 1024;
/// Largest text field (`workspace_id`, `path`, `description`), and the most bytes of unknown
/// fields read before giving up.
const TEXT_FIELD_LIMIT: usize = 64 * 1024;

/// Content types that say nothing about the bytes.
const GENERIC_TYPES: &[&str] = &["application/octet-stream", "binary/octet-stream"];

/// The content type for a file named `name`, from the table the client uses too.
pub(crate) fn guess_content_type(name: &str) -> String {
    crate::mime::content_type(name).to_string()
}

/// The type to store: the part's own, unless it is generic or merely what a client guessed
/// from the name for a format we know better; else a guess from the name.
fn choose_content_type(declared: Option<&str>, name: &str) -> String {
    let declared = declared
        .map(str::trim)
        .filter(|t| !t.is_empty() && validate::content_type(t).is_ok())
        .filter(|t| !GENERIC_TYPES.iter().any(|g| t.eq_ignore_ascii_case(g)));
    match (declared, crate::mime::genomics_type(name)) {
        (Some(t), Some(_))
            if mime_guess::from_path(name)
                .iter_raw()
                .any(|guess| t.eq_ignore_ascii_case(guess)) =>
        {
            guess_content_type(name)
        }
        (Some(t), _) => t.to_string(),
        (None, _) => guess_content_type(name),
    }
}

struct ReceivedFile {
    filename: String,
    content_type: String,
    body: Body,
}

/// A received `file` part: in a temp file (local store), or already in the bucket (S3
/// store; removed from it unless recorded).
enum Body {
    Disk(Received),
    Bucket(BucketBlob),
}

pub(crate) async fn upload(
    State(state): State<Arc<AppState>>,
    auth: Authed,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ErrorReply> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MULTIPART_LIMIT_BYTES + ENVELOPE_SLACK) {
        return Err(too_large());
    }
    if auth.key().workspaces.is_empty() {
        return Err(ErrorReply::forbidden(
            "this API key may not use any workspace",
        ));
    }
    // Answered before the body is read; held until the answer.
    let _permit = state
        .inflight
        .admit(&super::inflight::key_id(&auth.key().token))
        .ok_or_else(ErrorReply::busy)?;
    // A body streamed into the bucket is held in memory a few parts at a time: bounded
    // across all keys.
    let _bucket_turn = match &state.bucket {
        Some(bucket) => Some(bucket.admit_upload().ok_or_else(|| {
            ErrorReply::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server has as many uploads into its object store running as it allows; \
                 retry later",
            )
        })?),
        None => None,
    };
    let mut multipart = multipart.map_err(|e| {
        ErrorReply::invalid(format!("expected multipart/form-data: {}", e.body_text()))
    })?;

    let mut workspace: Option<String> = None;
    let mut path: Option<String> = None;
    let mut description: Option<String> = None;
    let mut file: Option<ReceivedFile> = None;
    let mut other_bytes = 0usize;

    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or("") {
            "workspace_id" => {
                let ws = read_text(&mut field, "workspace_id").await?;
                // Checked now, so a bad workspace is refused before a following file is read.
                workspace = Some(auth.workspace(Some(ws.trim()))?);
            }
            "path" => {
                let p = read_text(&mut field, "path").await?;
                path = Some(validate::folder_path(&p).map_err(ErrorReply::invalid)?);
            }
            "description" => {
                description = Some(read_text(&mut field, "description").await?);
            }
            "file" => {
                if file.is_some() {
                    return Err(ErrorReply::invalid("more than one file field"));
                }
                let filename = field
                    .file_name()
                    .map(str::to_string)
                    .ok_or_else(|| ErrorReply::invalid("the file field has no filename"))?;
                validate::file_name(&filename).map_err(ErrorReply::invalid)?;
                let content_type = choose_content_type(field.content_type(), &filename);
                let body = receive_file(&state, &mut field).await?;
                file = Some(ReceivedFile {
                    filename,
                    content_type,
                    body,
                });
            }
            _ => {
                // Unknown fields are read and dropped, within a bound.
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    other_bytes += chunk.len();
                    if other_bytes > TEXT_FIELD_LIMIT {
                        return Err(ErrorReply::invalid("too much data in unknown form fields"));
                    }
                }
            }
        }
    }

    let ws = auth.workspace(workspace.as_deref())?;
    let file = file.ok_or_else(|| ErrorReply::invalid("the file field is required"))?;
    let path = path.unwrap_or_default();
    validate::file_key(&format!("{path}{}", file.filename)).map_err(ErrorReply::invalid)?;
    // Past this point a bucket body is either recorded or removed (`put_files`); before
    // it, an error leaves it in the bucket unnamed: remove it.

    let ReceivedFile {
        filename,
        content_type,
        body,
    } = file;
    let received = match body {
        Body::Disk(received) => received,
        Body::Bucket(blob) => {
            let bucket = state
                .bucket
                .as_ref()
                .ok_or_else(|| ErrorReply::internal("upload", "a bucket body without a bucket"))?;
            let new = BucketFile {
                path,
                name: filename,
                description,
                content_type,
                blob,
            };
            let mut entries = bucket.put_files(&ws, vec![new]).await?;
            let entry = entries
                .pop()
                .ok_or_else(|| ErrorReply::internal("upload", "nothing stored"))?;
            return Ok((StatusCode::CREATED, Json(entry)).into_response());
        }
    };
    let store = state.store.clone();
    let entry = state
        .db
        .run(move || {
            let blob = store.place_blob(received)?;
            let new = NewFile {
                path,
                name: filename,
                description,
                content_type,
                blob,
            };
            let mut entries = store.insert_files(&ws, vec![new])?;
            entries
                .pop()
                .ok_or_else(|| super::error::StoreError::NotFound("nothing stored".to_string()))
        })
        .await
        .map_err(|e| ErrorReply::internal("upload task", e))?
        .map_err(ErrorReply::from)?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

fn too_large() -> ErrorReply {
    ErrorReply::too_large(format!(
        "the file is larger than {MULTIPART_LIMIT_BYTES} bytes; use the large-upload flow \
         (POST /v1/files/upload-url)"
    ))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ErrorReply {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else if status.is_server_error() {
        // Reading the body failed: the client went away or broke the stream.
        tracing::debug!(error = %e, "multipart body unreadable");
        ErrorReply::invalid("the request body ended early or could not be read")
    } else {
        ErrorReply::new(
            status,
            ErrorReply::code_for(status),
            format!("malformed multipart body: {}", e.body_text()),
        )
    }
}

async fn read_text(field: &mut Field<'_>, name: &str) -> Result<String, ErrorReply> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > TEXT_FIELD_LIMIT {
            return Err(ErrorReply::invalid(format!(
                "field {name} is longer than {TEXT_FIELD_LIMIT} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ErrorReply::invalid(format!("field {name} is not UTF-8")))
}

/// Stream the `file` part to its store; `413` as soon as it passes the limit.
async fn receive_file(state: &AppState, field: &mut Field<'_>) -> Result<Body, ErrorReply> {
    match &state.bucket {
        Some(bucket) => receive_into_bucket(bucket, field).await.map(Body::Bucket),
        None => receive_to_disk(state, field).await.map(Body::Disk),
    }
}

/// Stream the `file` part into the bucket (a multipart upload past a few MiB), aborted as
/// soon as it passes the limit. The blob is removed unless the upload is recorded.
async fn receive_into_bucket(
    bucket: &Arc<Bucket>,
    field: &mut Field<'_>,
) -> Result<BucketBlob, ErrorReply> {
    let mut writer = bucket.writer();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if writer.received() + chunk.len() as u64 > MULTIPART_LIMIT_BYTES {
            // Dropping the writer aborts its multipart upload.
            return Err(too_large());
        }
        writer.write(chunk).await.map_err(bucket_failed)?;
    }
    writer.finish().await.map_err(bucket_failed)
}

/// The bucket failed: a gateway's failure, as on the other routes (the client may retry).
fn bucket_failed(e: std::io::Error) -> ErrorReply {
    tracing::error!(error = %e, "cannot store an upload in the bucket");
    ErrorReply::new(
        StatusCode::BAD_GATEWAY,
        "internal",
        "cannot store the upload: the object store failed",
    )
}

async fn receive_to_disk(state: &AppState, field: &mut Field<'_>) -> Result<Received, ErrorReply> {
    let mut writer = BlobWriter::create(state.store.temp_path())
        .await
        .map_err(|e| ErrorReply::internal("cannot create temp file", e))?;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if writer.received() + chunk.len() as u64 > MULTIPART_LIMIT_BYTES {
            // Dropping the writer removes the temp file.
            return Err(too_large());
        }
        writer
            .write(chunk)
            .await
            .map_err(|e| ErrorReply::internal("cannot write upload", e))?;
    }
    writer
        .finish()
        .await
        .map_err(|e| ErrorReply::internal("cannot store upload", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(guess_content_type("a.vcf"), "text/x-vcf");
        assert_eq!(guess_content_type("a.vcf.gz"), "application/gzip");
        assert_eq!(guess_content_type("a.BAM"), "application/octet-stream");
        assert_eq!(guess_content_type("a.json"), "application/json");
        assert_eq!(guess_content_type("noext"), "application/octet-stream");
        assert_eq!(
            choose_content_type(Some("application/octet-stream"), "x.fa"),
            "text/x-fasta"
        );
        assert_eq!(choose_content_type(Some("text/csv"), "x.txt"), "text/csv");
        assert_eq!(choose_content_type(None, "x.bed"), "text/x-bed");
    }
}
