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

/// Expand the command line into files; a directory keeps its own name and layout
/// (`put run1/ --to raw/` stores `raw/run1/...`). What cannot be read is reported.
pub fn collect_uploads(paths: &[PathBuf], to: &str) -> (Vec<PutJob>, Vec<String>) {
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let Some(name) = file_name(path) else {
            problems.push(format!("{}: no usable file name", path.display()));
            continue;
        };
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
            problems.push(format!(
                "{}: not a regular file or directory",
                path.display()
            ));
        }
    }
    (jobs, problems)
}

fn file_name(path: &Path) -> Option<String> {
    let p = std::path::absolute(path).ok()?;
    p.file_name()?.to_str().map(str::to_string)
}

fn walk(dir: &Path, folder: &str, jobs: &mut Vec<PutJob>, problems: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(format!("{}: {e}", dir.display()));
            return;
        }
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            problems.push(format!("{}: name is not valid UTF-8", path.display()));
            continue;
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, &format!("{folder}{name}/"), jobs, problems),
            Ok(m) if m.is_file() => jobs.push(PutJob {
                local: path,
                folder: folder.to_string(),
                name,
                size: m.len(),
            }),
            Ok(_) => problems.push(format!("{}: skipped, not a regular file", path.display())),
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
}
