//! How the screen looks and what the pointer and clipboard did: the theme's name (the
//! `ui` builds the styles from it), mouse capture, the last click (for a double click)
//! and the OSC 52 outbox the runtime empties, and the zone times are shown in.

use super::layout::Area;
use super::msg::ReqId;
use crate::config::{ThemeName, TimeShown};

/// Two presses on one row within this many ms are a double click.
pub const DOUBLE_CLICK_MS: u64 = 400;

#[derive(Debug, Clone, Default)]
pub struct Look {
    pub theme: ThemeName,
    /// Mouse capture wanted; the runtime turns it on or off when this changes.
    pub mouse: bool,
    /// The last left press: where (pane, row) and when (the runtime's monotonic ms).
    pub last_click: Option<(Area, usize, u64)>,
    /// Text for the clipboard: the runtime sends it as OSC 52 and clears this.
    pub clipboard: Option<String>,
    /// The presigned URL being waited for (`Y`), and the key it is for.
    pub presign: Option<(ReqId, String)>,
    /// Inside tmux ($TMUX set): the notification says how to let OSC 52 through.
    pub in_tmux: bool,
    pub zone: Zone,
}

/// The zone creation times are shown in. Loaded once by the runtime: reading `TZ` and
/// `/etc/localtime` on every frame would put the file system inside `draw`.
#[derive(Debug, Clone, Default)]
pub enum Zone {
    /// Labelled "UTC": asked for, or the local zone could not be found.
    #[default]
    Utc,
    /// Shown with each time's own offset, which changes with daylight saving.
    Local(jiff::tz::TimeZone),
}

impl Zone {
    /// The zone the setting asks for. A local zone that cannot be determined falls back
    /// to UTC quietly: the label on every time already says which one is shown.
    pub fn load(shown: TimeShown) -> Zone {
        match shown {
            TimeShown::Utc => Zone::Utc,
            TimeShown::Local => match system_zone() {
                Some(tz) if !tz.is_unknown() => Zone::Local(tz),
                _ => Zone::Utc,
            },
        }
    }
}

/// `TZ`, else `/etc/localtime`. A `TZ` naming a file (`:/path`, `/path`) is read here, only
/// when it is a regular file of at most 1 MiB: jiff would read any path whole, and a FIFO
/// or `/dev/zero` there would hang the browser with the terminal taken.
fn system_zone() -> Option<jiff::tz::TimeZone> {
    let tz = std::env::var("TZ").ok();
    let file = tz
        .as_deref()
        .map(|v| v.strip_prefix(':').unwrap_or(v))
        .filter(|v| v.starts_with('/'));
    match file {
        Some(path) => {
            let bytes =
                crate::config::read_small_bytes(std::path::Path::new(path), 1 << 20).ok()?;
            jiff::tz::TimeZone::tzif(path, &bytes).ok()
        }
        None => jiff::tz::TimeZone::try_system().ok(),
    }
}
