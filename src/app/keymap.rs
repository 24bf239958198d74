//! Every key binding in one table: the dispatcher and the help overlay both read it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::msg::Action;

pub struct Binding {
    pub code: KeyCode,
    pub mods: KeyModifiers,
    pub action: Action,
}

const fn k(code: KeyCode, action: Action) -> Binding {
    Binding {
        code,
        mods: KeyModifiers::NONE,
        action,
    }
}

const fn ctrl(c: char, action: Action) -> Binding {
    Binding {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
        action,
    }
}

pub const BINDINGS: &[Binding] = &[
    k(KeyCode::Up, Action::Up),
    k(KeyCode::Char('k'), Action::Up),
    k(KeyCode::Down, Action::Down),
    k(KeyCode::Char('j'), Action::Down),
    k(KeyCode::Right, Action::Expand),
    k(KeyCode::Char('l'), Action::Expand),
    k(KeyCode::Enter, Action::Expand),
    k(KeyCode::Left, Action::Collapse),
    k(KeyCode::Char('h'), Action::Collapse),
    k(KeyCode::Char('g'), Action::Top),
    k(KeyCode::Home, Action::Top),
    k(KeyCode::Char('G'), Action::Bottom),
    k(KeyCode::End, Action::Bottom),
    k(KeyCode::PageUp, Action::PageUp),
    k(KeyCode::PageDown, Action::PageDown),
    k(KeyCode::Tab, Action::NextPane),
    k(KeyCode::Char('r'), Action::Refresh),
    k(KeyCode::Delete, Action::Delete),
    k(KeyCode::Char('x'), Action::Delete),
    k(KeyCode::Char('?'), Action::Help),
    k(KeyCode::Char('q'), Action::Quit),
    k(KeyCode::Char('u'), Action::Upload),
    k(KeyCode::Char('d'), Action::Download),
    k(KeyCode::Char(' '), Action::Mark),
    k(KeyCode::Esc, Action::ClearMarks),
    k(KeyCode::Char('c'), Action::CancelTransfer),
    k(KeyCode::Char('C'), Action::CancelAll),
    k(KeyCode::Char('R'), Action::RetryFailed),
    k(KeyCode::Char('X'), Action::ClearFinished),
    k(KeyCode::Char('i'), Action::ToggleDetails),
    ctrl('d', Action::HalfPageDown),
    ctrl('u', Action::HalfPageUp),
    k(KeyCode::Char('v'), Action::MarkRange),
    ctrl('a', Action::MarkAll),
    ctrl('r', Action::InvertMarks),
    k(KeyCode::Char('t'), Action::FocusTransfers),
    k(KeyCode::Char('.'), Action::ToggleHidden),
    k(KeyCode::Char('y'), Action::CopyPath),
    k(KeyCode::Char('Y'), Action::CopyUrl),
    k(KeyCode::Char('m'), Action::ToggleMouse),
    ctrl('c', Action::ForceQuit),
    ctrl('z', Action::Suspend),
];

/// The action bound to a key, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    // Shifted letters arrive as uppercase chars, sometimes with SHIFT set.
    let mods = key.modifiers - KeyModifiers::SHIFT;
    BINDINGS
        .iter()
        .find(|b| b.code == key.code && b.mods == mods)
        .map(|b| b.action)
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
        Action::Delete => "delete marked or selected",
        Action::Help => "this help",
        Action::Quit => "quit",
        Action::ForceQuit => "quit at once",
        Action::Suspend => "suspend (fg to resume)",
        Action::Upload => "upload a file or folder here",
        Action::Download => "download selection / marked",
        Action::Mark => "mark / unmark",
        Action::ClearMarks => "clear marks",
        Action::CancelTransfer => "cancel selected transfer",
        Action::CancelAll => "cancel all transfers",
        Action::RetryFailed => "retry failed transfers",
        Action::ClearFinished => "clear finished",
        Action::ToggleDetails => "show / hide details",
        Action::HalfPageUp => "half a page up",
        Action::HalfPageDown => "half a page down",
        Action::MarkRange => "mark from the last mark to here",
        Action::MarkAll => "mark all in the folder",
        Action::InvertMarks => "invert marks",
        Action::FocusTransfers => "transfers pane and back",
        Action::ToggleHidden => "show / hide dotfiles",
        Action::CopyPath => "copy the path (OSC 52)",
        Action::CopyUrl => "copy a download link (OSC 52)",
        Action::ToggleMouse => "mouse on / off",
    }
}

pub fn key_name(b: &Binding) -> String {
    let base = match b.code {
        KeyCode::Up => "↑".to_string(),
        KeyCode::Down => "↓".to_string(),
        KeyCode::Left => "←".to_string(),
        KeyCode::Right => "→".to_string(),
        KeyCode::Enter => "Enter".to_string(),
        KeyCode::Tab => "Tab".to_string(),
        KeyCode::Home => "Home".to_string(),
        KeyCode::End => "End".to_string(),
        KeyCode::PageUp => "PgUp".to_string(),
        KeyCode::PageDown => "PgDn".to_string(),
        KeyCode::Delete => "Delete".to_string(),
        KeyCode::Esc => "Esc".to_string(),
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        _ => "?".to_string(),
    };
    if b.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{}", base.to_uppercase())
    } else {
        base
    }
}

/// Help rows: each action once, with all its keys.
pub fn help_rows() -> Vec<(String, &'static str)> {
    let mut rows: Vec<(Action, Vec<String>)> = Vec::new();
    for b in BINDINGS {
        match rows.iter_mut().find(|(a, _)| *a == b.action) {
            Some((_, keys)) => keys.push(key_name(b)),
            None => rows.push((b.action, vec![key_name(b)])),
        }
    }
    rows.into_iter()
        .map(|(a, keys)| (keys.join(" "), describe(a)))
        .collect()
}

/// Whether `[keys]` overrides make a keymap: each error names the action or key and what
/// is wrong (unknown action with the nearest name, unknown key, a conflict).
pub fn check_overrides(overrides: &crate::config::KeyOverrides) -> Result<(), Vec<String>> {
    // Filled in by the keymap's contexts; until then no override is taken.
    match overrides.keys().next() {
        None => Ok(()),
        Some(name) => Err(vec![format!(
            "[keys] {name}: key overrides are not taken yet"
        )]),
    }
}
