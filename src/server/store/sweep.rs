//! What an interrupted run leaves behind, removed at start: bodies in `tmp/`, pending
//! uploads never confirmed, spent URLs past their expiry, blobs no row names.

use std::collections::HashSet;
use std::fs;
use std::time::Duration;

use rusqlite::params;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Store, lock, unix_now};
use crate::server::error::ServerError;

/// Uploads PUT but never confirmed are forgotten after this long (at the next start).
const PENDING_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

impl Store {
    /// Empty `tmp/`, forget stale pending uploads, remove blobs no row names.
    pub(super) fn remove_leftovers(&self) -> Result<(), ServerError> {
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
