//! Every key binding, in contexts (the browser's panes, each dialog, the prompts): the
//! dispatcher, the help overlay and the footer all read the keymap in force, which is the
//! defaults below with `[keys]` overrides applied (`Keymap::with_overrides`).

mod key;
mod names;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

pub use key::Key;
pub use names::{describe, name_of};

use super::msg::Action;

/// Where a binding applies. The tree and the transfers pane share one context: their
/// keys are one table whose actions act on the pane in focus (`x` deletes in the tree and
/// removes a row in the transfers pane), so one key cannot mean two actions across them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Browser,
    Help,
    /// The yes/no questions: delete, resume, quit.
    Confirm,
    Conflicts,
    /// The text prompts (path, workspace): only the keys that are not text.
    Prompt,
    /// The full-screen preview.
    Preview,
}

/// An action in a dialog or prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogAction {
    HelpClose,
    Yes,
    No,
    Overwrite,
    Skip,
    SkipIfIdentical,
    KeepBoth,
    OverwriteAll,
    SkipAll,
    SkipIfIdenticalAll,
    KeepBothAll,
    /// Skip every conflict not answered yet (nothing is overwritten without an answer).
    SkipRest,
    Submit,
    Cancel,
    Complete,
    /// Step back through the candidates of the last completion (the jump prompt).
    CompleteBack,
    PreviewUp,
    PreviewDown,
    PreviewPageUp,
    PreviewPageDown,
    PreviewTop,
    PreviewBottom,
    PreviewClose,
}

impl DialogAction {
    pub fn context(self) -> Context {
        use DialogAction as D;
        match self {
            D::HelpClose => Context::Help,
            D::Yes | D::No => Context::Confirm,
            D::Submit | D::Cancel | D::Complete | D::CompleteBack => Context::Prompt,
            D::PreviewUp
            | D::PreviewDown
            | D::PreviewPageUp
            | D::PreviewPageDown
            | D::PreviewTop
            | D::PreviewBottom
            | D::PreviewClose => Context::Preview,
            _ => Context::Conflicts,
        }
    }
}

/// What a key can be bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bound {
    Main(Action),
    Dialog(DialogAction),
}

impl Bound {
    pub fn context(self) -> Context {
        match self {
            Bound::Main(_) => Context::Browser,
            Bound::Dialog(d) => d.context(),
        }
    }
}

const fn k(code: KeyCode, action: Action) -> (Key, Bound) {
    (Key::plain(code), Bound::Main(action))
}

const fn c(ch: char, action: Action) -> (Key, Bound) {
    (Key::plain(KeyCode::Char(ch)), Bound::Main(action))
}

const fn ctrl(ch: char, action: Action) -> (Key, Bound) {
    (Key::ctrl(ch), Bound::Main(action))
}

const fn d(code: KeyCode, action: DialogAction) -> (Key, Bound) {
    (Key::plain(code), Bound::Dialog(action))
}

const fn dc(ch: char, action: DialogAction) -> (Key, Bound) {
    (Key::plain(KeyCode::Char(ch)), Bound::Dialog(action))
}

