//! Seeding a data directory in bulk, with no server running: the benchmarks' million
//! files. [`super::put_many`] makes each file as an upload does (temp file, fsync, rename,
//! directory fsync), which costs about a millisecond a file; here the blobs go straight into
//! `blobs/` unsynced and the rows through the store's own indexing, in large transactions.

use std::path::Path;

use super::store::{self, NewFile, Store};
use super::{KeyStyle, ServerError, upload, validate};

/// Files indexed per transaction: large enough that commits cost nothing, small enough
/// that a batch's blobs and rows stay a few megabytes.
const BATCH: usize = 20_000;

/// Store `files` (display path, bytes) in workspace `ws` of the data directory `data_dir`
/// (made if missing), as uploads in `key_style` would, and answer how many were stored.
/// Each batch of files is indexed in one transaction, with the collision rule of an upload.
///
/// For benchmarks and demos only: the blobs are not fsynced, so a crash during the seed, or
/// soon after it, can leave rows whose bytes are lost (seed again). Never run it on a data
/// directory a server is serving: opening the store removes what it takes for leftovers.
pub fn seed_files(
    data_dir: &Path,
    key_style: KeyStyle,
    ws: &str,
    files: impl IntoIterator<Item = (String, Vec<u8>)>,
) -> Result<usize, ServerError> {
    validate::workspace_id(ws).map_err(ServerError::InvalidRequest)?;
    let store = Store::open(data_dir, key_style, store::LOCAL_STORE)?;
    let mut stored = 0;
    let mut batch = Vec::with_capacity(BATCH);
    let mut files = files.into_iter().peekable();
    while files.peek().is_some() {
        for (display, bytes) in files.by_ref().take(BATCH) {
            validate::file_key(&display).map_err(ServerError::InvalidRequest)?;
            let (path, name) = crate::wire::split_key(&display);
            batch.push(NewFile {
                path: path.to_string(),
                name: name.to_string(),
                description: None,
                content_type: upload::guess_content_type(&display),
                blob: store.place_bytes_unsynced(&bytes)?,
            });
        }
        stored += batch.len();
        store.insert_files(ws, std::mem::take(&mut batch))?;
    }
    Ok(stored)
}
