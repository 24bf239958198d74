//! Uploads in flight: at most one per presigned URL (a newer `PUT` cuts off the older, last
//! writer wins), and at most a configured number per API key (contract: "Large upload",
//! step 2, and "Common").

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedMutexGuard, watch};

/// Default cap of concurrent uploads (multipart and `PUT`) per API key.
pub const DEFAULT_MAX_UPLOADS_PER_KEY: usize = 64;

/// Seconds a client is told to wait when its key is at its cap.
pub(crate) const RETRY_AFTER_SECS: u64 = 1;

/// A non-secret id of an API key, carried in presigned `PUT` URLs: a short hash of the
/// token, which does not reveal it.
pub(crate) fn key_id(token: &str) -> String {
    let digest = Sha256::digest(format!("filedeck-key-id\0{token}").as_bytes());
    hex::encode(digest.get(..8).unwrap_or_default())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One URL's uploads: the newest generation, and a lock the one placing its bytes holds.
struct Slot {
    generation: u64,
    /// Registrations still alive, so the slot goes when the last one ends.
    alive: usize,
    newest: watch::Sender<u64>,
    place: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct Tables {
    slots: HashMap<String, Slot>,
    per_key: HashMap<String, usize>,
}

/// Shared by every upload handler.
pub(crate) struct Inflight {
    max_per_key: usize,
    tables: Arc<Mutex<Tables>>,
}

/// Holds one unit of a key's cap until dropped.
pub(crate) struct KeyPermit {
    key: String,
    tables: Arc<Mutex<Tables>>,
}

impl Drop for KeyPermit {
    fn drop(&mut self) {
        let mut tables = lock(&self.tables);
        if let Some(n) = tables.per_key.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                tables.per_key.remove(&self.key);
            }
        }
    }
}

/// Keeps a URL's slot (its generation count and placement lock) alive; the slot goes when
/// the last holder does.
struct SlotHold {
    upload: String,
    tables: Arc<Mutex<Tables>>,
}

impl SlotHold {
    fn generation(&self) -> Option<u64> {
        lock(&self.tables)
            .slots
            .get(&self.upload)
            .map(|slot| slot.generation)
    }

    fn another(&self) -> SlotHold {
        if let Some(slot) = lock(&self.tables).slots.get_mut(&self.upload) {
            slot.alive += 1;
        }
        SlotHold {
            upload: self.upload.clone(),
            tables: self.tables.clone(),
        }
    }
}

impl Drop for SlotHold {
    fn drop(&mut self) {
        let mut tables = lock(&self.tables);
        if let Some(slot) = tables.slots.get_mut(&self.upload) {
            slot.alive = slot.alive.saturating_sub(1);
            if slot.alive == 0 {
                tables.slots.remove(&self.upload);
            }
        }
    }
}

/// One `PUT` registered on its URL; dropping it ends the registration.
pub(crate) struct UrlTurn {
    generation: u64,
    newest: watch::Receiver<u64>,
    place: Arc<tokio::sync::Mutex<()>>,
    slot: SlotHold,
}

/// The placement lock of a `PUT`'s URL, held while it places its bytes: a newer `PUT`
/// waits for it before placing its own. It keeps the URL's slot alive by itself, so a
/// handler dropped after handing it to a queued job cannot let a newer `PUT` start on a
/// fresh slot with a fresh lock.
pub(crate) struct PlaceGuard {
    generation: u64,
    // Released before the slot hold, so the slot outlives the lock it guards.
    _held: OwnedMutexGuard<()>,
    slot: SlotHold,
}

impl PlaceGuard {
    /// True while no newer `PUT` has started on the URL. Checked by the job that places
    /// the bytes, under the lock, right before it does.
    pub(crate) fn still_newest(&self) -> bool {
        self.slot.generation() == Some(self.generation)
    }
}

impl Inflight {
    pub(crate) fn new(max_per_key: usize) -> Self {
        Inflight {
            max_per_key,
            tables: Arc::default(),
        }
    }

