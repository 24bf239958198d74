//! The details pane: everything known about the selection.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{fmt, theme};
use crate::app::State;
use crate::app::count::{group, whole};
use crate::app::state::{Pane, Row};
use crate::sanitize::for_terminal;

fn field(label: &'static str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<10}"), theme::LABEL),
        Span::raw(value),
    ])
}

/// A size the server may not have told.
fn maybe_sized(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "unknown (the server did not say)".to_string(),
        |b| sized(b, ""),
    )
}

fn sized(bytes: u64, partial: &str) -> String {
    format!(
        "{partial}{} ({partial}{} bytes)",
        fmt::size(bytes),
        group(bytes)
    )
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let th = theme::of(state.look.theme);
    let focused = state.focus == Pane::Details && state.dialog.is_none();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Details ")
        .border_style(if focused {
            th.border_focused
        } else {
            th.border
        });
    // With the transfers pane focused, the details are the selected transfer's.
    let transfer = (state.focus == Pane::Transfers)
        .then(|| state.transfers.get(state.transfer_selected))
        .flatten();
    if let Some(t) = transfer {
        frame.render_widget(
            Paragraph::new(transfer_lines(t))
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    let lines = state
        .selected_row()
        .map(|r| lines(state, r))
        .unwrap_or_default();
    if state.preview.on && matches!(state.selected_row(), Some(Row::File { .. })) {
        // The fields that tell what the file is; the preview shows the rest.
        let fields = lines.into_iter().skip(1).take(4).collect();
        let border = if focused {
            th.border_focused
        } else {
            th.border
        };
        super::preview::draw_in_details(frame, area, state, fields, border);
        return;
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

fn lines(state: &State, row: Row) -> Vec<Line<'static>> {
    let th = theme::of(state.look.theme);
    let Some(ws) = state.workspaces.get(row.ws()) else {
        return Vec::new();
    };
    let partial = fmt::at_least(ws.partial());
    let t = &ws.tree;
    match row {
        Row::File { id, .. } => {
            let Some(f) = t.file(id) else {
                return Vec::new();
            };
            let display = t.display_key(id);
            let key = t.key(id);
            let mut out = vec![
                field("Name", for_terminal(&f.name)),
                field("Path", for_terminal(&display)),
            ];
            if key != display {
                out.push(field("Key", for_terminal(&key)));
            }
            out.push(field("Size", maybe_sized(f.size())));
            let ct = t.content_type(id);
            out.push(field(
                "Type",
                if ct.is_empty() {
                    "—".into()
                } else {
                    for_terminal(ct)
                },
            ));
            out.push(field("Created", fmt::time(f.created, &state.look.zone)));
            out.push(field(
                "Desc.",
                f.description
                    .as_deref()
                    .map(for_terminal)
                    .unwrap_or_else(|| "—".into()),
            ));
            out.push(field(
                "SHA-256",
                f.sha256.map(hex::encode).unwrap_or_else(|| "—".into()),
            ));
            out
        }
        Row::Folder { id, .. } => {
            let Some(f) = t.folder(id) else {
                return Vec::new();
            };
            let mut out = vec![
                field("Folder", for_terminal(&t.folder_path(id))),
                field("Files", format!("{partial}{}", group(f.count))),
                field(
                    "Size",
                    sized(f.bytes, fmt::at_least(ws.partial() || f.unknown_sizes > 0)),
                ),
            ];
            out.extend(newest(state, row.ws(), f.newest));
            if ws.listing.maybe_incomplete {
                out.push(Line::default());
                out.push(Line::styled(
                    "The server may have cut this listing short: folder-wide actions are off.",
                    th.warn,
                ));
            }
            out
        }
        Row::Workspace { .. } | Row::Status { .. } => {
            let Some(root) = t.folder(crate::app::tree::ROOT) else {
                return Vec::new();
            };
            let mut out = vec![field("Workspace", for_terminal(&ws.id))];
            if let Some(n) = &ws.name {
                out.push(field("Name", for_terminal(n)));
            }
            let listing = if let Some(e) = &ws.listing.error {
                format!("failed: {}", for_terminal(e))
            } else if !ws.listing.started {
                "not listed yet (→ to open)".into()
            } else if !ws.listing.complete {
                "loading…".into()
            } else if ws.listing.maybe_incomplete {
                "may be incomplete (full page without a cursor)".into()
            } else {
                "complete".into()
            };
            out.push(field("Listing", listing));
            // Nothing counted yet is no count at all: "≥ 0" would read as a figure.
            let unknown = if !ws.listing.started {
                Some("not listed yet")
            } else if root.count == 0 && ws.listing.error.is_some() {
                Some("unknown (the listing failed)")
            } else if root.count == 0 && !ws.listing.complete {
                Some("listing…")
            } else {
                None
            };
            if let Some(why) = unknown {
                out.push(field("Files", why.into()));
                out.push(field("Size", why.into()));
            } else {
                out.push(field("Files", format!("{partial}{}", group(root.count))));
                out.push(field("Size", sized(root.bytes, partial)));
            }
            out.extend(newest(state, row.ws(), root.newest));
            out
        }
    }
}

fn newest(state: &State, ws: usize, id: Option<u32>) -> Option<Line<'static>> {
    let t = &state.workspaces.get(ws)?.tree;
    let id = id?;
    let f = t.file(id)?;
    Some(field(
        "Newest",
        format!(
            "{} ({})",
            for_terminal(&t.display_key(id)),
            fmt::time(f.created, &state.look.zone)
        ),
    ))
}

fn transfer_lines(t: &crate::app::queue_view::TransferView) -> Vec<Line<'static>> {
    use crate::app::transfer_types::{Direction, TransferState};
    let state = match &t.state {
        TransferState::Queued => "queued".to_string(),
        TransferState::Running => "running".to_string(),
        TransferState::Retrying { n, of } => fmt::retry(*n, *of),
        TransferState::Verifying => "verifying".to_string(),
        TransferState::Done => "done, verified".to_string(),
        TransferState::Failed(why) => format!("failed: {}", for_terminal(why)),
        TransferState::Cancelled => "cancelled".to_string(),
        TransferState::Skipped(why) => format!("skipped: {}", for_terminal(why)),
    };
    let mut out = vec![field(
        "Transfer",
        match t.info.dir {
            Direction::Up => "upload".to_string(),
            Direction::Down => "download".to_string(),
        },
    )];
    if t.info.remote.is_empty() {
        // An upload that failed before its file was read has no remote name: say where
        // it was going, not a key that does not exist.
        out.push(field("Workspace", for_terminal(&t.info.ws)));
    } else {
        out.push(field(
            "Remote",
            format!(
                "{}:{}",
                for_terminal(&t.info.ws),
                for_terminal(&t.info.remote)
            ),
        ));
    }
    out.push(field("Local", for_terminal(&t.info.local)));
    out.push(field(
        "Size",
        match (t.info.size, t.info.dir) {
            (Some(b), _) => sized(b, ""),
            (None, Direction::Up) => "unknown".to_string(),
            (None, Direction::Down) => maybe_sized(None),
        },
    ));
    out.extend([
        field("Done", sized(t.done, "")),
        field(
            "Speed",
            if t.is_active() {
                format!("{}/s", fmt::size(whole(t.speed)))
            } else {
                "—".to_string()
            },
        ),
        field("State", state),
    ]);
    if let Some(note) = &t.note {
        out.push(field("Note", for_terminal(note)));
    }
    out
}
