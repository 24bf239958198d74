//! Styles in one place. Plain ANSI colours, so they follow the user's terminal theme.

use ratatui::style::{Color, Modifier, Style};

pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const STATUS: Style = Style::new().bg(Color::Black).fg(Color::Gray);
pub const STATUS_HOST: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const LOADING: Style = Style::new().fg(Color::Yellow);
pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const INFO: Style = Style::new().fg(Color::Green);
pub const FOOTER: Style = Style::new().fg(Color::Gray);
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const SELECTED: Style = Style::new()
    .bg(Color::Blue)
    .fg(Color::White)
    .add_modifier(Modifier::BOLD);
pub const SELECTED_UNFOCUSED: Style = Style::new().bg(Color::DarkGray).fg(Color::White);
pub const FOLDER: Style = Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD);
pub const WORKSPACE: Style = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
pub const BORDER_FOCUSED: Style = Style::new().fg(Color::Cyan);
pub const BORDER: Style = Style::new().fg(Color::DarkGray);
pub const LABEL: Style = Style::new().fg(Color::DarkGray);
pub const WARN: Style = Style::new().fg(Color::Yellow);
pub const DIM_FIGURE: Style = Style::new().fg(Color::Gray);
