//! The store: blob files under `blobs/xx/<id>` and a SQLite index (`index.sqlite`, WAL).
//!
//! Every stored upload gets a fresh blob id, so two uploads of one key never write the same
//! file: the last to commit wins, whole, and the replaced blob is removed after the commit.
//! A blob is renamed into place and its directory fsynced *before* the row naming it is
//! committed; a crash in between leaves an orphan blob, removed at the next start (as is
//! everything left in `tmp/`).
//!
//! All methods are blocking: call them from `spawn_blocking`. One writer connection behind a
//! mutex; readers come from a small pool (WAL lets them read while the writer writes).
//!
//! Keys: the store makes them ([`Store::new_key`]) in its [`KeyStyle`]. Every file row keeps
//! its display path (`path`, `name`, and `display = path || name`, indexed), so
//! listing by prefix and the file-versus-folder rule work on display paths in both styles
//! (in path style `display` is the key). A pending large upload keeps its `path` and `name`
//! too: in opaque style nothing else knows them at the confirm.
//!
//! Schema versions (`PRAGMA user_version`): 1 had no `display` column and no `path`/`name`
//! in `pending`; 2 added them and the `settings` table that records the key style; 3 added
//! the upload URL's id and expiry to `pending` and the `spent` table of confirmed URLs. An
//! older index is migrated in place at open (version 1 was path style: nothing else
//! existed).

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::KeyStyle;
use super::blob::{Received, TempFile};
use super::error::{ServerError, StoreError};
use crate::wire::{FileEntry, split_key};

const INDEX_FILE: &str = "index.sqlite";
const BLOB_DIR: &str = "blobs";
const TMP_DIR: &str = "tmp";
/// Readers kept open for reuse.
const READER_POOL: usize = 4;
/// Uploads PUT but never confirmed are forgotten after this long (at the next start).
const PENDING_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// The schema this code writes.
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE files (
    ws TEXT NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    description TEXT,
    content_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    etag TEXT NOT NULL,
    blob TEXT NOT NULL,
    -- path || name, written with the row. Not a generated column: SQLite does not read
    -- those from an index, and listing by prefix in opaque style must scan only the index.
    display TEXT NOT NULL,
    PRIMARY KEY (ws, key)
) WITHOUT ROWID;
CREATE INDEX files_display ON files (ws, display);
-- Bodies PUT on a presigned URL. After the confirm the row stays, with confirmed = 1, so a
-- repeated confirm of the same bytes answers the file again.
CREATE TABLE pending (
    ws TEXT NOT NULL,
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    name TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    etag TEXT NOT NULL,
    created_at TEXT NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0,
    -- The id and expiry (unix seconds) of the URL the bytes came by.
    upload TEXT NOT NULL DEFAULT '',
    expires INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ws, key)
) WITHOUT ROWID;
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
-- Upload URLs whose bytes were confirmed: they take no more. Kept until they expire.
CREATE TABLE spent (
    upload TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 3;
";

/// Version 2 to 3. Pending uploads of version 2 came by URLs without an id: those URLs
/// are refused now (their signature does not cover one), so the rows need none.
const MIGRATE_2_TO_3: &str = "
ALTER TABLE pending ADD COLUMN upload TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;
CREATE TABLE spent (
    upload TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 3;
";

/// Version 1 to 2. The pending rows get their display path from their key afterwards
/// (version 1 was path style).
const MIGRATE_1_TO_2: &str = "
ALTER TABLE files ADD COLUMN display TEXT NOT NULL DEFAULT '';
UPDATE files SET display = path || name;
CREATE INDEX files_display ON files (ws, display);
ALTER TABLE pending ADD COLUMN path TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN name TEXT NOT NULL DEFAULT '';
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO settings (name, value) VALUES ('key_style', 'path');
PRAGMA user_version = 2;
";

const FILE_COLUMNS: &str =
    "key, name, path, size, description, content_type, created_at, sha256, etag";

/// A blob renamed into `blobs/`, not yet named by a committed row: dropping it removes it.
#[derive(Debug)]
pub(crate) struct PlacedBlob {
    id: String,
    file: TempFile,
    size: u64,
    etag: String,
    sha256: String,
}

impl PlacedBlob {
    pub(crate) fn etag(&self) -> &str {
        &self.etag
    }
}

/// A file to index, by display path: the store makes its key.
pub(crate) struct NewFile {
    /// `""` or ending in `/`.
    pub(crate) path: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) content_type: String,
    pub(crate) blob: PlacedBlob,
}

/// A row of `pending`.
struct Pending {
    blob: String,
    size: u64,
    content_type: String,
    sha256: String,
    etag: String,
    confirmed: bool,
    path: String,
    name: String,
    upload: String,
    expires: u64,
}

/// A stored file and where its bytes are.
pub(crate) struct StoredFile {
    pub(crate) entry: FileEntry,
    pub(crate) blob_path: PathBuf,
}

pub(crate) struct Store {
    key_style: KeyStyle,
    db_path: PathBuf,
    tmp_dir: PathBuf,
    blob_dir: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock rolled its transaction back; the connection is fine.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    // The OS random source does not fail on the platforms we run on; if it ever did,
    // no name could be made unique, so stopping here is the only honest answer.
    getrandom::fill(&mut b).expect("the OS random number generator failed");
    hex::encode(b)
}

fn remove_blob(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove replaced blob");
    }
}

