//! `s` and `S`: the order within folders of the cursor's workspace.

use crate::app::state::State;

/// The next order (`reverse`: the same one the other way), the cursor staying on its node
/// and, where it can, on its screen row.
pub(super) fn resort(state: &mut State, reverse: bool) {
    let Some(wi) = state.selected_row().map(|r| r.ws()) else {
        return;
    };
    let Some(w) = state.ws_mut(wi) else {
        return;
    };
    w.order = if reverse {
        w.order.reversed()
    } else {
        w.order.cycled()
    };
    let row_on_screen = state.selected.saturating_sub(state.offset);
    state.reflatten();
    state.offset = state.selected.saturating_sub(row_on_screen);
    state.scroll_into_view();
}
