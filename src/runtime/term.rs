//! The terminal's modes: taking it (raw, alternate screen, bracketed paste, mouse
//! capture), giving it back, and what is written to it besides frames (OSC 52).

use std::io::{Write, stdout};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use color_eyre::eyre::{Result, WrapErr};
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, Event as TermEvent,
};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

use crate::app::Msg;

/// Raw mode, the alternate screen, bracketed paste; mouse capture when `mouse`.
pub(super) fn take(mouse: bool) -> Result<()> {
    enable_raw_mode().wrap_err("cannot put the terminal in raw mode")?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        cursor::Hide
    )
    .wrap_err("cannot set up the terminal")?;
    set_mouse(mouse)
}

/// Presses, releases, drags and the wheel, in SGR coordinates (any width). Not
/// crossterm's `EnableMouseCapture`: its any-motion mode (1003) sends an event for every
/// cell the pointer crosses, a stream of bytes over SSH that nothing here reads.
const MOUSE_ON: &str = "\x1b[?1000h\x1b[?1002h\x1b[?1006h";

/// Mouse capture on or off (off: the terminal's own selection works).
pub(super) fn set_mouse(on: bool) -> Result<()> {
    let mut out = stdout();
    if on {
        out.write_all(MOUSE_ON.as_bytes())
            .and_then(|()| out.flush())
            .wrap_err("cannot turn mouse capture on")
    } else {
        // Every mode off, 1003 included, whoever turned it on.
        execute!(out, DisableMouseCapture).wrap_err("cannot turn mouse capture off")
    }
}

/// Put the terminal back as we found it. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = stdout().flush();
}

/// `ESC ] 52 ; c ; BASE64 BEL`: the terminal puts the text in its clipboard, over SSH
/// too. Inside tmux the plain sequence goes to tmux, which passes it on when
/// `set-clipboard` is on (the notification says so): no passthrough wrapping, which
/// tmux refuses by default anyway.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", STANDARD.encode(text))
}

/// Send the text to the terminal's clipboard.
pub(super) fn copy(text: &str) -> Result<()> {
    let mut out = stdout();
    out.write_all(osc52(text).as_bytes())
        .and_then(|()| out.flush())
        .wrap_err("cannot write to the terminal")
}

/// The terminal's events the app has a message for; the mouse's stamped with the
/// runtime's monotonic ms (for double clicks).
pub(super) fn to_msg(ev: TermEvent, at_ms: u64) -> Option<Msg> {
    match ev {
        TermEvent::Mouse(m) => Some(Msg::Mouse(m, at_ms)),
        TermEvent::Key(k) => Some(Msg::Key(k)),
        TermEvent::Paste(s) => Some(Msg::Paste(s)),
        TermEvent::Resize(w, h) => Some(Msg::Resize(w, h)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn osc52_is_base64_of_the_text() {
        assert_eq!(super::osc52("raw/a.vcf"), "\x1b]52;c;cmF3L2EudmNm\x07");
    }
}
