//! The preview: under the file's fields in the details pane (`p`), or over the screen,
//! scrolled (`P`). Its text was made safe for the terminal when it was decoded; the file's
//! name is sanitised here. The bytes fetched show under it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::fmt::truncate;
use super::theme::{self, Theme};
use super::{fmt, saturating_u16};
use crate::app::State;
use crate::app::count::group;
use crate::app::keymap::{Bound, DialogAction as D};
use crate::app::preview::{Preview, PreviewLine, Role, full_rows};
use crate::sanitize::for_terminal;

fn style(th: &Theme, role: Role) -> ratatui::style::Style {
    match role {
        Role::Heading => th.preview_heading,
        Role::Meta => th.preview_meta,
        Role::Body => ratatui::style::Style::new(),
        Role::Note => th.preview_note,
        Role::Problem => th.preview_problem,
    }
}

/// Each line cut (with `…`) at `width`: a preview never wraps, so its columns line up.
fn text_lines(th: &Theme, lines: &[PreviewLine], width: usize) -> Vec<Line<'static>> {
    lines
        .iter()
        .map(|l| Line::styled(truncate(&l.text, width), style(th, l.role)))
        .collect()
}

/// What was fetched, of how much, under which cap; and what is under way.
pub(super) fn fetched_line(state: &State, p: &Preview) -> String {
    let cap = state.preview.cap;
    let Some(d) = &p.data else {
        return format!(
            "{} fetching the first {}…",
            fmt::spinner(state.spinner),
            fmt::size(p.asked)
        );
    };
    let mut s = match d.total {
        Some(t) => format!("{} of {} fetched", fmt::size(d.fetched), fmt::size(t)),
        None => format!("{} fetched", fmt::size(d.fetched)),
    };
    if d.eof {
        s.push_str(" (the whole file)");
    } else {
        s.push_str(&format!(" · cap {}", fmt::size(cap)));
        if d.fetched >= cap {
            s.push_str(" reached");
        }
    }
    if d.ignored_range {
        s.push_str(" · no Range support");
    }
    if p.loading {
        s.push_str(&format!(
            " · {} fetching more…",
            fmt::spinner(state.spinner)
        ));
    }
    s
}

/// The lines for a preview's body: its text, or why there is none.
fn body(th: &Theme, p: &Preview, width: usize, from: usize, rows: usize) -> Vec<Line<'static>> {
    if let Some(e) = &p.error {
        return vec![Line::styled(truncate(&for_terminal(e), width), th.error)];
    }
    let Some(d) = &p.data else {
        return vec![Line::styled("fetching…", th.dim)];
    };
    let mut out = Vec::new();
    if d.ignored_range && from == 0 {
        out.push(Line::styled(
            truncate(
                "The server ignored Range and sent the whole file: read to the cap, then cut off.",
                width,
            ),
            th.preview_note,
        ));
    }
    // Only the rows on screen are cut and styled: a preview holds up to 20,000 lines.
    let end = from.saturating_add(rows).min(d.lines.len());
    out.extend(text_lines(
        th,
        d.lines.get(from..end).unwrap_or_default(),
        width,
    ));
    out.truncate(rows);
    if let Some(problem) = &d.problem
        && out.len() < rows
    {
        out.push(Line::styled(
            truncate(&for_terminal(problem), width),
            th.error,
        ));
    }
    if d.lines.is_empty() && d.problem.is_none() {
        out.push(Line::styled("(empty)", th.dim));
    }
    out
}

/// The preview under the file's fields in the details pane.
pub(super) fn draw_in_details(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    fields: Vec<Line<'static>>,
    border: ratatui::style::Style,
) {
    let th = theme::of(state.look.theme);
    let top = saturating_u16(fields.len().min(4) + 2);
    let [info, rest] = Layout::vertical([Constraint::Length(top), Constraint::Min(3)]).areas(area);
    frame.render_widget(
        Paragraph::new(fields).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Details ")
                .border_style(border),
        ),
        info,
    );
    let Some(p) = &state.preview.current else {
        return;
    };
    let format = p.data.as_ref().map(|d| d.format.as_str()).unwrap_or("…");
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" Preview · {} ", for_terminal(format)))
        .title_bottom(Line::styled(
            truncate(
                &format!(" {} ", fetched_line(state, p)),
                usize::from(rest.width.saturating_sub(2)),
            ),
            th.dim,
        ))
        .border_style(border);
    let inner = block.inner(rest);
    let lines = body(
        th,
        p,
        usize::from(inner.width),
        0,
        usize::from(inner.height),
    );
    frame.render_widget(Paragraph::new(lines).block(block), rest);
}

/// The full-screen preview over everything but the footer.
pub(super) fn draw_full(frame: &mut Frame, area: Rect, state: &State) {
    let Some(p) = &state.preview.current else {
        return;
    };
    let th = theme::of(state.look.theme);
    frame.render_widget(Clear, area);
    let format = p.data.as_ref().map(|d| d.format.as_str()).unwrap_or("…");
    let close = state.keymap.short(Bound::Dialog(D::PreviewClose));
    let title = truncate(
        &format!(" {} · {} ", for_terminal(&p.shown), for_terminal(format)),
        usize::from(area.width.saturating_sub(4)),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, th.key))
        .title_bottom(format!(" {close} closes "))
        .border_style(th.border_focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [text, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    // As `update` counts them (its page keys and its fetch-ahead use the same number).
    let rows = full_rows(state.height).min(usize::from(text.height));
    let lines = body(th, p, usize::from(text.width), p.scroll, rows);
    frame.render_widget(Paragraph::new(lines), text);
    let total = state.preview.lines().len();
    let last = (p.scroll + rows).min(total);
    let more = p.data.as_ref().is_some_and(|d| d.wants_more);
    let position = if total == 0 {
        String::new()
    } else {
        format!(
            "lines {}–{} of {}{} · ",
            group(u64::try_from(p.scroll + 1).unwrap_or(u64::MAX)),
            group(u64::try_from(last).unwrap_or(u64::MAX)),
            fmt::at_least(more),
            group(u64::try_from(total).unwrap_or(u64::MAX))
        )
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            truncate(
                &format!("{position}{}", fetched_line(state, p)),
                usize::from(status.width),
            ),
            th.dim,
        )),
        status,
    );
}
