//! Mapping untrusted remote names onto the local disk.

use std::path::{Component, Path, PathBuf};

use super::error::ApiError;
use crate::wire::FileEntry;

/// Check the local path `rel` a download of `entry` is to take under the destination, for
/// the browser and the command line alike. The file's own name is the listing's `name`
/// (the key's last segment only where the server sent none) and must be exactly one plain
/// segment: a name like `.ssh/authorized_keys` is refused, never joined. A file the user
/// named directly (`rel` is its name alone) may not be a dotfile either, while a dotfile
/// inside a folder the user asked for lands at its listed place inside the destination.
pub fn local_name(entry: &FileEntry, rel: &str) -> Result<(), String> {
    let name = entry.name.as_str();
    let shown = name.escape_debug().to_string();
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("the server's name {shown:?} is not a file name"));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!(
            "the server's name {shown:?} is not one plain name (it holds a path separator)"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "the server's name {shown:?} holds control characters"
        ));
    }
    // Bidi overrides, other formatting characters and line separators would make the name
    // read as another in every other tool ("…\u{202e}txt.exe" shows as "…exe.txt").
    if name.chars().any(crate::sanitize::invisible) {
        return Err(format!(
            "the server's name {shown:?} holds invisible formatting characters"
        ));
    }
    if crate::local::is_partial_name(name) {
        return Err(format!(
            "the server's name {shown:?} is one filedeck keeps for its partial downloads"
        ));
    }
    if name.len() > 255 {
        return Err(format!(
            "the server's name is {} bytes long; no local name may pass 255",
            name.len()
        ));
    }
    if rel == name {
        if name.starts_with('.') {
            return Err(format!(
                "the server's name {shown:?} would make a hidden dotfile in the destination; \
                 download its folder to keep it"
            ));
        }
        return Ok(());
    }
    if rel.strip_suffix(name).is_some_and(|dir| dir.ends_with('/')) {
        return Ok(());
    }
    Err(format!(
        "the local path {:?} does not end in the server's name {shown:?}",
        rel.escape_debug().to_string()
    ))
}

/// Join a remote relative path (`a/b/c.vcf`) under `dir`, refusing anything that could
/// land outside it: `..`, absolute paths, empty or `.` segments, NUL, backslashes and
/// control characters. Remote names are untrusted.
pub fn safe_join(dir: &Path, relative: &str) -> Result<PathBuf, ApiError> {
    let refuse = |why: &str| {
        ApiError::Local(format!(
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

/// Make sure no symlink on the way from `dir` to `target` leads out of `dir`: the deepest
/// existing ancestor of `target` must resolve inside `dir` (what does not exist yet is
/// made of plain names checked by [`safe_join`]).
pub(crate) fn check_inside(dir: &Path, target: &Path) -> Result<(), ApiError> {
    let root = dir
        .canonicalize()
        .map_err(|e| ApiError::io(format!("cannot open {}", dir.display()), e))?;
    let mut probe = target.parent().unwrap_or(dir);
    let real = loop {
        match probe.canonicalize() {
            Ok(p) => break p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match probe.parent() {
                Some(p) => probe = p,
                None => return Err(ApiError::io(format!("cannot open {}", dir.display()), e)),
            },
            Err(e) => return Err(ApiError::io(format!("cannot open {}", probe.display()), e)),
        }
    };
    if real.starts_with(&root) {
        Ok(())
    } else {
        Err(ApiError::Local(format!(
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

    #[test]
    fn local_names() {
        // The name as the server gave it, whatever the key says.
        let e = |key: &str, name: &str| FileEntry {
            name: name.into(),
            path: String::new(),
            ..FileEntry::of_key(key)
        };
        assert!(local_name(&e("report.csv", "report.csv"), "report.csv").is_ok());
        assert!(local_name(&e("k", "a.vcf"), "raw/run1/a.vcf").is_ok());
        assert!(local_name(&e("k", ".hidden"), "run1/.hidden").is_ok());
        for (name, rel) in [
            (".ssh/authorized_keys", ".ssh/authorized_keys"),
            (".bashrc", ".bashrc"),
            ("..", ".."),
            ("a\\b", "a\\b"),
            ("a\u{1b}[2J", "a\u{1b}[2J"),
            ("a.vcf", "b.vcf"),
            ("a.vcf", "xa.vcf"),
            ("bidi\u{202e}txt.exe", "bidi\u{202e}txt.exe"),
            ("line\u{2028}break.txt", "line\u{2028}break.txt"),
            ("mark\u{61c}.txt", "mark\u{61c}.txt"),
            ("soft\u{ad}hyphen.txt", "soft\u{ad}hyphen.txt"),
            (
                ".filedeck-0123456789abcdef0123.partial",
                "data/.filedeck-0123456789abcdef0123.partial",
            ),
        ] {
            assert!(
                local_name(&e("report.csv", name), rel).is_err(),
                "{name:?} accepted"
            );
        }
        let long = "x".repeat(255);
        assert!(local_name(&e("k", &long), &long).is_ok());
        let longer = "x".repeat(256);
        assert!(local_name(&e("k", &longer), &longer).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_folder_is_refused_before_anything_is_created() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("raw")).unwrap();
        let target = safe_join(root.path(), "raw/run1/x.vcf").unwrap();
        assert!(check_inside(root.path(), &target).is_err());
        let fine = safe_join(root.path(), "new/dir/x.vcf").unwrap();
        assert!(check_inside(root.path(), &fine).is_ok());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }
}
