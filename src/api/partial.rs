//! A download's partial file and the metadata saved beside it: what it is a part of, how
//! much of it can be resumed, and how it is opened, cut back, discarded or moved into place.
//! The partial files' names are `local`'s ([`partial_paths`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use crate::local::partial_paths;

/// Saved beside a partial file: what it is a part of. A resume sends `etag` as
/// `If-Range`, so bytes of another version are never appended to these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialMeta {
    pub etag: String,
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
}

impl PartialMeta {
    /// The metadata saved beside the partial download of `target`, if any.
    pub async fn load(target: &Path) -> Option<PartialMeta> {
        let (_, meta) = partial_paths(target);
        let bytes = tokio::fs::read(meta).await.ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Save it beside the partial download of `target`.
    pub async fn save(&self, target: &Path) -> Result<(), ApiError> {
        let (_, meta) = partial_paths(target);
        write_meta(&meta, self).await
    }
}

pub(super) async fn write_meta(path: &Path, meta: &PartialMeta) -> Result<(), ApiError> {
    let json = serde_json::to_vec(meta)
        .map_err(|e| ApiError::Protocol(format!("cannot encode partial metadata: {e}")))?;
    // Never through a symlink, like the partial file itself: a planted link must not
    // redirect the write outside the download folder.
    let mut opts = tokio::fs::OpenOptions::new();
    opts.create(true).truncate(true).write(true);
    // Owner-only, as the partial file it describes (its URL-free metadata still names
    // what is being downloaded).
    #[cfg(unix)]
    opts.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    let mut f = opts
        .open(path)
        .await
        .map_err(|e| ApiError::io(format!("cannot write {}", path.display()), e))?;
    tokio::io::AsyncWriteExt::write_all(&mut f, &json)
        .await
        .map_err(|e| ApiError::io(format!("cannot write {}", path.display()), e))
}

/// How many bytes of a previous attempt can be resumed, and the ETag they belong to.
pub(super) async fn resume_point(part: &Path, meta: &Path, key: &str) -> (u64, Option<String>) {
    let Ok(md) = tokio::fs::metadata(part).await else {
        return (0, None);
    };
    let saved = tokio::fs::read(meta)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<PartialMeta>(&b).ok())
        .filter(|m| m.key == key);
    match saved {
        Some(m) if md.len() > 0 => (md.len(), Some(m.etag)),
        _ => (0, None),
    }
}

/// Move a verified partial file into place as `target`, durably, and drop its metadata.
pub(super) async fn finish(part: &Path, meta: &Path, target: &Path) -> Result<(), ApiError> {
    let (part, meta, target) = (part.to_path_buf(), meta.to_path_buf(), target.to_path_buf());
    tokio::task::spawn_blocking(move || {
        // The partial file was private while incomplete; the result gets the mode any
        // new file would (0666 less the umask), so collaborators can read a results folder.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = 0o666 & !umask();
            std::fs::set_permissions(&part, std::fs::Permissions::from_mode(mode)).map_err(
                |e| ApiError::io(format!("cannot set the mode of {}", part.display()), e),
            )?;
        }
        std::fs::rename(&part, &target).map_err(|e| {
            ApiError::io(
                format!("cannot move the download to {}", target.display()),
                e,
            )
        })?;
        let _ = std::fs::remove_file(&meta);
        // Make the rename itself durable.
        if let Some(dir) = target.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::Protocol(format!("finishing thread failed: {e}")))?
}

/// The process's umask, read without changing it (the `umask` call sets it, and other
/// threads create files meanwhile); 022 when /proc does not say.
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Remove the partial file and its metadata for `target` (a cancelled or failed download).
pub async fn discard_partial(target: &Path) {
    let (part, meta) = partial_paths(target);
    let _ = tokio::fs::remove_file(part).await;
    let _ = tokio::fs::remove_file(meta).await;
}

/// Cut the partial file back to `len` bytes, durably.
pub(super) async fn truncate(part: &Path, len: u64) -> Result<(), ApiError> {
    let path = part.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let f = open_partial(&path)?;
        f.set_len(len)
            .and_then(|()| f.sync_data())
            .map_err(|e| ApiError::io(format!("cannot write {}", path.display()), e))
    })
    .await
    .map_err(|e| ApiError::Protocol(format!("truncating thread failed: {e}")))?
}

/// Open (or create) a partial file, never through a symlink: a planted link must not
/// redirect the write outside the download folder.
pub(super) fn open_partial(part: &Path) -> Result<std::fs::File, ApiError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    opts.open(part)
        .map_err(|e| ApiError::io(format!("cannot write {}", part.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names_fit_beside_a_255_byte_name() {
        let dir = Path::new("/tmp/dl");
        let (part, meta) = partial_paths(&dir.join("x".repeat(255)));
        assert!(meta.file_name().unwrap().len() < 64);
        assert_eq!(part.parent(), Some(dir));
        assert_ne!(
            partial_paths(&dir.join("a")).0,
            partial_paths(&dir.join("b")).0
        );
    }
}
