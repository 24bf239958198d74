//! What a conflict is (a job whose destination already holds a file of its name) and the
//! names that settle one: numbered names beside a file, and targets no two transfers share.
//! How conflicts are found and answered is in `enqueue` and `answers`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::queue::SavedJob;
use crate::app::msg::{Choice, ConflictItem};

/// A job whose destination already has a file of that name.
pub(super) struct Conflict {
    pub(super) item: ConflictItem,
    pub(super) job: SavedJob,
    pub(super) existing_sha: Option<String>,
    /// Remote keys already taken (for "keep both" on uploads).
    pub(super) taken: Arc<HashSet<String>>,
    /// `taken` is all there is: a numbered name it lacks is free. Not so when the listing
    /// it came from may be incomplete.
    pub(super) names_known: bool,
    /// Nothing of that path was listed: it only may exist (the listing may be incomplete).
    pub(super) only_maybe: bool,
}

/// Why "skip if identical" cannot be answered for a file.
pub(super) const NOT_COMPARABLE: &str =
    "whether it is identical cannot be told: the server gives no SHA-256 (or size) of it";

/// A listed folder as a message names it.
pub(super) fn shown_folder(folder: &str) -> &str {
    if folder.is_empty() {
        "the workspace"
    } else {
        folder
    }
}

/// Whether `job` downloads into a target of `in_use`.
pub(super) fn writes_into(job: &SavedJob, in_use: &HashSet<PathBuf>) -> bool {
    matches!(job, SavedJob::Down { target, .. } if in_use.contains(target))
}

/// `job` with a fresh target if another download took its own while it was chosen off
/// the loop (two batches planned at once); its target is then in use. Two transfers must
/// never share a partial file. Rare, so the few stats a fresh name needs are made here.
pub(super) fn reclaim(mut job: SavedJob, in_use: &mut HashSet<PathBuf>) -> SavedJob {
    if let SavedJob::Down { target, .. } = &mut job {
        if in_use.contains(target) {
            *target = beside(target, in_use);
        }
        in_use.insert(target.clone());
    }
    job
}

/// The targets of conflicts answered "overwrite" or "keep both" (in a blocking thread:
/// "keep both" looks for a free name on disk). `in_use`: the targets this run's
/// transfers hold.
pub(super) fn name_targets(
    items: Vec<(Choice, Conflict)>,
    mut in_use: HashSet<PathBuf>,
) -> Vec<SavedJob> {
    let mut jobs = Vec::with_capacity(items.len());
    for (choice, c) in items {
        let mut job = c.job;
        match (choice, &mut job) {
            (
                Choice::KeepBoth,
                SavedJob::Up {
                    folder,
                    name,
                    replaces,
                    ..
                },
            ) => {
                *name = numbered(name, |n| c.taken.contains(&format!("{folder}{n}")));
                replaces.clear();
            }
            (Choice::KeepBoth, SavedJob::Down { target, .. }) => {
                *target = beside(target, &in_use);
            }
            // Overwrite what is on disk, never what another download is writing.
            (_, SavedJob::Down { target, .. }) => {
                *target = claim(std::mem::take(target), &in_use);
            }
            (_, SavedJob::Up { .. }) => {}
        }
        if let SavedJob::Down { target, .. } = &job {
            in_use.insert(target.clone());
        }
        jobs.push(job);
    }
    jobs
}

/// `target`, or a numbered name beside it when another download of this run already
/// writes there (two marked files of one name, the same file asked for twice): two
/// transfers must never share a partial file.
pub(super) fn claim(target: PathBuf, in_use: &HashSet<PathBuf>) -> PathBuf {
    if in_use.contains(&target) {
        beside(&target, in_use)
    } else {
        target
    }
}

/// A numbered name beside `target` that neither exists nor is being written.
fn beside(target: &Path, in_use: &HashSet<PathBuf>) -> PathBuf {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return target.to_path_buf();
    };
    // A dangling link is a name taken too: never written through, never replaced.
    let name = numbered(&name.to_string_lossy(), |n| {
        let p = dir.join(n);
        p.symlink_metadata().is_ok() || in_use.contains(&p)
    });
    dir.join(name)
}

/// "name (1).ext", "name (2).ext"… the first that `taken` says is free.
fn numbered(name: &str, taken: impl Fn(&str) -> bool) -> String {
    let (stem, ext) = name
        .rfind('.')
        .filter(|&i| i > 0)
        .and_then(|i| name.split_at_checked(i))
        .unwrap_or((name, ""));
    (1..)
        .map(|n| {
            // A name may have 255 bytes: the stem gives way to the number (at a char
            // boundary), so a long name still gets a numbered one.
            let tag = format!(" ({n}){ext}");
            let cut = stem.floor_char_boundary(255usize.saturating_sub(tag.len()));
            let kept = stem.split_at_checked(cut).map_or(stem, |(kept, _)| kept);
            format!("{kept}{tag}")
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::{beside, numbered};

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_is_a_taken_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("a (1).txt")).unwrap();
        let got = beside(&dir.path().join("a.txt"), &Default::default());
        assert_eq!(got, dir.path().join("a (2).txt"));
    }

    #[test]
    fn numbered_names_fit_in_255_bytes() {
        assert_eq!(numbered("a.vcf", |_| false), "a (1).vcf");
        assert_eq!(numbered("a.vcf", |n| n == "a (1).vcf"), "a (2).vcf");
        assert_eq!(numbered(".bashrc", |_| false), ".bashrc (1)");
        let odd = format!("a{}.gz", "é".repeat(126));
        assert_eq!(numbered(&odd, |_| false).len(), 254);
        let long = format!("{}.gz", "é".repeat(126));
        let got = numbered(&long, |_| false);
        assert!(got.len() <= 255 && got.ends_with(" (1).gz"), "{got}");
    }
}
