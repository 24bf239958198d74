//! Opening the index: the data directory made owner-only, connections, the schema and its
//! migrations, and the key style the directory was filled in.

use std::fs;
use std::io;
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::server::KeyStyle;
#[cfg(unix)]
use crate::server::blob::FILE_MODE;
use crate::server::error::ServerError;
use crate::wire::split_key;

/// The schema this code writes.
const SCHEMA_VERSION: i64 = 4;

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
    -- The name of the bucket log record that wrote the row (S3 store; '' on local disk):
    -- records may be seen out of order, and the newest wins.
    version TEXT NOT NULL DEFAULT '',
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
-- Deletes seen in the bucket log (S3 store), so that an older upload's record seen later
-- does not bring the file back.
CREATE TABLE tombstones (
    ws TEXT NOT NULL,
    key TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (ws, key)
) WITHOUT ROWID;
PRAGMA user_version = 4;
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

/// Version 3 to 4: the S3 store's row versions and tombstones.
const MIGRATE_3_TO_4: &str = "
ALTER TABLE files ADD COLUMN version TEXT NOT NULL DEFAULT '';
-- Deletes seen in the bucket log (S3 store), so that an older upload's record seen later
-- does not bring the file back.
CREATE TABLE tombstones (
    ws TEXT NOT NULL,
    key TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (ws, key)
) WITHOUT ROWID;
PRAGMA user_version = 4;
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

/// Owner-only mode of the data directory and every directory in it.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;

/// Make `dir` (its parents as usual) mode 0700 whatever the umask, or bring an existing one
/// that is more open down to 0700. Tightened rather than refused: every data directory made
/// before this rule is 0755, and refusing would stop them all from serving, for a fix the
/// server can make itself (it owns the directory; `chmod` failing is the error then).
/// True if it was open to others.
pub(super) fn private_dir(dir: &Path) -> io::Result<bool> {
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
pub(super) fn private_index_files(db_path: &Path) -> io::Result<()> {
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

pub(super) fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
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

/// Create the schema in a new index, migrate an older one, and check (or record) the key
/// style the data directory is filled in.
pub(super) fn prepare_schema(
    conn: &mut Connection,
    db_path: &Path,
    key_style: KeyStyle,
    store_id: &str,
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
            tx.execute_batch(MIGRATE_3_TO_4).map_err(index_error)?;
        }
        2 => {
            tx.execute_batch(MIGRATE_2_TO_3).map_err(index_error)?;
            tx.execute_batch(MIGRATE_3_TO_4).map_err(index_error)?;
        }
        3 => tx.execute_batch(MIGRATE_3_TO_4).map_err(index_error)?,
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
    // The index of one store must not serve another's files: their blobs are not there.
    let holds_files: bool = tx
        .query_row("SELECT EXISTS (SELECT 1 FROM files)", [], |r| r.get(0))
        .map_err(index_error)?;
    let indexed: Option<String> = tx
        .query_row("SELECT value FROM settings WHERE name = 'store'", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(index_error)?;
    // Indexes made before the S3 store existed index local disk.
    let indexed = indexed.or_else(|| holds_files.then(|| LOCAL_STORE.to_string()));
    match indexed {
        Some(indexed) if indexed != store_id => {
            return Err(ServerError::IndexedStore {
                path: db_path.to_path_buf(),
                indexed,
                wanted: store_id.to_string(),
            });
        }
        Some(_) => {}
        None => {
            tx.execute(
                "INSERT OR REPLACE INTO settings (name, value) VALUES ('store', ?1)",
                params![store_id],
            )
            .map_err(index_error)?;
        }
    }
    tx.commit().map_err(index_error)
}

/// The `store` setting of an index of local disk.
pub(crate) const LOCAL_STORE: &str = "local";

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
