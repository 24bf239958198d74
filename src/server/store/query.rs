//! Reading the index: one file, the collision rule, listing by prefix (by key, or by display
//! path for opaque keys) and the workspaces in use.

use rusqlite::{Connection, OptionalExtension, params};

use super::{FILE_COLUMNS, Store, StoredFile};
use crate::server::KeyStyle;
use crate::server::error::StoreError;
use crate::wire::FileEntry;

impl Store {
    /// The file `key` and the path of its bytes.
    pub(crate) fn get(&self, ws: &str, key: &str) -> Result<Option<StoredFile>, StoreError> {
        let found = self.read(|conn| get_file(conn, ws, key))?;
        Ok(found.map(|(entry, blob)| StoredFile {
            entry,
            blob_path: self.blob_path(&blob),
        }))
    }

    /// `Conflict` if a file at display path `display` would collide with a file or folder of
    /// workspace `ws`.
    pub(crate) fn check_collision(&self, ws: &str, display: &str) -> Result<(), StoreError> {
        match self.read(|conn| collision(conn, ws, display))? {
            Some(why) => Err(StoreError::Conflict(why)),
            None => Ok(()),
        }
    }

    /// Up to `limit` files of `ws` whose display path (`path + name`) starts with `prefix`
    /// and whose key sorts after `after`, sorted by key, and whether more follow.
    pub(crate) fn list(
        &self,
        ws: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<FileEntry>, bool), StoreError> {
        let fetch = limit.saturating_add(1);
        let mut files = if self.key_style == KeyStyle::Opaque && !prefix.is_empty() {
            self.list_by_display(ws, prefix, after, fetch)?
        } else {
            // The key is the display path (or no prefix filters): one range of the primary
            // key, already in key order.
            self.list_by_key(ws, prefix, after, fetch)?
        };
        let more = files.len() > limit;
        files.truncate(limit);
        Ok((files, more))
    }

    fn list_by_key(
        &self,
        ws: &str,
        prefix: &str,
        after: Option<&str>,
        fetch: usize,
    ) -> Result<Vec<FileEntry>, StoreError> {
        let (lower, inclusive) = match after {
            Some(after) if after >= prefix => (after, false),
            _ => (prefix, true),
        };
        let upper = prefix_end(prefix);
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE ws = ?1 AND key {} ?2{} ORDER BY key LIMIT ?3",
            if inclusive { ">=" } else { ">" },
            if upper.is_some() { " AND key < ?4" } else { "" },
        );
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = match &upper {
                Some(upper) => stmt.query(params![ws, lower, fetch as i64, upper])?,
                None => stmt.query(params![ws, lower, fetch as i64])?,
            };
            collect_entries(rows, fetch)
        })
    }

    /// Opaque keys say nothing about display paths: the keys of the matching files are a
    /// range of the `display` index (which holds `ws, display, key`, so this reads no row),
    /// sorted by key keeping only the first `fetch`; then those rows are read. Each page
    /// costs one pass over the index entries under `prefix`, whatever the page size.
    fn list_by_display(
        &self,
        ws: &str,
        prefix: &str,
        after: Option<&str>,
        fetch: usize,
    ) -> Result<Vec<FileEntry>, StoreError> {
        let upper = prefix_end(prefix);
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE ws = ?1 AND key IN (
                 SELECT key FROM files INDEXED BY files_display
                 WHERE ws = ?1 AND display >= ?2{} AND key > ?3
                 ORDER BY key LIMIT ?4)
             ORDER BY key",
            if upper.is_some() {
                " AND display < ?5"
            } else {
                ""
            },
        );
        // Every key sorts after "".
        let after = after.unwrap_or("");
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = match &upper {
                Some(upper) => stmt.query(params![ws, prefix, after, fetch as i64, upper])?,
                None => stmt.query(params![ws, prefix, after, fetch as i64])?,
            };
            collect_entries(rows, fetch)
        })
    }

    /// Workspaces holding at least one file, sorted (a skip scan over the primary key).
    pub(crate) fn workspaces(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "WITH RECURSIVE w(ws) AS (
                     SELECT min(ws) FROM files
                     UNION ALL
                     SELECT (SELECT min(ws) FROM files WHERE ws > w.ws) FROM w WHERE w.ws IS NOT NULL
                 )
                 SELECT ws FROM w WHERE ws IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<String>, _>>()?)
        })
    }
}

