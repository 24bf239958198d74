//! Frames rendered on ratatui's TestBackend, driven by key events through `update`,
//! compared with insta snapshots at 80×24 and 120×40. Times and sizes are pinned.

use filedeck::api::FileEntry;
use filedeck::app::{Event, Msg, State, init, update};
use filedeck::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn entry(key: &str, size: u64, desc: Option<&str>) -> FileEntry {
    FileEntry {
        key: key.into(),
        name: String::new(),
        path: String::new(),
        size: Some(size),
        description: desc.map(str::to_string),
        content_type: Some(
            if key.ends_with(".vcf") {
                "text/x-vcf"
            } else {
                "application/octet-stream"
            }
            .into(),
        ),
        created_at: Some(format!(
            "2026-11-{:02}T10:{:02}:00Z",
            20 + size % 7,
            size % 60
        )),
        sha256: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
        etag: None,
    }
    .normalise()
}

fn fixture(w: u16, h: u16, extra: &[FileEntry]) -> State {
    let mut s = State::new(
        "https://files.example.org",
        &["ws_genomics".into(), "ws_lab".into()],
        w,
        h,
    );
    init(&mut s);
    let mut files = vec![
        entry("raw/sample A.vcf", 15_107, Some("NA12878 chr22 calls")),
        entry("raw/sample_B.vcf.gz", 11_582, None),
        entry("raw/run1/reads_R1.fastq.gz", 1_288_490_188, None),
        entry("refs/chr22_fragment.fa", 9_921, None),
        entry("results/variant_summary.csv", 84, None),
        entry("README.md", 155, None),
    ];
    files.extend(extra.iter().cloned());
    update(
        &mut s,
        Msg::Worker(Event::ListPage {
            req: 1,
            files,
            done: true,
            maybe_incomplete: false,
        }),
    );
    s
}

fn keys(s: &mut State, codes: &[KeyCode]) {
    for c in codes {
        update(s, Msg::Key(KeyEvent::new(*c, KeyModifiers::NONE)));
    }
}

fn render(s: &State) -> String {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| ui::draw(f, s)).unwrap();
    format!("{}", t.backend())
}

fn check(name: &str, setup: impl Fn(&mut State), extra: &[FileEntry]) {
    for (w, h) in SIZES {
        let mut s = fixture(w, h, extra);
        setup(&mut s);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(&s));
    }
}

use KeyCode::*;

#[test]
fn workspace_root() {
    check("workspace_root", |_| {}, &[]);
}

#[test]
fn expanded_folder() {
    check("expanded_folder", |s| keys(s, &[Down, Right]), &[]);
}

#[test]
fn file_details() {
    check("file_details", |s| keys(s, &[Down, Right, Down, Down]), &[]);
}

#[test]
fn folder_details() {
    check("folder_details", |s| keys(s, &[Down]), &[]);
}

#[test]
fn delete_dialog() {
    check("delete_dialog", |s| keys(s, &[Down, Char('x')]), &[]);
}

#[test]
fn help_overlay() {
    check("help_overlay", |s| keys(s, &[Char('?')]), &[]);
}

#[test]
fn error_notification() {
    check(
        "error_notification",
        |s| {
            keys(s, &[Down, Char('x')]);
            let cmds = update(s, Msg::Key(KeyEvent::new(Char('y'), KeyModifiers::NONE)));
            let Some(filedeck::app::Command::Delete { req, .. }) = cmds.into_iter().next() else {
                panic!("no delete command")
            };
            update(
                s,
                Msg::Worker(Event::Deleted {
                    req,
                    results: vec![
                        Ok(()),
                        Err("access denied (403): key may not delete".into()),
                        Ok(()),
                    ],
                }),
            );
        },
        &[],
    );
}

#[test]
fn hostile_file_name() {
    let hostile = entry(
        "raw/evil\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}gpj.exe",
        66,
        Some("\u{1b}[31mred\u{1b}[0m"),
    );
    check(
        "hostile_file_name",
        |s| keys(s, &[Down, Right, Down, Down]),
        &[hostile],
    );
    // Nothing of the escape sequence reaches the screen.
    let mut s = fixture(120, 40, &[entry("raw/evil\u{1b}[2J\u{202e}.txt", 1, None)]);
    keys(&mut s, &[Down, Right, Down, Down]);
    let screen = render(&s);
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'));
    assert!(screen.contains("evil␛[2J"));
}

