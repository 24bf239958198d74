//! What the routes ask of the S3 store: record an upload, the large flow's two steps
//! (presigned PUT of the bucket's own, confirm checked against the object), download URLs,
//! deletes.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, Method, header};
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::Bucket;
use super::writer::{BucketBlob, BucketWriter};
use crate::server::error::{ErrorReply, StoreError};
use crate::server::store::{LogOp, LoggedFile, inside_a_file, now_rfc3339, random_id};
use crate::wire::FileEntry;

/// What step 1 of the large flow promised, kept in the bucket for the confirm.
#[derive(Serialize, Deserialize)]
struct Intent {
    upload: String,
    path: String,
    name: String,
    content_type: String,
    size: u64,
}

/// A file about to be recorded: where it goes, and its bytes already in the bucket.
pub(crate) struct BucketFile {
    pub(crate) path: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) content_type: String,
    pub(crate) blob: BucketBlob,
}

/// The file/folder rule among files recorded together (the index checks each against the
/// files it holds, not against the others of the batch).
fn batch_collision(displays: &[String]) -> Result<(), ErrorReply> {
    let files: std::collections::HashSet<&str> = displays.iter().map(String::as_str).collect();
    for display in displays {
        let why = inside_a_file(display, |folder| {
            Ok::<_, std::convert::Infallible>(files.contains(folder))
        });
        if let Ok(Some(why)) = why {
            return Err(ErrorReply::conflict(why));
        }
    }
    Ok(())
}

/// The bucket failed: said as a gateway's failure (the client may try again), its detail
/// logged, not answered.
fn bucket_error(what: &str, e: impl std::fmt::Display) -> ErrorReply {
    tracing::error!(error = %e, "{what}");
    ErrorReply::new(
        axum::http::StatusCode::BAD_GATEWAY,
        "internal",
        format!("{what}: the object store failed"),
    )
}

impl Bucket {
    /// A writer of a new blob.
    pub(crate) fn writer(&self) -> BucketWriter {
        BucketWriter::new(self.client.clone(), self.blob_path(&random_id()))
    }

