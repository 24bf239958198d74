//! Remote names are untrusted: make them safe to print on a terminal.

/// Replace control characters (ESC included), bidi overrides and other invisible
/// formatting characters with visible placeholders, so a name can never move the
/// cursor, recolour the screen or reorder what is drawn around it.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
            '\u{7f}' => out.push('\u{2421}'),
            '\u{80}'..='\u{9f}' => out.push('�'),
            c if invisible(c) => out.push('�'),
            _ => out.push(c),
        }
    }
    out
}

/// Bidi overrides and other formatting characters that change how the text around them
/// reads without showing themselves.
pub fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_escapes() {
        assert_eq!(for_terminal("a\u{1b}[2Jb"), "a\u{241b}[2Jb");
        assert_eq!(for_terminal("evil\u{202e}txt.exe"), "evil�txt.exe");
        assert_eq!(for_terminal("naïve café.vcf"), "naïve café.vcf");
        assert!(!for_terminal("\u{9b}31m").contains('\u{9b}'));
    }
}
