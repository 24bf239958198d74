//! "Skip if identical": a conflicting file is listed at once and its local side hashed by
//! a task of its own, a few at a time, against the server's SHA-256.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::engine::{Engine, Phase, Ready, Slot};
use super::queue::SavedJob;
use super::task::info_of;
use crate::api::Progress;
use crate::app::msg::Event;
use crate::app::transfer_types::{TransferId, TransferState};

impl Engine {
    /// List `job` now and hash its local file in a task; [`Ready::Hashed`] tells whether
    /// it matches `want`. Cancelling the transfer stops the hashing.
    pub(super) fn compare(&mut self, job: SavedJob, local: PathBuf, size: u64, want: String) {
        let id = self.add(info_of(&job));
        let token = CancellationToken::new();
        self.slots.insert(
            id,
            Slot {
                job,
                token: token.clone(),
                progress: Progress::new(),
                phase: Phase::Resolving,
                launch: 0,
            },
        );
        let (hashing, ready) = (self.hashing.clone(), self.ready_tx.clone());
        tokio::spawn(async move {
            let permit = tokio::select! {
                p = hashing.acquire_owned() => p,
                _ = token.cancelled() => return,
            };
            let Ok(_permit) = permit else { return };
            let have = tokio::task::spawn_blocking(move || sha256_unless(&local, size, &token))
                .await
                .unwrap_or_else(|e| Some(Err(std::io::Error::other(e))));
            let Some(have) = have else {
                return;
            };
            // An unreadable file is not known to be identical: it is overwritten.
            let same = have.is_ok_and(|have| have.eq_ignore_ascii_case(&want));
            let _ = ready.send(Ready::Hashed { id, same });
        });
    }

    /// A "skip if identical" comparison is in: skipped, or started as an overwrite.
    pub fn hashed(&mut self, id: TransferId, same: bool) {
        let Some(slot) = self.slots.get(&id) else {
            // Cancelled meanwhile.
            return;
        };
        if slot.phase != Phase::Resolving {
            return;
        }
        if same {
            self.slots.remove(&id);
            let state = TransferState::Skipped("identical".into());
            let _ = self.events.send(Event::TransferState { id, state });
        } else {
            // Its target was held by its slot all along: no other download took it.
            let job = slot.job.clone();
            self.start(id, job);
        }
    }
}

/// The hex SHA-256 of the first `len` bytes of `path`; `None` once `cancel` fires
/// (checked between chunks, so a cancelled comparison stops reading within a chunk).
fn sha256_unless(
    path: &Path,
    len: u64,
    cancel: &CancellationToken,
) -> Option<std::io::Result<String>> {
    use sha2::Digest;
    use std::io::Read;
    let mut reader = match std::fs::File::open(path) {
        Ok(f) => f.take(len),
        Err(e) => return Some(Err(e)),
    };
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.is_cancelled() {
            return None;
        }
        match reader.read(&mut buf) {
            Ok(0) => break,
            // `read` never reports more than the buffer holds.
            Ok(n) => hasher.update(buf.get(..n).unwrap_or(&buf)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(hex::encode(hasher.finalize())))
}
