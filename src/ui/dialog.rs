//! Dialogs and notifications drawn over the panes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Wrap};

use super::{fmt, theme};
use crate::app::State;
use crate::app::keymap::help_rows;
use crate::app::state::{Dialog, Level};
use crate::sanitize::for_terminal;

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    match &state.dialog {
        Some(Dialog::ConfirmDelete(c)) => {
            let count = c.files.len() as u64;
            let text = vec![
                Line::from(vec![
                    Span::raw("Delete "),
                    Span::styled(c.label.clone(), theme::ERROR),
                    Span::raw("?"),
                ]),
                Line::default(),
                Line::from(format!(
                    "{} file{}, {}{} ({}{} bytes), from {}.",
                    fmt::group(count),
                    if count == 1 { "" } else { "s" },
                    fmt::at_least(c.unknown_sizes),
                    fmt::size(c.bytes),
                    fmt::at_least(c.unknown_sizes),
                    fmt::group(c.bytes),
                    for_terminal(&state.workspaces[c.ws].id)
                )),
                Line::from("This cannot be undone."),
                Line::default(),
                Line::from(vec![
                    Span::styled("y/Enter", theme::KEY),
                    Span::raw(" delete    "),
                    Span::styled("n/Esc", theme::KEY),
                    Span::raw(" cancel"),
                ]),
            ];
            let r = centered(area, 60, 8);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: false }).block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" Confirm delete ")
                        .border_style(theme::ERROR),
                ),
                r,
            );
        }
        Some(Dialog::Help) => {
            let all = help_rows();
            // The demo's server, for the CLI in another terminal: its URL and key.
            let demo: Vec<Line> = match &state.demo {
                Some(d) => vec![
                    Line::default(),
                    Line::styled(
                        "This demo's server, for the CLI in another terminal:",
                        theme::KEY,
                    ),
                    Line::from(format!("FILEDECK_ENDPOINT={} \\", for_terminal(&d.url))),
                    Line::from(format!(
                        "FILEDECK_API_KEY={} filedeck ls -w ws_genomics",
                        for_terminal(&d.key)
                    )),
                ],
                None => Vec::new(),
            };
            // One column when it fits, else two side by side (80×24 must show them all).
            let one_col = (all.len() + demo.len()) as u16 + 2 <= area.height;
            let per_col = if one_col {
                all.len()
            } else {
                all.len().div_ceil(2)
            };
            let (width, key_w) = if one_col { (60, 16) } else { (area.width, 12) };
            let mut rows = Vec::new();
            for i in 0..per_col {
                let mut cells = Vec::new();
                for col in 0..if one_col { 1 } else { 2 } {
                    if let Some((keys, what)) = all.get(col * per_col + i) {
                        cells.push(Line::styled(keys.clone(), theme::KEY));
                        cells.push(Line::from(*what));
                    }
                }
                rows.push(Row::new(cells));
            }
            let widths: Vec<Constraint> = if one_col {
                vec![Constraint::Length(key_w), Constraint::Fill(1)]
            } else {
                vec![
                    Constraint::Length(key_w),
                    Constraint::Fill(1),
                    Constraint::Length(key_w),
                    Constraint::Fill(1),
                ]
            };
            let width = if demo.is_empty() {
                width
            } else {
                width.max(78)
            };
            let r = centered(area, width, (per_col + demo.len()) as u16 + 2);
            frame.render_widget(Clear, r);
            let block = Block::default()
                .borders(Borders::ALL)
                .title(" Keys ")
                .title_bottom(" ?/Esc closes ")
                .border_style(theme::BORDER_FOCUSED);
            let inner = block.inner(r);
            frame.render_widget(block, r);
            let [keys, below] = Layout::vertical([
                Constraint::Length(per_col as u16),
                Constraint::Length(demo.len() as u16),
            ])
            .areas(inner);
            frame.render_widget(Table::new(rows, widths), keys);
            frame.render_widget(Paragraph::new(demo), below);
        }
        Some(Dialog::Conflicts { items, choices, .. }) => {
            let i = choices.len().min(items.len().saturating_sub(1));
            let Some(c) = items.get(i) else { return };
            let r = centered(area, 72, 9);
            frame.render_widget(Clear, r);
            let place = if c.upload { "on the server" } else { "locally" };
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(format!(
                        "Conflict {} of {}: this already exists {place}:",
                        i + 1,
                        items.len()
                    )),
                    Line::from(Span::styled(for_terminal(&c.existing), theme::WARN)),
                    Line::from(format!(
                        "existing {}, new {}",
                        exact(c.existing_size),
                        exact(c.new_size)
                    )),
                    match &c.note {
                        Some(note) => Line::from(Span::styled(for_terminal(note), theme::WARN)),
                        None => Line::default(),
                    },
                    Line::from(vec![
                        Span::styled("o", theme::KEY),
                        Span::raw(" overwrite  "),
                        Span::styled("s", theme::KEY),
                        Span::raw(" skip  "),
                        Span::styled("i", theme::KEY),
                        Span::raw(" skip if identical  "),
                        Span::styled("k", theme::KEY),
                        Span::raw(" keep both"),
                    ]),
                    Line::from(vec![
                        Span::styled("O S I K", theme::KEY),
                        Span::raw(" the same for all the rest    "),
                        Span::styled("Esc", theme::KEY),
                        Span::raw(" skip all"),
                    ]),
                ])
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" File exists ")
                        .border_style(theme::WARN),
                ),
                r,
            );
        }
        Some(Dialog::ConfirmResume { count, bytes }) => {
            let r = centered(area, 60, 7);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(format!(
                        "The last run left {} transfer{} unfinished ({}).",
                        fmt::group(*count as u64),
                        if *count == 1 { "" } else { "s" },
                        fmt::size(*bytes)
                    )),
                    Line::from("Downloads continue from their partial bytes;"),
                    Line::from("interrupted uploads start again."),
                    Line::default(),
                    Line::from(vec![
                        Span::styled("y/Enter", theme::KEY),
                        Span::raw(" resume    "),
                        Span::styled("n/Esc", theme::KEY),
                        Span::raw(" drop them"),
                    ]),
                ])
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" Resume transfers? ")
                        .border_style(theme::WARN),
                ),
                r,
            );
        }
        Some(Dialog::ConfirmQuit { active }) => {
            // Only a kept queue is offered again; without one (the demo) quitting cancels.
            let (fate, height) = if state.queue_kept {
                ("Quit now? They are offered for resumption next time.", 6)
            } else {
                (
                    "Quit now? They are cancelled and their partial files removed: \
                     the demo keeps no queue to resume.",
                    7,
                )
            };
            let r = centered(area, 56, height);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(format!(
                        "{active} transfer{} still running or queued.",
                        if *active == 1 { " is" } else { "s are" }
                    )),
                    Line::from(fate),
                    Line::default(),
                    Line::from(vec![
                        Span::styled("y/Enter", theme::KEY),
                        Span::raw(" quit    "),
                        Span::styled("n/Esc", theme::KEY),
                        Span::raw(" stay"),
                    ]),
                ])
                .wrap(Wrap { trim: false })
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" Quit? ")
                        .border_style(theme::WARN),
                ),
                r,
            );
        }
        Some(Dialog::Path { kind, input }) => {
            use crate::app::state::PromptKind;
            let (title, ask) = match kind {
                PromptKind::Upload { ws, folder } => (
                    " Upload ",
                    format!(
                        "Local file or folder to upload into {}:{}",
                        for_terminal(ws),
                        if folder.is_empty() {
                            "/".to_string()
                        } else {
                            format!("/{}", for_terminal(folder))
                        }
                    ),
                ),
                PromptKind::Download {
                    files,
                    bytes,
                    unknown_sizes,
                    ..
                } => (
                    " Download ",
                    format!(
                        "Download {} file{} ({}{}) into local folder:",
                        fmt::group(files.len() as u64),
                        if files.len() == 1 { "" } else { "s" },
                        fmt::at_least(*unknown_sizes),
                        fmt::size(*bytes)
                    ),
                ),
            };
            let r = centered(area, 70, 6);
            let inner_width = r.width.saturating_sub(5) as usize;
            let scroll = input.visual_scroll(inner_width);
            // What the last Tab could still complete to, as many as fit on the line (room
            // kept for the "(+N more)").
            use unicode_width::UnicodeWidthStr;
            let mut choices = String::new();
            for (i, c) in state.under_prompt.iter().enumerate() {
                let c = for_terminal(c);
                if choices.width() + c.width() + 2 + 12 > inner_width {
                    choices.push_str(&format!(" (+{} more)", state.under_prompt.len() - i));
                    break;
                }
                if !choices.is_empty() {
                    choices.push_str("  ");
                }
                choices.push_str(&c);
            }
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(vec![
                    Line::from(ask),
                    Line::default(),
                    Line::from(Span::styled(
                        format!(
                            "> {}",
                            input.value().chars().skip(scroll).collect::<String>()
                        ),
                        theme::KEY,
                    )),
                    Line::from(Span::styled(choices, theme::DIM)),
                ])
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(title)
                        .border_style(theme::BORDER_FOCUSED),
                ),
                r,
            );
            let x = r.x + 3 + (input.visual_cursor().saturating_sub(scroll)) as u16;
            frame.set_cursor_position((x.min(r.right().saturating_sub(2)), r.y + 3));
        }
        Some(Dialog::WorkspacePrompt(input)) => {
            let r = centered(area, 64, 7);
            let inner_width = r.width.saturating_sub(4) as usize;
            let scroll = input.visual_scroll(inner_width);
            let text = vec![
                Line::from("The server lists no workspaces for this key."),
                Line::from("Workspace id(s), separated by spaces:"),
                Line::default(),
                Line::from(Span::styled(
                    format!(
                        "> {}",
                        &input.value().chars().skip(scroll).collect::<String>()
                    ),
                    theme::KEY,
                )),
            ];
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(text).block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" Open a workspace ")
                        .border_style(theme::BORDER_FOCUSED),
                ),
                r,
            );
            let x = r.x + 3 + (input.visual_cursor().saturating_sub(scroll)) as u16;
            frame.set_cursor_position((x.min(r.right().saturating_sub(2)), r.y + 4));
        }
        None => {}
    }
    if let Some(n) = &state.notice
        && n.level == Level::Error
    {
        let lines: Vec<Line> = n
            .text
            .lines()
            .map(|l| Line::from(for_terminal(l)))
            .collect();
        let width = (area.width * 2 / 3).max(30).min(area.width);
        let inner = width.saturating_sub(2).max(1) as usize;
        let height: u16 = lines
            .iter()
            .map(|l| (l.width().max(1).div_ceil(inner)) as u16)
            .sum::<u16>()
            + 2;
        let height = height.min(area.height.saturating_sub(2)).max(3);
        let r = Rect {
            x: area.right().saturating_sub(width),
            y: area.bottom().saturating_sub(height + 2),
            width,
            height,
        };
        frame.render_widget(Clear, r);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" Error ")
                    .title_bottom(" any key dismisses ")
                    .border_style(theme::ERROR),
            ),
            r,
        );
    }
}

/// "1.00 KiB (1,024 bytes)", or "size unknown" when the server did not say.
fn exact(size: Option<u64>) -> String {
    size.map_or_else(
        || "size unknown".to_string(),
        |b| format!("{} ({} bytes)", fmt::size(b), fmt::group(b)),
    )
}
