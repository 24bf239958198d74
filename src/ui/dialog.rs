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
                    "{} file{}, {} ({} bytes), from {}.",
                    fmt::group(count),
                    if count == 1 { "" } else { "s" },
                    fmt::size(c.bytes),
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
            let rows: Vec<Row> = help_rows()
                .into_iter()
                .map(|(keys, what)| {
                    Row::new(vec![Line::styled(keys, theme::KEY), Line::from(what)])
                })
                .collect();
            let r = centered(area, 56, rows.len() as u16 + 2);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Table::new(rows, [Constraint::Length(18), Constraint::Fill(1)]).block(
                    Block::default()
                        .borders(Borders::ALL)
                        .title(" Keys ")
                        .title_bottom(" ?/Esc closes ")
                        .border_style(theme::BORDER_FOCUSED),
                ),
                r,
            );
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