impl Store {
    /// Open (or create) the store in `data_dir`, and remove what a crash left behind.
    pub(crate) fn open(data_dir: &Path, key_style: KeyStyle) -> Result<Store, ServerError> {
        let dir_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ServerError::DataDir { path, source }
        };
        let tmp_dir = data_dir.join(TMP_DIR);
        let blob_dir = data_dir.join(BLOB_DIR);
        if private_dir(data_dir).map_err(dir_error(data_dir))? {
            // Said once, for the directory: what is inside is tightened quietly.
            tracing::warn!(
                path = %data_dir.display(),
                "data directory was open to other users; set to mode 0700"
            );
        }
        private_dir(&tmp_dir).map_err(dir_error(&tmp_dir))?;
        private_dir(&blob_dir).map_err(dir_error(&blob_dir))?;
        for shard in 0..=255u8 {
            let dir = blob_dir.join(format!("{shard:02x}"));
            private_dir(&dir).map_err(dir_error(&dir))?;
        }
        fs::File::open(data_dir)
            .and_then(|d| d.sync_all())
            .map_err(dir_error(data_dir))?;

        let db_path = data_dir.join(INDEX_FILE);
        let index_error = |source| ServerError::Index {
            path: db_path.clone(),
            source,
        };
        private_index_files(&db_path).map_err(dir_error(&db_path))?;
        let mut writer = open_connection(&db_path).map_err(index_error)?;
        prepare_schema(&mut writer, &db_path, key_style)?;
        let store = Store {
            key_style,
            db_path: db_path.clone(),
            tmp_dir,
            blob_dir,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        };
        store.remove_leftovers()?;
        Ok(store)
    }

    pub(crate) fn key_style(&self) -> KeyStyle {
        self.key_style
    }

    /// The key of a new upload to `path + name`: that, in path style; a fresh `obj_<32 hex>`
    /// in opaque style.
    pub(crate) fn new_key(&self, path: &str, name: &str) -> String {
        match self.key_style {
            KeyStyle::Path => format!("{path}{name}"),
            KeyStyle::Opaque => format!("obj_{}", random_id()),
        }
    }

    /// The id of a new upload URL.
    pub(crate) fn new_upload_id(&self) -> String {
        random_id()
    }

    /// Whether the upload URL `upload` is spent: its bytes were confirmed.
    pub(crate) fn is_spent(&self, upload: &str) -> Result<bool, StoreError> {
        self.read(|conn| is_spent(conn, upload))
    }

    /// A fresh path in `tmp/` for a body being received.
    pub(crate) fn temp_path(&self) -> PathBuf {
        self.tmp_dir.join(format!("{}.part", random_id()))
    }

    fn blob_path(&self, id: &str) -> PathBuf {
        let shard = id.get(..2).unwrap_or("00");
        self.blob_dir.join(shard).join(id)
    }

    /// Move a received body into `blobs/` under a fresh id, durably.
    pub(crate) fn place_blob(&self, received: Received) -> io::Result<PlacedBlob> {
        let id = random_id();
        let path = self.blob_path(&id);
        fs::rename(received.file.path(), &path)?;
        let file = TempFile::new(path);
        received.file.disarm();
        if let Some(dir) = file.path().parent() {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(PlacedBlob {
            id,
            file,
            size: received.size,
            etag: format!("\"{}\"", hex::encode(received.md5)),
            sha256: hex::encode(received.sha256),
        })
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.readers).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.db_path)?,
        };
        let out = f(&conn);
        let mut pool = lock(&self.readers);
        if pool.len() < READER_POOL {
            pool.push(conn);
        }
        out
    }

    /// Index `files` in workspace `ws` in one transaction, each under a new key (in path
    /// style the display path, replacing a file there). On an error nothing is indexed and
    /// the new blobs are removed.
    pub(crate) fn insert_files(
        &self,
        ws: &str,
        files: Vec<NewFile>,
    ) -> Result<Vec<FileEntry>, StoreError> {
        let created_at = now_rfc3339();
        let (entries, replaced) = self.write(|tx| {
            let mut entries = Vec::with_capacity(files.len());
            let mut replaced = Vec::new();
            for f in &files {
                let display = format!("{}{}", f.path, f.name);
                if let Some(why) = collision(tx, ws, &display)? {
                    return Err(StoreError::Conflict(why));
                }
                let entry = FileEntry {
                    key: self.new_key(&f.path, &f.name),
                    name: f.name.clone(),
                    path: f.path.clone(),
                    size: Some(f.blob.size),
                    description: f.description.clone(),
                    content_type: Some(f.content_type.clone()),
                    created_at: Some(created_at.clone()),
                    sha256: Some(f.blob.sha256.clone()),
                    etag: Some(f.blob.etag.clone()),
                };
                if let Some(old) = upsert_file(tx, ws, &entry, &f.blob.id)? {
                    replaced.push(old);
                }
                entries.push(entry);
            }
            Ok((entries, replaced))
        })?;
        for f in files {
            f.blob.file.disarm();
        }
        for old in replaced {
            remove_blob(&self.blob_path(&old));
        }
        Ok(entries)
    }

    /// Keep `blob`, which came by the URL `upload` (valid until `expires`), as the pending
    /// (unconfirmed) upload of `key`, to become the file `path + name` at the confirm,
    /// replacing an earlier unconfirmed one. A spent URL takes no more bytes
    /// (`Forbidden`); nor, in opaque style, does a key once confirmed (it names one upload).
    pub(crate) fn put_pending(
        &self,
        ws: &str,
        key: &str,
        (path, name): (&str, &str),
        content_type: &str,
        (upload, expires): (&str, u64),
        blob: PlacedBlob,
    ) -> Result<(), StoreError> {
        let spent = || {
            StoreError::Forbidden(format!(
                "the upload {key} is confirmed: its URL takes no more bytes"
            ))
        };
        let replaced = self.write(|tx| {
            if is_spent(tx, upload)? {
                return Err(spent());
            }
            let old: Option<(String, bool)> = tx
                .prepare_cached("SELECT blob, confirmed FROM pending WHERE ws = ?1 AND key = ?2")?
                .query_row(params![ws, key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if self.key_style == KeyStyle::Opaque {
                let confirmed = old.as_ref().is_some_and(|(_, confirmed)| *confirmed);
                if confirmed || get_file(tx, ws, key)?.is_some() {
                    return Err(spent());
                }
            }
            tx.prepare_cached(
                "INSERT OR REPLACE INTO pending
                 (ws, key, path, name, blob, size, content_type, sha256, etag, created_at,
                  confirmed, upload, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12)",
            )?
            .execute(params![
                ws,
                key,
                path,
                name,
                blob.id,
                blob.size,
                content_type,
                blob.sha256,
                blob.etag,
                now_rfc3339(),
                upload,
                expires
            ])?;
            // A confirmed row's blob belongs to the file now.
            Ok(old.filter(|(_, confirmed)| !confirmed).map(|(b, _)| b))
        })?;
        blob.file.disarm();
        if let Some(old) = replaced {
            remove_blob(&self.blob_path(&old));
        }
        Ok(())
    }

    /// Make the pending upload of `key` a file. `404` when nothing arrived; `409` when
    /// `filename` is not the name given at step 1, when `size` is not what arrived, or when
    /// the display path collides with a folder. A repeated confirm answers the same file.
    pub(crate) fn confirm(
        &self,
        ws: &str,
        key: &str,
        filename: &str,
        size: u64,
    ) -> Result<FileEntry, StoreError> {
        let (entry, replaced) = self.write(|tx| {
            let pending = tx
                .prepare_cached(
                    "SELECT blob, size, content_type, sha256, etag, confirmed, path, name,
                            upload, expires
                     FROM pending WHERE ws = ?1 AND key = ?2",
                )?
                .query_row(params![ws, key], |r| {
                    Ok(Pending {
                        blob: r.get(0)?,
                        size: r.get(1)?,
                        content_type: r.get(2)?,
                        sha256: r.get(3)?,
                        etag: r.get(4)?,
                        confirmed: r.get(5)?,
                        path: r.get(6)?,
                        name: r.get(7)?,
                        upload: r.get(8)?,
                        expires: r.get(9)?,
                    })
                })
                .optional()?;
            let nothing = || StoreError::NotFound(format!("no upload has arrived for {key}"));
            let pending = pending.ok_or_else(nothing)?;
            if pending.name != filename {
                return Err(StoreError::Conflict(format!(
                    "filename {filename:?} is not {:?}, the one given for {key} at upload-url",
                    pending.name
                )));
            }
            if pending.size != size {
                return Err(StoreError::Conflict(format!(
                    "size {size} differs from the {} bytes that arrived for {key}",
                    pending.size
                )));
            }
            if pending.confirmed {
                let current = get_file(tx, ws, key)?.filter(|(_, b)| *b == pending.blob);
                let (entry, _) = current.ok_or_else(nothing)?;
                return Ok((entry, None));
            }
            let display = format!("{}{}", pending.path, pending.name);
            if let Some(why) = collision(tx, ws, &display)? {
                return Err(StoreError::Conflict(why));
            }
            let entry = FileEntry {
                key: key.to_string(),
                name: pending.name,
                path: pending.path,
                size: Some(size),
                description: None,
                content_type: Some(pending.content_type),
                created_at: Some(now_rfc3339()),
                sha256: Some(pending.sha256),
                etag: Some(pending.etag),
            };
            let replaced = upsert_file(tx, ws, &entry, &pending.blob)?;
            tx.prepare_cached("UPDATE pending SET confirmed = 1 WHERE ws = ?1 AND key = ?2")?
                .execute(params![ws, key])?;
            // The URL is spent: else a later PUT on it, then a repeated confirm, would
            // answer other bytes than the ones confirmed (in path style the key is reused).
            if !pending.upload.is_empty() {
                tx.prepare_cached("INSERT OR IGNORE INTO spent (upload, expires) VALUES (?1, ?2)")?
                    .execute(params![pending.upload, pending.expires])?;
                // An expired URL is refused by its signature already: its row goes, so a
                // server that runs for months holds only the URLs that could still be used.
                tx.prepare_cached("DELETE FROM spent WHERE expires < ?1")?
                    .execute(params![unix_now()])?;
            }
            Ok((entry, replaced))
        })?;
        if let Some(old) = replaced {
            remove_blob(&self.blob_path(&old));
        }
        Ok(entry)
    }

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

    /// Remove `key`; false when there was no such file.
    pub(crate) fn delete(&self, ws: &str, key: &str) -> Result<bool, StoreError> {
        let removed = self.write(|tx| {
            let blob: Option<String> = tx
                .prepare_cached("SELECT blob FROM files WHERE ws = ?1 AND key = ?2")?
                .query_row(params![ws, key], |r| r.get(0))
                .optional()?;
            if blob.is_some() {
                tx.prepare_cached("DELETE FROM files WHERE ws = ?1 AND key = ?2")?
                    .execute(params![ws, key])?;
                tx.prepare_cached(
                    "DELETE FROM pending WHERE ws = ?1 AND key = ?2 AND confirmed = 1",
                )?
                .execute(params![ws, key])?;
            }
            Ok(blob)
        })?;
        match removed {
            Some(blob) => {
                remove_blob(&self.blob_path(&blob));
                Ok(true)
            }
            None => Ok(false),
        }
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

    /// Empty `tmp/`, forget stale pending uploads, remove blobs no row names.
    fn remove_leftovers(&self) -> Result<(), ServerError> {
        let cutoff = OffsetDateTime::now_utc() - PENDING_LIFETIME;
        let cutoff = cutoff
            .replace_nanosecond(0)
            .unwrap_or(cutoff)
            .format(&Rfc3339)
            .unwrap_or_default();
        let referenced: HashSet<String> = {
            let conn = lock(&self.writer);
            conn.execute(
                "DELETE FROM pending WHERE confirmed = 0 AND created_at < ?1",
                params![cutoff],
            )?;
            // An expired URL is refused anyway.
            conn.execute("DELETE FROM spent WHERE expires < ?1", params![unix_now()])?;
            conn.execute(
                "DELETE FROM pending WHERE confirmed = 1 AND NOT EXISTS (
                     SELECT 1 FROM files f
                     WHERE f.ws = pending.ws AND f.key = pending.key AND f.blob = pending.blob)",
                [],
            )?;
            let mut stmt = conn.prepare("SELECT blob FROM files UNION SELECT blob FROM pending")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut removed = 0usize;
        for entry in fs::read_dir(&self.tmp_dir)? {
            let entry = entry?;
            if fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        for shard in fs::read_dir(&self.blob_dir)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let entry = entry?;
                let name = entry.file_name();
                let known = name.to_str().is_some_and(|n| referenced.contains(n));
                if !known && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            tracing::info!(removed, "removed files left over by an interrupted run");
        }
        Ok(())
    }
}

/// Owner-only mode of the data directory and everything in it.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
#[cfg(unix)]
pub(crate) const FILE_MODE: u32 = 0o600;

/// Make `dir` (its parents as usual) mode 0700 whatever the umask, or bring an existing one
/// that is more open down to 0700. Tightened rather than refused: every data directory made
/// before this rule is 0755, and refusing would stop them all from serving, for a fix the
/// server can make itself (it owns the directory; `chmod` failing is the error then).
/// True if it was open to others.
fn private_dir(dir: &Path) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
        // The umask only ever removes bits; this also sets those it removed (0700 exactly).
        if mode != DIR_MODE {
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
        }
        Ok(mode & !DIR_MODE != 0)
    }
    #[cfg(not(unix))]
    fs::create_dir_all(dir).map(|()| false)
}

