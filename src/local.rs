//! The local side of transfers: walking what the user asked to upload.

use std::path::{Path, PathBuf};

/// One local file to upload, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutJob {
    pub local: PathBuf,
    /// Remote folder: "" or ending in '/'.
    pub folder: String,
    pub name: String,
    pub size: u64,
}

pub fn normalise_folder(folder: &str) -> String {
    let f = folder.trim_start_matches('/');
    if f.is_empty() || f.ends_with('/') {
        f.to_string()
    } else {
        format!("{f}/")
    }
}

/// Something of an upload that will not be sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub why: String,
    /// Left out on purpose (a link to a folder, a socket, a name no key can hold), as
    /// opposed to failed (unreadable).
    pub skipped: bool,
}

impl Problem {
    fn failed(path: &Path, why: impl ToString) -> Self {
        Problem {
            path: path.to_path_buf(),
            why: why.to_string(),
            skipped: false,
        }
    }

    fn skipped(path: &Path, why: impl ToString) -> Self {
        Problem {
            path: path.to_path_buf(),
            why: why.to_string(),
            skipped: true,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let skipped = if self.skipped { "skipped, " } else { "" };
        write!(f, "{}: {skipped}{}", self.path.display(), self.why)
    }
}

/// Expand the command line into files; a directory keeps its own name and layout
/// (`put run1/ --to raw/` stores `raw/run1/...`). What cannot be read is reported.
pub fn collect_uploads(paths: &[PathBuf], to: &str) -> (Vec<PutJob>, Vec<Problem>) {
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                problems.push(Problem::failed(path, e));
                continue;
            }
        };
        let Some(name) = file_name(path) else {
            problems.push(Problem::failed(path, "no usable file name"));
            continue;
        };
        if let Some(why) = unfit_for_a_key(&name) {
            problems.push(Problem::skipped(path, why));
            continue;
        }
        if meta.is_dir() {
            walk(path, &format!("{to}{name}/"), &mut jobs, &mut problems);
        } else if meta.is_file() {
            jobs.push(PutJob {
                local: path.clone(),
                folder: to.to_string(),
                name,
                size: meta.len(),
            });
        } else {
            problems.push(Problem::failed(path, "not a regular file or directory"));
        }
    }
    (jobs, problems)
}

fn file_name(path: &Path) -> Option<String> {
    let p = std::path::absolute(path).ok()?;
    p.file_name()?.to_str().map(str::to_string)
}

/// The API's keys hold no control character and no `\` (a local name is never over the
/// 255 bytes a key segment may have): such a name is reported before anything is sent,
/// instead of a refusal from the server or a broken multipart header.
fn unfit_for_a_key(name: &str) -> Option<&'static str> {
    if is_partial_name(name) {
        Some("a partial download of filedeck's, not a file to upload")
    } else if name.chars().any(char::is_control) {
        Some("the name has a control character, which file keys cannot hold")
    } else if name.contains('\\') {
        Some("the name has a backslash, which file keys cannot hold")
    } else {
        None
    }
}

fn walk(dir: &Path, folder: &str, jobs: &mut Vec<PutJob>, problems: &mut Vec<Problem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Problem::failed(dir, e));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            problems.push(Problem::skipped(&path, "the name is not valid UTF-8"));
            continue;
        };
        if let Some(why) = unfit_for_a_key(&name) {
            problems.push(Problem::skipped(&path, why));
            continue;
        }
        // A link to a file is uploaded with the file's bytes (data folders are often
        // links to the raw reads); a link to a folder is not followed: it can loop back
        // up the tree or lead anywhere (`ln -s / all`).
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() && is_link => problems.push(Problem::skipped(
                &path,
                "a link to a folder is not followed",
            )),
            Ok(m) if m.is_dir() => walk(&path, &format!("{folder}{name}/"), jobs, problems),
            Ok(m) if m.is_file() => jobs.push(PutJob {
                local: path,
                folder: folder.to_string(),
                name,
                size: m.len(),
            }),
            Ok(_) => problems.push(Problem::skipped(&path, "not a regular file")),
            Err(e) => problems.push(Problem::failed(&path, e)),
        }
    }
}

/// How many candidates (several matches) come back to show under a prompt.
const MAX_CANDIDATES: usize = 64;

/// The longest common prefix of `a` and `b`, on a character boundary (path completion,
/// local here and remote in the jump prompt).
pub fn common_prefix<'a>(a: &'a str, b: &str) -> &'a str {
    let end = a
        .char_indices()
        .zip(b.chars())
        .take_while(|((_, x), y)| x == y)
        .last()
        .map_or(0, |((i, c), _)| i + c.len_utf8());
    a.get(..end).unwrap_or("")
}

