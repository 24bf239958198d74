//! The preview in `update` and on screen: `p` asks for the selected file and follows the
//! selection (a new request per file, answers of older ones dropped), `P` opens it full
//! screen where the preview keys scroll and ask for further ranges near the end; frames
//! of both on ratatui's TestBackend at fixed sizes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests stop at the first surprise"
)]

use filedeck::app::preview::{PreviewData, PreviewLine, Role};
use filedeck::app::{Command, Event, Msg, State, init, update};
use filedeck::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "support/entries.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod entries;
use entries::entry;

fn key(state: &mut State, code: KeyCode) -> Vec<Command> {
    update(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ch(state: &mut State, c: char) -> Vec<Command> {
    key(state, KeyCode::Char(c))
}

/// ws1 listed: raw/a.vcf.gz, raw/b.bam, top.txt; the cursor on raw/a.vcf.gz.
fn listed(w: u16, h: u16) -> State {
    let mut s = State::new("http://files.example:8080", &["ws1".into()], w, h);
    let req = match init(&mut s).as_slice() {
        [Command::List { req, .. }] => *req,
        other => panic!("{other:?}"),
    };
    update(
        &mut s,
        Msg::Worker(Event::ListPage {
            req,
            files: vec![
                entry("raw/a.vcf.gz", 1 << 30),
                entry("raw/b.bam", 5_000_000),
                entry("top.txt", 12),
            ],
            done: true,
            maybe_incomplete: false,
        }),
    );
    // ws1, raw/, open it, a.vcf.gz.
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Right);
    key(&mut s, KeyCode::Down);
    s
}

fn preview_req(cmds: &[Command]) -> (u64, String, u64) {
    match cmds {
        [Command::Preview { req, key, want, .. }] => (*req, key.clone(), *want),
        other => panic!("expected one Preview, got {other:?}"),
    }
}

fn data(n: usize, wants_more: bool, fetched: u64) -> PreviewData {
    let mut lines = vec![
        PreviewLine {
            role: Role::Heading,
            text: "VCF header".into(),
        },
        PreviewLine {
            role: Role::Meta,
            text: "Samples      2500: SAMPLE_00000, SAMPLE_00001, …".into(),
        },
    ];
    lines.extend((0..n).map(|i| PreviewLine {
        role: Role::Body,
        text: format!(
            "chr1  {}  rs{i}  A  G  50  PASS  DP=10  GT:GQ  0/1:30",
            1000 + i
        ),
    }));
    PreviewData {
        format: "VCF (BGZF)".into(),
        lines,
        fetched,
        total: Some(1 << 30),
        eof: false,
        ignored_range: false,
        wants_more,
        problem: None,
    }
}

fn answer(s: &mut State, req: u64, d: PreviewData) -> Vec<Command> {
    update(s, Msg::Worker(Event::Preview { req, result: Ok(d) }))
}

#[test]
fn p_previews_the_selected_file_and_follows_the_selection() {
    let mut s = listed(100, 30);
    let (req, key_a, want) = preview_req(&ch(&mut s, 'p'));
    assert_eq!(key_a, "raw/a.vcf.gz");
    assert_eq!(want, 256 << 10);
    assert!(s.preview.on);
    // Moving on asks for the next file: the worker cancels the one before.
    let (req_b, key_b, _) = preview_req(&key(&mut s, KeyCode::Down));
    assert_eq!(key_b, "raw/b.bam");
    assert!(req_b > req);
    // The answer for a.vcf.gz comes late: dropped.
    answer(&mut s, req, data(3, true, 1000));
    assert!(s.preview.current.as_ref().unwrap().data.is_none());
    answer(&mut s, req_b, data(3, true, 1000));
    assert_eq!(s.preview.lines().len(), 5);
    // Back to a.vcf.gz: asked for again, under a new request.
    let (req_a, key_a, _) = preview_req(&key(&mut s, KeyCode::Up));
    assert_eq!(key_a, "raw/a.vcf.gz");
    assert!(req_a > req_b);
    // A folder: nothing to preview; the running one is cancelled.
    assert_eq!(key(&mut s, KeyCode::Up), vec![Command::PreviewStop]);
    assert!(s.preview.current.is_none());
    // Off: no more requests as the cursor moves.
    ch(&mut s, 'p');
    assert!(key(&mut s, KeyCode::Down).is_empty());
}

#[test]
fn p_again_stops_the_preview() {
    let mut s = listed(100, 30);
    ch(&mut s, 'p');
    assert_eq!(ch(&mut s, 'p'), vec![Command::PreviewStop]);
    assert!(!s.preview.on && s.preview.current.is_none());
}

#[test]
fn p_on_a_narrow_screen_shows_the_details_pane() {
    let mut s = listed(60, 20);
    assert!(!s.details_shown());
    ch(&mut s, 'p');
    assert!(s.details_shown());
}

#[test]
fn full_screen_scrolls_and_fetches_further_ranges_near_the_end() {
    let mut s = listed(100, 30);
    let (req, _, _) = preview_req(&ch(&mut s, 'P'));
    assert!(s.preview.full);
    // 100 lines on a 26-row view: not near the end yet.
    assert!(answer(&mut s, req, data(98, true, 256 << 10)).is_empty());
    // Keys scroll the preview, not the tree.
    let selected = s.selected;
    key(&mut s, KeyCode::Down);
    assert_eq!(s.preview.current.as_ref().unwrap().scroll, 1);
    assert_eq!(s.selected, selected);
    // Pages down until the end is within two screens: the next range is asked for, once.
    assert!(key(&mut s, KeyCode::PageDown).is_empty());
    assert_eq!(s.preview.current.as_ref().unwrap().scroll, 26);
    let cmds = key(&mut s, KeyCode::PageDown);
    assert_eq!(
        cmds,
        vec![Command::PreviewMore {
            req,
            want: (256 << 10) + (512 << 10)
        }]
    );
    assert!(
        key(&mut s, KeyCode::PageDown).is_empty(),
        "one fetch at a time"
    );
    // End, capped to the last screen.
    key(&mut s, KeyCode::End);
    assert_eq!(s.preview.current.as_ref().unwrap().scroll, 100 - 26);
    // The answer: still near the end, so the next range follows.
    let cmds = answer(&mut s, req, data(120, true, 768 << 10));
    assert_eq!(
        cmds,
        vec![Command::PreviewMore {
            req,
            want: (768 << 10) + (512 << 10)
        }]
    );
    // Nothing more to fetch: no ask.
    assert!(answer(&mut s, req, data(130, false, 1280 << 10)).is_empty());
    key(&mut s, KeyCode::Home);
    assert_eq!(s.preview.current.as_ref().unwrap().scroll, 0);
    // Esc closes; `p` was off, so the preview stops.
    assert_eq!(key(&mut s, KeyCode::Esc), vec![Command::PreviewStop]);
    assert!(!s.preview.full && s.preview.current.is_none());
}

#[test]
fn full_screen_never_asks_past_the_cap() {
    let mut s = listed(100, 30);
    s.preview.cap = 300 << 10;
    let (req, _, want) = preview_req(&ch(&mut s, 'P'));
    assert_eq!(want, 256 << 10);
    let cmds = answer(&mut s, req, data(5, true, 256 << 10));
    assert_eq!(
        cmds,
        vec![Command::PreviewMore {
            req,
            want: 300 << 10
        }]
    );
    assert!(answer(&mut s, req, data(6, true, 300 << 10)).is_empty());
}

/// One endless line (or a header longer than the lines kept) shows no new line however
/// much is fetched: the next range waits for a scroll instead of running to the cap.
#[test]
fn a_range_that_shows_no_new_line_fetches_no_further_by_itself() {
    let mut s = listed(100, 30);
    let (req, _, _) = preview_req(&ch(&mut s, 'P'));
    let first = answer(&mut s, req, data(3, true, 256 << 10));
    assert_eq!(
        first.len(),
        1,
        "near the end after the first answer: {first:?}"
    );
    assert!(
        answer(&mut s, req, data(3, true, 768 << 10)).is_empty(),
        "no new line: no ask"
    );
    let cmds = key(&mut s, KeyCode::Down);
    assert!(
        matches!(cmds.as_slice(), [Command::PreviewMore { .. }]),
        "a scroll still asks: {cmds:?}"
    );
}

/// A VCF header longer than a range shows the same few summary lines with growing counts:
/// that is news, so full screen goes on fetching until `#CHROM` (or the cap).
#[test]
fn a_range_that_only_raises_a_headers_counts_fetches_the_next_by_itself() {
    let mut s = listed(100, 30);
    let (req, _, _) = preview_req(&ch(&mut s, 'P'));
    let header = |contigs: u32, fetched: u64| {
        let mut d = data(0, true, fetched);
        d.lines[1].text = format!("Contigs      ≥ {contigs}");
        d
    };
    assert_eq!(answer(&mut s, req, header(4_000, 256 << 10)).len(), 1);
    let cmds = answer(&mut s, req, header(12_000, 768 << 10));
    assert!(
        matches!(cmds.as_slice(), [Command::PreviewMore { .. }]),
        "the counts went up: {cmds:?}"
    );
    assert!(
        answer(&mut s, req, header(12_000, 1792 << 10)).is_empty(),
        "nothing changed: no ask"
    );
}

#[test]
fn closing_full_screen_keeps_the_details_preview_when_p_is_on() {
    let mut s = listed(100, 30);
    let (req, _, _) = preview_req(&ch(&mut s, 'p'));
    assert!(
        ch(&mut s, 'P').is_empty(),
        "the same file: nothing new to fetch"
    );
    answer(&mut s, req, data(3, false, 100));
    assert!(
        ch(&mut s, 'q').is_empty(),
        "q closes the preview, it does not quit"
    );
    assert!(!s.quit && s.preview.on && !s.preview.full);
    assert_eq!(s.preview.current.as_ref().unwrap().req, req);
}

#[test]
fn an_error_answer_is_shown() {
    let mut s = listed(100, 30);
    let (req, _, _) = preview_req(&ch(&mut s, 'p'));
    update(
        &mut s,
        Msg::Worker(Event::Preview {
            req,
            result: Err("The preview link expired (403) and a new one was refused too.".into()),
        }),
    );
    let p = s.preview.current.as_ref().unwrap();
    assert!(!p.loading && p.error.as_deref().unwrap().contains("expired"));
}

fn render(s: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| ui::draw(f, s)).unwrap();
    format!("{}", t.backend())
}

