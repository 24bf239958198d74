//! The path prompts: upload (local path), download (local folder) and jump (a remote
//! path of the workspace), each an input line with what Tab could complete to under it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use tui_input::Input;
use unicode_width::UnicodeWidthStr;

use super::dialog::{boxed, cursor, hint, inner_width, input_line, key_lines, listed};
use super::fmt::truncate;
use super::theme::{self, Theme};
use super::{block, fmt, wrap};
use crate::app::State;
use crate::app::count::group;
use crate::app::jump::Cycle;
use crate::app::keymap::DialogAction;
use crate::app::state::PromptKind;
use crate::sanitize::for_terminal;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, kind: &PromptKind, input: &Input) {
    let th = theme::of(state.look.theme);
    const WIDTH: u16 = 70;
    let inner_w = inner_width(area, WIDTH);
    let (title, ask, go) = match kind {
        PromptKind::Upload { ws, folder } => (
            " Upload ",
            vec![Line::from(format!(
                "Local file or folder to upload into {}",
                for_terminal(&crate::app::marks::remote_label(ws, folder))
            ))],
            "start",
        ),
        PromptKind::Download {
            files,
            bytes,
            unknown_sizes,
            what,
            ..
        } => {
            let sum = format!(
                "{} file{}, {}{}",
                group(files.len() as u64),
                if files.len() == 1 { "" } else { "s" },
                fmt::at_least(*unknown_sizes),
                fmt::size(*bytes)
            );
            let mut lines = match &what[..] {
                [one] => vec![Line::from(format!("Download {one} ({sum})"))],
                many => {
                    let mut l = vec![Line::from(format!(
                        "Download {} marked items ({sum}):",
                        group(many.len() as u64)
                    ))];
                    l.extend(listed(many, 3));
                    l
                }
            };
            lines.push(Line::from("into the local folder:"));
            (" Download ", lines, "start")
        }
        PromptKind::Jump { ws, .. } => (
            " Go to ",
            vec![Line::from(format!(
                "A file or folder of {}, from its top:",
                for_terminal(state.ws(*ws).map_or("", |w| w.id.as_str()))
            ))],
            "go",
        ),
    };
    let (input_row, col) = input_line(th, input, inner_w);
    let under = match kind {
        PromptKind::Jump { cycle: Some(c), .. } => candidates(th, &state.under_prompt, c, inner_w),
        // No candidates to step through: what the last Enter or Tab had to say.
        PromptKind::Jump { cycle: None, .. } => Line::from(Span::styled(
            truncate(&for_terminal(&state.under_prompt.join(" ")), inner_w),
            th.warn,
        )),
        _ => local_choices(th, &state.under_prompt, inner_w),
    };
    let ask_rows = wrap::lines(&ask, inner_w).len();
    let mut body = ask;
    body.push(Line::default());
    body.push(input_row);
    body.push(under);
    let mut keys = vec![
        (hint(state, DialogAction::Submit), go),
        (hint(state, DialogAction::Complete), "complete"),
    ];
    if matches!(kind, PromptKind::Jump { .. }) {
        keys.push((hint(state, DialogAction::CompleteBack), "back"));
    }
    keys.push((hint(state, DialogAction::Cancel), "cancel"));
    let inner = boxed(
        frame,
        area,
        WIDTH,
        block(title, th.border_focused),
        &body,
        &key_lines(th, &keys, inner_w),
    );
    cursor(frame, inner, col, ask_rows + 1);
}

/// What the last Tab could still complete to, as many as fit on the line (room kept for
/// the "(+N more)").
fn local_choices(th: &Theme, items: &[String], width: usize) -> Line<'static> {
    let mut choices = String::new();
    for (i, c) in items.iter().enumerate() {
        let c = for_terminal(c);
        if choices.width() + c.width() + 2 + 12 > width {
            choices.push_str(&format!(" (+{} more)", items.len() - i));
            break;
        }
        if !choices.is_empty() {
            choices.push_str("  ");
        }
        choices.push_str(&c);
    }
    Line::from(Span::styled(truncate(&choices, width), th.dim))
}

/// The jump's candidates, the one in the input highlighted and always in sight (the line
/// starts at it, after "…", when it would fall off the end), then how many more matched.
fn candidates(th: &Theme, items: &[String], c: &Cycle, width: usize) -> Line<'static> {
    const MORE: usize = 14;
    let names: Vec<String> = items.iter().map(|n| for_terminal(n)).collect();
    let fits = |from: usize, to: usize| {
        names
            .iter()
            .skip(from)
            .take(to + 1 - from)
            .map(|n| n.width() + 2)
            .sum::<usize>()
            + MORE
            <= width
    };
    let from = match c.at {
        Some(at) if !fits(0, at) => at,
        _ => 0,
    };
    let mut spans = Vec::new();
    let mut used = 0;
    if from > 0 {
        spans.push(Span::styled("… ", th.dim));
        used += 2;
    }
    let mut shown = from;
    for (i, n) in names.iter().enumerate().skip(from) {
        if used + n.width() + 2 + MORE > width && i > from {
            break;
        }
        if i > from {
            spans.push(Span::raw("  "));
            used += 2;
        }
        let style = if c.at == Some(i) { th.selected } else { th.dim };
        spans.push(Span::styled(
            truncate(n, width.saturating_sub(used + MORE)),
            style,
        ));
        used += n.width();
        shown = i + 1;
    }
    let rest = c.total.saturating_sub(shown);
    if rest > 0 {
        spans.push(Span::styled(
            format!("  (+{} more)", group(rest as u64)),
            th.dim,
        ));
    }
    Line::from(spans)
}
