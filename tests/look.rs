//! Pure update tests of the pointer and the clipboard: mouse events (click, double click,
//! wheel, in each pane), the mouse toggle, `y` and `Y` (command, answer, outbox).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests stop at the first surprise"
)]

use filedeck::app::msg::Secret;
use filedeck::app::state::{Dialog, Pane};
use filedeck::app::transfer_types::{Direction, TransferInfo};
use filedeck::app::{Command, Event, Msg, State, init, update};
use ratatui::crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

#[path = "support/drive.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod drive;
use drive::{ch, list_req, page, selected_label};
#[path = "support/entries.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod entries;
use entries::entry;

/// ws1 listed on an 80×24 screen (tree x 0..40, details 40..80): rows ws1, raw/, top.txt.
fn listed() -> State {
    listed_with(&[("raw/a.vcf", 10), ("raw/b.vcf", 20), ("top.txt", 1)])
}

fn listed_with(files: &[(&str, u64)]) -> State {
    let mut s = State::new("http://files.example:8080", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    update(
        &mut s,
        page(req, files.iter().map(|(k, n)| entry(k, *n)).collect(), true),
    );
    s
}

fn mouse(s: &mut State, kind: MouseEventKind, x: u16, y: u16, at_ms: u64) -> Vec<Command> {
    let ev = MouseEvent {
        kind,
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    update(s, Msg::Mouse(ev, at_ms))
}

fn click(s: &mut State, x: u16, y: u16, at_ms: u64) -> Vec<Command> {
    mouse(s, MouseEventKind::Down(MouseButton::Left), x, y, at_ms)
}

#[test]
fn a_click_selects_the_tree_row_under_the_pointer() {
    let mut s = listed();
    assert_eq!(s.rows.len(), 3);
    // Row 0 of the tree is on screen row 1 (under the border).
    click(&mut s, 5, 3, 0);
    assert_eq!(selected_label(&s), "top.txt");
    assert_eq!(s.focus, Pane::Tree);
    click(&mut s, 5, 2, 1000);
    assert_eq!(selected_label(&s), "raw/");
    // Below the last row, and on the border: nothing is selected anew.
    click(&mut s, 5, 10, 2000);
    assert_eq!(selected_label(&s), "raw/");
    click(&mut s, 0, 3, 3000);
    assert_eq!(selected_label(&s), "raw/");
}

#[test]
fn a_double_click_opens_a_folder_and_closes_it_again() {
    let mut s = listed();
    click(&mut s, 5, 2, 1000);
    click(&mut s, 5, 2, 1300);
    assert_eq!(s.rows.len(), 5, "raw/ opened: a.vcf and b.vcf under it");
    assert_eq!(selected_label(&s), "raw/");
    // Two presses too far apart are two clicks.
    click(&mut s, 5, 2, 5000);
    click(&mut s, 5, 2, 5401);
    assert_eq!(s.rows.len(), 5);
    // A third press right after a double click starts a new click, not a second double.
    click(&mut s, 5, 2, 6000);
    click(&mut s, 5, 2, 6100);
    assert_eq!(s.rows.len(), 3, "raw/ closed");
    click(&mut s, 5, 2, 6200);
    assert_eq!(s.rows.len(), 3);
}

#[test]
fn a_double_click_on_a_file_does_what_enter_does() {
    let mut s = listed();
    click(&mut s, 5, 3, 0);
    click(&mut s, 5, 3, 100);
    assert_eq!(selected_label(&s), "top.txt");
    assert_eq!(s.focus, Pane::Details, "Enter on a file shows its details");
}

#[test]
fn the_wheel_scrolls_the_tree_under_the_pointer() {
    let mut s = listed();
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 5, 0);
    assert_eq!(s.selected, 2, "three rows down, held at the last");
    mouse(&mut s, MouseEventKind::ScrollUp, 5, 5, 0);
    assert_eq!(s.selected, 0);
}

#[test]
fn a_click_in_the_details_pane_focuses_it() {
    let mut s = listed();
    click(&mut s, 60, 5, 0);
    assert_eq!(s.focus, Pane::Details);
    // The wheel over the details pane moves the tree's selection it shows, as the arrow
    // keys do there.
    let before = s.selected;
    mouse(&mut s, MouseEventKind::ScrollDown, 60, 5, 50);
    assert!(s.selected > before, "{} -> {}", before, s.selected);
    mouse(&mut s, MouseEventKind::ScrollUp, 60, 5, 60);
    assert_eq!(s.selected, before);
    click(&mut s, 5, 1, 100);
    assert_eq!(s.focus, Pane::Tree);
}

#[test]
fn clicks_and_the_wheel_move_the_transfers_cursor() {
    let mut s = listed();
    for id in 1..=5 {
        update(
            &mut s,
            Msg::Worker(Event::TransferAdded {
                id,
                info: TransferInfo {
                    dir: Direction::Down,
                    ws: "ws1".into(),
                    remote: format!("f{id}"),
                    local: format!("/l/f{id}"),
                    size: Some(10),
                },
            }),
        );
    }
    // 24 rows: the transfers pane has 7 rows (5 + borders) above status and footer, so
    // its first transfer is on screen row 24 - 2 - 7 + 1 = 16.
    click(&mut s, 10, 18, 0);
    assert_eq!(s.focus, Pane::Transfers);
    assert_eq!(s.transfer_selected, 2);
    mouse(&mut s, MouseEventKind::ScrollDown, 10, 18, 0);
    assert_eq!(s.transfer_selected, 4);
    mouse(&mut s, MouseEventKind::ScrollUp, 10, 18, 0);
    assert_eq!(s.transfer_selected, 1);
    // The tree keeps its selection meanwhile.
    assert_eq!(s.selected, 0);
}

#[test]
fn the_pointer_does_nothing_under_a_dialog() {
    let mut s = listed();
    ch(&mut s, '?');
    assert!(matches!(s.dialog, Some(Dialog::Help)));
    click(&mut s, 5, 3, 0);
    mouse(&mut s, MouseEventKind::ScrollDown, 5, 3, 0);
    assert_eq!(s.selected, 0);
    assert!(matches!(s.dialog, Some(Dialog::Help)));
}

#[test]
fn m_toggles_mouse_capture() {
    let mut s = listed();
    s.look.mouse = true;
    assert!(ch(&mut s, 'm').is_empty());
    assert!(!s.look.mouse);
    assert!(s.notice.as_ref().unwrap().text.contains("Mouse off"));
    ch(&mut s, 'm');
    assert!(s.look.mouse);
}

#[test]
fn y_puts_the_display_path_in_the_outbox() {
    let mut s = listed();
    s.look.in_tmux = true;
    click(&mut s, 5, 2, 0);
    click(&mut s, 5, 2, 100);
    ch(&mut s, 'j');
    assert!(ch(&mut s, 'y').is_empty());
    assert_eq!(s.look.clipboard.as_deref(), Some("raw/a.vcf"));
    let text = &s.notice.as_ref().unwrap().text;
    assert!(
        text.contains("Copied the path raw/a.vcf (OSC 52)"),
        "{text}"
    );
    assert!(text.contains("set -g set-clipboard on"), "{text}");
}

#[test]
fn shift_y_asks_the_worker_for_a_fresh_link_and_copies_its_answer() {
    let mut s = listed();
    ch(&mut s, 'G');
    let first = match ch(&mut s, 'Y').as_slice() {
        [Command::PresignDownload { req, ws, key }] => {
            assert_eq!((ws.as_str(), key.as_str()), ("ws1", "top.txt"));
            *req
        }
        other => panic!("expected a PresignDownload, got {other:?}"),
    };
    assert!(s.look.clipboard.is_none());
    // A second Y: the first answer is stale and dropped.
    let second = match ch(&mut s, 'Y').as_slice() {
        [Command::PresignDownload { req, .. }] => *req,
        other => panic!("expected a PresignDownload, got {other:?}"),
    };
    let answer = |req, url: &str| {
        Msg::Worker(Event::Presigned {
            req,
            result: Ok((Secret(url.into()), Some(3600))),
        })
    };
    update(&mut s, answer(first, "https://s3.example/old"));
    assert!(s.look.clipboard.is_none());
    update(&mut s, answer(second, "https://s3.example/new"));
    assert_eq!(s.look.clipboard.as_deref(), Some("https://s3.example/new"));
    let text = &s.notice.as_ref().unwrap().text;
    assert!(text.contains("valid for 60 min"), "{text}");
    assert!(!text.contains("set-clipboard"), "not in tmux: {text}");
    // The URL never shows in a Debug print (logs).
    let dbg = format!("{:?}", answer(second, "https://s3.example/new"));
    assert!(!dbg.contains("s3.example"), "{dbg}");
}

#[test]
fn shift_y_on_a_folder_says_what_it_copies() {
    let mut s = listed();
    ch(&mut s, 'j');
    assert!(ch(&mut s, 'Y').is_empty());
    assert!(s.notice.as_ref().unwrap().text.contains("select one"));
}

/// A name in any script pastes as itself (a zero-width joiner is part of the name); one
/// with a control character is copied as the screen shows it, never raw.
#[test]
fn y_copies_the_exact_path_unless_it_holds_a_control_character() {
    let zwnj = "fa/\u{06cc}\u{200c}\u{062e}.txt";
    let mut s = listed_with(&[(zwnj, 1)]);
    // The folder fa/ is the last row: open it, its file is then the last.
    ch(&mut s, 'G');
    ch(&mut s, 'l');
    ch(&mut s, 'G');
    ch(&mut s, 'y');
    assert_eq!(s.look.clipboard.as_deref(), Some(zwnj));
    let bell = "x\u{7}\u{1b}]52;c;AAAA\u{7}.txt";
    let mut s = listed_with(&[(bell, 1)]);
    ch(&mut s, 'G');
    ch(&mut s, 'y');
    let copied = s.look.clipboard.clone().unwrap();
    assert!(!copied.chars().any(char::is_control), "{copied:?}");
}