    /// Run an index call on the server's index threads.
    async fn index<T: Send + 'static>(
        &self,
        f: impl FnOnce(&crate::server::store::Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ErrorReply> {
        let index = self.index.clone();
        self.db
            .run(move || f(&index))
            .await
            .map_err(|e| ErrorReply::internal("index task", e))?
            .map_err(ErrorReply::from)
    }

    /// Record files whose bytes are in the bucket, in one log record. On an error the
    /// blobs are removed: nothing names them.
    pub(crate) async fn put_files(
        self: &Arc<Self>,
        ws: &str,
        files: Vec<BucketFile>,
    ) -> Result<Vec<FileEntry>, ErrorReply> {
        let displays: Vec<String> = files
            .iter()
            .map(|f| format!("{}{}", f.path, f.name))
            .collect();
        batch_collision(&displays)?;
        let check_ws = ws.to_string();
        self.index(move |index| {
            displays
                .iter()
                .try_for_each(|display| index.check_collision(&check_ws, display))
        })
        .await?;
        let created_at = now_rfc3339();
        let mut entries = Vec::with_capacity(files.len());
        let mut ops = Vec::with_capacity(files.len());
        let mut blobs = Vec::with_capacity(files.len());
        // A key given twice (path style): the later file replaces the earlier, as a second
        // upload would; one record must not name a key twice (its puts share a version).
        let mut at = std::collections::HashMap::new();
        let mut replaced = Vec::new();
        for f in files {
            let entry = FileEntry {
                key: self.index.new_key(&f.path, &f.name),
                name: f.name,
                path: f.path,
                size: Some(f.blob.size),
                description: f.description,
                content_type: Some(f.content_type),
                created_at: Some(created_at.clone()),
                sha256: Some(hex::encode(f.blob.sha256)),
                etag: Some(format!("\"{}\"", hex::encode(f.blob.md5))),
            };
            let op = LogOp::Put(Box::new(LoggedFile {
                ws: ws.to_string(),
                entry: entry.clone(),
                blob: f.blob.path.clone(),
            }));
            match at.get(&entry.key) {
                Some(&i) => {
                    if let (Some(slot), Some(blob)) = (ops.get_mut(i), blobs.get_mut(i)) {
                        *slot = op;
                        replaced.push(std::mem::replace(blob, f.blob));
                    }
                }
                None => {
                    at.insert(entry.key.clone(), ops.len());
                    ops.push(op);
                    blobs.push(f.blob);
                }
            }
            entries.push(entry);
        }
        self.append(ops)
            .await
            .map_err(|e| bucket_error("cannot record the upload", e))?;
        for blob in blobs {
            blob.keep();
        }
        // Named by nothing: dropped, they are removed.
        drop(replaced);
        Ok(entries)
    }

    /// Step 1 of the large flow: remember what was promised, and presign a PUT of the
    /// bucket that signs `Content-Type`, so the bucket itself refuses another type.
    pub(crate) async fn upload_url(
        self: &Arc<Self>,
        ws: &str,
        key: &str,
        (path, name): (String, String),
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<String, ErrorReply> {
        let intent = Intent {
            upload: random_id(),
            path,
            name,
            content_type: content_type.to_string(),
            size,
        };
        let target = self.upload_path(ws, &intent.upload);
        let body = serde_json::to_vec(&intent).map_err(|e| bucket_error("intent", e))?;
        self.client
            .put(&self.intent_path(ws, key), PutPayload::from(body))
            .await
            .map_err(|e| bucket_error("cannot keep the upload's terms", e))?;
        let mut options = SignedUrlOptions::default();
        if !content_type.is_empty() {
            let value = HeaderValue::from_str(content_type)
                .map_err(|_| ErrorReply::invalid("content_type is not a valid header value"))?;
            options = options.with_signed_header(header::CONTENT_TYPE, value);
        }
        let url = self
            .client
            .signed_url_opts(Method::PUT, &target, ttl, &options)
            .await
            .map_err(|e| bucket_error("cannot presign the upload", e))?;
        Ok(url.to_string())
    }

    /// Step 3: the object must be in the bucket, with the size promised and confirmed.
    pub(crate) async fn confirm(
        self: &Arc<Self>,
        ws: &str,
        key: &str,
        filename: &str,
        size: u64,
    ) -> Result<FileEntry, ErrorReply> {
        let nothing = || ErrorReply::not_found(format!("no upload has arrived for {key}"));
        let intent = match self.client.get(&self.intent_path(ws, key)).await {
            Ok(found) => found
                .bytes()
                .await
                .map_err(|e| bucket_error("cannot read the upload's terms", e))?,
            Err(object_store::Error::NotFound { .. }) => return Err(nothing()),
            Err(e) => return Err(bucket_error("cannot read the upload's terms", e)),
        };
        let intent: Intent = serde_json::from_slice(&intent)
            .map_err(|e| bucket_error("the upload's terms are unreadable", e))?;
        if intent.name != filename {
            return Err(ErrorReply::conflict(format!(
                "filename {filename:?} is not {:?}, the one given for {key} at upload-url",
                intent.name
            )));
        }
        let target = self.upload_path(ws, &intent.upload);
        // Kept beside the intent, named by the upload: a new intent for the same key (path
        // style) never overwrites it, nor it that intent.
        let marker = self.path(&format!("intents/{ws}/{}.confirmed", intent.upload));
        if let Some(entry) = self.confirmed(ws, key, &marker, &target, size).await? {
            return Ok(entry);
        }
        // The URL stays valid until it expires, and a PUT on it replaces the object: the
        // confirmed bytes are copied where no URL reaches, or a PUT after the confirm would
        // change a listed file's bytes under its size and ETag.
        let blob = self.blob_path(&random_id());
        match self.copier.copy(&target, &blob).await {
            Ok(()) => {}
            Err(object_store::Error::NotFound { .. }) => {
                // Gone since the look above: a confirm running at once (a client's retry)
                // may have taken it.
                return match self.confirmed(ws, key, &marker, &target, size).await? {
                    Some(entry) => Ok(entry),
                    None => Err(nothing()),
                };
            }
            Err(e) => return Err(bucket_error("cannot keep the upload", e)),
        }
        let recorded = self.record_confirmed(ws, key, size, intent, &blob).await;
        match &recorded {
            Ok(_) => {
                // Lost, a repeated confirm finds no upload (`404`), never another file.
                if let Err(e) = self
                    .client
                    .put(&marker, PutPayload::from(blob.to_string()))
                    .await
                {
                    tracing::warn!(error = %e, "cannot mark the upload confirmed");
                }
                self.discard(&target).await;
            }
            Err(_) => self.discard(&blob).await,
        }
        recorded
    }

    /// The file an upload was confirmed as, when it was (its `marker` names the blob) and
    /// the file still has those bytes: a repeated confirm answers it.
    async fn confirmed(
        self: &Arc<Self>,
        ws: &str,
        key: &str,
        marker: &object_store::path::Path,
        target: &object_store::path::Path,
        size: u64,
    ) -> Result<Option<FileEntry>, ErrorReply> {
        let confirmed = match self.client.get(marker).await {
            Ok(found) => found
                .bytes()
                .await
                .map_err(|e| bucket_error("cannot read the upload's confirm", e))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(bucket_error("cannot read the upload's confirm", e)),
        };
        let confirmed = String::from_utf8_lossy(&confirmed).into_owned();
        // Confirmed already, maybe by another server whose record this one has not read
        // yet: read the log before answering.
        let mut entry = self.current(ws, key, &confirmed).await?;
        if entry.is_none() {
            self.catch_up()
                .await
                .map_err(|e| bucket_error("cannot read the bucket log", e))?;
            entry = self.current(ws, key, &confirmed).await?;
        }
        let Some(entry) = entry else {
            return Ok(None);
        };
        // A PUT since (the URL cannot be spent) is named by nothing.
        self.discard(target).await;
        if entry.size != Some(size) {
            return Err(ErrorReply::conflict(format!(
                "size {size} is not the {} bytes confirmed for {key}",
                entry.size.unwrap_or_default()
            )));
        }
        Ok(Some(entry))
    }

    /// The confirm's checks and record, the upload's bytes copied to `blob`.
    async fn record_confirmed(
        self: &Arc<Self>,
        ws: &str,
        key: &str,
        size: u64,
        intent: Intent,
        blob: &object_store::path::Path,
    ) -> Result<FileEntry, ErrorReply> {
        let meta = self
            .client
            .head(blob)
            .await
            .map_err(|e| bucket_error("cannot look at the upload", e))?;
        // The bucket cannot be told to refuse another length at the PUT (a presigned URL
        // does not sign Content-Length): it is checked here, on the copy no PUT can change.
        if meta.size != size || meta.size != intent.size {
            return Err(ErrorReply::conflict(format!(
                "size {size} differs from the {} bytes that arrived for {key} \
                 ({} were announced at upload-url)",
                meta.size, intent.size
            )));
        }
        let display = format!("{}{}", intent.path, intent.name);
        let check_ws = ws.to_string();
        self.index(move |index| index.check_collision(&check_ws, &display))
            .await?;
        let entry = FileEntry {
            key: key.to_string(),
            name: intent.name,
            path: intent.path,
            size: Some(meta.size),
            description: None,
            content_type: Some(intent.content_type),
            created_at: Some(now_rfc3339()),
            // The bytes never passed through here: unknown, not a guess.
            sha256: None,
            etag: meta.e_tag,
        };
        self.append(vec![LogOp::Put(Box::new(LoggedFile {
            ws: ws.to_string(),
            entry: entry.clone(),
            blob: blob.to_string(),
        }))])
        .await
        .map_err(|e| bucket_error("cannot record the upload", e))?;
        Ok(entry)
    }

    /// File `key` as listed, and its blob.
    async fn lookup(&self, ws: &str, key: &str) -> Result<Option<(FileEntry, String)>, ErrorReply> {
        let (ws, key) = (ws.to_string(), key.to_string());
        self.index(move |index| index.lookup(&ws, &key)).await
    }

    /// File `key` as listed, if its bytes are still `blob`.
    async fn current(
        &self,
        ws: &str,
        key: &str,
        blob: &str,
    ) -> Result<Option<FileEntry>, ErrorReply> {
        Ok(self
            .lookup(ws, key)
            .await?
            .filter(|(_, current)| current == blob)
            .map(|(entry, _)| entry))
    }

    /// A presigned GET of the file's bytes, asking the bucket to answer the file's type and
    /// to have a browser save it under its name.
    pub(crate) async fn download_url(
        &self,
        ws: &str,
        key: &str,
        ttl: Duration,
    ) -> Result<Option<String>, ErrorReply> {
        let Some((entry, blob)) = self.lookup(ws, key).await? else {
            return Ok(None);
        };
        let mut query = vec![(
            "response-content-disposition".to_string(),
            crate::server::headers::content_disposition(&entry.name),
        )];
        if let Some(content_type) = entry.content_type.filter(|t| !t.is_empty()) {
            query.push(("response-content-type".to_string(), content_type));
        }
        let options = SignedUrlOptions::default().with_query(query);
        let url = self
            .client
            .signed_url_opts(
                Method::GET,
                &object_store::path::Path::from(blob),
                ttl,
                &options,
            )
            .await
            .map_err(|e| bucket_error("cannot presign the download", e))?;
        Ok(Some(url.to_string()))
    }

    /// Remove file `key`; false when there is none.
    pub(crate) async fn delete(self: &Arc<Self>, ws: &str, key: &str) -> Result<bool, ErrorReply> {
        if self.lookup(ws, key).await?.is_none() {
            return Ok(false);
        }
        self.append(vec![LogOp::Delete {
            ws: ws.to_string(),
            key: key.to_string(),
        }])
        .await
        .map_err(|e| bucket_error("cannot record the delete", e))?;
        Ok(true)
    }
}
