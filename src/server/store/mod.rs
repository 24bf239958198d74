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
//!
//! Rooms: [`schema`] (opening: private directories, connections, schema and migrations),
//! [`query`] (reads and listing), [`write`] (uploads, confirms, deletes), [`sweep`] (what a
//! crash left behind).

mod query;
mod replica;
mod schema;
mod sweep;
mod write;

pub(crate) use query::inside_a_file;
pub(crate) use replica::{LogOp, LoggedFile};
pub(crate) use schema::LOCAL_STORE;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use md5::Md5;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::KeyStyle;
use super::blob::{Received, TempFile, create_owner_only};
use super::error::{ServerError, StoreError};
use crate::wire::FileEntry;
use schema::{open_connection, prepare_schema, private_dir, private_index_files};

const INDEX_FILE: &str = "index.sqlite";
const BLOB_DIR: &str = "blobs";
const TMP_DIR: &str = "tmp";
/// Readers kept open for reuse.
const READER_POOL: usize = 4;

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
    /// A blob's row fields: its ETag is the quoted hex MD5, as an upload's is.
    fn new(id: String, file: TempFile, size: u64, md5: &[u8], sha256: &[u8]) -> Self {
        PlacedBlob {
            id,
            file,
            size,
            etag: format!("\"{}\"", hex::encode(md5)),
            sha256: hex::encode(sha256),
        }
    }

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

pub(crate) fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

#[expect(
    clippy::expect_used,
    reason = "without the OS random source no name can be made unique: stopping is the only honest answer"
)]
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 16];
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
    /// `store_id` names the store whose files the index lists ([`LOCAL_STORE`], or the S3
    /// store's URL): an index of one is refused for another.
    pub(crate) fn open(
        data_dir: &Path,
        key_style: KeyStyle,
        store_id: &str,
    ) -> Result<Store, ServerError> {
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
        prepare_schema(&mut writer, &db_path, key_style, store_id)?;
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
        Ok(PlacedBlob::new(
            id,
            file,
            received.size,
            &received.md5,
            &received.sha256,
        ))
    }

    /// Write `bytes` straight into `blobs/` under a fresh id, not fsynced: for seeding a
    /// data directory in bulk ([`crate::server::seed_files`]), where one fsync per file is
    /// what makes a million files take an hour.
    pub(crate) fn place_bytes_unsynced(&self, bytes: &[u8]) -> io::Result<PlacedBlob> {
        let id = random_id();
        let file = TempFile::new(self.blob_path(&id));
        create_owner_only(file.path())?.write_all(bytes)?;
        Ok(PlacedBlob::new(
            id,
            file,
            bytes.len() as u64,
            &Md5::digest(bytes),
            &Sha256::digest(bytes),
        ))
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
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
