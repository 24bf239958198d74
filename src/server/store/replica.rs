//! The S3 store's index: rows written by applying the records of the bucket's log. Records
//! may be seen out of order (two servers write them, and a listing may show a record after
//! a newer one), so every row and every delete keeps the name of the record that wrote it,
//! and only a newer record changes it: every server ends with the same rows, whatever order
//! it saw the records in.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::server::error::StoreError;
use crate::wire::FileEntry;

/// A file as the log records it: its entry, and the bucket object holding its bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoggedFile {
    pub(crate) ws: String,
    #[serde(flatten)]
    pub(crate) entry: FileEntry,
    pub(crate) blob: String,
}

/// One change a log record makes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum LogOp {
    Put(Box<LoggedFile>),
    Delete { ws: String, key: String },
}

/// The last log record name applied, read back at start to go on from there.
const MARK: &str = "log_mark";

impl Store {
    /// The log mark: every record named up to it was applied (see [`Store::apply_log`]).
    pub(crate) fn log_mark(&self) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT value FROM settings WHERE name = ?1")?
                .query_row(params![MARK], |r| r.get(0))
                .optional()?)
        })
    }

    /// Apply log records `(name, ops)` in one transaction, and move the mark to `mark`.
    /// Answers the blobs the applied records left unnamed: replaced or deleted files, and
    /// puts that lost to a newer record. Applying a record twice changes nothing.
    pub(crate) fn apply_log(
        &self,
        records: &[(String, Vec<LogOp>)],
        mark: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        self.write(|tx| {
            let mut freed = Vec::new();
            for (version, ops) in records {
                for op in ops {
                    match op {
                        LogOp::Put(file) => apply_put(tx, version, file, &mut freed)?,
                        LogOp::Delete { ws, key } => {
                            apply_delete(tx, version, ws, key, &mut freed)?;
                        }
                    }
                }
            }
            if let Some(mark) = mark {
                tx.prepare_cached("INSERT OR REPLACE INTO settings (name, value) VALUES (?1, ?2)")?
                    .execute(params![MARK, mark])?;
            }
            Ok(freed)
        })
    }

    /// File `key` and the name of its blob.
    pub(crate) fn lookup(
        &self,
        ws: &str,
        key: &str,
    ) -> Result<Option<(FileEntry, String)>, StoreError> {
        self.read(|conn| super::query::get_file(conn, ws, key))
    }
}