    /// One unit of `key`'s cap, or `None` when its uploads are at the cap.
    pub(crate) fn admit(&self, key: &str) -> Option<KeyPermit> {
        let mut tables = lock(&self.tables);
        let n = tables.per_key.entry(key.to_string()).or_insert(0);
        if *n >= self.max_per_key {
            return None;
        }
        *n += 1;
        Some(KeyPermit {
            key: key.to_string(),
            tables: self.tables.clone(),
        })
    }

    /// Register a `PUT` on URL `upload`: it becomes the newest, and any older one still
    /// running is told to stop.
    pub(crate) fn begin(&self, upload: &str) -> UrlTurn {
        let mut tables = lock(&self.tables);
        let slot = tables
            .slots
            .entry(upload.to_string())
            .or_insert_with(|| Slot {
                generation: 0,
                alive: 0,
                newest: watch::Sender::new(0),
                place: Arc::default(),
            });
        slot.generation += 1;
        slot.alive += 1;
        slot.newest.send_replace(slot.generation);
        UrlTurn {
            generation: slot.generation,
            newest: slot.newest.subscribe(),
            place: slot.place.clone(),
            slot: SlotHold {
                upload: upload.to_string(),
                tables: self.tables.clone(),
            },
        }
    }
}

impl UrlTurn {
    /// Completes once a newer `PUT` has started on the same URL.
    pub(crate) async fn superseded(&mut self) {
        let mine = self.generation;
        // The sender lives as long as the slot, which this turn keeps alive.
        let _ = self.newest.wait_for(|newest| *newest != mine).await;
    }

    /// Take the right to place this `PUT`'s bytes, or `None` when a newer one has started.
    /// A newer `PUT` that starts after this returns `Some` replaces these bytes later.
    pub(crate) async fn place(&self) -> Option<PlaceGuard> {
        let held = self.place.clone().lock_owned().await;
        let guard = PlaceGuard {
            generation: self.generation,
            _held: held,
            slot: self.slot.another(),
        };
        guard.still_newest().then_some(guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    #[tokio::test]
    async fn newest_turn_wins() {
        let inflight = Inflight::new(2);
        let mut old = inflight.begin("u1");
        assert!(old.place().await.is_some());
        let new = inflight.begin("u1");
        tokio::time::timeout(std::time::Duration::from_secs(5), old.superseded())
            .await
            .expect("the older turn is told");
        assert!(old.place().await.is_none());
        let guard = new.place().await;
        assert!(guard.is_some());
        drop(guard);
        drop((old, new));
        assert!(lock(&inflight.tables).slots.is_empty());
    }

    /// An older `PUT` queues its placing job, then its handler goes (the client left);
    /// a newer `PUT` on the URL must still wait for that job, which must see it is stale.
    #[tokio::test]
    async fn a_queued_placing_outlives_its_dropped_turn() {
        let inflight = Inflight::new(2);
        let old = inflight.begin("u1");
        let queued = old.place().await.expect("the only PUT places");
        drop(old);
        let new = inflight.begin("u1");
        assert!(!queued.still_newest(), "the queued job sees the newer PUT");
        {
            let placing = new.place();
            let mut placing = std::pin::pin!(placing);
            let ready = std::future::poll_fn(|cx| {
                std::task::Poll::Ready(placing.as_mut().poll(cx).is_ready())
            })
            .await;
            assert!(!ready, "the newer PUT waits for the queued placing");
            drop(queued);
            let guard = tokio::time::timeout(std::time::Duration::from_secs(5), placing)
                .await
                .expect("the newer PUT places once the older is done")
                .expect("and it is the newest");
            assert!(guard.still_newest());
        }
        drop(new);
        assert!(lock(&inflight.tables).slots.is_empty());
    }

    #[test]
    fn cap_per_key() {
        let inflight = Inflight::new(2);
        let a = inflight.admit("k");
        let b = inflight.admit("k");
        assert!(a.is_some() && b.is_some());
        assert!(inflight.admit("k").is_none());
        assert!(inflight.admit("other").is_some());
        drop(a);
        assert!(inflight.admit("k").is_some());
        assert_ne!(key_id("secret"), key_id("secret2"));
        assert!(!key_id("secret").contains("secret"));
    }
}
