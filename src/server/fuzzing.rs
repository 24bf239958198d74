//! Thin doors into the server's private parsers for the fuzz targets in `fuzz/`, re-exported
//! by [`crate::fuzzing`]. Kept to wrappers so the modules behind them stay private.

use std::time::Duration;

use axum::http::Uri;

use super::{objects, presign, validate};

pub fn workspace_id(id: &str) -> bool {
    validate::workspace_id(id).is_ok()
}

pub fn file_key(key: &str) -> bool {
    validate::file_key(key).is_ok()
}

pub fn folder_path(path: &str) -> Option<String> {
    validate::folder_path(path).ok()
}

pub fn file_name(name: &str) -> bool {
    validate::file_name(name).is_ok()
}

/// What the server makes of a `Range` header on an object of `size` bytes: `None` for the
/// whole object, `Some(None)` for unsatisfiable, `Some(Some((first, last)))` for a part.
pub fn parse_range(value: &str, size: u64) -> Option<Option<(u64, u64)>> {
    match objects::parse_range(value, size) {
        objects::RangeRequest::Full => None,
        objects::RangeRequest::Unsatisfiable => Some(None),
        objects::RangeRequest::Partial(r) => Some(Some((*r.start(), *r.end()))),
    }
}

/// The signed terms of a `PUT` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub content_type: String,
    pub size: u64,
    pub upload: String,
    pub key_id: String,
    pub display: Option<(String, String)>,
}

/// What a URL verified to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub workspace: String,
    pub key: String,
    pub expires: u64,
    pub put: Option<Put>,
}

pub struct PresignFixture(presign::Signer);

impl PresignFixture {
    /// The server's own loader, over a throwaway data directory holding `secret`.
    pub fn with_secret(secret: [u8; 32]) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("secret.key"), hex::encode(secret))?;
        presign::Signer::load_or_create(dir.path())
            .map(PresignFixture)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    pub fn url(
        &self,
        method: &str,
        ws: &str,
        key: &str,
        ttl: Duration,
        put: Option<&Put>,
    ) -> String {
        let put = put.map(|p| presign::PutTerms {
            content_type: p.content_type.clone(),
            size: p.size,
            upload: p.upload.clone(),
            key_id: p.key_id.clone(),
            display: p.display.clone(),
        });
        self.0.url("http://h", method, ws, key, ttl, put.as_ref())
    }

    /// `None` where the server would refuse the URL (or it is no URI at all).
    pub fn verify(&self, method: &str, url: &str) -> Option<Verified> {
        let uri: Uri = url.parse().ok()?;
        let t = self.0.verify(method, &uri).ok()?;
        Some(Verified {
            workspace: t.workspace,
            key: t.key,
            expires: t.expires,
            put: t.put.map(|p| Put {
                content_type: p.content_type,
                size: p.size,
                upload: p.upload,
                key_id: p.key_id,
                display: p.display,
            }),
        })
    }
}
