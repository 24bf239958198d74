//! The transfers pane: every transfer with direction, name, gauge, bytes, speed, ETA and
//! state, under a title that sums up the batch.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::fmt;
use super::theme::{self, Theme};
use crate::app::State;
use crate::app::count::{group, whole};
use crate::app::queue_view::{TransferView, aggregate};
use crate::app::state::Pane;
use crate::app::transfer_types::{Direction, TransferState};
use crate::sanitize::for_terminal;

fn duration(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

fn state_text(th: &Theme, t: &TransferView) -> (String, Style) {
    match &t.state {
        TransferState::Queued => ("queued".into(), th.dim),
        TransferState::Running => ("running".into(), th.loading),
        TransferState::Retrying { n, of } => (fmt::retry(*n, *of), th.warn),
        TransferState::Verifying => ("verifying".into(), th.loading),
        // A note (a cancel that came too late, an upload the server could not verify)
        // is in the details pane; the row says there is one.
        TransferState::Done if t.note.is_some() => ("done (see note)".into(), th.warn),
        TransferState::Done => ("done".into(), th.info),
        TransferState::Failed(why) => (format!("failed: {}", for_terminal(why)), th.error),
        TransferState::Cancelled => ("cancelled".into(), th.dim),
        TransferState::Skipped(why) => (format!("skipped: {}", for_terminal(why)), th.dim),
    }
}

fn gauge(done: u64, size: Option<u64>, width: usize, ended_well: bool) -> String {
    let frac = match size {
        // An unknown size fills the bar only once the transfer is done.
        None => {
            if ended_well {
                1.0
            } else {
                0.0
            }
        }
        Some(size) => fraction(done, size, ended_well),
    };
    let full = usize::try_from(whole((frac * width as f64).round()))
        .unwrap_or(width)
        .min(width);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

fn fraction(done: u64, size: u64, ended_well: bool) -> f64 {
    if size == 0 {
        // 0 of 0 bytes says nothing: an empty file's bar fills when it is done.
        if ended_well { 1.0 } else { 0.0 }
    } else {
        (done as f64 / size as f64).min(1.0)
    }
}

pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let th = theme::of(state.look.theme);
    if area.height == 0 {
        return;
    }
    let a = aggregate(&state.transfers);
    let mut parts = vec![
        format!("{} running", group(a.running as u64)),
        format!("{} queued", group(a.queued as u64)),
    ];
    // Every ending is counted: a batch of 40 with 25 cancelled must not read "15 done" alone.
    for (n, what) in [
        (a.done, "done"),
        (a.failed, "failed"),
        (a.cancelled, "cancelled"),
        (a.skipped, "skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{} {what}", group(n as u64)));
        }
    }
    let mut rates = Vec::new();
    if a.running > 0 {
        // The bytes all transfers moved: a thousand small files each end before a rate
        // of their own is known.
        let speed = if state.throughput.speed > 0.0 {
            state.throughput.speed
        } else {
            a.speed
        };
        rates.push(format!("{}/s", fmt::size(whole(speed))));
    }
    if let Some(cap) = state.limit_rate {
        rates.push(format!("cap {}/s", fmt::size(cap)));
    }
    if let Some(eta) = a.eta_secs {
        rates.push(format!("ETA {}", duration(eta)));
    }
    // The counts are what a narrow pane keeps: the label goes first, then the ETA, then
    // the speed.
    let room = area.width.saturating_sub(4) as usize;
    let mut label = " Transfers: ";
    let mut title;
    loop {
        title = format!("{label}{}", [&parts[..], &rates[..]].concat().join(", "));
        if title.width() < room {
            break;
        }
        if label != " " {
            label = " ";
        } else if rates.pop().is_none() {
            break;
        }
    }
    title.push(' ');
    let focused = state.focus == Pane::Transfers && state.dialog.is_none();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(" c cancel · C cancel all · R retry failed · X clear finished ")
        .border_style(if focused {
            th.border_focused
        } else {
            th.border
        });
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let sel = state
        .transfer_selected
        .min(state.transfers.len().saturating_sub(1));
    let offset = sel.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = state
        .transfers
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, t)| {
            let arrow = match t.info.dir {
                Direction::Up => "↑ ",
                Direction::Down => "↓ ",
            };
            let (st, st_style) = state_text(th, t);
            // Fixed-width columns, so gauges and figures line up row under row.
            // Narrow screens keep the name readable: the batch line has speed and ETA.
            let wide = width >= 100;
            let figures = if wide {
                // Speed and ETA mean something only while a transfer moves.
                let speed = if t.is_active() {
                    format!("{}/s", fmt::size(whole(t.speed)))
                } else {
                    String::new()
                };
                let eta = match (t.is_active(), t.eta_secs()) {
                    (true, Some(e)) => duration(e),
                    (true, None) => "--:--".into(),
                    (false, _) => String::new(),
                };
                format!(
                    " {:>10} / {:<10} {:>12} {:>8} ",
                    fmt::size(t.done),
                    fmt::maybe_size(t.info.size),
                    speed,
                    eta
                )
            } else {
                format!(" {:>10} ", fmt::maybe_size(t.info.size))
            };
            let bar = gauge(
                t.done,
                t.info.size,
                if wide { 12 } else { 8 },
                t.state == TransferState::Done,
            );
            // A full green bar reads as success: a failure's bar is in its own colour.
            let bar_style = match t.state {
                TransferState::Failed(_) => th.error,
                TransferState::Cancelled | TransferState::Skipped(_) => th.dim,
                _ => th.info,
            };
            let name = for_terminal(&t.info.label());
            let st_w = if wide { 18usize } else { 12 };
            let fixed = 2 + 1 + bar.chars().count() + figures.width() + st_w;
            let room = width.saturating_sub(fixed).max(8);
            // Cut by display width (wide characters count twice), padded to line up.
            let name = super::fmt::truncate_middle(&name, room);
            let name = format!("{name}{}", " ".repeat(room.saturating_sub(name.width())));
            let mut line = if matches!(
                t.state,
                TransferState::Failed(_) | TransferState::Skipped(_)
            ) {
                // A failed or skipped row's bar and figures say nothing: its reason takes
                // their room (the details pane has it whole).
                let reason = super::fmt::truncate(&st, width.saturating_sub(2 + room + 1));
                Line::from(vec![
                    Span::raw(arrow),
                    Span::raw(format!("{name} ")),
                    Span::styled(reason, st_style),
                ])
            } else {
                Line::from(vec![
                    Span::raw(arrow),
                    Span::raw(format!("{name} ")),
                    Span::styled(bar, bar_style),
                    Span::raw(figures),
                    Span::styled(super::fmt::truncate(&st, st_w), st_style),
                ])
            };
            if i == sel && focused {
                line = line.style(th.selected_unfocused);
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
