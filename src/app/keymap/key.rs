//! One key in the help overlay's notation (`x`, `S`, `Ctrl-d`, `Delete`, `PgDn`): parsed
//! from `[keys]`, printed in the help and footer, and matched against terminal events.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key and its modifiers, normalised so that one key has one value: a shifted letter is
/// its uppercase char without SHIFT (`S` = `Shift-s`), a Ctrl letter is lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Self {
        // Only these modifiers are part of a binding; others (kitty's SUPER…) are not.
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) => {
                mods -= KeyModifiers::SHIFT;
                KeyCode::Char(c.to_uppercase().next().unwrap_or(c))
            }
            KeyCode::BackTab => {
                mods -= KeyModifiers::SHIFT;
                KeyCode::BackTab
            }
            other => other,
        };
        // Terminals send Ctrl-Shift-d as Ctrl-d (the control code has no case), so a Ctrl
        // letter is lowercase.
        let code = match code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Key { code, mods }
    }

    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    pub const fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    /// A key a text field takes as a character: a printable character with no Ctrl or Alt.
    pub fn is_text(&self) -> bool {
        matches!(self.code, KeyCode::Char(c) if !c.is_control())
            && !self
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }

    /// Ctrl-m, Ctrl-i and Ctrl-[ are the bytes of Enter, Tab and Esc: a terminal sends
    /// them as those keys, so they cannot be bound apart.
    pub fn terminal_alias(&self) -> Option<&'static str> {
        if !self.mods.contains(KeyModifiers::CONTROL) {
            return None;
        }
        match self.code {
            KeyCode::Char('m') => Some("Enter"),
            KeyCode::Char('i') => Some("Tab"),
            KeyCode::Char('[') => Some("Esc"),
            _ => None,
        }
    }

    pub fn of(event: &KeyEvent) -> Self {
        Key::new(event.code, event.modifiers)
    }

    /// `Ctrl-d`, `Alt-x`, `S`, `Shift-s`, `Delete`, `↑`/`Up`, `F5`…; `None` if unknown.
    pub fn parse(text: &str) -> Option<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            let lower = rest.to_ascii_lowercase();
            let (m, len) = if lower.starts_with("ctrl-") {
                (KeyModifiers::CONTROL, 5)
            } else if lower.starts_with("alt-") {
                (KeyModifiers::ALT, 4)
            } else if lower.starts_with("shift-") {
                (KeyModifiers::SHIFT, 6)
            } else {
                break;
            };
            // `Ctrl--` is Ctrl and the '-' key; a lone `Ctrl-` is no key.
            match rest.get(len..) {
                Some(r) if !r.is_empty() => {
                    mods |= m;
                    rest = r;
                }
                _ => break,
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "up" | "↑" => KeyCode::Up,
            "down" | "↓" => KeyCode::Down,
            "left" | "←" => KeyCode::Left,
            "right" | "→" => KeyCode::Right,
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "delete" | "del" => KeyCode::Delete,
            "insert" | "ins" => KeyCode::Insert,
            "backspace" => KeyCode::Backspace,
            f if f.len() > 1 && f.starts_with('f') => match f.get(1..)?.parse::<u8>() {
                Ok(n @ 1..=24) => KeyCode::F(n),
                _ => return None,
            },
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() && c != ' ' => KeyCode::Char(c),
                    _ => return None,
                }
            }
        };
        Some(Key::new(code, mods))
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("BackTab"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Delete => f.write_str("Delete"),
            KeyCode::Insert => f.write_str("Insert"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::Char(' ') => f.write_str("Space"),
            // The help has always shown Ctrl letters uppercase (Ctrl-D); parsing takes both.
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            _ => f.write_str("?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_letters_are_one_key() {
        assert_eq!(Key::parse("S"), Key::parse("Shift-s"));
        assert_eq!(Key::parse("S"), Some(Key::plain(KeyCode::Char('S'))));
        assert_eq!(Key::parse("Ctrl-d"), Key::parse("Ctrl-D"));
        assert_eq!(Key::parse("Ctrl-d"), Some(Key::ctrl('d')));
        assert_eq!(Key::parse("Up"), Key::parse("↑"));
        assert_eq!(
            Key::parse("Ctrl--").map(|k| k.code),
            Some(KeyCode::Char('-'))
        );
    }

    #[test]
    fn bad_keys_are_none() {
        for bad in ["", "Ctrl-", "xy", "F0", "F99", "Hyper-x", "Space bar"] {
            assert_eq!(Key::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn print_parse_round_trip() {
        for text in [
            "x",
            "S",
            "Ctrl-D",
            "Alt-x",
            "Delete",
            "PgDn",
            "PgUp",
            "Enter",
            "Esc",
            "Tab",
            "Space",
            "↑",
            "F5",
            "Home",
            "End",
            "Backspace",
            "Shift-↑",
            "Ctrl-Alt-K",
            ".",
        ] {
            let key = Key::parse(text).unwrap();
            assert_eq!(key.to_string(), text);
            assert_eq!(Key::parse(&key.to_string()), Some(key));
        }
    }

    fn any_key() -> impl proptest::strategy::Strategy<Value = Key> {
        use proptest::prelude::*;
        let code = prop_oneof![
            (0x21u8..0x7f).prop_map(|b| KeyCode::Char(char::from(b))),
            Just(KeyCode::Char(' ')),
            (1u8..=24).prop_map(KeyCode::F),
            proptest::sample::select(vec![
                KeyCode::Up,
                KeyCode::Down,
                KeyCode::Left,
                KeyCode::Right,
                KeyCode::Enter,
                KeyCode::Esc,
                KeyCode::Tab,
                KeyCode::BackTab,
                KeyCode::Home,
                KeyCode::End,
                KeyCode::PageUp,
                KeyCode::PageDown,
                KeyCode::Delete,
                KeyCode::Insert,
                KeyCode::Backspace,
            ]),
        ];
        (code, 0u8..8).prop_map(|(code, m)| {
            let mut mods = KeyModifiers::NONE;
            for (bit, flag) in [
                (1, KeyModifiers::CONTROL),
                (2, KeyModifiers::ALT),
                (4, KeyModifiers::SHIFT),
            ] {
                if m & bit != 0 {
                    mods |= flag;
                }
            }
            Key::new(code, mods)
        })
    }

    proptest::proptest! {
        #[test]
        fn printed_keys_parse_back(key in any_key()) {
            proptest::prop_assert_eq!(Key::parse(&key.to_string()), Some(key));
        }
    }
}
