//! Listing entries for the pure update and render tests: a file at `key` of `size` bytes,
//! created at a pinned time, its display path derived from the key.

use filedeck::api::FileEntry;

pub fn entry(key: &str, size: u64) -> FileEntry {
    typed(key, size, "text/plain")
}

pub fn typed(key: &str, size: u64, content_type: &str) -> FileEntry {
    file(key, Some(size), Some(26), Some(content_type))
}

/// A file at `key` created on `day` of November 2026 at 10:00 UTC; what is `None` is
/// unknown, as a server may leave it out.
pub fn file(
    key: &str,
    size: Option<u64>,
    day: Option<u64>,
    content_type: Option<&str>,
) -> FileEntry {
    FileEntry {
        key: key.into(),
        name: String::new(),
        path: String::new(),
        size,
        description: None,
        content_type: content_type.map(str::to_string),
        created_at: day.map(|d| format!("2026-11-{d:02}T10:00:00Z")),
        sha256: None,
        etag: None,
    }
    .normalise()
}
