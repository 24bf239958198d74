//! How long the worker takes to answer a listing and a cancel while "skip if identical"
//! hashes two large local files: `cargo bench --bench worker [-- MIB]` (default 1024 MiB
//! each). The reference server runs in-process; the files go in a temporary folder under
//! `BENCH_DIR` (default: the system's), removed afterwards. Prints a table.
//!
//! One upload crawls through a proxy that slows only what the client sends, holding the
//! worker's single transfer slot, so the small uploads queued behind it stay queued until
//! cancelled. Each listing and each cancel is sent alone and timed until its answer
//! (the listing's last page; the transfer's `Cancelled`), first with nothing hashing,
//! then while the two files are hashed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use filedeck::api::{ApiKey, Client, ClientConfig, FileEntry};
use filedeck::app::msg::Choice;
use filedeck::app::transfer_types::TransferState;
use filedeck::app::{Command, Event};
use filedeck::server::{self, ServerConfig};
use filedeck::worker;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

const WS: &str = "ws_bench";
const KEY: &str = "bench-key";
/// Listings and cancels measured with nothing hashing.
const N: usize = 200;
/// Transfers queued to be cancelled: the rest of them after the first phase are for
/// while hashing, which is measured until it ends.
const QUEUED: usize = 2000;

#[tokio::main]
async fn main() {
    let mib: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1024);
    let base = std::env::var("BENCH_DIR").map_or_else(|_| std::env::temp_dir(), Into::into);
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    let data = dir.path().join("server");
    let mut config = ServerConfig::new(&data, "127.0.0.1:0".parse().expect("addr"));
    config.keys.push(server::KeyGrant {
        token: KEY.into(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    let srv = server::bind(config).await.expect("server");
    let listed = (0..100)
        .map(|i| (format!("docs/report_{i:03}.txt"), vec![b'x'; 100]))
        .collect();
    server::put_many(&srv, WS, listed, None)
        .await
        .expect("seed");

    let local = dir.path().join("local");
    std::fs::create_dir_all(local.join("queued")).expect("mkdir");
    let t = Instant::now();
    let mut conflicts = Vec::new();
    for (name, seed) in [("a.bin", 1), ("b.bin", 2)] {
        let sha = big_file(&local.join(name), mib, seed);
        conflicts.push((entry(name, (mib << 20) as u64, sha), name.to_string()));
    }
    let slow = local.join("slow.bin");
    big_file(&slow, 64, 3);
    for i in 0..QUEUED {
        std::fs::write(local.join("queued").join(format!("q{i:04}.txt")), b"q").expect("write");
    }
    eprintln!(
        "wrote 2 × {mib} MiB (and their SHA-256) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 64 MiB at 4 MB/s: the upload runs for the whole measurement.
    let proxy = slow_uploads(srv.addr, 4_000_000).await;
    let client =
        Client::new(ClientConfig::new(&proxy, ApiKey::new(KEY)).expect("cfg")).expect("client");
    let (commands, events) = worker::spawn(
        client,
        1,
        worker::Queue::At {
            dir: dir.path().join("state"),
            endpoint: proxy.clone(),
        },
    );
    let mut w = Watch {
        commands,
        events,
        hashed: Vec::new(),
        hashing_done: None,
    };
    w.send(Command::Upload {
        ws: WS.into(),
        local: slow.display().to_string(),
        folder: String::new(),
    });
    w.until(|ev| {
        matches!(
            ev,
            Event::TransferState {
                state: TransferState::Running,
                ..
            }
        )
    })
    .await;
    w.send(Command::Upload {
        ws: WS.into(),
        local: local.join("queued").display().to_string(),
        folder: String::new(),
    });
    let mut queued = Vec::new();
    w.until(|ev| {
        if let Event::TransferAdded { id, .. } = ev {
            queued.push(*id);
        }
        queued.len() == QUEUED
    })
    .await;
    let mut queued = queued.into_iter();

    let mut rows = Vec::new();
    let mut req = 100;
    let idle = w.measure(&mut req, &mut queued, N, false).await;
    rows.push(("listing, nothing hashing", idle.0));
    rows.push(("cancel of a queued transfer, nothing hashing", idle.1));

    w.send(Command::Download {
        ws: WS.into(),
        dest: local.display().to_string(),
        files: conflicts,
    });
    let seen = w.until(|ev| matches!(ev, Event::Conflicts { .. })).await;
    let Some(Event::Conflicts { batch, .. }) = seen.last() else {
        unreachable!()
    };
    let resolved = Instant::now();
    w.send(Command::Resolve {
        batch: *batch,
        choices: vec![Choice::SkipIfIdentical; 2],
    });
    let busy = w.measure(&mut req, &mut queued, QUEUED - N, true).await;
    let hashing = w.hashing_ended().await.duration_since(resolved);
    rows.push(("listing, while hashing", busy.0));
    rows.push(("cancel of a queued transfer, while hashing", busy.1));
    w.send(Command::CancelAll);

    println!(
        "hashing 2 × {mib} MiB for \"skip if identical\": {:.2} s",
        hashing.as_secs_f64()
    );
    println!();
    println!("| command → answer | n | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|");
    for (what, mut ms) in rows {
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
        println!(
            "| {what} | {} | {:.2} | {:.2} | {:.2} |",
            ms.len(),
            at(0.50),
            at(0.99),
            ms[ms.len() - 1]
        );
    }
    srv.shutdown().await;
}

/// The bench's side of the worker: commands out, events in, and whether the two
/// comparisons have ended (whatever event is being waited for).
struct Watch {
    commands: UnboundedSender<Command>,
    events: UnboundedReceiver<Event>,
    /// Transfers of "skip if identical" that ended.
    hashed: Vec<u64>,
    hashing_done: Option<Instant>,
}

impl Watch {
    fn send(&self, cmd: Command) {
        self.commands.send(cmd).expect("the worker is gone");
    }

    /// Events until `done` says so; every event up to it.
    async fn until(&mut self, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
        let mut seen = Vec::new();
        loop {
            let ev = match tokio::time::timeout(Duration::from_secs(120), self.events.recv()).await
            {
                Ok(Some(ev)) => ev,
                Ok(None) => panic!("the worker is gone"),
                Err(_) => panic!(
                    "no answer within two minutes; before: {:#?}",
                    seen.iter()
                        .filter(|e| !matches!(e, Event::TransferProgress { .. }))
                        .collect::<Vec<_>>()
                ),
            };
            if let Event::TransferState {
                id,
                state: TransferState::Skipped(why),
            } = &ev
                && why == "identical"
            {
                self.hashed.push(*id);
                if self.hashed.len() == 2 {
                    self.hashing_done = Some(Instant::now());
                }
            }
            let stop = done(&ev);
            seen.push(ev);
            if stop {
                return seen;
            }
        }
    }

    async fn hashing_ended(&mut self) -> Instant {
        loop {
            if let Some(at) = self.hashing_done {
                return at;
            }
            self.until(|_| true).await;
        }
    }

    /// Up to `n` listings and `n` cancels, one after the other, each timed from command to
    /// answer; `while_hashing`: only those answered before the hashing ended count, and
    /// it stops there.
    async fn measure(
        &mut self,
        req: &mut u64,
        queued: &mut impl Iterator<Item = u64>,
        n: usize,
        while_hashing: bool,
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut lists, mut cancels) = (Vec::new(), Vec::new());
        for _ in 0..n {
            *req += 1;
            let r = *req;
            let t = Instant::now();
            self.send(Command::List {
                req: r,
                ws: WS.into(),
                prefix: "docs/".into(),
            });
            self.until(|ev| matches!(ev, Event::ListPage { req, done: true, .. } if *req == r))
                .await;
            if while_hashing && self.hashing_done.is_some() {
                break;
            }
            lists.push(t.elapsed().as_secs_f64() * 1e3);

            let id = queued.next().expect("enough queued transfers");
            let t = Instant::now();
            self.send(Command::CancelTransfer(id));
            self.until(|ev| {
                matches!(ev, Event::TransferState { id: i, state: TransferState::Cancelled } if *i == id)
            })
            .await;
            if while_hashing && self.hashing_done.is_some() {
                break;
            }
            cancels.push(t.elapsed().as_secs_f64() * 1e3);
        }
        (lists, cancels)
    }
}

/// A listing's view of a file that exists remotely with this hash.
fn entry(key: &str, size: u64, sha256: String) -> FileEntry {
    FileEntry {
        key: key.into(),
        name: key.into(),
        path: String::new(),
        size: Some(size),
        description: None,
        content_type: None,
        created_at: None,
        sha256: Some(sha256),
        etag: None,
    }
}

/// A file of `mib` MiB (one MiB of pseudo-random bytes over and over) and its SHA-256.
fn big_file(path: &Path, mib: usize, seed: u64) -> String {
    use sha2::Digest;
    use std::io::Write;
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let block: Vec<u8> = (0..(1 << 17))
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut hash = sha2::Sha256::new();
    for _ in 0..mib {
        out.write_all(&block).expect("write");
        hash.update(&block);
    }
    out.flush().expect("write");
    hex::encode(hash.finalize())
}

/// A TCP proxy to `upstream` that passes what the client sends at `rate` bytes/s and the
/// answers at full speed: an upload crawls, a listing does not.
async fn slow_uploads(upstream: SocketAddr, rate: u64) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((down, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = down.set_nodelay(true);
                let _ = up.set_nodelay(true);
                let (mut dr, mut dw) = down.into_split();
                let (mut ur, mut uw) = up.into_split();
                let sends = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n @ 1..) = dr.read(&mut buf).await {
                        if uw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        let pause = Duration::from_micros(n as u64 * 1_000_000 / rate);
                        tokio::time::sleep(pause).await;
                    }
                    let _ = uw.shutdown().await;
                };
                let answers = async {
                    let _ = tokio::io::copy(&mut ur, &mut dw).await;
                    let _ = dw.shutdown().await;
                };
                tokio::join!(sends, answers);
            });
        }
    });
    format!("http://{addr}")
}
