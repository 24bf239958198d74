//! The help overlay: the key table in one column, two, or packed on a small screen, and
//! the demo's server under it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Row, Table};
use unicode_width::UnicodeWidthStr;

use super::{block, centered, saturating_u16, theme, wrap};
use crate::app::State;
use crate::app::keymap::{Bound, DialogAction};
use crate::sanitize::for_terminal;

/// The key table: one column where it fits, else two side by side, else (a small
/// screen) the entries packed in rows.
pub fn draw(frame: &mut Frame, area: Rect, state: &State) {
    let th = theme::of(state.look.theme);
    let all = state.keymap.help_rows();
    // The demo's server, for the CLI in another terminal: its URL and key, under the keys.
    let demo: Vec<Line> = match &state.demo {
        Some(d) => vec![
            Line::default(),
            Line::styled(
                "This demo's server, for the CLI in another terminal:",
                th.key,
            ),
            Line::from(format!("FILEDECK_ENDPOINT={} \\", for_terminal(&d.url))),
            Line::from(format!(
                "FILEDECK_API_KEY={} filedeck ls -w ws_genomics",
                for_terminal(&d.key)
            )),
        ],
        None => Vec::new(),
    };
    let demo_w = (demo.iter().map(Line::width).max().unwrap_or(0) + 2).min(usize::from(area.width));
    let demo = wrap::lines(&demo, demo_w.saturating_sub(2));
    let below = demo.len();
    let key_w = |rows: &[(String, &str)]| rows.iter().map(|r| r.0.width()).max().unwrap_or(0);
    let what_w = |rows: &[(String, &str)]| rows.iter().map(|r| r.1.width()).max().unwrap_or(0);
    let close = state.keymap.keys(Bound::Dialog(DialogAction::HelpClose));
    let close: Vec<String> = close.iter().take(2).map(ToString::to_string).collect();
    let block =
        block(" Keys ", th.border_focused).title_bottom(format!(" {} closes ", close.join("/")));
    let (left, right) = all.split_at(all.len().div_ceil(2));
    let one = key_w(&all) + 1 + what_w(&all) + 2;
    let two = key_w(left) + 1 + what_w(left) + 2 + key_w(right) + 1 + what_w(right) + 2;
    let room_h = usize::from(area.height).saturating_sub(below);
    let room_w = usize::from(area.width);
    if all.len() + 2 <= room_h && one <= room_w || left.len() + 2 <= room_h && two <= room_w {
        let cols: Vec<&[(String, &str)]> = if all.len() + 2 <= room_h && one <= room_w {
            vec![&all]
        } else {
            vec![left, right]
        };
        let mut widths = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            // A column's descriptions keep a space from the next column's keys.
            let gap = u16::from(i + 1 < cols.len());
            widths.push(Constraint::Length(saturating_u16(key_w(c))));
            widths.push(Constraint::Length(
                saturating_u16(what_w(c)).saturating_add(gap),
            ));
        }
        let col_rows = cols.first().map_or(0, |c| c.len());
        let rows: Vec<Row> = (0..col_rows)
            .map(|i| {
                Row::new(cols.iter().flat_map(|c| match c.get(i) {
                    Some((keys, what)) => {
                        vec![Line::styled(keys.clone(), th.key), Line::from(*what)]
                    }
                    None => vec![Line::default(), Line::default()],
                }))
            })
            .collect();
        let width = if cols.len() == 1 { one.max(40) } else { two }.max(demo_w);
        let r = centered(
            area,
            saturating_u16(width),
            saturating_u16(col_rows + 2 + below),
        );
        frame.render_widget(Clear, r);
        let inner = block.inner(r);
        frame.render_widget(block, r);
        let [keys, under] = Layout::vertical([
            Constraint::Length(saturating_u16(col_rows)),
            Constraint::Length(saturating_u16(below)),
        ])
        .areas(inner);
        frame.render_widget(Table::new(rows, widths).column_spacing(1), keys);
        frame.render_widget(Paragraph::new(demo), under);
        return;
    }
    // Packed: as many "keys what" entries to a row as fit, three spaces apart.
    let inner_w = room_w.saturating_sub(2);
    let mut lines: Vec<Line> = vec![Line::default()];
    let mut used = 0;
    for (keys, what) in &all {
        let w = keys.width() + 1 + what.width();
        if used > 0 && used + 3 + w > inner_w {
            lines.push(Line::default());
            used = 0;
        }
        if let Some(line) = lines.last_mut() {
            if used > 0 {
                line.spans.push(Span::raw("   "));
                used += 3;
            }
            line.spans.push(Span::styled(keys.clone(), th.key));
            line.spans.push(Span::raw(format!(" {what}")));
        }
        used += w;
    }
    let rows = lines.len().min(room_h.saturating_sub(2));
    lines.truncate(rows);
    lines.extend(demo);
    let r = centered(
        area,
        saturating_u16(room_w),
        saturating_u16(lines.len() + 2),
    );
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(block), r);
}
