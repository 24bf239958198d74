//! Remote names are untrusted: make them safe to print on a terminal.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// What stands in for a hidden character that has no control picture of its own.
const PLACEHOLDER: char = '\u{fffd}';

/// Replace every character of the Unicode categories Cc, Cf, Zl and Zp with one visible
/// placeholder one column wide, so a name can never move the cursor, recolour the screen,
/// break a line or reorder what is drawn around it, and the columns drawn are the columns
/// counted. Every other character is kept as it is.
pub fn for_terminal(s: &str) -> String {
    s.chars().map(|c| placeholder(c).unwrap_or(c)).collect()
}

/// The stand-in for `c` where it is hidden (see [`invisible`]). C0 controls and DEL keep
/// their control pictures (U+2400…), which still say which control it was.
pub fn placeholder(c: char) -> Option<char> {
    if !invisible(c) {
        return None;
    }
    Some(match c {
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or(PLACEHOLDER),
        '\u{7f}' => '\u{2421}',
        _ => PLACEHOLDER,
    })
}

/// Controls (Cc), formatting characters (Cf: bidi overrides and isolates, zero-width
/// spaces and joiners, soft hyphens, tags…) and the line and paragraph separators (Zl,
/// Zp): none shows itself, and each can change how the text around it reads. Taken from
/// the Unicode tables rather than a list kept by hand, so a new one is not missed.
pub fn invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// `value` as JSON whose strings are exact, but with every hidden character (see
/// [`invisible`]) written as a `\uXXXX` escape: output for scripts is often read on a
/// terminal too, where a raw U+202E or U+2028 in a name would still reorder or break it.
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, EscapeHidden);
    value.serialize(&mut ser)?;
    // Only whole UTF-8 fragments and ASCII escapes were written.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

struct EscapeHidden;

impl serde_json::ser::Formatter for EscapeHidden {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices().filter(|&(_, c)| invisible(c)) {
            writer.write_all(fragment.get(start..i).unwrap_or_default().as_bytes())?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(writer, "\\u{u:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(fragment.get(start..).unwrap_or_default().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthChar;

    #[test]
    fn neutralises_escapes() {
        assert_eq!(for_terminal("a\u{1b}[2Jb"), "a\u{241b}[2Jb");
        assert_eq!(for_terminal("evil\u{202e}txt.exe"), "evil\u{fffd}txt.exe");
        assert_eq!(for_terminal("naïve café.vcf"), "naïve café.vcf");
        assert!(!for_terminal("\u{9b}31m").contains('\u{9b}'));
        assert_eq!(
            for_terminal("a\u{2028}b\u{2029}c\u{61c}d\u{ad}e\u{180e}f\u{e0001}g"),
            "a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}e\u{fffd}f\u{fffd}g"
        );
        assert_eq!(for_terminal("日本語 🧬.txt"), "日本語 🧬.txt");
    }

    #[test]
    fn json_escapes_hidden_characters_and_keeps_the_strings() {
        let name = "a\u{2028}b\u{202e}c\u{e0001}d\u{7f}\u{1b}é日🧬\"\\";
        let json = to_json(&[name]).unwrap();
        assert_eq!(
            json,
            r#"["a\u2028b\u202ec\udb40\udc01d\u007f\u001bé日🧬\"\\"]"#
        );
        assert_eq!(serde_json::from_str::<Vec<String>>(&json).unwrap(), [name]);
        // At either end and side by side.
        let edges = "\u{202e}\u{2028}x\u{ad}";
        let json = to_json(&[edges]).unwrap();
        assert_eq!(json, r#"["\u202e\u2028x\u00ad"]"#);
        assert_eq!(serde_json::from_str::<Vec<String>>(&json).unwrap(), [edges]);
    }

    /// Every code point against the category table: each Cc/Cf/Zl/Zp character becomes
    /// exactly one character one column wide that is itself shown; nothing else changes.
    #[test]
    fn every_hidden_character_and_only_those_become_one_visible_column() {
        let mut hidden = 0;
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let is_hidden = matches!(
                c.general_category(),
                GeneralCategory::Control
                    | GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            );
            assert_eq!(invisible(c), is_hidden, "U+{:04X}", c as u32);
            let mut buf = [0u8; 4];
            let out = for_terminal(c.encode_utf8(&mut buf));
            if is_hidden {
                hidden += 1;
                let mut chars = out.chars();
                let (Some(p), None) = (chars.next(), chars.next()) else {
                    panic!("U+{:04X} became {out:?}", c as u32);
                };
                assert_eq!(
                    p.width(),
                    Some(1),
                    "U+{:04X} -> U+{:04X}",
                    c as u32,
                    p as u32
                );
                assert!(!invisible(p), "U+{:04X} -> U+{:04X}", c as u32, p as u32);
                assert_eq!(placeholder(c), Some(p));
            } else {
                assert!(out.chars().eq([c]), "U+{:04X} changed", c as u32);
                assert_eq!(placeholder(c), None);
            }
        }
        // The named ones, so a table that lost a category would not pass unseen.
        for c in [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{9b}',
            '\u{ad}',
            '\u{61c}',
            '\u{180e}',
            '\u{200b}',
            '\u{200f}',
            '\u{2028}',
            '\u{2029}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{feff}',
            '\u{e0001}',
            '\u{e007f}',
        ] {
            assert!(invisible(c), "U+{:04X}", c as u32);
        }
        assert!(hidden > 65 + 150, "only {hidden} hidden characters");
    }
}
