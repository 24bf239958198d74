//! Uploads: multipart for files up to the threshold, the presigned three-step flow
//! above it, each checked against what the server says it stored, and retried without
//! ever storing a second copy of an upload that had landed.

use std::path::Path;
use std::time::SystemTime;

use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use tokio_util::sync::CancellationToken;

use super::Progress;
use super::body::{BodyHashes, local_failure_first};
use super::client::{Client, read_answer};
use super::error::ApiError;
use super::retry::{Attempts, Retries, Step};
use super::verify::{Bad, Sent, etag_md5, verify_upload};
use crate::local::normalise_folder;
use crate::wire::{
    FileEntry, MAX_PUT_BYTES, UploadConfirmRequest, UploadUrlRequest, UploadUrlResponse,
};

/// A presigned URL of S3 itself (SigV4 or SigV2 query), not of the API's own server.
fn is_bucket_url(url: &url::Url) -> bool {
    url.query_pairs()
        .any(|(name, _)| name.eq_ignore_ascii_case("X-Amz-Signature") || name == "Signature")
}

/// What to upload and where.
#[derive(Debug, Clone)]
pub struct UploadRequest<'a> {
    pub workspace: &'a str,
    pub local: &'a Path,
    /// Destination folder: `""` (the root) or ending in `/`.
    pub folder: &'a str,
    /// Remote file name; the local file name when `None`.
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
}

/// A finished upload: the server's entry for it (completed from the file itself where the
/// answer left fields out), and why it is not known to hold the local bytes, if so.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub entry: FileEntry,
    /// "not verified by the server: …" when no size or hash could be compared.
    pub unverified: Option<String>,
}

