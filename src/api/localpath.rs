//! Mapping untrusted remote names onto the local disk.

use std::path::{Component, Path, PathBuf};

use super::error::ApiError;

/// Join a remote relative path (`a/b/c.vcf`) under `dir`, refusing anything that could
/// land outside it: `..`, absolute paths, empty or `.` segments, NUL, backslashes and
/// control characters. Remote names are untrusted.
pub fn safe_join(dir: &Path, relative: &str) -> Result<PathBuf, ApiError> {
    let refuse = |why: &str| {
        ApiError::InvalidRequest(format!(
            "refusing to write remote name {:?} locally: {why}",
            relative.escape_debug().to_string()
        ))
    };
    if relative.is_empty() {
        return Err(refuse("empty name"));
    }
    if relative.starts_with('/') {
        return Err(refuse("absolute path"));
    }
    let mut out = dir.to_path_buf();
    for seg in relative.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return Err(refuse("empty, '.' or '..' segment"));
        }
        if seg.chars().any(|c| c.is_control() || c == '\\') {
            return Err(refuse("control character or backslash"));
        }
        if seg.len() > 255 {
            return Err(refuse("segment longer than 255 bytes"));
        }
        let p = Path::new(seg);
        if !matches!(p.components().next(), Some(Component::Normal(_)))
            || p.components().count() != 1
        {
            return Err(refuse("not a plain name"));
        }
        out.push(seg);
    }
    Ok(out)
}

/// After the parent directories exist: make sure no symlink on the way leads out of `dir`.
pub(crate) fn check_inside(dir: &Path, target: &Path) -> Result<(), ApiError> {
    let parent = target.parent().unwrap_or(dir);
    let root = dir
        .canonicalize()
        .map_err(|e| ApiError::io(format!("cannot open {}", dir.display()), e))?;
    let real = parent
        .canonicalize()
        .map_err(|e| ApiError::io(format!("cannot open {}", parent.display()), e))?;
    if real.starts_with(&root) {
        Ok(())
    } else {
        Err(ApiError::InvalidRequest(format!(
            "refusing to write {}: it resolves outside {}",
            target.display(),
            dir.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        let d = Path::new("/tmp/dl");
        assert_eq!(
            safe_join(d, "a/b.vcf").unwrap(),
            Path::new("/tmp/dl/a/b.vcf")
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a//b",
            "a/./b",
            "a\\b",
            "a\u{1b}[2J",
            "a\0b",
        ] {
            assert!(safe_join(d, bad).is_err(), "{bad:?} accepted");
        }
        assert!(safe_join(d, &"x".repeat(256)).is_err());
    }
}
