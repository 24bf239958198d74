//! Every workspace id, key, folder path and file name the server accepts satisfies the
//! contract ("Valid paths and keys"), judged by a predicate written from the contract
//! rather than from `validate.rs`; and everything the contract allows is accepted.
#![no_main]

use filedeck::fuzzing;
use libfuzzer_sys::fuzz_target;

/// C0, DEL and C1, spelled out rather than `char::is_control`, which the server uses.
fn control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// The contract's rules for a relative, `/`-separated name (key, or path without its
/// final `/`).
fn contract_relative(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && s.len() <= 1024
        && !s.contains('\\')
        && !s.chars().any(control)
        && s.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.len() <= 255)
}

fn contract_key(s: &str) -> bool {
    contract_relative(s) && !s.ends_with('/')
}

/// 1..=128 of `[A-Za-z0-9._-]`, not `.` or `..` (a path segment of presigned URLs).
fn contract_workspace(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    assert_eq!(fuzzing::file_key(s), contract_key(s), "key {s:?}");
    assert_eq!(
        fuzzing::workspace_id(s),
        contract_workspace(s),
        "workspace {s:?}"
    );
    assert_eq!(
        fuzzing::file_name(s),
        contract_key(s) && !s.contains('/'),
        "name {s:?}"
    );
    match fuzzing::folder_path(s) {
        Some(out) if s.is_empty() => assert_eq!(out, "", "path {s:?}"),
        Some(out) => {
            let trimmed = out.strip_suffix('/');
            assert!(
                trimmed.is_some_and(contract_relative),
                "path {s:?} became {out:?}"
            );
            // Normalising only adds the final '/'.
            assert!(
                out == s || out == format!("{s}/"),
                "path {s:?} became {out:?}"
            );
        }
        None => {
            let t = s.strip_suffix('/').unwrap_or(s);
            assert!(!contract_relative(t), "path {s:?} refused");
        }
    }
});
