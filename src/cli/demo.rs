//! `filedeck --demo`: the reference server in-process over a fresh temporary data dir,
//! seeded from `assets/demo/` (embedded at build time) plus a generated folder of
//! 1,000 files.

use std::path::Path;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::Failure;
use crate::api::{ApiKey, ClientConfig};
use crate::config::Settings;
use crate::server::{self, RunningServer, ServerConfig};

include!(concat!(env!("OUT_DIR"), "/demo_assets.rs"));

/// A fresh session key for one run of the demo. Shown on its screen (for the CLI), so it
/// must guard nothing but this run's server: another local user who saw a constant one
/// could use a running demo's server.
pub fn session_key() -> Result<String, Failure> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b)
        .map_err(|e| Failure::Failed(format!("cannot make a session key for the demo: {e}")))?;
    Ok(format!("demo-{}", hex::encode(b)))
}

/// The demo's data dir, locked (`.lock`, flock) while this process lives: a demo started
/// later tells a killed run's leftover from a live one by it.
pub struct Data {
    dir: tempfile::TempDir,
    _lock: std::fs::File,
}

impl Data {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remove it. A write of the server still finishing on a blocking thread can put a
    /// file back into a folder being removed: a second pass gets it.
    pub fn remove(self) {
        let path = self.dir.keep();
        let mut last = None;
        for _ in 0..3 {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            use std::io::Write as _;
            // Not `eprintln!`: stderr may be a terminal that has gone.
            let _ = writeln!(
                std::io::stderr(),
                "filedeck: warning: cannot remove the demo's data at {}: {e}",
                crate::sanitize::for_terminal(&path.display().to_string())
            );
        }
    }
}

const PREFIX: &str = "filedeck-demo-";

/// The lock file of a demo's data dir, and what it holds: a dir is swept only when both
/// say a demo made it (a folder of the user's own that happens to share the prefix is
/// never removed).
const LOCK: &str = ".filedeck-demo.lock";
const LOCK_MARK: &[u8] = b"filedeck demo data dir: removed when its demo ends\n";

/// A fresh `filedeck-demo-XXXX` in the temporary folder (`TMPDIR`), after removing what
/// killed runs (SIGKILL, a power cut: no chance to clean up) left there.
pub fn data_dir() -> Result<Data, Failure> {
    sweep(&std::env::temp_dir());
    use std::os::unix::fs::PermissionsExt;
    // Owner-only: what a user uploads into the demo is nobody else's to read.
    let dir = tempfile::Builder::new()
        .prefix(PREFIX)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| Failure::Failed(format!("cannot create a temporary data dir: {e}")))?;
    let lock_path = dir.path().join(LOCK);
    let mut lock = std::fs::File::create(&lock_path)
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", lock_path.display())))?;
    use std::io::Write as _;
    lock.write_all(LOCK_MARK)
        .map_err(|e| Failure::Failed(format!("cannot write {}: {e}", lock_path.display())))?;
    // Released when the process ends.
    if let Err(e) = lock.try_lock() {
        return Err(Failure::Failed(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        )));
    }
    Ok(Data { dir, _lock: lock })
}

/// How old a demo's lock must be before an unlocked one counts as left behind: a demo
/// that has just made its dir may not hold its lock yet.
const LEFT_AFTER: Duration = Duration::from_secs(60);

/// Remove the data dirs of demos that are gone: ours (the temporary folder is shared),
/// real directories (never through a link), with a lock file nobody holds.
fn sweep(tmp: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    let me = crate::sys::user_id();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let path = entry.path();
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == me);
        let lock_path = path.join(LOCK);
        let old = std::fs::symlink_metadata(&lock_path).is_ok_and(|m| {
            m.is_file()
                && m.modified()
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= LEFT_AFTER))
        });
        if !ours || !old || std::fs::read(&lock_path).ok().as_deref() != Some(LOCK_MARK) {
            continue;
        }
        let Ok(lock) = std::fs::OpenOptions::new().write(true).open(&lock_path) else {
            continue;
        };
        if lock.try_lock().is_err() {
            // A live demo's.
            continue;
        }
        tracing::info!(path = %path.display(), "removing the data a killed demo left");
        if let Err(e) = std::fs::remove_dir_all(&path) {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a killed demo's data");
        }
    }
}