fn file_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<FileEntry> {
    Ok(FileEntry {
        key: row.get(0)?,
        name: row.get(1)?,
        path: row.get(2)?,
        size: row.get(3)?,
        description: row.get(4)?,
        content_type: row.get(5)?,
        created_at: row.get(6)?,
        // '' is how the S3 store records what it does not know (bytes that went straight
        // to the bucket were never hashed here): absent, never an empty hash.
        sha256: row
            .get::<_, String>(7)
            .map(|t| Some(t).filter(|t| !t.is_empty()))?,
        etag: row
            .get::<_, String>(8)
            .map(|t| Some(t).filter(|t| !t.is_empty()))?,
    })
}

pub(super) fn get_file(
    conn: &Connection,
    ws: &str,
    key: &str,
) -> Result<Option<(FileEntry, String)>, StoreError> {
    let sql = format!("SELECT {FILE_COLUMNS}, blob FROM files WHERE ws = ?1 AND key = ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![ws, key], |r| Ok((file_entry(r)?, r.get(9)?)))
        .optional()?)
}

/// Why a file cannot be stored at display path `display` in `ws`: a file where one of its
/// folders would be (`a` for `a/b`), or files below it (`a/b` for `a`). The rule is about
/// display paths, which the client builds its tree from, so in opaque style it holds as in
/// path style; two files at one display path are no collision.
pub(super) fn collision(
    conn: &Connection,
    ws: &str,
    display: &str,
) -> Result<Option<String>, StoreError> {
    let mut exists = conn.prepare_cached(
        "SELECT 1 FROM files INDEXED BY files_display WHERE ws = ?1 AND display = ?2",
    )?;
    if let Some(why) = inside_a_file(display, |folder| exists.exists(params![ws, folder]))? {
        return Ok(Some(why));
    }
    // Paths below `display/` sort in [`display/`, `display0`): '0' follows '/'.
    let below: Option<String> = conn
        .prepare_cached(
            "SELECT display FROM files INDEXED BY files_display
             WHERE ws = ?1 AND display >= ?2 AND display < ?3 ORDER BY display LIMIT 1",
        )?
        .query_row(
            params![ws, format!("{display}/"), format!("{display}0")],
            |r| r.get(0),
        )
        .optional()?;
    Ok(below.map(|other| format!("{display} is a folder holding {other}, so it cannot be a file")))
}

/// Why `display` cannot be a file when `is_file` says one of its folders is a file.
pub(crate) fn inside_a_file<E>(
    display: &str,
    mut is_file: impl FnMut(&str) -> Result<bool, E>,
) -> Result<Option<String>, E> {
    for (i, _) in display.match_indices('/') {
        let folder = display.get(..i).unwrap_or_default();
        if is_file(folder)? {
            return Ok(Some(format!(
                "{display} would be inside {folder}/, but {folder} is a file"
            )));
        }
    }
    Ok(None)
}

/// Up to `fetch` entries from `rows`.
fn collect_entries(
    mut rows: rusqlite::Rows<'_>,
    fetch: usize,
) -> Result<Vec<FileEntry>, StoreError> {
    let mut files = Vec::with_capacity(fetch.min(10_001));
    while files.len() < fetch
        && let Some(row) = rows.next()?
    {
        files.push(file_entry(row)?);
    }
    Ok(files)
}

/// The smallest string greater than every string starting with `prefix` (`None`: no bound).
/// SQLite compares text bytewise, and UTF-8 byte order is code point order.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a/").as_deref(), Some("a0"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
    }
}
