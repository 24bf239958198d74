//! The bucket's metadata log: one small JSON object per change, named
//! `log/<ms>-<server>-<seq>.json` so that names sort by time, and tailed by listing from
//! (the last name applied − a lookback window) with `start-after`: one listing per poll
//! (plus one GET per new record), however many files the bucket holds.
//!
//! Two servers' clocks differ, and a listing may show a record after a newer one: records
//! are applied newest-wins per key ([`Store::apply_log`]), so order does not matter, only
//! that each record is seen. A record named earlier than the window when it appears would be
//! missed, so: names come from a hybrid clock (never below the newest name seen, so a server
//! whose clock is behind still names its records after the ones it has read), and every so
//! often a poll looks back much further.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::Bucket;
use crate::server::store::{LogOp, Store};

/// How far before the last record applied each poll lists again.
const LOOKBACK: Duration = Duration::from_secs(10);
/// Every this many polls, one looks back [`DEEP_LOOKBACK`].
const DEEP_EVERY: u64 = 600;
const DEEP_LOOKBACK: Duration = Duration::from_secs(3600);
/// Records are small; a bigger object under `log/` is not one of ours.
const MAX_RECORD_BYTES: u64 = 64 * 1024 * 1024;
/// Digits of the millisecond part of a name (enough until the year 33658).
const MS_DIGITS: usize = 15;

#[derive(Deserialize)]
struct Record {
    ops: Vec<LogOp>,
}

/// A [`Record`] written, its ops borrowed (they are applied here after the write).
#[derive(Serialize)]
struct RecordOut<'a> {
    ops: &'a [LogOp],
}

/// What a server knows of the log.
pub(crate) struct LogTail {
    server: String,
    seq: AtomicU64,
    /// The newest millisecond named by a record written or seen (the hybrid clock).
    clock: AtomicU64,
    state: tokio::sync::Mutex<TailState>,
}

struct TailState {
    /// Every record named up to this was applied.
    mark: Option<String>,
    /// Names applied within the lookback window: they are listed again, not fetched again.
    recent: BTreeSet<String>,
    polls: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The millisecond a record name starts with.
fn name_ms(name: &str) -> Option<u64> {
    name.get(..MS_DIGITS)?.parse().ok()
}

impl LogTail {
    /// `mark`: the index's log mark ([`Store::log_mark`]).
    pub(crate) fn new(mark: Option<String>) -> LogTail {
        let clock = mark.as_deref().and_then(name_ms).unwrap_or(0);
        LogTail {
            server: crate::server::store::random_id()
                .get(..12)
                .unwrap_or("000000000000")
                .to_string(),
            seq: AtomicU64::new(0),
            clock: AtomicU64::new(clock),
            state: tokio::sync::Mutex::new(TailState {
                mark,
                recent: BTreeSet::new(),
                polls: 0,
            }),
        }
    }

    /// A name after every name this server has written or read: a record written after
    /// another was read must win over it whatever the clocks say, and a tie would be broken
    /// by server ids, which are random.
    fn next_name(&self) -> String {
        let mut ms = now_ms();
        let _ = self
            .clock
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |seen| {
                ms = ms.max(seen.saturating_add(1));
                Some(ms)
            });
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{ms:0MS_DIGITS$}-{}-{seq:010}.json", self.server)
    }

    fn saw(&self, name: &str) {
        if let Some(ms) = name_ms(name) {
            self.clock.fetch_max(ms, Ordering::AcqRel);
        }
    }
}

/// Records named further ahead of this clock than this are skipped: one far-future name
/// would drag every later name (the hybrid clock) along, and past the digits of a name.
const MAX_AHEAD: Duration = Duration::from_secs(24 * 3600);

fn too_far_ahead(name: &str) -> bool {
    let limit = now_ms().saturating_add(u64::try_from(MAX_AHEAD.as_millis()).unwrap_or(0));
    name_ms(name).is_none_or(|ms| ms > limit)
}

impl LogTail {}

