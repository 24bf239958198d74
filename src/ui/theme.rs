//! Styles by role, one set per theme. The default (`auto`) uses only the 16 ANSI colours
//! and the terminal's own foreground/background, so it follows the user's palette on dark
//! and light screens alike; the selection is reverse video in every theme, `mono` too.

use ratatui::style::{Color, Modifier, Style};

use crate::config::ThemeName;

/// Every style the screen uses, by what it marks.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub dim: Style,
    pub status: Style,
    pub status_host: Style,
    pub loading: Style,
    pub error: Style,
    pub info: Style,
    pub footer: Style,
    pub key: Style,
    pub selected: Style,
    pub selected_unfocused: Style,
    pub folder: Style,
    pub workspace: Style,
    pub border_focused: Style,
    pub border: Style,
    pub warn: Style,
    pub dim_figure: Style,
    /// The letters the filter matched.
    pub matched: Style,
    /// A preview's section title ("VCF header").
    pub preview_heading: Style,
    /// A preview's summarised header field.
    pub preview_meta: Style,
    /// What to know about a preview (cut, lower bounds).
    pub preview_note: Style,
    /// Why a preview stops (corrupt, truncated, expired).
    pub preview_problem: Style,
}

const fn fg(c: Color) -> Style {
    Style::new().fg(c)
}

const BOLD: Modifier = Modifier::BOLD;
const PLAIN: Style = Style::new();
/// The selection reads by reverse video alone: a background colour can vanish in a
/// palette nobody here chose.
const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED.union(BOLD));
const SELECTED_UNFOCUSED: Style = Style::new().add_modifier(Modifier::REVERSED);
/// Faint text by the terminal's own dim, not a grey that disappears on one background.
const DIM: Style = Style::new().add_modifier(Modifier::DIM);

const DEFAULT: Theme = Theme {
    dim: DIM,
    status: PLAIN,
    status_host: fg(Color::Cyan).add_modifier(BOLD),
    loading: fg(Color::Yellow),
    error: fg(Color::Red).add_modifier(BOLD),
    info: fg(Color::Green),
    footer: PLAIN,
    key: fg(Color::Cyan).add_modifier(BOLD),
    selected: SELECTED,
    selected_unfocused: SELECTED_UNFOCUSED,
    folder: fg(Color::Blue).add_modifier(BOLD),
    workspace: fg(Color::Magenta).add_modifier(BOLD),
    border_focused: fg(Color::Cyan),
    border: DIM,
    warn: fg(Color::Yellow),
    dim_figure: PLAIN,
    matched: fg(Color::Yellow).add_modifier(BOLD),
    preview_heading: fg(Color::Magenta).add_modifier(BOLD),
    preview_meta: fg(Color::Cyan),
    preview_note: DIM,
    preview_problem: fg(Color::Red).add_modifier(BOLD),
};

/// Bright picks: a dark blue or magenta is hard to read on black.
const DARK: Theme = Theme {
    status_host: fg(Color::LightCyan).add_modifier(BOLD),
    loading: fg(Color::LightYellow),
    error: fg(Color::LightRed).add_modifier(BOLD),
    info: fg(Color::LightGreen),
    key: fg(Color::LightCyan).add_modifier(BOLD),
    folder: fg(Color::LightBlue).add_modifier(BOLD),
    workspace: fg(Color::LightMagenta).add_modifier(BOLD),
    border_focused: fg(Color::LightCyan),
    warn: fg(Color::LightYellow),
    matched: fg(Color::LightYellow).add_modifier(BOLD),
    preview_heading: fg(Color::LightMagenta).add_modifier(BOLD),
    preview_meta: fg(Color::LightCyan),
    preview_problem: fg(Color::LightRed).add_modifier(BOLD),
    ..DEFAULT
};

/// Dark picks: yellow and cyan wash out on white.
const LIGHT: Theme = Theme {
    status_host: fg(Color::Blue).add_modifier(BOLD),
    loading: fg(Color::Magenta),
    key: fg(Color::Blue).add_modifier(BOLD),
    border_focused: fg(Color::Blue),
    warn: fg(Color::Magenta).add_modifier(BOLD),
    matched: fg(Color::Magenta).add_modifier(BOLD.union(Modifier::UNDERLINED)),
    preview_meta: fg(Color::Blue),
    ..DEFAULT
};

/// No colour at all (`NO_COLOR`): emphasis by modifiers only.
const MONO: Theme = Theme {
    dim: DIM,
    status: PLAIN,
    status_host: Style::new().add_modifier(BOLD),
    loading: PLAIN,
    error: Style::new().add_modifier(BOLD),
    info: PLAIN,
    footer: PLAIN,
    key: Style::new().add_modifier(BOLD),
    selected: SELECTED,
    selected_unfocused: SELECTED_UNFOCUSED,
    folder: Style::new().add_modifier(BOLD),
    workspace: Style::new().add_modifier(BOLD.union(Modifier::UNDERLINED)),
    border_focused: Style::new().add_modifier(BOLD),
    border: DIM,
    warn: Style::new().add_modifier(Modifier::UNDERLINED),
    dim_figure: PLAIN,
    matched: Style::new().add_modifier(BOLD.union(Modifier::UNDERLINED)),
    preview_heading: Style::new().add_modifier(BOLD.union(Modifier::UNDERLINED)),
    preview_meta: Style::new().add_modifier(BOLD),
    preview_note: DIM,
    preview_problem: Style::new().add_modifier(BOLD.union(Modifier::UNDERLINED)),
};

/// The theme the user chose; `auto` is the default one (no terminal query: an OSC 11
/// round trip over SSH would delay the first frame).
pub fn of(name: ThemeName) -> &'static Theme {
    match name {
        ThemeName::Auto => &DEFAULT,
        ThemeName::Dark => &DARK,
        ThemeName::Light => &LIGHT,
        ThemeName::Mono => &MONO,
    }
}

/// A field's label in the details pane: the same faint text in every theme.
pub const LABEL: Style = DIM;
