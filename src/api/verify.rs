//! Whether a finished transfer holds the right bytes: the hashers, the MD5 an `ETag` may
//! stand for, and the checks of a download or an upload against size, SHA-256 and MD5.

use std::path::Path;
use std::time::{Duration, SystemTime};

use md5::{Digest as _, Md5};
use reqwest::header::{ETAG, HeaderMap};
use sha2::Sha256;

use super::client::Client;
use super::error::ApiError;
use crate::wire::FileEntry;

/// What the reader thread of an upload learnt about the bytes it sent.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    pub(super) len: u64,
    /// Hashed as sent when asked for, like `md5`; else read off the file when needed
    /// ([`Sent::sha256_of`]).
    pub(super) sha256: Option<String>,
    /// Hashed as sent when asked for ([`crate::api::Client::file_body`]).
    pub(super) md5: Option<String>,
}

/// The digest a download computes as it writes.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum HashKind {
    Sha256,
    Md5,
    None,
}

pub(super) enum Hasher {
    Sha256(Box<Sha256>),
    Md5(Md5),
    None,
}

impl Hasher {
    pub(super) fn new(kind: HashKind) -> Self {
        match kind {
            HashKind::Sha256 => Hasher::Sha256(Box::default()),
            HashKind::Md5 => Hasher::Md5(Md5::new()),
            HashKind::None => Hasher::None,
        }
    }
    pub(super) fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(b),
            Hasher::Md5(h) => h.update(b),
            Hasher::None => {}
        }
    }
    pub(super) fn finish(self) -> Option<String> {
        match self {
            Hasher::Sha256(h) => Some(hex::encode(h.finalize())),
            Hasher::Md5(h) => Some(hex::encode(h.finalize())),
            Hasher::None => None,
        }
    }
}

/// The hex digest of the first `len` bytes of a local file.
fn hash_file<D: md5::Digest>(path: &Path, len: u64) -> Result<String, ApiError> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| ApiError::io(format!("cannot read {}", path.display()), e))?;
    let mut m = D::new();
    let mut reader = file.take(len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => m.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ApiError::io(format!("cannot read {}", path.display()), e)),
        }
    }
    Ok(hex::encode(m.finalize()))
}

impl Sent {
    /// The SHA-256 of what was sent: hashed as it went, or now from the file (a file that
    /// changed meanwhile is caught by the caller's stamps).
    pub(super) async fn sha256_of(&self, local: &Path) -> Result<String, ApiError> {
        if let Some(sha) = &self.sha256 {
            return Ok(sha.clone());
        }
        let (path, len) = (local.to_path_buf(), self.len);
        tokio::task::spawn_blocking(move || hash_file::<Sha256>(&path, len))
            .await
            .map_err(|e| ApiError::Protocol(format!("hashing thread failed: {e}")))?
    }
}

/// [`hash_file`] with MD5, in a blocking thread.
pub(super) async fn md5_of_file(path: &Path, len: u64) -> Result<String, ApiError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || hash_file::<Md5>(&path, len))
        .await
        .map_err(|e| ApiError::Protocol(format!("hashing thread failed: {e}")))?
}

/// The hex MD5 inside a plain single-part `ETag` (`"<32 hex>"`).
pub(super) fn plain_md5(etag: &str) -> Option<&str> {
    let t = etag.trim().trim_start_matches("W/").trim_matches('"');
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then_some(t)
}

/// The MD5 an answer's `ETag` stands for, if it stands for one: S3's `ETag` is the MD5 of
/// the bytes only for a single-part object stored without KMS or customer-key encryption
/// (then it is opaque, though it may still look like 32 hex digits).
pub(super) fn etag_md5(headers: &HeaderMap) -> Option<String> {
    let sse = headers
        .get("x-amz-server-side-encryption")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    if sse.is_some_and(|v| v.starts_with("aws:kms")) {
        return None;
    }
    if headers.contains_key("x-amz-server-side-encryption-customer-algorithm") {
        return None;
    }
    let etag = headers.get(ETAG)?.to_str().ok()?;
    plain_md5(etag).map(str::to_ascii_lowercase)
}