impl Bucket {
    /// The ops of record `name` that could have come from an upload here: whoever else
    /// holds the bucket's credentials may write under `log/` too, and what it names is
    /// listed to every client. Others are skipped, said in the log.
    fn sound_ops(&self, name: &str, ops: Vec<LogOp>) -> Vec<LogOp> {
        ops.into_iter()
            .filter(|op| match self.check_op(op) {
                Ok(()) => true,
                Err(why) => {
                    tracing::warn!(
                        name,
                        why,
                        "a log record's change is not one filedeck makes: skipped"
                    );
                    false
                }
            })
            .collect()
    }

    fn check_op(&self, op: &LogOp) -> Result<(), String> {
        use crate::server::validate;
        match op {
            LogOp::Delete { ws, key } => {
                validate::workspace_id(ws)?;
                validate::file_key(key)
            }
            LogOp::Put(file) => {
                let e = &file.entry;
                validate::workspace_id(&file.ws)?;
                validate::file_key(&e.key)?;
                validate::file_name(&e.name)?;
                if validate::folder_path(&e.path)? != e.path {
                    return Err(format!("path {:?} is not a folder path", e.path));
                }
                let display = format!("{}{}", e.path, e.name);
                validate::file_key(&display)?;
                let key_fits = match self.index.key_style() {
                    crate::server::KeyStyle::Path => e.key == display,
                    crate::server::KeyStyle::Opaque => e.key.starts_with("obj_"),
                };
                if !key_fits {
                    return Err(format!("key {:?} is not one of this key style", e.key));
                }
                if let Some(t) = &e.content_type {
                    validate::content_type(t)?;
                }
                if e.size.is_some_and(|size| size > crate::wire::MAX_PUT_BYTES) {
                    return Err(format!(
                        "size {:?} is more than one upload may hold",
                        e.size
                    ));
                }
                let blobs = format!("{}blobs/", self.prefix);
                let uploads = format!("{}uploads/{}/", self.prefix, file.ws);
                let in_place = [blobs, uploads].iter().any(|dir| {
                    file.blob.strip_prefix(dir.as_str()).is_some_and(|id| {
                        !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit())
                    })
                });
                if !in_place {
                    return Err(format!(
                        "its bytes are not where uploads go: {:?}",
                        file.blob
                    ));
                }
                Ok(())
            }
        }
    }

    fn log_dir(&self) -> ObjectPath {
        self.path("log")
    }

    /// Write one record of `ops` and apply it to this server's index before answering, so
    /// that what a client just did shows in its next listing here.
    pub(crate) async fn append(self: &Arc<Self>, ops: Vec<LogOp>) -> Result<(), String> {
        self.record_key_style().await?;
        let name = self.log.next_name();
        let body = serde_json::to_vec(&RecordOut { ops: &ops }).map_err(|e| e.to_string())?;
        let path = self.path(&format!("log/{name}"));
        self.client
            .put(&path, PutPayload::from(body))
            .await
            .map_err(|e| format!("cannot write the log record: {e}"))?;
        let index = self.index.clone();
        let applied = name.clone();
        let freed = self
            .db
            .run(move || index.apply_log(&[(applied, ops)], None))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.log.state.lock().await.recent.insert(name);
        self.free(freed);
        Ok(())
    }

    /// Read and apply the records that appeared since the last call; how many.
    pub(crate) async fn catch_up(self: &Arc<Self>) -> Result<usize, String> {
        let mut state = self.log.state.lock().await;
        state.polls += 1;
        let lookback = if state.polls % DEEP_EVERY == 0 {
            DEEP_LOOKBACK
        } else {
            LOOKBACK
        };
        let start = state.mark.as_deref().and_then(name_ms).map(|ms| {
            let ms = ms.saturating_sub(u64::try_from(lookback.as_millis()).unwrap_or(0));
            format!("{ms:0MS_DIGITS$}")
        });
        let dir = self.log_dir();
        let listing = match &start {
            Some(start) => self
                .client
                .list_with_offset(Some(&dir), &self.path(&format!("log/{start}"))),
            None => self.client.list(Some(&dir)),
        };
        let metas: Vec<_> = listing
            .try_collect()
            .await
            .map_err(|e| format!("cannot list the log: {e}"))?;
        let mut names: Vec<(String, u64)> = metas
            .into_iter()
            .filter_map(|meta| {
                let name = meta.location.filename()?.to_string();
                // Only the log's own records: not an object in a folder below it (nor,
                // with no prefix, under another deployment's `<prefix>/log/`).
                let direct = meta.location.as_ref() == self.path(&format!("log/{name}")).as_ref();
                (direct && name_ms(&name).is_some() && !state.recent.contains(&name))
                    .then_some((name, meta.size))
            })
            .collect();
        names.sort();
        let fetched: Vec<(String, Option<Vec<LogOp>>)> = futures_util::stream::iter(names)
            .map(|(name, size)| {
                let bucket = self.clone();
                async move {
                    if size > MAX_RECORD_BYTES {
                        tracing::warn!(
                            name,
                            size,
                            "a log object too large to be a record: skipped"
                        );
                        return Ok((name, None));
                    }
                    if too_far_ahead(&name) {
                        tracing::warn!(name, "a log record named far in the future: skipped");
                        return Ok((name, None));
                    }
                    let path = bucket.path(&format!("log/{name}"));
                    let found = match bucket.client.get(&path).await {
                        Ok(found) => found,
                        // Removed since the listing: nothing to apply.
                        Err(object_store::Error::NotFound { .. }) => return Ok((name, None)),
                        Err(e) => return Err(format!("cannot read log record {name}: {e}")),
                    };
                    let bytes = found
                        .bytes()
                        .await
                        .map_err(|e| format!("cannot read log record {name}: {e}"))?;
                    let ops = match serde_json::from_slice::<Record>(&bytes) {
                        Ok(record) => Some(bucket.sound_ops(&name, record.ops)),
                        Err(e) => {
                            tracing::warn!(name, error = %e, "an unreadable log record: skipped");
                            None
                        }
                    };
                    Ok::<_, String>((name, ops))
                }
            })
            .buffered(16)
            .try_collect()
            .await?;
        let count = fetched.len();
        let newest = fetched.last().map(|(name, _)| name.clone());
        let mark = match (state.mark.clone(), newest) {
            (Some(old), Some(new)) => Some(old.max(new)),
            (old, new) => old.or(new),
        };
        let names: Vec<String> = fetched.iter().map(|(name, _)| name.clone()).collect();
        let records: Vec<(String, Vec<LogOp>)> = fetched
            .into_iter()
            .filter_map(|(name, ops)| ops.map(|ops| (name, ops)))
            .collect();
        if count > 0 {
            let index = self.index.clone();
            let new_mark = mark.clone();
            // As long as the records are many: never every index thread.
            let freed = self
                .db
                .run_heavy(move || apply_each(&index, records, new_mark))
                .await
                .map_err(|e| e.to_string())??;
            self.free(freed);
        }
        for name in names {
            if !too_far_ahead(&name) {
                self.log.saw(&name);
            }
            state.recent.insert(name);
        }
        state.mark = mark;
        // Names before the window are never listed again: forget them.
        if let Some(start) = start {
            state.recent = state.recent.split_off(&start);
        }
        Ok(count)
    }
}