fn shown(w: u16, h: u16, full: bool) -> State {
    let mut s = listed(w, h);
    s.look.theme = filedeck::config::ThemeName::Mono;
    let (req, _, _) = preview_req(&ch(&mut s, if full { 'P' } else { 'p' }));
    let mut d = data(60, true, 256 << 10);
    d.lines.push(PreviewLine {
        role: Role::Body,
        text: "x".repeat(300),
    });
    d.lines.push(PreviewLine {
        role: Role::Note,
        text: "(a record cut by the end of what was read is not shown)".into(),
    });
    answer(&mut s, req, d);
    if full {
        for _ in 0..3 {
            key(&mut s, KeyCode::Down);
        }
    }
    s
}

#[test]
fn snapshots_in_the_details_pane() {
    for (w, h) in [(100, 30), (80, 24)] {
        insta::assert_snapshot!(
            format!("preview_details_{w}x{h}"),
            render(&shown(w, h, false))
        );
    }
}

#[test]
fn snapshots_full_screen() {
    for (w, h) in [(100, 30), (60, 20)] {
        insta::assert_snapshot!(format!("preview_full_{w}x{h}"), render(&shown(w, h, true)));
    }
}

#[test]
fn snapshot_while_fetching_and_of_a_server_without_range() {
    let mut s = listed(100, 30);
    s.look.theme = filedeck::config::ThemeName::Mono;
    let (req, _, _) = preview_req(&ch(&mut s, 'p'));
    insta::assert_snapshot!("preview_fetching_100x30", render(&s));
    let mut d = data(3, false, 8 << 20);
    d.ignored_range = true;
    d.problem = Some(
        "Could not fetch the file: the connection ended after 10 of the 20 bytes asked".into(),
    );
    answer(&mut s, req, d);
    insta::assert_snapshot!("preview_no_range_100x30", render(&s));
}

#[test]
fn the_wheel_scrolls_the_full_screen_preview_and_clicks_do_nothing_under_it() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut s = listed(100, 30);
    let (req, _, _) = preview_req(&ch(&mut s, 'P'));
    answer(&mut s, req, data(200, false, 1 << 20));
    let mouse = |kind| {
        Msg::Mouse(
            MouseEvent {
                kind,
                column: 5,
                row: 3,
                modifiers: KeyModifiers::NONE,
            },
            0,
        )
    };
    update(&mut s, mouse(MouseEventKind::ScrollDown));
    assert_eq!(s.preview.current.as_ref().unwrap().scroll, 3);
    let selected = s.selected;
    update(&mut s, mouse(MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(s.selected, selected);
    update(&mut s, mouse(MouseEventKind::ScrollUp));
    assert_eq!(s.preview.current.as_ref().unwrap().scroll, 0);
}
