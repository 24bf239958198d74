//! What large uploads leave in the bucket when they are never confirmed: the bytes under
//! `uploads/`, the terms under `intents/`, and the `.confirmed` marks of those that were.
//! Removed once older than a lifetime (a week by default, as the local store forgets
//! unconfirmed uploads, and the longest a SigV4 URL may live), by every server on the
//! bucket (a delete done twice is done once).

use std::sync::Weak;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

use super::Bucket;

/// Default of [`crate::server::ServerConfig::s3_sweep_after`].
pub const DEFAULT_SWEEP_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often a server sweeps (and once at its start).
const EVERY: Duration = Duration::from_secs(3600);

impl Bucket {
    /// Remove objects under `uploads/` and `intents/` last written before `older_than` ago;
    /// how many.
    pub(crate) async fn sweep(&self, older_than: Duration) -> Result<usize, String> {
        let cutoff = SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut removed = 0;
        for dir in ["uploads", "intents"] {
            let stale: Vec<_> = self
                .client
                .list(Some(&self.path(dir)))
                .try_filter(|meta| {
                    std::future::ready(SystemTime::from(meta.last_modified) <= cutoff)
                })
                .try_collect()
                .await
                .map_err(|e| format!("cannot list {dir}/: {e}"))?;
            for meta in stale {
                match self.client.delete(&meta.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => removed += 1,
                    Err(e) => return Err(format!("cannot remove {}: {e}", meta.location)),
                }
            }
        }
        Ok(removed)
    }
}

/// Sweep at once, then every hour, while the server runs.
pub(crate) fn spawn_sweep(bucket: Weak<Bucket>, older_than: Duration) {
    tokio::spawn(async move {
        loop {
            let Some(live) = bucket.upgrade() else {
                return;
            };
            match live.sweep(older_than).await {
                Ok(0) => {}
                Ok(removed) => {
                    tracing::info!(removed, "removed what unconfirmed large uploads left");
                }
                Err(e) => tracing::warn!(error = %e, "cannot sweep the bucket; trying later"),
            }
            drop(live);
            tokio::time::sleep(EVERY).await;
        }
    });
}
