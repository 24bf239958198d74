//! Where filedeck keeps its files (XDG state dir, log file) and every environment variable it
//! reads: one place to look for what shapes a run, which the config-file work builds on.

use std::path::PathBuf;

/// The API endpoint, instead of `--endpoint`.
pub const ENDPOINT_ENV: &str = "FILEDECK_ENDPOINT";
/// The client's API key: only ever from the environment, never an argument.
pub const API_KEY_ENV: &str = "FILEDECK_API_KEY";
/// `filedeck serve`: one key with every scope and every workspace.
pub const SERVER_KEY_ENV: &str = "FILEDECK_SERVER_KEY";
/// Files above this many bytes take the three-step large-upload flow.
pub const LARGE_UPLOAD_THRESHOLD_ENV: &str = "FILEDECK_LARGE_UPLOAD_THRESHOLD";
/// Seconds with no byte moving before a transfer is abandoned and retried.
pub const STALL_TIMEOUT_ENV: &str = "FILEDECK_STALL_TIMEOUT";
/// A `tracing` filter for the log file (e.g. `debug`, `filedeck::keys=trace`).
pub const LOG_ENV: &str = "FILEDECK_LOG";

/// `$XDG_STATE_HOME/filedeck`, else `~/.local/state/filedeck`: the log and the transfer
/// queue's journal.
pub fn state_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("filedeck"));
    }
    home_dir().map(|h| h.join(".local/state/filedeck"))
}

/// The log file, inside [`state_dir`].
pub fn log_path() -> Option<PathBuf> {
    state_dir().map(|d| d.join("filedeck.log"))
}

/// `$HOME`, if set and not empty.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// A trimmed, non-blank variable.
pub fn text(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A whole number from the environment: `Ok(None)` when unset, an error naming the variable
/// when set to something else.
pub fn whole_number(name: &str) -> Result<Option<u64>, String> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={v:?} is not a whole number")),
        Err(_) => Ok(None),
    }
}