/// A downloaded file's bytes against what is known of it: its length (from the listing,
/// else from the answer's `Content-Length`/`Content-Range`), then its SHA-256 from the
/// listing, else the MD5 the answer's `ETag` stands for.
pub(super) fn verify_download(
    entry: &FileEntry,
    len: u64,
    total: Option<u64>,
    digest: Option<&str>,
    md5: Option<&str>,
    what: &str,
) -> Result<(), ApiError> {
    if let Some(size) = entry.size
        && len != size
    {
        return Err(ApiError::Integrity(format!(
            "{what}: received {len} bytes, the listing says {size}"
        )));
    }
    if let Some(total) = total
        && len != total
    {
        return Err(ApiError::Integrity(format!(
            "{what}: received {len} bytes, the server announced {total}"
        )));
    }
    if let Some(expected) = &entry.sha256 {
        return match digest {
            Some(d) if d.eq_ignore_ascii_case(expected) => Ok(()),
            _ => Err(ApiError::Integrity(format!(
                "{what}: SHA-256 does not match the listing"
            ))),
        };
    }
    if let (Some(md5), Some(d)) = (md5, digest)
        && !md5.eq_ignore_ascii_case(d)
    {
        return Err(ApiError::Integrity(format!(
            "{what}: MD5 does not match the ETag"
        )));
    }
    Ok(())
}

/// Why the server's copy of an upload is not the local file.
pub(super) enum Bad {
    /// Its size or SHA-256 differs, or the local file changed: the copy is wrong.
    Mismatch(String),
    /// Only an `ETag` read as an MD5 differs: it may not be an MD5 at all.
    EtagOnly(String),
}

/// Compare what the server says it stored with what was sent: the size, then the
/// SHA-256 when the server reports one, else the MD5 its `ETag` stands for (the local MD5
/// is computed only then, so servers that report SHA-256 cost no second hash). `Ok(Ok(Some
/// why))`: nothing differs, but nothing could be compared either.
pub(super) async fn verify_upload(
    local: &Path,
    entry: &FileEntry,
    sent: &Sent,
    md5: Option<&str>,
    what: &str,
) -> Result<Result<Option<String>, Bad>, ApiError> {
    if let Some(size) = entry.size
        && size != sent.len
    {
        return Ok(Err(Bad::Mismatch(format!(
            "{what}: the server stored {size} bytes, {} were sent",
            sent.len
        ))));
    }
    if let Some(h) = &entry.sha256 {
        if !h.eq_ignore_ascii_case(&sent.sha256_of(local).await?) {
            return Ok(Err(Bad::Mismatch(format!(
                "{what}: the server's SHA-256 differs from the local file's"
            ))));
        }
        return Ok(Ok(None));
    }
    let Some(md5) = md5 else {
        let why = match entry.size {
            Some(_) => "the server reports no hash of what it stored (only its size was compared)",
            None => "the server reports neither the size nor a hash of what it stored",
        };
        return Ok(Ok(Some(format!("not verified by the server: {why}"))));
    };
    let local_md5 = match &sent.md5 {
        Some(md5) => md5.clone(),
        None => md5_of_file(local, sent.len).await?,
    };
    if !md5.eq_ignore_ascii_case(&local_md5) {
        return Ok(Err(Bad::EtagOnly(format!(
            "{what}: the server's ETag differs from the local file's MD5"
        ))));
    }
    Ok(Ok(None))
}