/// Apply `records` in one transaction; when that fails, one record at a time, skipping
/// (and saying) those that fail alone: one bad record must not stop the tail for good.
fn apply_each(
    index: &Store,
    records: Vec<(String, Vec<LogOp>)>,
    mark: Option<String>,
) -> Result<Vec<String>, String> {
    match index.apply_log(&records, mark.as_deref()) {
        Ok(freed) => return Ok(freed),
        Err(e) => tracing::warn!(error = %e, "applying the log's new records failed: one by one"),
    }
    let mut freed = Vec::new();
    for record in records {
        match index.apply_log(std::slice::from_ref(&record), None) {
            Ok(more) => freed.extend(more),
            Err(e) => {
                tracing::warn!(name = record.0, error = %e, "a log record cannot be applied: skipped")
            }
        }
    }
    index
        .apply_log(&[], mark.as_deref())
        .map_err(|e| e.to_string())?;
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_carry_it() {
        assert_eq!(
            name_ms("001764590000000-abc-0000000001.json"),
            Some(1_764_590_000_000)
        );
        assert_eq!(name_ms("x.json"), None);
        let a = format!("{:0MS_DIGITS$}-b-0000000001.json", 999u64);
        let b = format!("{:0MS_DIGITS$}-a-0000000001.json", 1000u64);
        assert!(a < b);
    }
}
