//! Number, size and time formatting for the screen.

use humansize::{BINARY, format_size};

use crate::app::count::group;

pub fn size(bytes: u64) -> String {
    format_size(bytes, BINARY)
}

/// A size the server may not have told: "?" then, never "0 B".
pub fn maybe_size(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "?".to_string(), size)
}

/// A folder's total: "≥ " when some of its files' sizes are unknown or the listing may
/// still grow.
pub fn total(bytes: u64, unknown_sizes: u64, partial: bool) -> String {
    format!("{}{}", at_least(partial || unknown_sizes > 0), size(bytes))
}

/// "≥ " while a count may still grow.
pub fn at_least(partial: bool) -> &'static str {
    if partial { "≥ " } else { "" }
}

/// The one wording of a retry under way, in the transfers pane and the details pane alike.
pub fn retry(n: u32, of: u32) -> String {
    format!("retry {n} of {of}")
}

pub fn spinner(tick: usize) -> char {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    FRAMES.get(tick % FRAMES.len()).copied().unwrap_or(' ')
}

/// Unix seconds → "2026-11-26 10:00:00 UTC".
pub fn time(secs: i64) -> String {
    if secs == i64::MIN {
        return "—".into();
    }
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "—".into(),
    }
}

/// "3 marked (1.20 MiB)", "2 marked (≥ 12 B, 2 workspaces)".
pub fn marks(m: &crate::app::marks::MarkSummary) -> String {
    let mut s = format!(
        "{} marked ({}{}",
        group(m.items as u64),
        at_least(m.unknown_sizes),
        size(m.bytes)
    );
    if m.workspaces > 1 {
        s.push_str(&format!(", {} workspaces", m.workspaces));
    }
    s.push(')');
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn times() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00 UTC");
    }
}