/// The defaults, in the help overlay's order.
const DEFAULTS: &[(Key, Bound)] = {
    use Action as A;
    use DialogAction as D;
    &[
        k(KeyCode::Up, A::Up),
        c('k', A::Up),
        k(KeyCode::Down, A::Down),
        c('j', A::Down),
        k(KeyCode::Right, A::Expand),
        c('l', A::Expand),
        k(KeyCode::Enter, A::Expand),
        k(KeyCode::Left, A::Collapse),
        c('h', A::Collapse),
        c('g', A::Top),
        k(KeyCode::Home, A::Top),
        c('G', A::Bottom),
        k(KeyCode::End, A::Bottom),
        k(KeyCode::PageUp, A::PageUp),
        k(KeyCode::PageDown, A::PageDown),
        k(KeyCode::Tab, A::NextPane),
        c('r', A::Refresh),
        k(KeyCode::Delete, A::Delete),
        c('x', A::Delete),
        c('?', A::Help),
        c('q', A::Quit),
        c('u', A::Upload),
        c('d', A::Download),
        c(' ', A::Mark),
        k(KeyCode::Esc, A::ClearMarks),
        c('c', A::CancelTransfer),
        c('C', A::CancelAll),
        c('R', A::RetryFailed),
        c('X', A::ClearFinished),
        c('i', A::ToggleDetails),
        ctrl('d', A::HalfPageDown),
        ctrl('u', A::HalfPageUp),
        c('v', A::MarkRange),
        ctrl('a', A::MarkAll),
        ctrl('r', A::InvertMarks),
        c('t', A::FocusTransfers),
        c('.', A::ToggleHidden),
        c('y', A::CopyPath),
        c('Y', A::CopyUrl),
        c('m', A::ToggleMouse),
        c('s', A::SortNext),
        c('S', A::SortReverse),
        c(':', A::Jump),
        c('/', A::Filter),
        c('n', A::NextMatch),
        c('N', A::PrevMatch),
        c('p', A::TogglePreview),
        c('P', A::PreviewFull),
        ctrl('c', A::ForceQuit),
        ctrl('z', A::Suspend),
        dc('?', D::HelpClose),
        d(KeyCode::Esc, D::HelpClose),
        dc('q', D::HelpClose),
        d(KeyCode::Enter, D::HelpClose),
        dc('y', D::Yes),
        dc('Y', D::Yes),
        d(KeyCode::Enter, D::Yes),
        dc('n', D::No),
        dc('N', D::No),
        d(KeyCode::Esc, D::No),
        dc('o', D::Overwrite),
        dc('s', D::Skip),
        dc('i', D::SkipIfIdentical),
        dc('k', D::KeepBoth),
        dc('O', D::OverwriteAll),
        dc('S', D::SkipAll),
        dc('I', D::SkipIfIdenticalAll),
        dc('K', D::KeepBothAll),
        d(KeyCode::Esc, D::SkipRest),
        d(KeyCode::Enter, D::Submit),
        d(KeyCode::Esc, D::Cancel),
        d(KeyCode::Tab, D::Complete),
        d(KeyCode::BackTab, D::CompleteBack),
        d(KeyCode::Up, D::PreviewUp),
        dc('k', D::PreviewUp),
        d(KeyCode::Down, D::PreviewDown),
        dc('j', D::PreviewDown),
        d(KeyCode::PageUp, D::PreviewPageUp),
        dc('b', D::PreviewPageUp),
        d(KeyCode::PageDown, D::PreviewPageDown),
        dc(' ', D::PreviewPageDown),
        dc('g', D::PreviewTop),
        d(KeyCode::Home, D::PreviewTop),
        dc('G', D::PreviewBottom),
        d(KeyCode::End, D::PreviewBottom),
        d(KeyCode::Esc, D::PreviewClose),
        dc('q', D::PreviewClose),
        dc('P', D::PreviewClose),
    ]
};

/// The bindings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<(Key, Bound)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: DEFAULTS.to_vec(),
        }
    }
}

impl Keymap {
    /// The defaults with `[keys]` applied: each listed action's keys are replaced by the
    /// listed ones. Errors: an unknown action (with the nearest name), a key that does not
    /// parse (quoted), one key bound to two actions in one context (naming both).
    pub fn with_overrides(overrides: &crate::config::KeyOverrides) -> Result<Keymap, Vec<String>> {
        let mut map = Keymap::default();
        let mut errors = Vec::new();
        for (name, keys) in overrides {
            let Some(bound) = names::by_name(name) else {
                errors.push(format!(
                    "[keys] unknown action {name:?}: did you mean {:?}?",
                    names::nearest(name)
                ));
                continue;
            };
            let mut parsed = Vec::new();
            for text in keys {
                match Key::parse(text) {
                    // A prompt's keys are the ones that are not text: a letter there would
                    // end the typing at that letter and run the rest as browser keys.
                    Some(key) if bound.context() == Context::Prompt && key.is_text() => {
                        errors.push(format!(
                            "[keys] {name}: {text:?} is typed text in a prompt; use a key such \
                             as Enter, Esc, Tab, F5 or a Ctrl- or Alt- key"
                        ));
                    }
                    // A terminal sends these as Enter, Tab and Esc: bound, they never fire.
                    Some(key) if key.terminal_alias().is_some() => errors.push(format!(
                        "[keys] {name}: {text:?} reaches filedeck as {}: bind that key instead",
                        key.terminal_alias().unwrap_or_default()
                    )),
                    Some(key) => parsed.push(key),
                    None => errors.push(format!(
                        "[keys] {name}: {text:?} is not a key (write keys as x, S, Ctrl-d, Alt-x, Delete, PgDn, Enter, Esc, Tab, Space, Up, F5)"
                    )),
                }
            }
            // The first of an action's keys keeps its place in the help's order.
            let at = map.bindings.iter().position(|(_, b)| *b == bound);
            map.bindings.retain(|(_, b)| *b != bound);
            let at = at.unwrap_or(map.bindings.len()).min(map.bindings.len());
            for (i, key) in parsed.into_iter().enumerate() {
                map.bindings.insert(at + i, (key, bound));
            }
        }
        for (i, (key, a)) in map.bindings.iter().enumerate() {
            let clash = map
                .bindings
                .iter()
                .skip(i + 1)
                .find(|(k2, b)| k2 == key && b.context() == a.context() && b != a);
            if let Some((_, b)) = clash {
                errors.push(format!(
                    "[keys] {key} is bound to both {} and {}",
                    name_of(*a),
                    name_of(*b)
                ));
            }
        }
        // Without quit and force_quit keys the browser could only be killed.
        let can_quit = map.bindings.iter().any(|(_, b)| {
            matches!(
                b,
                Bound::Main(Action::Quit) | Bound::Main(Action::ForceQuit)
            )
        });
        if !can_quit {
            errors.push(
                "[keys] quit and force_quit both have no key: filedeck could not be left".into(),
            );
        }
        // The same key listed twice for one action is harmless: keep it once.
        let mut seen = std::collections::HashSet::new();
        map.bindings.retain(|kb| seen.insert(*kb));
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }

    /// What a key does in a context.
    pub fn lookup(&self, context: Context, event: &KeyEvent) -> Option<Bound> {
        let key = Key::of(event);
        self.bindings
            .iter()
            .find(|(k, b)| *k == key && b.context() == context)
            .map(|(_, b)| *b)
    }

    /// The browser's action for a key.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        match self.lookup(Context::Browser, event) {
            Some(Bound::Main(a)) => Some(a),
            _ => None,
        }
    }

    /// A dialog's action for a key, in that action's context.
    pub fn dialog(&self, context: Context, event: &KeyEvent) -> Option<DialogAction> {
        match self.lookup(context, event) {
            Some(Bound::Dialog(a)) => Some(a),
            _ => None,
        }
    }

    /// An action's keys, in order.
    pub fn keys(&self, bound: Bound) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, b)| *b == bound)
            .map(|(k, _)| *k)
            .collect()
    }

    /// The shortest of an action's keys (the first of the shortest), for the footer;
    /// empty when the action has no key.
    pub fn short(&self, bound: Bound) -> String {
        let mut best: Option<String> = None;
        for key in self.keys(bound) {
            let s = key.to_string();
            if best
                .as_ref()
                .is_none_or(|b| s.chars().count() < b.chars().count())
            {
                best = Some(s);
            }
        }
        best.unwrap_or_default()
    }

    /// An action's keys for a dialog's hint line, `/` between them; a key that is the
    /// uppercase of another listed letter is left out (`y/Enter`, not `y/Y/Enter`).
    pub fn hint(&self, bound: Bound) -> String {
        let keys = self.keys(bound);
        keys.iter()
            .filter(|k| match k.code {
                KeyCode::Char(c) if c.is_uppercase() => !keys.iter().any(|o| {
                    o.mods == k.mods
                        && matches!(o.code, KeyCode::Char(l) if l != c && l.to_uppercase().eq(c.to_uppercase()))
                }),
                _ => true,
            })
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Help rows: each browser action once, with all its keys.
    pub fn help_rows(&self) -> Vec<(String, &'static str)> {
        let mut rows: Vec<(Action, Vec<String>)> = Vec::new();
        for (key, b) in &self.bindings {
            let Bound::Main(a) = *b else { continue };
            match rows.iter_mut().find(|(x, _)| *x == a) {
                Some((_, keys)) => keys.push(key.to_string()),
                None => rows.push((a, vec![key.to_string()])),
            }
        }
        rows.into_iter()
            .map(|(a, keys)| (keys.join(" "), describe(a)))
            .collect()
    }
}

/// Whether `[keys]` overrides make a keymap: each error names the action or key and what
/// is wrong (unknown action with the nearest name, unknown key, a conflict).
pub fn check_overrides(overrides: &crate::config::KeyOverrides) -> Result<(), Vec<String>> {
    Keymap::with_overrides(overrides).map(|_| ())
}

#[cfg(test)]
mod tests;