/// The identity of a local file's content as far as cheap metadata tells.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Result<Stamp, ApiError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ApiError::io(format!("cannot read {}", path.display()), e))?;
    if !meta.is_file() {
        return Err(ApiError::Local(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

pub(super) fn content_type_for(name: &str) -> String {
    crate::mime::content_type(name).to_string()
}

impl Client {
    /// Upload one local file, choosing the multipart route or the large flow by size.
    /// Retries transient failures; before repeating an attempt that may have landed
    /// (the body was fully sent) it looks for a file of that display path, size and hash
    /// created since the attempt began, and counts it as done.
    pub async fn upload(
        &self,
        req: &UploadRequest<'_>,
        progress: &Progress,
        cancel: &CancellationToken,
    ) -> Result<Uploaded, ApiError> {
        let before = stamp(req.local)?;
        let name = match req.name {
            Some(n) => n.to_string(),
            None => req
                .local
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| {
                    ApiError::Local(format!(
                        "{} has no file name that is valid UTF-8",
                        req.local.display()
                    ))
                })?
                .to_string(),
        };
        let folder = normalise_folder(req.folder);
        if before.len > MAX_PUT_BYTES {
            return Err(ApiError::TooLarge(format!(
                "{} is {} bytes; the largest file the API accepts is 5 GiB ({MAX_PUT_BYTES} bytes)",
                req.local.display(),
                before.len
            )));
        }
        let what = format!("uploading {folder}{name}");
        let up = Upload {
            client: self,
            req,
            folder: &folder,
            name: &name,
            size: before.len,
            progress,
            cancel,
            what: &what,
        };
        let retry = &self.inner.cfg.retry;
        let cap = |e| super::throttle::explain(e, self.inner.cfg.limit_rate);
        let (mut entry, sent, put_md5) = if before.len > self.inner.cfg.large_threshold {
            self.upload_large(up).await.map_err(cap)?
        } else {
            let mut multipart = Multipart {
                up,
                began: SystemTime::now(),
            };
            let (entry, sent) = retry
                .run_attempts(&what, progress, cancel, &mut multipart)
                .await
                .map_err(cap)?;
            (entry, sent, None)
        };
        // An answer may be `{"key"}` alone, or lack the size or a hash: what is missing is
        // read off the file itself, by its key.
        let mut md5 = put_md5;
        if entry.size.is_none() || (entry.sha256.is_none() && md5.is_none()) {
            match self.stat(req.workspace, &entry.key).await {
                Ok(Some(found)) => {
                    entry.size = entry.size.or(found.size);
                    md5 = md5.or(found.md5);
                }
                Ok(None) => {
                    return Err(ApiError::Integrity(format!(
                        "{what}: the server answered with key {}, which it does not hold",
                        entry.key
                    )));
                }
                Err(e) => tracing::warn!(what, error = %e, "cannot look the upload up"),
            }
        }
        let after = stamp(req.local)?;
        let checked = if after != before {
            Err(Bad::Mismatch(format!(
                "{} changed while it was being uploaded",
                req.local.display()
            )))
        } else {
            verify_upload(req.local, &entry, &sent, md5.as_deref(), &what).await?
        };
        match checked {
            Ok(unverified) => Ok(Uploaded { entry, unverified }),
            Err(Bad::Mismatch(why)) => Err(self
                .remove_bad_upload(req.workspace, &entry, md5.as_deref(), why)
                .await),
            Err(Bad::EtagOnly(why)) => Err(ApiError::Integrity(format!(
                "{why}; judged by the ETag alone (it may not be an MD5), so the server's \
                 copy ({}) was left in place: compare it before relying on it",
                entry.key
            ))),
        }
    }

    async fn upload_large(
        &self,
        up: Upload<'_>,
    ) -> Result<(FileEntry, Sent, Option<String>), ApiError> {
        let Upload {
            req,
            folder,
            name,
            size,
            progress,
            cancel,
            what,
            ..
        } = up;
        let retry = &self.inner.cfg.retry;
        let content_type = content_type_for(name);
        let ask = UploadUrlRequest {
            filename: name.to_string(),
            workspace_id: req.workspace.to_string(),
            content_type: content_type.clone(),
            size,
            path: (!folder.is_empty()).then(|| folder.to_string()),
        };
        let mut put = Put {
            up,
            content_type: &content_type,
            ask: &ask,
            info: self.upload_url(&ask, what).await?,
            refreshes: 0,
        };
        let (md5, sent) = retry.run_attempts(what, progress, cancel, &mut put).await?;
        let info = put.info;
        // The last moment a cancel takes the upload back whole: unconfirmed, the bytes
        // are no file anyone lists. Once the confirm is asked it is seen through.
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled);
        }
        let confirm = UploadConfirmRequest {
            file_key: info.file_key.clone(),
            workspace_id: req.workspace.to_string(),
            filename: name.to_string(),
            size,
        };
        // Confirming twice answers the same object, so the confirm is always retried.
        let entry = retry
            .run(what, |_| async {
                let r = self
                    .api(Method::POST, "v1/files/upload-confirm")?
                    .json(&confirm)
                    .timeout(self.inner.cfg.request_timeout);
                let resp = Self::send(r, what).await?;
                read_entry(resp, folder, name, what).await
            })
            .await?;
        // The confirm names the file it made: anything but the key the upload was given is
        // not this upload's, and nothing is ever checked or removed under it.
        if entry.key != info.file_key {
            return Err(ApiError::Protocol(format!(
                "{what}: the confirm answered key {}, not {}, the key of this upload; \
                 nothing was removed",
                entry.key, info.file_key
            )));
        }
        Ok((entry, sent, md5))
    }

    /// Ask where to PUT a large upload.
    async fn upload_url(
        &self,
        ask: &UploadUrlRequest,
        what: &str,
    ) -> Result<UploadUrlResponse, ApiError> {
        self.inner
            .cfg
            .retry
            .run(what, |_| async {
                let r = self
                    .api(Method::POST, "v1/files/upload-url")?
                    .json(ask)
                    .timeout(self.inner.cfg.request_timeout);
                let resp = Self::send(r, what).await?;
                let body = read_answer(resp, what).await?;
                serde_json::from_slice::<UploadUrlResponse>(&body).map_err(|e| {
                    ApiError::Protocol(format!("{what}: upload-url answer not understood ({e})"))
                })
            })
            .await
    }

    /// The server kept a copy that is not the local file (it changed while being read, or
    /// the bytes differ): a failed upload must leave nothing listed. The error says
    /// whether the copy is gone.
    async fn remove_bad_upload(
        &self,
        workspace: &str,
        entry: &FileEntry,
        md5: Option<&str>,
        why: String,
    ) -> ApiError {
        // Only our own copy: if the key now holds something else (another upload got
        // there since, where keys are paths), it is not ours to delete.
        let still_ours = match self.stat(workspace, &entry.key).await {
            Ok(Some(now)) => {
                let same_size =
                    entry.size.is_none() || now.size.is_none() || now.size == entry.size;
                let same_md5 = match (md5, now.md5.as_deref()) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => true,
                };
                same_size && same_md5
            }
            Ok(None) => return ApiError::Integrity(why),
            Err(_) => true,
        };
        if !still_ours {
            return ApiError::Integrity(format!(
                "{why}; the server now holds another upload of that name, left as it is"
            ));
        }
        match self.delete(workspace, &entry.key).await {
            Ok(()) => ApiError::Integrity(format!("{why}; the server's copy was removed")),
            Err(d) => {
                tracing::warn!(key = %entry.key, error = %d, "cannot remove a bad upload");
                ApiError::Integrity(format!(
                    "{why}; the server's copy could not be removed ({d}): delete it"
                ))
            }
        }
    }
}

/// The file object of an upload or confirm answer. An answer that names only the key
/// (`{"key"}`, as an opaque-key service confirms) gets the display path that was asked for,
/// never one made up from the key.
async fn read_entry(
    resp: reqwest::Response,
    folder: &str,
    name: &str,
    what: &str,
) -> Result<FileEntry, ApiError> {
    let body = read_answer(resp, what).await?;
    let mut entry = serde_json::from_slice::<FileEntry>(&body)
        .map_err(|e| ApiError::Protocol(format!("{what}: file object not understood ({e})")))?;
    if entry.name.is_empty() {
        entry.name = name.to_string();
        entry.path = folder.to_string();
    }
    Ok(entry.normalise())
}

