//! Writing the index: files stored whole, pending large uploads and their confirm (which
//! spends the upload URL), deletes. A replaced blob is removed only after the commit.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::query::{collision, get_file};
use super::{NewFile, PlacedBlob, Store, now_rfc3339, remove_blob, unix_now};
use crate::server::KeyStyle;
use crate::server::error::StoreError;
use crate::wire::FileEntry;

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

impl Store {
    /// Whether the upload URL `upload` is spent: its bytes were confirmed.
    pub(crate) fn is_spent(&self, upload: &str) -> Result<bool, StoreError> {
        self.read(|conn| is_spent(conn, upload))
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
}

fn is_spent(conn: &Connection, upload: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM spent WHERE upload = ?1")?
        .exists(params![upload])?)
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
