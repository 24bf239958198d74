//! Word wrapping done here rather than by `Paragraph`: a dialog must know how many rows
//! its text takes before it is drawn, to size its box and keep its key line inside it.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `lines` wrapped at word boundaries to `width` cells (a word longer than a row is cut
/// where the row ends); styles are kept. An empty line stays one empty row.
pub fn lines(lines: &[Line<'_>], width: usize) -> Vec<Line<'static>> {
    lines.iter().flat_map(|l| line(l, width)).collect()
}

fn line(line: &Line<'_>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let mut rows: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for span in &line.spans {
        let style = line.style.patch(span.style);
        for word in words(&span.content) {
            let w = word.width();
            let blank = word.starts_with(' ');
            if used + w <= width {
                push(&mut rows, word, style);
                used += w;
            } else if blank {
                // Spaces at a break are dropped: the next row starts with the next word.
                rows.push(Vec::new());
                used = 0;
            } else {
                if used > 0 {
                    rows.push(Vec::new());
                }
                used = cut(&mut rows, word, style, width);
            }
        }
    }
    rows.into_iter()
        .map(|spans| {
            // Trailing spaces of a broken row would only pad it.
            let mut l = Line::from(spans);
            if let Some(last) = l.spans.last_mut() {
                let trimmed = last.content.trim_end().to_string();
                last.content = trimmed.into();
            }
            l
        })
        .collect()
}

/// A word longer than the room left: cut across rows; returns the last row's width.
fn cut(rows: &mut Vec<Vec<Span<'static>>>, word: &str, style: Style, width: usize) -> usize {
    let mut used = 0;
    let mut piece = String::new();
    for c in word.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > width && used > 0 {
            push(rows, &piece, style);
            rows.push(Vec::new());
            piece.clear();
            used = 0;
        }
        piece.push(c);
        used += cw;
    }
    push(rows, &piece, style);
    used
}

fn push(rows: &mut [Vec<Span<'static>>], text: &str, style: Style) {
    if let Some(row) = rows.last_mut() {
        row.push(Span::styled(text.to_string(), style));
    }
}

/// Runs of spaces and runs of anything else, in order.
fn words(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut blank = None;
    for (i, c) in s.char_indices() {
        let b = c == ' ';
        if blank.is_some_and(|was| was != b) {
            out.push(&s[start..i]);
            start = i;
        }
        blank = Some(b);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rows: &[Line]) -> Vec<String> {
        rows.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn breaks_between_words_and_cuts_long_ones() {
        let l = Line::from("Delete raw/ and every file under it?");
        assert_eq!(
            text(&lines(&[l], 16)),
            ["Delete raw/ and", "every file under", "it?"]
        );
        let l = Line::from("x abcdefghijkl");
        assert_eq!(text(&lines(&[l], 5)), ["x", "abcde", "fghij", "kl"]);
    }

    #[test]
    fn keeps_empty_lines_and_styles() {
        let key = Style::new().add_modifier(ratatui::style::Modifier::BOLD);
        let l = Line::from(vec![Span::styled("y/Enter", key), Span::raw(" delete")]);
        let rows = lines(&[Line::default(), l], 10);
        assert_eq!(text(&rows), ["", "y/Enter", "delete"]);
        assert_eq!(rows[1].spans[0].style, key);
    }

    #[test]
    fn wide_characters_count_twice() {
        let l = Line::from("日本語の名前");
        assert_eq!(text(&lines(&[l], 5)), ["日本", "語の", "名前"]);
    }
}
