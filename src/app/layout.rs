//! The layout numbers both `update` (to scroll, page and hit-test the pointer) and `draw`
//! (to cut the screen) need.

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this width the details pane is hidden unless asked for: the tree needs the
/// columns for names beside their sizes.
pub const DETAILS_MIN_WIDTH: u16 = 72;

/// Status line + footer + the tree block's borders.
const CHROME_ROWS: u16 = 4;

/// Transfers shown at most in the transfers pane before it scrolls.
const TRANSFER_ROWS_MAX: u16 = 8;

/// How many tree rows fit on a screen of this size.
pub fn tree_viewport(_width: u16, height: u16, transfers: usize) -> usize {
    usize::from(height.saturating_sub(CHROME_ROWS + transfers_height(height, transfers)))
}

/// Rows of the transfers pane (borders included): none without transfers, at most a
/// third of the screen.
pub fn transfers_height(height: u16, transfers: usize) -> u16 {
    if transfers == 0 {
        return 0;
    }
    let rows = u16::try_from(transfers).map_or(TRANSFER_ROWS_MAX, |n| n.min(TRANSFER_ROWS_MAX));
    (rows + 2).min(height / 3).max(3)
}

/// Where each pane is on a screen: computed once here, so the pointer's hit-testing and
/// the drawing cut the screen alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    pub tree: Rect,
    pub details: Option<Rect>,
    pub transfers: Rect,
    pub status: Rect,
    pub footer: Rect,
}

/// The panes of a screen of `area`, with `transfers` rows queued and the details pane
/// shown or not.
pub fn panes(area: Rect, transfers: usize, details: bool) -> Panes {
    let [main, queue, status, footer] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(transfers_height(area.height, transfers)),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (tree, details) = if details {
        let tree_share = if area.width >= 100 { 55 } else { 50 };
        let [left, right] = Layout::horizontal([
            Constraint::Percentage(tree_share),
            Constraint::Percentage(100 - tree_share),
        ])
        .areas(main);
        (left, Some(right))
    } else {
        (main, None)
    };
    Panes {
        tree,
        details,
        transfers: queue,
        status,
        footer,
    }
}

/// A pane the pointer can be over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Tree,
    Details,
    Transfers,
}

/// What the hit-test needs of the state: the screen and the scroll of both lists.
#[derive(Debug, Clone, Copy)]
pub struct Scroll {
    pub width: u16,
    pub height: u16,
    pub details: bool,
    /// The tree's first row on screen and its row count.
    pub offset: usize,
    pub rows: usize,
    pub transfer_selected: usize,
    pub transfers: usize,
}

/// What is at a cell of the screen: a pane, and the index of the row under it (in the
/// tree's rows, or in the transfers) when there is one.
pub fn hit(s: Scroll, x: u16, y: u16) -> Option<(Area, Option<usize>)> {
    let p = panes(Rect::new(0, 0, s.width, s.height), s.transfers, s.details);
    let at = ratatui::layout::Position::new(x, y);
    // The row inside a bordered pane, from its top border.
    let inner_row = |r: Rect| {
        let inner = y.checked_sub(r.y.saturating_add(1))?;
        (x > r.x && x.saturating_add(1) < r.right() && inner.saturating_add(1) < r.height)
            .then_some(usize::from(inner))
    };
    if p.tree.contains(at) {
        let row = inner_row(p.tree)
            .map(|i| s.offset + i)
            .filter(|&i| i < s.rows);
        return Some((Area::Tree, row));
    }
    if let Some(d) = p.details
        && d.contains(at)
    {
        return Some((Area::Details, None));
    }
    if p.transfers.contains(at) {
        // The same scroll the transfers pane draws with: the selection on its last row.
        let height = usize::from(p.transfers.height.saturating_sub(2));
        let sel = s.transfer_selected.min(s.transfers.saturating_sub(1));
        let offset = sel.saturating_sub(height.saturating_sub(1));
        let row = inner_row(p.transfers)
            .map(|i| offset + i)
            .filter(|&i| i < s.transfers);
        return Some((Area::Transfers, row));
    }
    None
}
