//! Where filedeck keeps its files (XDG state dir, log file) and every environment variable it
//! reads: one place to look for what shapes a run, which the config-file work builds on.

use std::collections::BTreeMap;
use std::path::PathBuf;

mod file;
mod settings;

pub use file::{CONFIG_ENV, ConfigFile, Profile, config_path, read_small, read_small_bytes};
pub use settings::{
    Connection, DEFAULT_CONCURRENCY, Flags, KeySource, Layer, NO_COLOR_ENV, PROFILE_ENV, Settings,
    Sourced,
};

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
/// The cap on the total transfer rate (`10M`), the environment layer of `--limit-rate`.
pub const LIMIT_RATE_ENV: &str = "FILEDECK_LIMIT_RATE";
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

/// `theme` in a profile, `--theme`: the colours the browser draws with. `auto` is the
/// 16-colour theme that reads on dark and light backgrounds alike (no terminal query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Auto,
    Dark,
    Light,
    /// No colour at all: what `NO_COLOR` asks for.
    Mono,
}

/// `time` in a profile: how creation times are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TimeShown {
    /// The local zone (`TZ`, else `/etc/localtime`), with its offset.
    #[default]
    Local,
    Utc,
}

/// `[keys]`: action name → the keys that replace its bindings, as written in the file.
pub type KeyOverrides = BTreeMap<String, Vec<String>>;

/// What the browser takes from the layers (profile < environment < flags) beyond the
/// endpoint and its key, already resolved: the built-in defaults are [`Prefs::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefs {
    /// Where the download prompt starts (default: the current directory).
    pub download_dir: Option<PathBuf>,
    /// Theme, with `NO_COLOR` already folded in (it means `Mono` unless `--theme` says
    /// otherwise).
    pub theme: ThemeName,
    pub time: TimeShown,
    /// Mouse capture at start (`mouse = false` leaves the terminal's own selection).
    pub mouse: bool,
    /// The most bytes a preview fetches of a file.
    pub preview_cap: u64,
    pub keys: KeyOverrides,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            download_dir: None,
            theme: ThemeName::Auto,
            time: TimeShown::Local,
            mouse: true,
            preview_cap: DEFAULT_PREVIEW_CAP,
            keys: KeyOverrides::new(),
        }
    }
}

/// A rate as written after `--limit-rate` or in `limit_rate`: bytes per second, with an
/// optional binary suffix (`K`, `M`, `G`: 10M = 10 MiB/s) and an optional fraction
/// (`1.5M`). Zero is refused: a cap that lets nothing through is a mistake, not a wish.
/// The most bytes a preview fetches of a file unless a profile says (`preview_cap`).
pub const DEFAULT_PREVIEW_CAP: u64 = 8 << 20;

/// `preview_cap = "8M"`: a size as rates are written (K, M, G binary), 64 KiB to 1 GiB.
pub fn parse_preview_cap(text: &str) -> Result<u64, String> {
    let n = parse_rate(text)
        .map_err(|_| format!("{text:?} is not a size: use bytes, or K, M, G (binary), e.g. 8M"))?;
    if !(64 << 10..=1 << 30).contains(&n) {
        return Err(format!("{text:?}: use 64K to 1G"));
    }
    Ok(n)
}

pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (t.get(..i).unwrap_or(""), Some(c)),
        _ => (t, None),
    };
    let scale: u64 = match unit.map(|c| c.to_ascii_uppercase()) {
        None => 1,
        Some('K') => 1 << 10,
        Some('M') => 1 << 20,
        Some('G') => 1 << 30,
        Some(_) => {
            return Err(format!(
                "{text:?} is not a rate: use bytes per second, or K, M, G (binary), e.g. 10M"
            ));
        }
    };
    let bad =
        || format!("{text:?} is not a rate: use bytes per second, or K, M, G (binary), e.g. 10M");
    // Decimal digits only, read exactly: "1.5M" is 1,572,864 bytes, not a float's guess.
    let (whole, fraction) = number.trim().split_once('.').unwrap_or((number.trim(), ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let readable = digits(whole) || (whole.is_empty() && digits(fraction));
    if !readable {
        return Err(bad());
    }
    if (!fraction.is_empty() && !digits(fraction)) || fraction.len() > 9 {
        return Err(bad());
    }
    let too_big = || format!("{text:?} is out of range for a rate");
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_big())?
    };
    let mut bytes = whole.checked_mul(scale).ok_or_else(too_big)?;
    if !fraction.is_empty() {
        let denominator = 10u64.pow(u32::try_from(fraction.len()).unwrap_or(9));
        let numerator: u64 = fraction.parse().map_err(|_| bad())?;
        let part = u128::from(numerator) * u128::from(scale) / u128::from(denominator);
        bytes = bytes
            .checked_add(u64::try_from(part).map_err(|_| too_big())?)
            .ok_or_else(too_big)?;
    }
    if bytes == 0 {
        return Err(format!("{text:?}: a rate of 0 would let nothing through"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates_are_binary_and_refuse_nonsense() {
        assert_eq!(parse_rate("10M"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_rate("512k"), Ok(512 * 1024));
        assert_eq!(parse_rate("1.5G"), Ok(1024 * 1024 * 1024 * 3 / 2));
        assert_eq!(parse_rate("2000"), Ok(2000));
        assert_eq!(parse_rate(".5K"), Ok(512));
        for bad in [
            "",
            "M",
            "0",
            "-1M",
            "10X",
            "1e400",
            "NaN",
            "inf",
            "1.2.3M",
            "99999999999G",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