/// Create the index 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` the
/// index's mode), and tighten an index and its side files left more open by an older run.
fn private_index_files(db_path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // An empty file is an empty database to SQLite.
        fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .open(db_path)?;
        let mut side = db_path.as_os_str().to_owned();
        side.push("-wal");
        let wal = PathBuf::from(&side);
        let mut side = db_path.as_os_str().to_owned();
        side.push("-shm");
        let shm = PathBuf::from(&side);
        for path in [db_path, &wal, &shm] {
            match fs::metadata(path) {
                Ok(meta) if meta.permissions().mode() & 0o777 != FILE_MODE => {
                    fs::set_permissions(path, fs::Permissions::from_mode(FILE_MODE))?;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = db_path;
        Ok(())
    }
}

fn is_spent(conn: &Connection, upload: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM spent WHERE upload = ?1")?
        .exists(params![upload])?)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA cache_size = -32768;",
    )?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
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
        sha256: row.get(7)?,
        etag: row.get(8)?,
    })
}

fn get_file(
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

/// Insert or replace a file row; the blob it replaces, if any and different.
fn upsert_file(
    tx: &Transaction<'_>,
    ws: &str,
    entry: &FileEntry,
    blob: &str,
) -> Result<Option<String>, StoreError> {
    let old: Option<String> = tx
        .prepare_cached("SELECT blob FROM files WHERE ws = ?1 AND key = ?2")?
        .query_row(params![ws, entry.key], |r| r.get(0))
        .optional()?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO files
         (ws, key, name, path, size, description, content_type, created_at, sha256, etag, blob,
          display)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?4 || ?3)",
    )?
    .execute(params![
        ws,
        entry.key,
        entry.name,
        entry.path,
        entry.size,
        entry.description,
        entry.content_type,
        entry.created_at,
        entry.sha256,
        entry.etag,
        blob
    ])?;
    // A repeated confirm keeps its marker; an upload by another route replaces it.
    tx.prepare_cached(
        "DELETE FROM pending WHERE ws = ?1 AND key = ?2 AND confirmed = 1 AND blob <> ?3",
    )?
    .execute(params![ws, entry.key, blob])?;
    Ok(old.filter(|old| old != blob))
}

