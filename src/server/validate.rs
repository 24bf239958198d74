//! Validation of workspace ids, file keys and folder paths (contract: "Valid paths and keys").
//! Every function answers a human message on failure.

/// Longest key, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 1024;
/// Longest segment of a key, in bytes.
pub(crate) const MAX_SEGMENT_BYTES: usize = 255;
/// Longest workspace id, in characters (all ASCII).
pub(crate) const MAX_WORKSPACE_CHARS: usize = 128;

/// 1..=128 characters of `[A-Za-z0-9._-]`, and not `.` or `..` (URLs would lose them: a
/// workspace id is a path segment of presigned URLs).
pub(crate) fn workspace_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("workspace_id is empty".to_string());
    }
    if id == "." || id == ".." {
        return Err(format!("workspace_id {id:?} is not allowed"));
    }
    if id.len() > MAX_WORKSPACE_CHARS {
        return Err(format!(
            "workspace_id is longer than {MAX_WORKSPACE_CHARS} characters"
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("workspace_id may hold only letters, digits, '.', '_' and '-'".to_string());
    }
    Ok(())
}

/// A file key: relative, `/`-separated, no empty / `.` / `..` segment, no `\` or control
/// character, segments ≤ 255 bytes, ≤ 1024 bytes, not ending in `/`.
pub(crate) fn file_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("key is empty".to_string());
    }
    if key.ends_with('/') {
        return Err(format!("key {key:?} ends in '/': a file key names a file"));
    }
    segments(key, "key")
}

/// Normalise an optional folder path: `""` stays the root, anything else ends in `/` and
/// must be valid like a key.
pub(crate) fn folder_path(path: &str) -> Result<String, String> {
    if path.is_empty() {
        return Ok(String::new());
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Err("path \"/\" is absolute: give a relative folder such as \"raw/\"".to_string());
    }
    segments(trimmed, "path")?;
    Ok(format!("{trimmed}/"))
}

/// A file name: one valid segment.
pub(crate) fn file_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("filename is empty".to_string());
    }
    if name.contains('/') {
        return Err(format!(
            "filename {name:?} contains '/': give the folder as path"
        ));
    }
    segments(name, "filename")
}

fn segments(value: &str, what: &str) -> Result<(), String> {
    if value.len() > MAX_KEY_BYTES {
        return Err(format!("{what} is longer than {MAX_KEY_BYTES} bytes"));
    }
    if value.starts_with('/') {
        return Err(format!(
            "{what} {value:?} is absolute: it must not start with '/'"
        ));
    }
    if value.contains('\\') {
        return Err(format!("{what} {value:?} contains '\\'"));
    }
    // `char::is_control` covers C0 (with NUL and ESC), DEL and C1.
    if value.chars().any(char::is_control) {
        return Err(format!("{what} {value:?} contains a control character"));
    }
    for segment in value.split('/') {
        match segment {
            "" => return Err(format!("{what} {value:?} has an empty segment")),
            "." | ".." => {
                return Err(format!("{what} {value:?} has a {segment:?} segment"));
            }
            s if s.len() > MAX_SEGMENT_BYTES => {
                return Err(format!(
                    "{what} has a segment longer than {MAX_SEGMENT_BYTES} bytes"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A content type we can store and echo in a header: printable ASCII, at most 255 bytes.
pub(crate) fn content_type(value: &str) -> Result<(), String> {
    if value.len() > 255 {
        return Err("content_type is longer than 255 bytes".to_string());
    }
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("content_type must be printable ASCII".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["a", "a/b.txt", "raw/sample.vcf", "x/.../y", "é/ü"] {
            assert!(file_key(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(256);
        let too_long = "a/".repeat(600);
        for bad in [
            "",
            "/abs",
            "../x",
            "a/../../b",
            "a//b",
            "a/./b",
            "a/",
            "a\\b",
            "a\0b",
            "a\u{1b}b",
            "a\u{7f}",
            "a\u{85}",
            long.as_str(),
            too_long.as_str(),
        ] {
            assert!(file_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(folder_path("").unwrap(), "");
        assert_eq!(folder_path("raw").unwrap(), "raw/");
        assert_eq!(folder_path("raw/x/").unwrap(), "raw/x/");
        for bad in ["/", "/raw", "a//", "../", "a/../b"] {
            assert!(folder_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn workspaces() {
        assert!(workspace_id("ws_abc-1.2").is_ok());
        assert!(workspace_id(&"w".repeat(128)).is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ü", &"w".repeat(129)] {
            assert!(workspace_id(bad).is_err(), "{bad:?}");
        }
    }
}
