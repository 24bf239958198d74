//! Terminal sanitising: no Cc/Cf/Zl/Zp character survives, each hidden one becomes one
//! character one column wide, nothing else changes, so the columns drawn are bounded by
//! the input (at most two per character: East Asian wide characters are kept as they
//! are). The JSON form keeps the string exact and shows nothing hidden raw either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

fn hidden(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

fuzz_target!(|s: &str| {
    let out = filedeck::sanitize::for_terminal(s);
    if let Some(c) = out.chars().find(|&c| hidden(c)) {
        panic!("{s:?} kept U+{:04X}", c as u32);
    }
    assert_eq!(out.chars().count(), s.chars().count(), "{s:?} -> {out:?}");
    for (i, o) in s.chars().zip(out.chars()) {
        if hidden(i) {
            assert_eq!(
                o.width(),
                Some(1),
                "U+{:04X} -> U+{:04X}",
                i as u32,
                o as u32
            );
        } else {
            assert_eq!(i, o, "{s:?} -> {out:?}");
        }
    }
    let chars = s.chars().count();
    assert!(
        out.width() <= 2 * chars,
        "{s:?} drew {} columns",
        out.width()
    );
    match filedeck::sanitize::to_json(s) {
        Ok(json) => {
            assert!(!json.chars().any(hidden), "{s:?} as JSON {json:?}");
            let back: String = serde_json::from_str(&json).expect("our own JSON reads back");
            assert_eq!(back, s);
        }
        Err(e) => panic!("{s:?} cannot be written as JSON: {e}"),
    }
});