/// Why a file cannot be stored at display path `display` in `ws`: a file where one of its
/// folders would be (`a` for `a/b`), or files below it (`a/b` for `a`). The rule is about
/// display paths, which the client builds its tree from, so in opaque style it holds as in
/// path style; two files at one display path are no collision.
fn collision(conn: &Connection, ws: &str, display: &str) -> Result<Option<String>, StoreError> {
    let mut exists = conn.prepare_cached(
        "SELECT 1 FROM files INDEXED BY files_display WHERE ws = ?1 AND display = ?2",
    )?;
    for (i, _) in display.match_indices('/') {
        let folder = &display[..i];
        if exists.exists(params![ws, folder])? {
            return Ok(Some(format!(
                "{display} would be inside {folder}/, but {folder} is a file"
            )));
        }
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

/// Create the schema in a new index, migrate an older one, and check (or record) the key
/// style the data directory is filled in.
fn prepare_schema(
    conn: &mut Connection,
    db_path: &Path,
    key_style: KeyStyle,
) -> Result<(), ServerError> {
    let index_error = |source| ServerError::Index {
        path: db_path.to_path_buf(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(index_error)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(index_error)?;
    match version {
        0 => tx.execute_batch(SCHEMA).map_err(index_error)?,
        1 => {
            migrate_1_to_2(&tx).map_err(index_error)?;
            tx.execute_batch(MIGRATE_2_TO_3).map_err(index_error)?;
        }
        2 => tx.execute_batch(MIGRATE_2_TO_3).map_err(index_error)?,
        SCHEMA_VERSION => {}
        newer => {
            return Err(ServerError::IndexVersion {
                path: db_path.to_path_buf(),
                version: newer,
                supported: SCHEMA_VERSION,
            });
        }
    }
    let stored: Option<String> = tx
        .query_row(
            "SELECT value FROM settings WHERE name = 'key_style'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(index_error)?;
    if stored.as_deref() != Some(key_style.as_str()) {
        let holds_files: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM files) OR EXISTS (SELECT 1 FROM pending)",
                [],
                |r| r.get(0),
            )
            .map_err(index_error)?;
        if let Some(stored) = stored.filter(|_| holds_files) {
            return Err(ServerError::KeyStyle {
                path: db_path.to_path_buf(),
                stored,
                wanted: key_style,
            });
        }
        tx.execute(
            "INSERT OR REPLACE INTO settings (name, value) VALUES ('key_style', ?1)",
            params![key_style.as_str()],
        )
        .map_err(index_error)?;
    }
    tx.commit().map_err(index_error)
}

fn migrate_1_to_2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(MIGRATE_1_TO_2)?;
    let keys: Vec<(String, String)> = tx
        .prepare("SELECT ws, key FROM pending")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut update =
        tx.prepare("UPDATE pending SET path = ?3, name = ?4 WHERE ws = ?1 AND key = ?2")?;
    for (ws, key) in &keys {
        let (path, name) = split_key(key);
        update.execute(params![ws, key, path, name])?;
    }
    tracing::info!(
        pending = keys.len(),
        "index migrated from schema version 1 to 2"
    );
    Ok(())
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