/// The newest version that has touched `key`: its row's or its tombstone's.
fn newest(
    tx: &Transaction<'_>,
    ws: &str,
    key: &str,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    let row: Option<(String, String)> = tx
        .prepare_cached("SELECT version, blob FROM files WHERE ws = ?1 AND key = ?2")?
        .query_row(params![ws, key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let tomb: Option<String> = tx
        .prepare_cached("SELECT version FROM tombstones WHERE ws = ?1 AND key = ?2")?
        .query_row(params![ws, key], |r| r.get(0))
        .optional()?;
    Ok(match (row, tomb) {
        (Some((v, blob)), Some(t)) => Some((v.max(t), Some(blob))),
        (Some((v, blob)), None) => Some((v, Some(blob))),
        (None, Some(t)) => Some((t, None)),
        (None, None) => None,
    })
}

fn apply_put(
    tx: &Transaction<'_>,
    version: &str,
    file: &LoggedFile,
    freed: &mut Vec<String>,
) -> Result<(), StoreError> {
    let (ws, e) = (&file.ws, &file.entry);
    let current = newest(tx, ws, &e.key)?;
    if let Some((newer, current_blob)) = current.as_ref().filter(|(v, _)| v.as_str() >= version) {
        // Lost to a newer record: its blob is named by nothing else, unless this is the
        // very record seen twice, or the newer one names the same bytes (two confirms of one
        // upload, on two servers).
        if newer != version && current_blob.as_deref() != Some(file.blob.as_str()) {
            freed.push(file.blob.clone());
        }
        return Ok(());
    }
    if let Some(old) = current
        .and_then(|(_, blob)| blob)
        .filter(|b| *b != file.blob)
    {
        freed.push(old);
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO files
         (ws, key, name, path, size, description, content_type, created_at, sha256, etag, blob,
          display, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?4 || ?3, ?12)",
    )?
    .execute(params![
        ws,
        e.key,
        e.name,
        e.path,
        // NOT NULL columns: '' and 0 stand for absent, and are read back as absent.
        e.size.unwrap_or_default(),
        e.description,
        e.content_type
            .as_deref()
            .unwrap_or("application/octet-stream"),
        e.created_at.as_deref().unwrap_or(""),
        e.sha256.as_deref().unwrap_or(""),
        e.etag.as_deref().unwrap_or(""),
        file.blob,
        version
    ])?;
    tx.prepare_cached("DELETE FROM tombstones WHERE ws = ?1 AND key = ?2")?
        .execute(params![ws, e.key])?;
    Ok(())
}

fn apply_delete(
    tx: &Transaction<'_>,
    version: &str,
    ws: &str,
    key: &str,
    freed: &mut Vec<String>,
) -> Result<(), StoreError> {
    let current = newest(tx, ws, key)?;
    if current.as_ref().is_some_and(|(v, _)| v.as_str() >= version) {
        return Ok(());
    }
    if let Some(blob) = current.and_then(|(_, blob)| blob) {
        freed.push(blob);
        tx.prepare_cached("DELETE FROM files WHERE ws = ?1 AND key = ?2")?
            .execute(params![ws, key])?;
    }
    tx.prepare_cached("INSERT OR REPLACE INTO tombstones (ws, key, version) VALUES (?1, ?2, ?3)")?
        .execute(params![ws, key, version])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use crate::server::KeyStyle;

    fn put(key: &str, blob: &str) -> LogOp {
        let (path, name) = crate::wire::split_key(key);
        LogOp::Put(Box::new(LoggedFile {
            ws: "ws".into(),
            entry: FileEntry {
                size: Some(1),
                name: name.into(),
                path: path.into(),
                ..FileEntry::of_key(key)
            },
            blob: blob.into(),
        }))
    }

    fn delete(key: &str) -> LogOp {
        LogOp::Delete {
            ws: "ws".into(),
            key: key.into(),
        }
    }

    fn rec(version: &str, op: LogOp) -> (String, Vec<LogOp>) {
        (version.to_string(), vec![op])
    }

    /// Every order of the same records ends in the same rows, and frees each unnamed blob
    /// (never one still named: two confirms of one upload name the same bytes).
    #[test]
    fn any_order_ends_the_same() {
        let records = [
            rec("1", put("a.txt", "b1")),
            rec("2", put("a.txt", "b2")),
            rec("3", put("a.txt", "b2")),
            rec("4", delete("c.txt")),
            rec("5", put("c.txt", "c1")),
            rec("6", put("d.txt", "d1")),
            rec("7", delete("d.txt")),
        ];
        let orders: [&[usize]; 4] = [
            &[0, 1, 2, 3, 4, 5, 6],
            &[6, 5, 4, 3, 2, 1, 0],
            &[2, 0, 6, 4, 1, 3, 5],
            &[5, 6, 0, 2, 1, 4, 3],
        ];
        for order in orders {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path(), KeyStyle::Path, "s3://test").unwrap();
            let mut freed = Vec::new();
            for &i in order {
                freed.extend(store.apply_log(&records[i..=i], None).unwrap());
                // Applying again changes nothing, and frees nothing not freed already.
                let again = store.apply_log(&records[i..=i], None).unwrap();
                assert!(
                    again.iter().all(|b| freed.contains(b)),
                    "{order:?} {again:?}"
                );
            }
            let a = store.lookup("ws", "a.txt").unwrap().unwrap();
            assert_eq!(a.1, "b2", "{order:?}");
            assert_eq!(store.lookup("ws", "c.txt").unwrap().unwrap().1, "c1");
            assert!(store.lookup("ws", "d.txt").unwrap().is_none(), "{order:?}");
            freed.sort();
            freed.dedup();
            assert_eq!(freed, ["b1", "d1"], "{order:?}");
        }
    }
}
