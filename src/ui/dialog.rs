//! Dialogs and notifications drawn over the panes. Every dialog is a body over a key
//! line; the box is sized to its wrapped text, and on a short screen the body gives up
//! rows before the keys do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::fmt::truncate;
use super::theme::{self, Theme};
use super::{block, centered, fmt, saturating_u16, wrap};
use crate::app::State;
use crate::app::count::group;
use crate::app::keymap::{Bound, DialogAction};
use crate::app::state::{Dialog, Level};
use crate::sanitize::for_terminal;

/// A dialog action's keys in force, `y/Enter`.
pub(super) fn hint(state: &State, d: DialogAction) -> String {
    state.keymap.hint(Bound::Dialog(d))
}

/// Keys and what they do, `y/Enter delete    n/Esc cancel`, in as many rows of `width`
/// as they need: a row breaks between two keys, never inside one's description.
pub(super) fn key_lines(
    th: &Theme,
    keys: &[(String, &'static str)],
    width: usize,
) -> Vec<Line<'static>> {
    const GAP: usize = 4;
    let mut rows = vec![Line::default()];
    let mut used = 0;
    for (k, what) in keys {
        let w = k.width() + 1 + what.width();
        if used > 0 && used + GAP + w > width {
            rows.push(Line::default());
            used = 0;
        }
        if let Some(row) = rows.last_mut() {
            if used > 0 {
                row.spans.push(Span::raw(" ".repeat(GAP)));
                used += GAP;
            }
            row.spans.push(Span::styled(k.clone(), th.key));
            row.spans.push(Span::raw(format!(" {what}")));
        }
        used += w;
    }
    rows
}

/// Inner columns of a box at most `width` wide in `area`.
pub(super) fn inner_width(area: Rect, width: u16) -> usize {
    width.min(area.width).saturating_sub(2) as usize
}

/// Draws a box at most `width` wide, centred in `area`: `body` wrapped, a blank row when
/// there is room, then `keys` wrapped. Returns the inner area.
pub(super) fn boxed(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    block: Block<'static>,
    body: &[Line<'_>],
    keys: &[Line<'_>],
) -> Rect {
    let inner_w = inner_width(area, width);
    let mut body = wrap::lines(body, inner_w);
    let keys = wrap::lines(keys, inner_w);
    let room = area.height.saturating_sub(2) as usize;
    let gap = usize::from(!body.is_empty() && body.len() + 1 + keys.len() <= room);
    let body_rows = room.saturating_sub(keys.len() + gap).min(body.len());
    if body_rows < body.len() {
        body.truncate(body_rows);
        if let Some(last) = body.last_mut() {
            // The cut shows: the last row that fits ends with "…".
            let text = last.to_string();
            *last = Line::from(if text.width() < inner_w {
                format!("{text}…")
            } else {
                truncate(&text, inner_w.saturating_sub(1)) + "…"
            });
        }
    }
    let height = saturating_u16(body.len() + gap + keys.len() + 2);
    let r = centered(area, width, height);
    let inner = block.inner(r);
    let mut lines = body;
    if gap == 1 {
        lines.push(Line::default());
    }
    lines.extend(keys);
    frame.render_widget(Clear, r);
    frame.render_widget(block, r);
    frame.render_widget(Paragraph::new(lines), inner);
    inner
}

/// `> ` and as much of the input as fits in `width`, scrolled to its cursor (drawn
/// sanitised: a completed remote name is in it); the cursor's column after the `> `.
pub(super) fn input_line(
    th: &Theme,
    input: &tui_input::Input,
    width: usize,
) -> (Line<'static>, usize) {
    let (shown, col) = fmt::input_view(input, width.saturating_sub(2));
    (Line::from(Span::styled(format!("> {shown}"), th.key)), col)
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let th = theme::of(state.look.theme);
    match &state.dialog {
        Some(Dialog::ConfirmDelete(c)) => {
            let count = c.files.len() as u64;
            let mut body = vec![Line::from(vec![
                Span::raw("Delete "),
                Span::styled(c.label.clone(), th.error),
                Span::raw("?"),
            ])];
            // The marks may be scrolled away or in a closed folder: the question names them.
            body.extend(listed(&c.items, 4));
            body.extend([
                Line::default(),
                Line::from(format!(
                    "{} file{}, {}{} ({}{} bytes), from {}.",
                    group(count),
                    if count == 1 { "" } else { "s" },
                    fmt::at_least(c.unknown_sizes),
                    fmt::size(c.bytes),
                    fmt::at_least(c.unknown_sizes),
                    group(c.bytes),
                    for_terminal(state.workspaces.get(c.ws).map_or("", |w| w.id.as_str()))
                )),
                Line::from("This cannot be undone."),
            ]);
            boxed(
                frame,
                area,
                64,
                block(" Confirm delete ", th.error),
                &body,
                &key_lines(
                    th,
                    &[
                        (hint(state, DialogAction::Yes), "delete"),
                        (hint(state, DialogAction::No), "cancel"),
                    ],
                    inner_width(area, 64),
                ),
            );
        }
        Some(Dialog::Help) => super::help::draw(frame, area, state),
        Some(Dialog::Conflicts { items, choices, .. }) => {
            let i = choices.len().min(items.len().saturating_sub(1));
            let Some(c) = items.get(i) else { return };
            let place = if c.upload { "on the server" } else { "locally" };
            let mut body = vec![
                Line::from(format!(
                    "Conflict {} of {}: this already exists {place}:",
                    group(i as u64 + 1),
                    group(items.len() as u64)
                )),
                Line::from(Span::styled(for_terminal(&c.existing), th.warn)),
                Line::from(format!(
                    "existing {}, new {}",
                    exact(c.existing_size),
                    exact(c.new_size)
                )),
            ];
            if let Some(note) = &c.note {
                body.push(Line::from(Span::styled(for_terminal(note), th.warn)));
            }
            boxed(
                frame,
                area,
                72,
                block(" File exists ", th.warn),
                &body,
                &[
                    key_lines(
                        th,
                        &[
                            (hint(state, DialogAction::Overwrite), "overwrite"),
                            (hint(state, DialogAction::Skip), "skip"),
                            (
                                hint(state, DialogAction::SkipIfIdentical),
                                "overwrite unless identical",
                            ),
                            (hint(state, DialogAction::KeepBoth), "keep both"),
                        ],
                        inner_width(area, 72),
                    ),
                    key_lines(
                        th,
                        &[
                            (
                                [
                                    DialogAction::OverwriteAll,
                                    DialogAction::SkipAll,
                                    DialogAction::SkipIfIdenticalAll,
                                    DialogAction::KeepBothAll,
                                ]
                                .map(|d| state.keymap.short(Bound::Dialog(d)))
                                .join(" "),
                                "the same for all the rest",
                            ),
                            (hint(state, DialogAction::SkipRest), "skip all"),
                        ],
                        inner_width(area, 72),
                    ),
                ]
                .concat(),
            );
        }
        Some(Dialog::ConfirmResume { count, bytes }) => {
            let body = [
                Line::from(format!(
                    "The last run left {} transfer{} unfinished ({}).",
                    group(*count as u64),
                    if *count == 1 { "" } else { "s" },
                    fmt::size(*bytes)
                )),
                Line::from("Downloads continue from their partial bytes;"),
                Line::from("interrupted uploads start again."),
            ];
            boxed(
                frame,
                area,
                60,
                block(" Resume transfers? ", th.warn),
                &body,
                &key_lines(
                    th,
                    &[
                        (hint(state, DialogAction::Yes), "resume"),
                        (hint(state, DialogAction::No), "drop them"),
                    ],
                    inner_width(area, 60),
                ),
            );
        }
        Some(Dialog::ConfirmQuit { active }) => {
            let body = [
                Line::from(format!(
                    "{active} transfer{} still running or queued.",
                    if *active == 1 { " is" } else { "s are" }
                )),
                // Only a kept queue is offered again; without one (the demo) quitting
                // cancels.
                Line::from(if state.queue_kept {
                    "Quit now? They are offered for resumption next time."
                } else {
                    "Quit now? They are cancelled and their partial files removed: \
                     the demo keeps no queue to resume."
                }),
            ];
            boxed(
                frame,
                area,
                58,
                block(" Quit? ", th.warn),
                &body,
                &key_lines(
                    th,
                    &[
                        (hint(state, DialogAction::Yes), "quit"),
                        (hint(state, DialogAction::No), "stay"),
                    ],
                    inner_width(area, 58),
                ),
            );
        }
        // Drawn by `prompt`, before this.
        Some(Dialog::Path { .. }) => {}
        Some(Dialog::WorkspacePrompt(input)) => {
            const WIDTH: u16 = 64;
            let inner_w = inner_width(area, WIDTH);
            let (input_row, col) = input_line(th, input, inner_w);
            let head = [
                Line::from("The server lists no workspaces for this key."),
                Line::from("Workspace id(s), separated by spaces:"),
            ];
            let head_rows = wrap::lines(&head, inner_w).len();
            let mut body = head.to_vec();
            body.push(Line::default());
            body.push(input_row);
            let inner = boxed(
                frame,
                area,
                WIDTH,
                block(" Open a workspace ", th.border_focused),
                &body,
                &key_lines(
                    th,
                    &[
                        (hint(state, DialogAction::Submit), "open"),
                        (hint(state, DialogAction::Cancel), "cancel"),
                    ],
                    inner_w,
                ),
            );
            cursor(frame, inner, col, head_rows + 1);
        }
        None => {}
    }
    if let Some(n) = &state.notice
        && n.level == Level::Error
    {
        error(th, frame, area, &n.text);
    }
}

/// The first `max` of `items`, one to a row, then how many more.
pub(super) fn listed(items: &[String], max: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = items
        .iter()
        .take(max)
        .map(|i| Line::from(format!("  {}", for_terminal(i))))
        .collect();
    if items.len() > max {
        lines.push(Line::from(format!(
            "  … and {} more",
            group((items.len() - max) as u64)
        )));
    }
    lines
}

/// The terminal cursor on a prompt's input, `row` rows into the box.
/// `col` is the cursor's column in the drawn input ([`input_line`]).
pub(super) fn cursor(frame: &mut Frame, inner: Rect, col: usize, row: usize) {
    let x = (inner.x + 2).saturating_add(saturating_u16(col));
    let y = inner.y.saturating_add(saturating_u16(row));
    frame.set_cursor_position((
        x.min(inner.right().saturating_sub(1)),
        y.min(inner.bottom().saturating_sub(1)),
    ));
}

/// An error in a box at the bottom right, above the status line.
fn error(th: &Theme, frame: &mut Frame, area: Rect, text: &str) {
    let lines: Vec<Line> = text.lines().map(|l| Line::from(for_terminal(l))).collect();
    let width = (area.width * 2 / 3).max(30).min(area.width);
    let mut lines = wrap::lines(&lines, width.saturating_sub(2) as usize);
    let room = area.height.saturating_sub(3).max(1) as usize;
    lines.truncate(room);
    let height = saturating_u16(lines.len()).saturating_add(2);
    let r = Rect {
        x: area.right().saturating_sub(width),
        y: area.bottom().saturating_sub(height + 1),
        width,
        height: height.min(area.height),
    };
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(block(" Error ", th.error).title_bottom(" any key dismisses ")),
        r,
    );
}

/// "1.00 KiB (1,024 bytes)", or "size unknown" when the server did not say.
fn exact(size: Option<u64>) -> String {
    size.map_or_else(
        || "size unknown".to_string(),
        |b| format!("{} ({} bytes)", fmt::size(b), group(b)),
    )
}