impl Client {
    /// "Did it land?": a file listed at `folder + name`, not created before `began` (as far
    /// as its `created_at` tells, with a minute's leeway for the clocks), of the size sent
    /// and with the same SHA-256 (or the MD5 its bytes' `ETag` stands for). Where keys are
    /// opaque a blind repeat would store a second copy, so a candidate whose hash cannot be
    /// read is taken as landed too (the caller reports it unverified), but only when its
    /// `created_at` says it is new: an older file of that size must never pass for it.
    pub(super) async fn landed(
        &self,
        ws: &str,
        folder: &str,
        name: &str,
        local: &Path,
        sent: &Sent,
        began: SystemTime,
    ) -> Option<FileEntry> {
        let display = format!("{folder}{name}");
        let since = time::OffsetDateTime::from(began) - Duration::from_secs(60);
        let lookup = self.lookup(ws, &display).await.ok()?;
        let mut local_md5: Option<String> = None;
        let mut unknown = None;
        for found in lookup.matches {
            // `None`: the server does not say when it was made.
            let recent = found
                .created_at
                .as_deref()
                .and_then(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(|t| t >= since);
            if recent == Some(false) || found.size.is_some_and(|s| s != sent.len) {
                continue;
            }
            if let Some(h) = &found.sha256 {
                if sent
                    .sha256_of(local)
                    .await
                    .ok()
                    .is_some_and(|mine| h.eq_ignore_ascii_case(&mine))
                {
                    return Some(found);
                }
                continue;
            }
            let remote = self.stat(ws, &found.key).await.ok().flatten();
            if remote
                .as_ref()
                .and_then(|r| r.size)
                .is_some_and(|s| s != sent.len)
            {
                continue;
            }
            match remote.and_then(|r| r.md5) {
                Some(md5) => {
                    if local_md5.is_none() {
                        let path = local.to_path_buf();
                        let len = sent.len;
                        local_md5 =
                            tokio::task::spawn_blocking(move || hash_file::<Md5>(&path, len))
                                .await
                                .ok()?
                                .ok();
                    }
                    if local_md5
                        .as_deref()
                        .is_some_and(|m| m.eq_ignore_ascii_case(&md5))
                    {
                        return Some(found);
                    }
                }
                None if recent == Some(true) => unknown = unknown.or(Some(found)),
                None => {}
            }
        }
        unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// A body sent without hashing SHA-256 (a PUT to a bucket) is still checked by it when
    /// the answer has one: the file is read again; and by the MD5 hashed as it went.
    #[tokio::test]
    async fn hashes_not_taken_as_sent_are_read_off_the_file() {
        #![allow(clippy::unwrap_used, reason = "a test")]
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("a.bin");
        std::fs::write(&local, b"some bytes").unwrap();
        let sent = Sent {
            len: 10,
            sha256: None,
            md5: Some(hex::encode(Md5::digest(b"some bytes"))),
        };
        let mut entry = FileEntry::of_key("a.bin");
        entry.size = Some(10);
        entry.sha256 = Some(hex::encode(Sha256::digest(b"some bytes")));
        let checked = verify_upload(&local, &entry, &sent, None, "x")
            .await
            .unwrap();
        assert!(matches!(checked, Ok(None)));
        entry.sha256 = Some(hex::encode(Sha256::digest(b"other bytes")));
        let checked = verify_upload(&local, &entry, &sent, None, "x")
            .await
            .unwrap();
        assert!(matches!(checked, Err(Bad::Mismatch(_))));
        entry.sha256 = None;
        let etag = hex::encode(Md5::digest(b"other bytes"));
        let checked = verify_upload(&local, &entry, &sent, Some(&etag), "x")
            .await
            .unwrap();
        assert!(matches!(checked, Err(Bad::EtagOnly(_))));
    }

    #[test]
    fn etags_that_are_not_md5s() {
        let md5 = "\"d41d8cd98f00b204e9800998ecf8427e\"";
        let mut h = HeaderMap::new();
        h.insert(ETAG, HeaderValue::from_static(md5));
        assert_eq!(
            etag_md5(&h).as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        let mut kms = h.clone();
        kms.insert(
            "x-amz-server-side-encryption",
            HeaderValue::from_static("aws:kms"),
        );
        assert_eq!(etag_md5(&kms), None);
        let mut dsse = h.clone();
        dsse.insert(
            "x-amz-server-side-encryption",
            HeaderValue::from_static("aws:kms:dsse"),
        );
        assert_eq!(etag_md5(&dsse), None);
        let mut aes = h.clone();
        aes.insert(
            "x-amz-server-side-encryption",
            HeaderValue::from_static("AES256"),
        );
        assert!(etag_md5(&aes).is_some());
        let mut ssec = h.clone();
        ssec.insert(
            "x-amz-server-side-encryption-customer-algorithm",
            HeaderValue::from_static("AES256"),
        );
        assert_eq!(etag_md5(&ssec), None);
        let mut multi = HeaderMap::new();
        multi.insert(
            ETAG,
            HeaderValue::from_static("\"d41d8cd98f00b204e9800998ecf8427e-2\""),
        );
        assert_eq!(etag_md5(&multi), None);
    }
}
