//! A one-line progress meter on stderr for the scripting commands, sampled a few times
//! a second from the transfers' shared counters (never one write per chunk).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use humansize::{BINARY, format_size};

use crate::api::Progress;

#[derive(Debug, Default)]
pub struct Meter {
    pub total_bytes: u64,
    pub total_files: usize,
    done_files: AtomicUsize,
    done_bytes: AtomicU64,
    active: Mutex<Vec<Progress>>,
}

impl Meter {
    pub fn new(total_files: usize, total_bytes: u64) -> Self {
        Meter {
            total_bytes,
            total_files,
            ..Default::default()
        }
    }

    pub fn start(&self) -> Progress {
        let p = Progress::new();
        if let Ok(mut a) = self.active.lock() {
            a.push(p.clone());
        }
        p
    }

    pub fn finish(&self, p: &Progress, bytes: u64) {
        if let Ok(mut a) = self.active.lock() {
            a.retain(|x| !x.same(p));
        }
        self.done_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.done_files.fetch_add(1, Ordering::Relaxed);
    }

    fn bytes(&self) -> u64 {
        let active: u64 = self
            .active
            .lock()
            .map(|a| a.iter().map(Progress::get).sum())
            .unwrap_or(0);
        self.done_bytes.load(Ordering::Relaxed) + active
    }

    /// Redraw the meter until `done` resolves; does nothing unless stderr is a terminal.
    pub async fn run(&self, verb: &str, done: impl Future<Output = ()>) {
        if !std::io::stderr().is_terminal() {
            done.await;
            return;
        }
        let start = Instant::now();
        let draw = |final_line: bool| {
            let bytes = self.bytes();
            let secs = start.elapsed().as_secs_f64().max(0.001);
            let rate = (bytes as f64 / secs) as u64;
            let line = format!(
                "\r\x1b[2K{verb} {}/{} files  {} / {}  {}/s",
                self.done_files.load(Ordering::Relaxed),
                self.total_files,
                format_size(bytes, BINARY),
                format_size(self.total_bytes, BINARY),
                format_size(rate, BINARY),
            );
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(line.as_bytes());
            if final_line {
                let _ = err.write_all(b"\n");
            }
            let _ = err.flush();
        };
        tokio::pin!(done);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = &mut done => break,
                _ = tick.tick() => draw(false),
            }
        }
        draw(true);
    }
}
