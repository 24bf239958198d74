//! Listing entries for the pure update and render tests: a file at `key` of `size` bytes,
//! created at a pinned time, its display path derived from the key.

use filedeck::api::FileEntry;

pub fn entry(key: &str, size: u64) -> FileEntry {
    typed(key, size, "text/plain")
}

pub fn typed(key: &str, size: u64, content_type: &str) -> FileEntry {
    FileEntry {
        key: key.into(),
        name: String::new(),
        path: String::new(),
        size: Some(size),
        description: None,
        content_type: Some(content_type.into()),
        created_at: Some("2026-11-26T10:00:00Z".into()),
        sha256: None,
        etag: None,
    }
    .normalise()
}
