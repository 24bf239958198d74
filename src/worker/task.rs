//! One transfer task: the upload (and the removal of the copies it replaces) or the
//! download it runs, how its row ends, and how its row names it.

use tokio_util::sync::CancellationToken;

use super::queue::SavedJob;
use crate::api::{ApiError, Client, FileEntry, Progress, UploadRequest};
use crate::app::transfer_types::TransferState;
use crate::app::transfer_types::{Direction, TransferInfo};

/// Run `job` to its end: the state its row ends in, the server's entry of an upload, and
/// a note on how it ended well.
pub(super) async fn run(
    client: &Client,
    job: &SavedJob,
    progress: &Progress,
    token: &CancellationToken,
) -> (TransferState, Option<FileEntry>, Option<String>) {
    let result = transfer(client, job, progress, token).await;
    let (mut uploaded, mut note) = (None, None);
    let state = match result {
        Ok((entry, why)) => {
            (uploaded, note) = (entry, why);
            if token.is_cancelled() {
                // Past the point of no return (see README, "What cancel does"):
                // it finished, and the row says so rather than "cancelled".
                let late = match job {
                    SavedJob::Up { .. } => {
                        "the cancel came too late: the file had been sent in full \
                         and is on the server (remove it if it is not wanted)"
                    }
                    SavedJob::Down { .. } => {
                        "the cancel came too late: the file was already in place"
                    }
                };
                note = Some(match note {
                    Some(n) => format!("{late}; {n}"),
                    None => late.to_string(),
                });
            }
            TransferState::Done
        }
        Err(ApiError::Cancelled) => {
            if let SavedJob::Down { target, .. } = job {
                crate::api::discard_partial(target).await;
            }
            TransferState::Cancelled
        }
        Err(e) => TransferState::Failed(e.to_string()),
    };
    (state, uploaded, note)
}

/// What a transfer that ended well leaves: the server's entry of an upload, and a note.
type Outcome = (Option<FileEntry>, Option<String>);

/// The upload or the download itself, with the client's retries.
async fn transfer(
    client: &Client,
    job: &SavedJob,
    progress: &Progress,
    token: &CancellationToken,
) -> Result<Outcome, ApiError> {
    match job {
        SavedJob::Up {
            ws,
            local,
            folder,
            name,
            replaces,
            description,
            ..
        } => {
            let req = UploadRequest {
                workspace: ws,
                local,
                folder,
                name: Some(name),
                description: description.as_deref(),
            };
            let up = client.upload(&req, progress, token).await?;
            if let Some(why) = &up.unverified {
                tracing::warn!(key = %up.entry.key, "{why}");
            }
            // "Overwrite" where keys are opaque: the older copies go only now that the new
            // one is in and verified, so a failed or unverifiable upload never costs the
            // old file.
            let older: Vec<&String> = replaces.iter().filter(|k| **k != up.entry.key).collect();
            if let (Some(why), false) = (&up.unverified, older.is_empty()) {
                let note = format!(
                    "{why}; so the older file{} of {folder}{name} ({}) {} kept: remove {} \
                     once the new one is checked",
                    if older.len() == 1 { "" } else { "s" },
                    older
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if older.len() == 1 { "is" } else { "are" },
                    if older.len() == 1 { "it" } else { "them" },
                );
                return Ok((Some(up.entry), Some(note)));
            }
            let replaced = (older.len() > 1).then(|| {
                format!(
                    "replaced the {} files of {folder}{name} ({})",
                    older.len(),
                    older
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            for old in older {
                if let Err(e) = client.delete(ws, old).await {
                    return Err(ApiError::Local(format!(
                        "uploaded as {}, but the older copy {old} could not be removed ({e}): \
                         {folder}{name} names two files now",
                        up.entry.key
                    )));
                }
            }
            Ok((Some(up.entry), replaced.or(up.unverified)))
        }
        SavedJob::Down {
            ws,
            entry,
            root,
            target,
        } => client
            .download(ws, entry, root, target, progress, token)
            .await
            .map(|_| (None, None)),
    }
}

pub(super) fn info_of(job: &SavedJob) -> TransferInfo {
    match job {
        SavedJob::Up {
            ws,
            local,
            folder,
            name,
            size,
            ..
        } => TransferInfo {
            dir: Direction::Up,
            ws: ws.clone(),
            remote: format!("{folder}{name}"),
            local: local.display().to_string(),
            size: Some(*size),
        },
        SavedJob::Down {
            ws, entry, target, ..
        } => TransferInfo {
            dir: Direction::Down,
            ws: ws.clone(),
            remote: entry.display_key(),
            local: target.display().to_string(),
            size: entry.size,
        },
    }
}
