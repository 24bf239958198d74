//! The transfer queue as the screen sees it: reduced from the worker's events.

use super::count::whole;
use super::transfer_types::{TransferId, TransferInfo, TransferState};

#[derive(Debug, Clone)]
pub struct TransferView {
    pub id: TransferId,
    pub info: TransferInfo,
    pub state: TransferState,
    pub done: u64,
    /// Bytes per second, smoothed.
    pub speed: f64,
    /// Something to know about how it ended (an upload the server could not verify).
    pub note: Option<String>,
    last_sample: Option<(u64, u64)>,
}

impl TransferView {
    pub fn new(id: TransferId, info: TransferInfo) -> Self {
        TransferView {
            id,
            info,
            state: TransferState::Queued,
            done: 0,
            speed: 0.0,
            note: None,
            last_sample: None,
        }
    }

    /// A progress sample taken by the worker at `at_ms` (its own clock).
    pub fn sample(&mut self, at_ms: u64, done: u64) {
        // The first interval that starts from nothing is not a rate: a resumed download
        // jumps to the bytes already on disk, an upload to a socket buffer's worth.
        if let Some((t0, d0)) = self.last_sample.filter(|&(_, d0)| d0 > 0) {
            let dt = at_ms.saturating_sub(t0) as f64 / 1000.0;
            if dt > 0.0 {
                let rate = done.saturating_sub(d0) as f64 / dt;
                // Exponential smoothing over about a second of samples.
                self.speed = if self.speed == 0.0 {
                    rate
                } else {
                    0.7 * self.speed + 0.3 * rate
                };
            }
        }
        self.last_sample = Some((at_ms, done));
        self.done = done;
    }

    pub fn eta_secs(&self) -> Option<u64> {
        let size = self.info.size?;
        (self.speed > 1.0 && self.is_active())
            .then(|| whole(size.saturating_sub(self.done) as f64 / self.speed))
    }

    pub fn is_active(&self) -> bool {
        self.state.is_active()
    }

    pub fn is_finished(&self) -> bool {
        !self.is_active()
    }
}

/// The batch line: running, queued, total speed, ETA.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Aggregate {
    pub running: usize,
    pub queued: usize,
    pub failed: usize,
    pub done: usize,
    pub cancelled: usize,
    pub skipped: usize,
    pub speed: f64,
    pub eta_secs: Option<u64>,
}

pub fn aggregate(transfers: &[TransferView]) -> Aggregate {
    let mut a = Aggregate::default();
    let mut left = 0u64;
    for t in transfers {
        match t.state {
            TransferState::Queued => a.queued += 1,
            TransferState::Running | TransferState::Retrying { .. } | TransferState::Verifying => {
                a.running += 1
            }
            TransferState::Failed(_) => a.failed += 1,
            TransferState::Done => a.done += 1,
            TransferState::Cancelled => a.cancelled += 1,
            TransferState::Skipped(_) => a.skipped += 1,
        }
        if t.is_active() {
            a.speed += t.speed;
            // An unknown size leaves the batch ETA a lower bound (the row shows --:--).
            left = left.saturating_add(t.info.size.unwrap_or(t.done).saturating_sub(t.done));
        }
    }
    // The batch cannot end before its slowest transfer does.
    let slowest = transfers.iter().filter_map(TransferView::eta_secs).max();
    a.eta_secs = (a.speed > 1.0)
        .then(|| whole(left as f64 / a.speed))
        .map(|e| e.max(slowest.unwrap_or(0)));
    a
}