/// Complete a typed local path (Tab in a prompt): the longest common prefix of the
/// entries that match, with a `/` after a single directory. `~` stays as typed.
/// The candidates (up to [`MAX_CANDIDATES`], directories with a `/`) come back with the
/// completed text, so the prompt can show them.
pub fn complete(text: &str) -> (String, Vec<String>) {
    let (dir_part, prefix) = match text.rfind('/') {
        Some(i) => (&text[..=i], &text[i + 1..]),
        None => ("", text),
    };
    let dir = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        expand_tilde(dir_part)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (text.to_string(), Vec::new());
    };
    let mut names: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let hidden_ok = prefix.starts_with('.') || !name.starts_with('.');
            (name.starts_with(prefix) && hidden_ok).then(|| (name, e.path().is_dir()))
        })
        .collect();
    names.sort();
    match names.as_slice() {
        [] => (text.to_string(), Vec::new()),
        [(name, is_dir)] => (
            format!("{dir_part}{name}{}", if *is_dir { "/" } else { "" }),
            Vec::new(),
        ),
        many @ [(first, _), ..] => {
            let common = many.iter().fold(first.len(), |n, (s, _)| {
                common_prefix(first, s).len().min(n)
            });
            let candidates = many
                .iter()
                .take(MAX_CANDIDATES)
                .map(|(n, d)| format!("{n}{}", if *d { "/" } else { "" }))
                .collect();
            (format!("{dir_part}{}", &first[..common]), candidates)
        }
    }
}

/// Whether `name` is one of filedeck's own partial files (or their metadata): such a name
/// is never downloaded to, nor uploaded, so no file can land where another download keeps
/// its partial bytes.
pub fn is_partial_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(".filedeck-") else {
        return false;
    };
    let id = rest
        .strip_suffix(".partial")
        .or_else(|| rest.strip_suffix(".partial.json"));
    id.is_some_and(|id| id.len() == 20 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The partial file and its metadata for a target path: beside it (same filesystem, so
/// the final rename is atomic), named by a hash of the target's name so that a name of
/// the full 255 bytes still has room for them.
pub fn partial_paths(target: &Path) -> (PathBuf, PathBuf) {
    let name = target.file_name().unwrap_or_default();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(name.as_encoded_bytes());
    let id = hex::encode(digest.get(..10).unwrap_or_default());
    let dir = target.parent().unwrap_or(Path::new("."));
    (
        dir.join(format!(".filedeck-{id}.partial")),
        dir.join(format!(".filedeck-{id}.partial.json")),
    )
}

/// `~` and `~/…` are the home directory; everything else is taken as written.
pub fn expand_tilde(path: &str) -> PathBuf {
    let path = path.trim();
    if (path == "~" || path.starts_with("~/"))
        // Set but empty, HOME is still what `~` means (a relative path), as in a shell.
        && let Some(home) = std::env::var_os("HOME").map(PathBuf::from)
    {
        return home.join(path.trim_start_matches('~').trim_start_matches('/'));
    }
    if path.is_empty() {
        return PathBuf::from(".");
    }
    PathBuf::from(path)
}

/// Bytes available to us on the filesystem holding `dir`.
pub fn free_space(dir: &Path) -> Option<u64> {
    crate::sys::free_space(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders() {
        assert_eq!(normalise_folder("raw"), "raw/");
        assert_eq!(normalise_folder("/raw/"), "raw/");
        assert_eq!(normalise_folder(""), "");
    }

    #[test]
    fn completes_paths() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("run_one")).unwrap();
        std::fs::create_dir(d.path().join("run_two")).unwrap();
        std::fs::write(d.path().join("sample.vcf"), "x").unwrap();
        let base = format!("{}/", d.path().display());
        let none: Vec<String> = Vec::new();
        assert_eq!(
            complete(&format!("{base}sa")),
            (format!("{base}sample.vcf"), none.clone())
        );
        assert_eq!(
            complete(&format!("{base}ru")),
            (
                format!("{base}run_"),
                vec!["run_one/".to_string(), "run_two/".to_string()]
            ),
            "several: the common part, and what it could be"
        );
        assert_eq!(
            complete(&format!("{base}run_o")),
            (format!("{base}run_one/"), none.clone())
        );
        assert_eq!(complete(&format!("{base}zz")), (format!("{base}zz"), none));
    }
}
