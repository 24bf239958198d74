//! Logs go to a file under the XDG state directory (never onto a screen a TUI owns);
//! the server, a daemon, logs to stderr.

use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

/// `$XDG_STATE_HOME/filedeck`, else `~/.local/state/filedeck`.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("filedeck"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".local/state/filedeck"))
}

pub fn log_path() -> Option<PathBuf> {
    state_dir().map(|d| d.join("filedeck.log"))
}

/// Install the subscriber. Only our own crate logs at info by default: reqwest and
/// hyper log URLs at debug level, and presigned URLs carry signatures.
pub fn init(to_stderr: bool) {
    let filter = EnvFilter::try_from_env("FILEDECK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("filedeck=info,warn"));
    if to_stderr {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let Some(path) = log_path() else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    if let Ok(file) = opts.open(&path) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    }
}
