//! The layout numbers both `update` (to scroll and page) and `draw` (to cut the screen) need.

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
