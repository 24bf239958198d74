//! One screen in each theme, snapshotted with its styles (the buffer's debug format lists
//! every style change): the default and `dark`/`light` use the 16 ANSI colours only, and
//! `mono` none at all; the selection is reverse video in each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests stop at the first surprise"
)]

use filedeck::api::FileEntry;
use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};
use filedeck::app::{Event, Msg, State, init, update};
use filedeck::config::ThemeName;
use filedeck::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};

#[path = "support/entries.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod entries;

fn entry(key: &str, size: u64) -> FileEntry {
    entries::typed(key, size, "application/octet-stream")
}

/// 60×20 (no details pane): ws_genomics with raw/ open, the cursor on a file, two
/// transfers (one failed) and an error notification.
fn screen(theme: ThemeName) -> State {
    let mut s = State::new(
        "https://files.example.org",
        &["ws_genomics".into(), "ws_lab".into()],
        60,
        20,
    );
    s.look.theme = theme;
    init(&mut s);
    let files = ["raw/a.vcf", "raw/b.vcf", "refs/chr22.fa", "README.md"]
        .iter()
        .map(|k| entry(k, 1_000))
        .collect();
    let ev = |e| Msg::Worker(e);
    update(
        &mut s,
        ev(Event::ListPage {
            req: 1,
            files,
            done: true,
            maybe_incomplete: false,
        }),
    );
    for c in [KeyCode::Down, KeyCode::Right, KeyCode::Down] {
        update(&mut s, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
    }
    for (id, st) in [
        (1, TransferState::Running),
        (2, TransferState::Failed("HTTP 500".into())),
    ] {
        let info = TransferInfo {
            dir: Direction::Down,
            ws: "ws_genomics".into(),
            remote: format!("raw/f{id}.bin"),
            local: format!("/l/f{id}.bin"),
            size: Some(100),
        };
        update(&mut s, ev(Event::TransferAdded { id, info }));
        update(&mut s, ev(Event::TransferState { id, state: st }));
    }
    s.error("the server said no");
    s
}

fn buffer(s: &State) -> ratatui::buffer::Buffer {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| ui::draw(f, s)).unwrap();
    t.backend().buffer().clone()
}

const ANSI16: [Color; 17] = [
    Color::Reset,
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

#[test]
fn each_theme_snapshot() {
    for (name, theme) in [
        ("auto", ThemeName::Auto),
        ("dark", ThemeName::Dark),
        ("light", ThemeName::Light),
        ("mono", ThemeName::Mono),
    ] {
        let b = buffer(&screen(theme));
        insta::assert_snapshot!(format!("theme_{name}"), format!("{b:?}"));
    }
}

#[test]
fn themes_use_ansi_colours_only_and_mono_none() {
    for theme in [
        ThemeName::Auto,
        ThemeName::Dark,
        ThemeName::Light,
        ThemeName::Mono,
    ] {
        let b = buffer(&screen(theme));
        let mut reversed = false;
        for c in b.content() {
            assert!(
                ANSI16.contains(&c.fg) && ANSI16.contains(&c.bg),
                "{theme:?}: {c:?}"
            );
            // Text on the terminal's own background is never forced white or black.
            assert!(
                !matches!(c.fg, Color::White | Color::Black),
                "{theme:?}: {c:?}"
            );
            assert_eq!(c.bg, Color::Reset, "{theme:?}: a background colour: {c:?}");
            if theme == ThemeName::Mono {
                assert_eq!(c.fg, Color::Reset, "mono: {c:?}");
            }
            reversed |= c.modifier.contains(Modifier::REVERSED);
        }
        assert!(reversed, "{theme:?}: the selection is reverse video");
    }
}
