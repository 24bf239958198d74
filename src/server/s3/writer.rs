//! A body streamed into the bucket while it is hashed: one PUT when it is small, a
//! multipart upload of [`PART`]-sized parts (a few in flight) when it is not. Dropped before
//! [`BucketWriter::finish`], it aborts the multipart upload, so the bucket keeps no parts.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use md5::Md5;
use object_store::aws::AmazonS3;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

/// Part size of multipart uploads (S3's least but for the last), and the most a small body
/// is held in memory before it becomes one. With [`PARTS_IN_FLIGHT`], an upload into the
/// bucket holds about 15 MiB.
const PART: usize = 5 * 1024 * 1024;
/// Parts uploading at once, per body.
const PARTS_IN_FLIGHT: usize = 2;

/// What a finished writer stored. Dropped before [`BucketBlob::keep`], it removes the
/// object: an upload refused after its bytes arrived leaves nothing in the bucket.
#[derive(Debug)]
pub(crate) struct BucketBlob {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) md5: [u8; 16],
    pub(crate) sha256: [u8; 32],
    client: Option<Arc<AmazonS3>>,
}

impl BucketBlob {
    /// The object is named by a record now: keep it.
    pub(crate) fn keep(mut self) -> String {
        self.client = None;
        std::mem::take(&mut self.path)
    }
}

impl Drop for BucketBlob {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let path = ObjectPath::from(std::mem::take(&mut self.path));
            runtime.spawn(async move {
                if let Err(e) = client.delete(&path).await {
                    tracing::warn!(error = %e, "cannot remove an unrecorded upload from the bucket");
                }
            });
        }
    }
}

pub(crate) struct BucketWriter {
    client: Arc<AmazonS3>,
    path: ObjectPath,
    /// `None` only while a part is being hashed, or after that failed.
    hashes: Option<(Md5, Sha256)>,
    buf: BytesMut,
    upload: Option<WriteMultipart>,
    received: u64,
}

fn failed(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

impl BucketWriter {
    pub(crate) fn new(client: Arc<AmazonS3>, path: ObjectPath) -> Self {
        BucketWriter {
            client,
            path,
            hashes: Some((Md5::new(), Sha256::new())),
            buf: BytesMut::new(),
            upload: None,
            received: 0,
        }
    }

    pub(crate) fn received(&self) -> u64 {
        self.received
    }

    pub(crate) async fn write(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.received += chunk.len() as u64;
        self.buf.extend_from_slice(&chunk);
        while self.buf.len() >= PART {
            let part = self.buf.split_to(PART).freeze();
            self.hash(part.clone()).await?;
            let upload = match &mut self.upload {
                Some(upload) => upload,
                None => {
                    let started = self
                        .client
                        .put_multipart(&self.path)
                        .await
                        .map_err(|e| failed("cannot start a multipart upload", e))?;
                    self.upload
                        .insert(WriteMultipart::new_with_chunk_size(started, PART))
                }
            };
            upload
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(|e| failed("cannot upload a part", e))?;
            upload.put(part);
        }
        Ok(())
    }

    /// Hash a part off the async threads (SHA-256 and MD5 of 8 MiB take tens of ms).
    async fn hash(&mut self, part: Bytes) -> std::io::Result<()> {
        let (mut md5, mut sha) = self
            .hashes
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier write of this upload failed"))?;
        let hashes = tokio::task::spawn_blocking(move || {
            md5.update(&part);
            sha.update(&part);
            (md5, sha)
        })
        .await
        .map_err(std::io::Error::other)?;
        self.hashes = Some(hashes);
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> std::io::Result<BucketBlob> {
        let rest = self.buf.split().freeze();
        self.hash(rest.clone()).await?;
        match self.upload.take() {
            None => {
                self.client
                    .put(&self.path, PutPayload::from(rest))
                    .await
                    .map_err(|e| failed("cannot store the body", e))?;
            }
            Some(mut upload) => {
                if !rest.is_empty() {
                    upload.put(rest);
                }
                upload
                    .finish()
                    .await
                    .map_err(|e| failed("cannot complete the multipart upload", e))?;
            }
        }
        let (md5, sha) = self
            .hashes
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier write of this upload failed"))?;
        Ok(BucketBlob {
            path: self.path.to_string(),
            size: self.received,
            md5: md5.finalize().into(),
            sha256: sha.finalize().into(),
            client: Some(self.client.clone()),
        })
    }
}

impl Drop for BucketWriter {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(e) = upload.abort().await {
                    tracing::warn!(error = %e, "cannot abort a multipart upload");
                }
            });
        }
    }
}
