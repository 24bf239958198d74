//! The stable names of actions in `[keys]` (documented in the README's keys section, which
//! a test keeps in step with this table), and what the help says each does.

use super::{Bound, DialogAction};
use crate::app::msg::Action;

/// Browser actions are plain snake_case; a dialog's are `context.action`.
pub const NAMES: &[(&str, Bound)] = {
    use Action as A;
    use Bound::{Dialog as Dl, Main as M};
    use DialogAction as D;
    &[
        ("up", M(A::Up)),
        ("down", M(A::Down)),
        ("expand", M(A::Expand)),
        ("collapse", M(A::Collapse)),
        ("top", M(A::Top)),
        ("bottom", M(A::Bottom)),
        ("page_up", M(A::PageUp)),
        ("page_down", M(A::PageDown)),
        ("half_page_up", M(A::HalfPageUp)),
        ("half_page_down", M(A::HalfPageDown)),
        ("next_pane", M(A::NextPane)),
        ("focus_transfers", M(A::FocusTransfers)),
        ("refresh", M(A::Refresh)),
        ("delete", M(A::Delete)),
        ("help", M(A::Help)),
        ("quit", M(A::Quit)),
        ("force_quit", M(A::ForceQuit)),
        ("suspend", M(A::Suspend)),
        ("upload", M(A::Upload)),
        ("download", M(A::Download)),
        ("mark", M(A::Mark)),
        ("mark_range", M(A::MarkRange)),
        ("mark_all", M(A::MarkAll)),
        ("invert_marks", M(A::InvertMarks)),
        ("clear_marks", M(A::ClearMarks)),
        ("cancel_transfer", M(A::CancelTransfer)),
        ("cancel_all", M(A::CancelAll)),
        ("retry_failed", M(A::RetryFailed)),
        ("clear_finished", M(A::ClearFinished)),
        ("toggle_details", M(A::ToggleDetails)),
        ("toggle_hidden", M(A::ToggleHidden)),
        ("copy_path", M(A::CopyPath)),
        ("copy_url", M(A::CopyUrl)),
        ("toggle_mouse", M(A::ToggleMouse)),
        ("sort_next", M(A::SortNext)),
        ("sort_reverse", M(A::SortReverse)),
        ("jump", M(A::Jump)),
        ("filter", M(A::Filter)),
        ("next_match", M(A::NextMatch)),
        ("prev_match", M(A::PrevMatch)),
        ("toggle_preview", M(A::TogglePreview)),
        ("preview_full", M(A::PreviewFull)),
        ("help.close", Dl(D::HelpClose)),
        ("confirm.yes", Dl(D::Yes)),
        ("confirm.no", Dl(D::No)),
        ("conflicts.overwrite", Dl(D::Overwrite)),
        ("conflicts.skip", Dl(D::Skip)),
        ("conflicts.skip_if_identical", Dl(D::SkipIfIdentical)),
        ("conflicts.keep_both", Dl(D::KeepBoth)),
        ("conflicts.overwrite_all", Dl(D::OverwriteAll)),
        ("conflicts.skip_all", Dl(D::SkipAll)),
        ("conflicts.skip_if_identical_all", Dl(D::SkipIfIdenticalAll)),
        ("conflicts.keep_both_all", Dl(D::KeepBothAll)),
        ("conflicts.skip_rest", Dl(D::SkipRest)),
        ("prompt.submit", Dl(D::Submit)),
        ("prompt.cancel", Dl(D::Cancel)),
        ("prompt.complete", Dl(D::Complete)),
        ("prompt.complete_back", Dl(D::CompleteBack)),
        ("preview.up", Dl(D::PreviewUp)),
        ("preview.down", Dl(D::PreviewDown)),
        ("preview.page_up", Dl(D::PreviewPageUp)),
        ("preview.page_down", Dl(D::PreviewPageDown)),
        ("preview.top", Dl(D::PreviewTop)),
        ("preview.bottom", Dl(D::PreviewBottom)),
        ("preview.close", Dl(D::PreviewClose)),
    ]
};

pub fn by_name(name: &str) -> Option<Bound> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

pub fn name_of(bound: Bound) -> &'static str {
    NAMES
        .iter()
        .find(|(_, b)| *b == bound)
        .map_or("?", |(n, _)| n)
}

/// The valid name closest to `name` (edit distance), for "did you mean".
pub fn nearest(name: &str) -> &'static str {
    NAMES
        .iter()
        .map(|(n, _)| (strsim::levenshtein(name, n), *n))
        .min()
        .map_or("", |(_, n)| n)
}

pub fn describe(action: Action) -> &'static str {
    match action {
        Action::Up => "move up",
        Action::Down => "move down",
        Action::Expand => "expand / open",
        Action::Collapse => "collapse / parent",
        Action::Top => "go to top",
        Action::Bottom => "go to bottom",
        Action::PageUp => "page up",
        Action::PageDown => "page down",
        Action::NextPane => "next pane",
        Action::Refresh => "refresh",
        Action::Delete => "delete marked / selected",
        Action::Help => "this help",
        Action::Quit => "quit",
        Action::ForceQuit => "quit at once",
        Action::Suspend => "suspend (fg to resume)",
        Action::Upload => "upload here",
        Action::Download => "download",
        Action::Mark => "mark / unmark",
        Action::ClearMarks => "clear marks",
        Action::CancelTransfer => "cancel selected transfer",
        Action::CancelAll => "cancel all transfers",
        Action::RetryFailed => "retry failed transfers",
        Action::ClearFinished => "clear finished",
        Action::ToggleDetails => "show / hide details",
        Action::HalfPageUp => "half a page up",
        Action::HalfPageDown => "half a page down",
        Action::MarkRange => "mark range",
        Action::MarkAll => "mark all in the folder",
        Action::InvertMarks => "invert marks",
        Action::FocusTransfers => "transfers pane and back",
        Action::ToggleHidden => "show / hide dotfiles",
        Action::CopyPath => "copy path (OSC 52)",
        Action::CopyUrl => "copy link (OSC 52)",
        Action::ToggleMouse => "mouse on / off",
        // Short: the help packs every key into 60×20.
        Action::SortNext => "sort",
        Action::SortReverse => "reverse sort",
        Action::Jump => "go to path",
        Action::Filter => "filter",
        Action::NextMatch => "next match",
        Action::PrevMatch => "prev match",
        Action::TogglePreview => "preview",
        Action::PreviewFull => "full preview",
    }
}