/// One upload's request as its attempts share it.
#[derive(Clone, Copy)]
struct Upload<'a> {
    client: &'a Client,
    req: &'a UploadRequest<'a>,
    folder: &'a str,
    name: &'a str,
    size: u64,
    progress: &'a Progress,
    cancel: &'a CancellationToken,
    what: &'a str,
}

/// An upload by the multipart route, as the retry loop repeats it.
struct Multipart<'a> {
    up: Upload<'a>,
    began: SystemTime,
}

impl Attempts for Multipart<'_> {
    type Output = (FileEntry, Sent);

    async fn attempt(
        &mut self,
        retries: &Retries<'_>,
    ) -> Result<Step<(FileEntry, Sent)>, ApiError> {
        let Upload {
            client,
            req,
            folder,
            name,
            size,
            progress,
            cancel,
            what,
        } = self.up;
        let began = self.began;
        progress.set(0);
        // The multipart answer carries the server's SHA-256 (or the listing does).
        let hashes = BodyHashes {
            sha256: true,
            md5: false,
        };
        let (body, reader) = client.file_body(req.local, size, progress, hashes);
        let part = reqwest::multipart::Part::stream_with_length(body, size)
            .file_name(name.to_string())
            .mime_str(&content_type_for(name))
            .map_err(ApiError::from_transport)?;
        let mut form =
            reqwest::multipart::Form::new().text("workspace_id", req.workspace.to_string());
        if !folder.is_empty() {
            form = form.text("path", folder.to_string());
        }
        if let Some(d) = req.description {
            form = form.text("description", d.to_string());
        }
        let form = form.part("file", part);
        let request = client.api(Method::POST, "v1/files/upload")?.multipart(form);
        // Once the whole body is out, the server may store the file whether or not
        // its answer is read: a cancel no longer aborts the request, so the row ends
        // as what happened (done), never "cancelled" beside a file that landed.
        let result = client
            .watch(progress, Some(size), cancel, async {
                let resp = Client::send(request, what).await?;
                read_entry(resp, folder, name, what).await
            })
            .await;
        let sent = local_failure_first(reader.finish(result.is_err()).await, &result)?;
        let e = match result {
            Ok(entry) => return Ok(Step::Done((entry, sent?))),
            Err(e) => e,
        };
        if retries.will_retry(&e)
            && progress.get() >= size
            && let Ok(sent) = &sent
            && let Some(entry) = client
                .landed(req.workspace, folder, name, req.local, sent, began)
                .await
        {
            tracing::info!(what, "upload had landed before the connection failed");
            return Ok(Step::Done((entry, sent.clone())));
        }
        Ok(Step::Failed(e))
    }
}

/// The presigned PUT of a large upload, as the retry loop repeats it.
struct Put<'a> {
    up: Upload<'a>,
    content_type: &'a str,
    ask: &'a UploadUrlRequest,
    info: UploadUrlResponse,
    refreshes: u32,
}

impl Attempts for Put<'_> {
    type Output = (Option<String>, Sent);

    async fn attempt(&mut self, _: &Retries<'_>) -> Result<Step<(Option<String>, Sent)>, ApiError> {
        let Upload {
            client,
            req,
            size,
            progress,
            cancel,
            what,
            ..
        } = self.up;
        let content_type = self.content_type;
        progress.set(0);
        let url = client.absolute(&self.info.upload_url)?;
        // Bytes PUT straight to a bucket (a SigV4 URL) are known by their ETag alone: the
        // service never read them, so it has no SHA-256 to answer. A server's own URL reads
        // them, and answers their SHA-256. Whatever the answer holds that was not hashed
        // here is hashed from the file afterwards; hashing both always would cost a core
        // while loopback takes a GiB in two seconds.
        let bucket = is_bucket_url(&url);
        let hashes = BodyHashes {
            sha256: !bucket,
            md5: bucket,
        };
        let (body, reader) = client.file_body(req.local, size, progress, hashes);
        // The presigned PUT is signed over type and length, and S3 refuses chunked
        // bodies: send an explicit Content-Length and never the API key.
        let request = client
            .inner
            .http
            .request(Method::PUT, url)
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_LENGTH, size)
            .body(body);
        // Nothing is listed before the confirm: the PUT can be abandoned at any point.
        let result = client
            .watch(progress, None, cancel, async {
                let resp = Client::send(request, what).await?;
                Ok(etag_md5(resp.headers()))
            })
            .await;
        let sent = local_failure_first(reader.finish(result.is_err()).await, &result)?;
        match result {
            Ok(md5) => Ok(Step::Done((md5, sent?))),
            Err(ApiError::UrlExpired) if self.refreshes < 3 => {
                self.refreshes += 1;
                self.info = client.upload_url(self.ask, what).await?;
                Ok(Step::Again)
            }
            Err(e) => Ok(Step::Failed(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type_for("x.VCF"), "text/x-vcf");
    }
}