/// Start the demo server (127.0.0.1, a free port) and seed it; it accepts `key` only.
pub async fn start(data: &Path, key: &str) -> Result<RunningServer, Failure> {
    let mut config = ServerConfig::new(data, ([127, 0, 0, 1], 0).into());
    config.keys.push(server::KeyGrant {
        token: key.to_string(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    let running = server::bind(config)
        .await
        .map_err(|e| Failure::Failed(format!("cannot start the demo server: {e}")))?;
    seed(&running).await?;
    Ok(running)
}

/// (key, bytes) of files to store.
type Files = Vec<(String, Vec<u8>)>;

/// Seed every workspace of the embedded assets (`<workspace>/<key>`).
async fn seed(running: &RunningServer) -> Result<(), Failure> {
    let mut workspaces: Vec<(&str, Files)> = Vec::new();
    for (path, bytes) in DEMO_ASSETS {
        let Some((ws, key)) = path.split_once('/') else {
            continue;
        };
        match workspaces.iter_mut().find(|(w, _)| *w == ws) {
            Some((_, files)) => files.push((key.to_string(), bytes.to_vec())),
            None => workspaces.push((ws, vec![(key.to_string(), bytes.to_vec())])),
        }
    }
    for (ws, mut files) in workspaces {
        if ws == "ws_genomics" {
            files.extend(generated());
        }
        server::put_many(running, ws, files, None)
            .await
            .map_err(|e| Failure::Failed(format!("seeding the demo data failed: {e}")))?;
    }
    Ok(())
}

/// A folder of 1,000 small generated files, to show a long listing.
fn generated() -> Vec<(String, Vec<u8>)> {
    (1..=1000)
        .map(|i| {
            let body = format!(
                "read_id,length,mean_q\n{}\n",
                (0..(i % 17 + 3))
                    .map(|j| format!(
                        "r{i:04}_{j},{},{}",
                        100 + (i * 7 + j) % 150,
                        20 + (i + j) % 20
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            (format!("runs/batch_{i:04}.csv"), body.into_bytes())
        })
        .collect()
}

/// How long the demo's server gets to close its connections once the browser has
/// stopped its transfers.
const SERVER_STOP_WITHIN: Duration = Duration::from_millis(300);

/// Run the demo: the browser on a freshly seeded in-process server over `data`, which
/// the caller removes.
pub async fn run(data: &Path, settings: &Settings) -> Result<(), Failure> {
    // From here on Ctrl-C, SIGTERM and SIGHUP end this function (and its caller removes
    // the data) instead of killing the process: seeding takes a moment.
    let listen =
        |kind| signal(kind).map_err(|e| Failure::Failed(format!("cannot listen for signals: {e}")));
    let (mut int, mut term, mut hup) = (
        listen(SignalKind::interrupt())?,
        listen(SignalKind::terminate())?,
        listen(SignalKind::hangup())?,
    );
    let key = session_key()?;
    let running = tokio::select! {
        running = start(data, &key) => running?,
        _ = int.recv() => return Err(Failure::Signalled(libc::SIGINT)),
        _ = term.recv() => return Err(Failure::Signalled(libc::SIGTERM)),
        _ = hup.recv() => return Err(Failure::Signalled(libc::SIGHUP)),
    };
    let url = running.base_url();
    tracing::info!(%url, "demo server running");
    let mut cfg = ClientConfig::new(&url, ApiKey::new(&key))?;
    cfg.limit_rate = settings.limit_rate.value;
    // The demo's own server and key, never the profile's endpoint or workspaces; the
    // rest (theme, keys, cap, download folder) as the user set it.
    let workspaces = match settings.workspaces.from {
        crate::config::Layer::Flag(_) => settings.workspaces.value.clone(),
        _ => Vec::new(),
    };
    let session = crate::runtime::Session {
        endpoint: url,
        workspaces,
        concurrency: settings.concurrency.value.into(),
        persist_queue: false,
        demo_key: Some(key),
        prefs: settings.prefs(),
    };
    // Returns once the terminal is restored and the transfers are stopped: only then the
    // server, so no transfer retries against a server that is gone.
    let result = super::tui(cfg, session).await;
    let at = std::time::Instant::now();
    if tokio::time::timeout(SERVER_STOP_WITHIN, running.shutdown())
        .await
        .is_err()
    {
        tracing::info!("the demo server's connections did not close in time; dropping them");
    }
    tracing::debug!(ms = at.elapsed().as_millis(), "the demo server stopped");
    result
}
