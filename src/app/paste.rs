//! Pasted text into a one-line input, in one edit: inserting it a char at a time costs
//! tui-input a walk of the whole text per char (a 100,000-char paste took seconds of the
//! UI thread), and a line longer than anything it can name is only a cost.

use tui_input::Input;

/// A filter pattern's length in chars: no path is longer (S3 keys stop at 1,024 bytes),
/// and every char is matcher work on every path.
pub const MAX_PATTERN: usize = 1_024;
/// A prompt's (a local path, a remote folder, a workspace id): Linux paths stop at 4,096.
pub const MAX_PROMPT: usize = 4_096;

/// `input` with `text` inserted at its cursor, controls left out, the whole at most `max`
/// chars (what is over is dropped), the cursor after what was inserted.
pub fn paste(input: &Input, text: &str, max: usize) -> Input {
    let value = input.value();
    let cursor = input.cursor();
    let room = max.saturating_sub(value.chars().count());
    let add: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(room)
        .collect();
    let mut out: String = value.chars().take(cursor).collect();
    out.push_str(&add);
    let at = out.chars().count();
    out.extend(value.chars().skip(cursor));
    Input::new(out).with_cursor(at)
}

/// Whether a typed char still fits (a line at `max` takes no more).
pub fn room_for_one(input: &Input, max: usize) -> bool {
    input.value().chars().count() < max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paste_goes_in_at_the_cursor_whole_and_capped() {
        let input = Input::new("ab".into()).with_cursor(1);
        let out = paste(&input, "X\u{1b}Y", 10);
        assert_eq!((out.value(), out.cursor()), ("aXYb", 3));
        let big = paste(&Input::default(), &"a ".repeat(60_000), MAX_PATTERN);
        assert_eq!(big.value().chars().count(), MAX_PATTERN);
        assert_eq!(big.cursor(), MAX_PATTERN);
        assert!(!room_for_one(&big, MAX_PATTERN));
        assert_eq!(paste(&big, "more", MAX_PATTERN).value(), big.value());
    }
}
