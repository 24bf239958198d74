//! Number, size and time formatting for the screen.

use humansize::{BINARY, format_size};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::count::group;
use crate::app::look::Zone;

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

/// Unix seconds → "2026-11-30 09:55 +01:00" in a local zone (the offset of that date,
/// so summer and winter differ), "2026-11-30 08:55 UTC" in UTC; "—" when unknown.
pub fn time(secs: i64, zone: &Zone) -> String {
    if secs == i64::MIN {
        return "—".into();
    }
    let Ok(at) = jiff::Timestamp::from_second(secs) else {
        return "—".into();
    };
    let (offset, label) = match zone {
        Zone::Utc => (jiff::tz::Offset::UTC, "UTC".to_string()),
        Zone::Local(tz) => {
            let offset = tz.to_offset(at);
            (offset, offset_label(offset.seconds()))
        }
    };
    let t = offset.to_datetime(at);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} {label}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// "+01:00", "-03:30"; an offset's odd seconds (old local mean times) are left out.
fn offset_label(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let m = secs.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
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

/// `s` cut at the end with "…" to fit `room` columns.
pub(super) fn truncate(s: &str, room: usize) -> String {
    if s.width() <= room {
        return s.to_string();
    }
    if room == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > room {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Cut in the middle, keeping the end: `sample_0042_…_R1.fastq.gz` still tells a BAM from
/// its index and R1 from R2, which an end cut (`sample_0042_…`) loses. The end keeps
/// about a third of the room; below 20 columns both halves would be too short to read,
/// and the cut is at the end.
pub(super) fn truncate_middle(s: &str, room: usize) -> String {
    if s.width() <= room {
        return s.to_string();
    }
    if room < 20 {
        return truncate(s, room);
    }
    // The extension and a little before it (`…_R1.fastq.gz`: what tells two reads
    // apart), at most half the room, at least a third.
    let last = s.rsplit('/').find(|p| !p.is_empty()).unwrap_or(s);
    let ext = last.find('.').map_or(0, |i| last[i..].width());
    let tail_room = (ext + 4).max(room / 3).min(room / 2);
    // The last characters that fit in `tail_room`, kept whole.
    let mut tail = Vec::new();
    let mut tw = 0;
    for c in s.chars().rev() {
        let cw = c.width().unwrap_or(0);
        if tw + cw > tail_room {
            break;
        }
        tail.push(c);
        tw += cw;
    }
    let tail: String = tail.into_iter().rev().collect();
    // `truncate` ends its head with the "…".
    let head = truncate(s, room - tw);
    format!("{head}{tail}")
}

/// A one-line input as drawn in `room` columns: its text made safe for the terminal
/// (a typed or completed name may hold hidden characters, drawn as one-column pictures)
/// and scrolled so the cursor stays in view, and the cursor's column in what is drawn.
/// Columns are counted on the drawn text, so the cursor stands where typing goes.
pub fn input_view(input: &tui_input::Input, room: usize) -> (String, usize) {
    let value = input.value();
    let col =
        crate::sanitize::for_terminal(&value.chars().take(input.cursor()).collect::<String>())
            .width();
    // The cursor's own cell is the last column.
    let room = room.saturating_sub(1);
    let shown = crate::sanitize::for_terminal(value);
    let mut chars = shown.chars();
    let mut skipped = 0;
    while skipped + room < col {
        let Some(c) = chars.next() else { break };
        skipped += c.width().unwrap_or(0);
    }
    (truncate(chars.as_str(), room + 1), col - skipped.min(col))
}

#[cfg(test)]
mod tests {
    use super::{Zone, time};

    /// Central European time written as a POSIX rule, so the test needs no tzdata on
    /// the machine that runs it.
    fn berlin() -> Zone {
        Zone::Local(jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap())
    }

    /// Seconds since the epoch of a UTC date and time.
    fn utc(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_second()
    }

    #[test]
    fn utc_is_labelled() {
        assert_eq!(time(0, &Zone::Utc), "1970-01-01 00:00 UTC");
        assert_eq!(
            time(utc("2026-11-30T08:55:59Z"), &Zone::Utc),
            "2026-11-30 08:55 UTC"
        );
    }

    #[test]
    fn a_local_zone_shows_the_offset_of_the_date() {
        let zone = berlin();
        assert_eq!(
            time(utc("2026-07-15T10:00:00Z"), &zone),
            "2026-07-15 12:00 +02:00"
        );
        assert_eq!(
            time(utc("2026-01-15T10:00:00Z"), &zone),
            "2026-01-15 11:00 +01:00"
        );
        // The date moves too when the offset carries the time past midnight.
        assert_eq!(
            time(utc("2026-11-30T23:30:00Z"), &zone),
            "2026-12-01 00:30 +01:00"
        );
    }

    #[test]
    fn west_of_greenwich_and_half_hours() {
        let zone = Zone::Local(jiff::tz::TimeZone::posix("NST3:30NDT,M3.2.0,M11.1.0").unwrap());
        assert_eq!(
            time(utc("2026-01-15T10:00:00Z"), &zone),
            "2026-01-15 06:30 -03:30"
        );
    }

    #[test]
    fn unknown_is_never_the_epoch() {
        assert_eq!(time(i64::MIN, &Zone::Utc), "—");
        assert_eq!(time(i64::MIN, &berlin()), "—");
        assert_eq!(time(i64::MAX, &berlin()), "—");
    }
}