#[test]
fn listing_in_progress_shows_partial_counts() {
    let mut s = State::new("https://files.example.org", &["ws_genomics".into()], 80, 24);
    init(&mut s);
    update(
        &mut s,
        Msg::Worker(Event::ListPage {
            req: 1,
            files: vec![entry("raw/a.vcf", 10, None)],
            done: false,
            maybe_incomplete: false,
        }),
    );
    let screen = render(&s);
    assert!(screen.contains("≥ 1 file "), "{screen}");
    assert!(screen.contains("listing ws_genomics"), "{screen}");
}

fn transfers_fixture(s: &mut State) {
    use filedeck::app::msg::TransferState;
    use filedeck::app::transfers::{Direction, TransferInfo};
    let items = [
        (
            "raw/run1/reads_R1.fastq.gz",
            Direction::Up,
            2_147_483_648u64,
            TransferState::Running,
            805_306_368u64,
        ),
        (
            "raw/run1/reads_R2.fastq.gz",
            Direction::Up,
            2_147_483_648,
            TransferState::Queued,
            0,
        ),
        (
            "results/variant_summary.csv",
            Direction::Down,
            84,
            TransferState::Done,
            84,
        ),
        (
            "refs/chr22_fragment.fa",
            Direction::Down,
            9_921,
            TransferState::Failed("not found: download URL for refs/chr22_fragment.fa".into()),
            0,
        ),
        (
            "raw/sample A.vcf",
            Direction::Down,
            15_107,
            TransferState::Skipped("identical".into()),
            0,
        ),
        (
            "results/cohort.bam",
            Direction::Down,
            6_442_450_944,
            TransferState::Retrying { n: 2, of: 5 },
            1_073_741_824,
        ),
    ];
    for (i, (remote, dir, size, state, done)) in items.into_iter().enumerate() {
        let id = i as u64 + 1;
        let info = TransferInfo {
            dir,
            ws: "ws_genomics".into(),
            remote: remote.into(),
            local: format!("/data/{remote}"),
            size: Some(size),
        };
        update(s, Msg::Worker(Event::TransferAdded { id, info }));
        update(s, Msg::Worker(Event::TransferState { id, state }));
        update(
            s,
            Msg::Worker(Event::TransferProgress {
                at_ms: 1000,
                samples: vec![(id, done / 2)],
            }),
        );
        update(
            s,
            Msg::Worker(Event::TransferProgress {
                at_ms: 2000,
                samples: vec![(id, done)],
            }),
        );
    }
}

#[test]
fn transfers_pane() {
    check("transfers_pane", transfers_fixture, &[]);
}

#[test]
fn conflict_dialog() {
    use filedeck::app::msg::ConflictItem;
    check(
        "conflict_dialog",
        |s| {
            let items = vec![
                ConflictItem {
                    existing: "raw/sample A.vcf".into(),
                    existing_size: Some(15_107),
                    new_size: Some(16_002),
                    upload: true,
                    note: None,
                },
                ConflictItem {
                    existing: "raw/sample_B.vcf.gz".into(),
                    existing_size: Some(11_582),
                    new_size: Some(11_582),
                    upload: true,
                    note: None,
                },
            ];
            update(s, Msg::Worker(Event::Conflicts { batch: 1, items }));
        },
        &[],
    );
}

#[test]
fn failed_transfer_details() {
    check(
        "failed_transfer_details",
        |s| {
            transfers_fixture(s);
            keys(s, &[Tab, Tab, Down, Down, Down]);
        },
        &[],
    );
}

#[test]
fn upload_prompt_with_completions() {
    check(
        "upload_prompt_with_completions",
        |s| {
            keys(s, &[Down, Char('u')]);
            for c in "/data/run_".chars() {
                keys(s, &[Char(c)]);
            }
            let cmds = update(
                s,
                Msg::Key(ratatui::crossterm::event::KeyEvent::new(
                    Tab,
                    ratatui::crossterm::event::KeyModifiers::NONE,
                )),
            );
            let Some(filedeck::app::Command::Complete { req, .. }) = cmds.first() else {
                panic!("Tab asks the worker to complete: {cmds:?}");
            };
            let names = (1..=30).map(|i| format!("run_{i:02}/")).collect();
            update(
                s,
                Msg::Worker(Event::Completed {
                    req: *req,
                    text: "/data/run_".into(),
                    candidates: names,
                }),
            );
        },
        &[],
    );
}
