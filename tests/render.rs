//! Frames rendered on ratatui's TestBackend, driven by key events through `update`,
//! compared with insta snapshots at 60×20, 80×24 and 120×40. Times and sizes are pinned.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use filedeck::api::FileEntry;
use filedeck::app::{Event, Msg, State, init, update};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "support/drive.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod drive;
use drive::{keys, page, render};

const SIZES: [(u16, u16); 3] = [(60, 20), (80, 24), (120, 40)];

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
    update(&mut s, page(1, files, true));
    s
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

/// The zone is pinned in the State, never read from the machine: the file's date in
/// November shows central European winter time.
#[test]
fn file_details_in_a_local_zone() {
    let mut s = fixture(120, 40, &[]);
    let cet = jiff::tz::TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
    s.look.zone = filedeck::app::look::Zone::Local(cet);
    keys(&mut s, &[Down, Right, Down, Down]);
    let screen = render(&s);
    assert!(
        screen.contains("Created   2026-11-21 11:47 +01:00"),
        "{screen}"
    );
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
    // Line and paragraph separators and other Cf characters take one visible column.
    let mut s = fixture(
        120,
        40,
        &[entry("raw/a\u{2028}b\u{2029}c\u{61c}d\u{ad}.txt", 1, None)],
    );
    keys(&mut s, &[Down, Right, Down, Down]);
    let screen = render(&s);
    for c in ['\u{2028}', '\u{2029}', '\u{61c}', '\u{ad}'] {
        assert!(!screen.contains(c), "{screen}");
    }
    assert!(screen.contains("a�b�c�d�.txt"), "{screen}");
}

#[test]
fn listing_in_progress_shows_partial_counts() {
    let mut s = State::new("https://files.example.org", &["ws_genomics".into()], 80, 24);
    init(&mut s);
    update(&mut s, page(1, vec![entry("raw/a.vcf", 10, None)], false));
    let screen = render(&s);
    assert!(screen.contains("≥ 1 file "), "{screen}");
    assert!(screen.contains("listing ws_genomics"), "{screen}");
}

fn transfers_fixture(s: &mut State) {
    use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};
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
fn transfers_pane_shows_the_cap() {
    check(
        "transfers_pane_capped",
        |s| {
            transfers_fixture(s);
            s.limit_rate = Some(10 * 1024 * 1024);
        },
        &[],
    );
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
            // The pane's cursor followed the work; Home puts it at a known row.
            keys(s, &[Tab, Tab, Home, Down, Down, Down]);
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

/// A name longer than any pane beside its folder's figures.
const LONG: &str = "raw/NA12878_chr22_high_coverage_variant_calls_2026.vcf";

#[test]
fn long_name_beside_sizes() {
    check(
        "long_name_beside_sizes",
        |s| keys(s, &[Down, Right]),
        &[entry(LONG, 4_096, None)],
    );
}

#[test]
fn details_toggled() {
    // Hides the pane where it is shown (80, 120 columns), shows it where it is not (60).
    check("details_toggled", |s| keys(s, &[Down, Char('i')]), &[]);
}

#[test]
fn unlisted_workspace_details() {
    check("unlisted_workspace_details", |s| keys(s, &[End]), &[]);
}

fn focus_transfers(s: &mut State) {
    transfers_fixture(s);
    focus_transfers_pane(s);
}

fn focus_transfers_pane(s: &mut State) {
    for _ in 0..3 {
        if s.focus == filedeck::app::state::Pane::Transfers {
            return;
        }
        keys(s, &[Tab]);
    }
    panic!("Tab never reached the transfers pane");
}

#[test]
fn transfers_focused_footer() {
    check("transfers_focused_footer", focus_transfers, &[]);
}

fn failed_upload_without_remote(s: &mut State) {
    use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};
    transfers_fixture(s);
    // Into the workspace not listed: a failed upload into a listed one re-lists it.
    let info = TransferInfo {
        dir: Direction::Up,
        ws: "ws_lab".into(),
        remote: String::new(),
        local: "/data/run1/reads_R3.fastq.gz".into(),
        size: None,
    };
    update(s, Msg::Worker(Event::TransferAdded { id: 7, info }));
    update(
        s,
        Msg::Worker(Event::TransferState {
            id: 7,
            state: TransferState::Failed("cannot read: permission denied".into()),
        }),
    );
    focus_transfers_pane(s);
    keys(s, &[End]);
}

#[test]
fn failed_upload_details() {
    check(
        "failed_upload_details",
        |s| {
            failed_upload_without_remote(s);
            // Where the details pane is hidden, it is asked for.
            if !s.details_shown() {
                keys(s, &[Char('i')]);
            }
        },
        &[],
    );
}

/// A file whose name is longer than any dialog is wide.
fn long_file() -> FileEntry {
    entry(&format!("raw/{}", "x".repeat(150)), 1, None)
}

fn long_delete(s: &mut State) {
    keys(s, &[Down, Right]);
    for _ in 0..s.rows.len() {
        if let Some(filedeck::app::state::Row::File { ws, id }) = s.selected_row()
            && s.workspaces[ws].tree.files[id as usize].name.len() > 100
        {
            keys(s, &[Char('x')]);
            return;
        }
        keys(s, &[Down]);
    }
    panic!("the long file is not in the tree");
}

fn quit_dialog(s: &mut State) {
    transfers_fixture(s);
    keys(s, &[Char('q')]);
}

fn resume_dialog(s: &mut State) {
    update(
        s,
        Msg::Worker(Event::ResumeOffer {
            count: 12,
            bytes: 7_516_192_768,
        }),
    );
}

fn download_prompt(s: &mut State) {
    keys(s, &[Down, Char('d')]);
}

#[test]
fn quit_dialog_snapshot() {
    check("quit_dialog", quit_dialog, &[]);
}

#[test]
fn resume_dialog_snapshot() {
    check("resume_dialog", resume_dialog, &[]);
}

#[test]
fn download_prompt_snapshot() {
    check("download_prompt", download_prompt, &[]);
}

#[test]
fn long_delete_dialog() {
    check("long_delete_dialog", long_delete, &[long_file()]);
}

fn workspace_prompt_state(w: u16, h: u16) -> State {
    let mut s = State::new("https://files.example.org", &[], w, h);
    init(&mut s);
    update(
        &mut s,
        Msg::Worker(Event::Workspaces {
            req: 1,
            result: Ok(None),
        }),
    );
    keys(
        &mut s,
        &"ws_genomics ws_lab".chars().map(Char).collect::<Vec<_>>(),
    );
    s
}

#[test]
fn workspace_prompt() {
    for (w, h) in SIZES {
        let s = workspace_prompt_state(w, h);
        insta::assert_snapshot!(format!("workspace_prompt_{w}x{h}"), render(&s));
    }
}

/// The screen without its last row (the footer, which names a dialog's keys too).
fn above_footer(screen: &str) -> String {
    let mut rows: Vec<&str> = screen.lines().collect();
    rows.pop();
    rows.join("\n")
}

#[test]
fn every_dialog_shows_its_keys_on_small_screens() {
    type Setup = fn(&mut State);
    let conflicts: Setup = |s| {
        use filedeck::app::msg::ConflictItem;
        let items = vec![ConflictItem {
            existing: format!("{LONG}/{}", "y".repeat(80)),
            existing_size: Some(15_107),
            new_size: None,
            upload: false,
            note: Some("the listing may be incomplete: keep both is refused".into()),
        }];
        update(s, Msg::Worker(Event::Conflicts { batch: 1, items }));
    };
    let upload: Setup = |s| keys(s, &[Down, Char('u')]);
    let dialogs: [(&str, Setup, &[&str]); 6] = [
        ("delete", long_delete, &["y/Enter delete", "n/Esc cancel"]),
        (
            "conflicts",
            conflicts,
            &[
                "o overwrite",
                "s skip",
                "i overwrite unless identical",
                "k keep both",
                "O S I K",
                "Esc skip all",
            ],
        ),
        ("quit", quit_dialog, &["y/Enter quit", "n/Esc stay"]),
        (
            "resume",
            resume_dialog,
            &["y/Enter resume", "n/Esc drop them"],
        ),
        ("upload", upload, &["Enter start", "Esc cancel"]),
        ("download", download_prompt, &["Enter start", "Esc cancel"]),
    ];
    let long = [long_file()];
    for (w, h) in [(80, 24), (60, 20)] {
        for (name, setup, wanted) in &dialogs {
            let mut s = fixture(w, h, &long);
            setup(&mut s);
            assert!(s.dialog.is_some(), "{name}: no dialog");
            let screen = render(&s);
            for k in *wanted {
                assert!(
                    above_footer(&screen).contains(k),
                    "{name} at {w}×{h} lacks {k:?}:\n{screen}"
                );
            }
        }
        let screen = render(&workspace_prompt_state(w, h));
        assert!(
            above_footer(&screen).contains("Enter open") && screen.contains("Esc cancel"),
            "workspace prompt at {w}×{h}:\n{screen}"
        );
    }
}

#[test]
fn help_shows_every_key_whole_on_small_screens() {
    for (w, h) in [(80, 24), (60, 20)] {
        let mut s = fixture(w, h, &[]);
        keys(&mut s, &[Char('?')]);
        let screen = render(&s);
        for (keys, what) in filedeck::app::keymap::Keymap::default().help_rows() {
            assert!(
                screen.contains(&keys) && screen.contains(what),
                "help at {w}×{h} lacks {keys} {what}:\n{screen}"
            );
        }
        assert!(screen.contains("?/Esc"), "{screen}");
    }
}

#[test]
fn footer_keeps_help_in_every_pane_and_size() {
    for (w, h) in [(120, 40), (80, 24), (60, 20), (40, 12)] {
        let mut s = fixture(w, h, &[]);
        transfers_fixture(&mut s);
        for _ in 0..3 {
            let screen = render(&s);
            let footer = screen.lines().last().unwrap_or_default();
            assert!(
                footer.contains("? help"),
                "{w}×{h}, {:?} focused: {footer}",
                s.focus
            );
            if s.focus == filedeck::app::state::Pane::Transfers {
                assert!(footer.contains("c cancel"), "{w}×{h}: {footer}");
                assert!(!footer.contains("u upload"), "{w}×{h}: {footer}");
            }
            keys(&mut s, &[Tab]);
        }
    }
}

#[test]
fn tiny_screens_draw_without_panicking() {
    let setups: [fn(&mut State); 7] = [
        |_| {},
        long_delete,
        quit_dialog,
        resume_dialog,
        download_prompt,
        |s| keys(s, &[Char('?')]),
        |s| s.error("a long error ".repeat(20)),
    ];
    for w in [1, 2, 5, 11, 20, 33, 59] {
        for h in [1, 2, 3, 4, 7, 12, 19] {
            for setup in setups {
                let mut s = fixture(w, h, &[long_file()]);
                setup(&mut s);
                render(&s);
            }
            render(&workspace_prompt_state(w, h));
        }
    }
}

#[test]
fn a_workspace_without_counts_says_why() {
    let mut s = State::new("https://files.example.org", &["ws_genomics".into()], 80, 24);
    init(&mut s);
    let screen = render(&s);
    assert!(screen.contains("Files     listing…"), "{screen}");
    assert!(!screen.contains("≥ 0"), "{screen}");
    update(
        &mut s,
        Msg::Worker(Event::ListFailed {
            req: 1,
            error: "access denied (403)".into(),
        }),
    );
    let screen = render(&s);
    assert!(
        screen.contains("Files     unknown (the listing failed)"),
        "{screen}"
    );
    assert!(!screen.contains("≥ 0"), "{screen}");
}

#[test]
fn a_notice_in_the_footer_keeps_help() {
    for (w, h) in [(80, 24), (60, 20)] {
        let mut s = fixture(w, h, &[]);
        s.info("Tab to the transfers pane to pick a transfer; C cancels them all.");
        let screen = render(&s);
        let footer = screen.lines().last().unwrap_or_default();
        assert!(footer.contains("Tab to the transfers"), "{footer}");
        assert!(footer.contains("? help"), "{w}×{h}: {footer}");
    }
}

#[test]
fn narrow_tree_keeps_names_before_sizes() {
    for (w, toggle) in [(60, false), (50, false), (40, false), (60, true)] {
        let mut s = fixture(w, 20, &[entry(LONG, 4_096, None)]);
        keys(&mut s, &[Down, Right]);
        if toggle {
            keys(&mut s, &[Char('i')]);
        }
        let screen = render(&s);
        // 12 columns of the name at least, the last one "…" where it is cut.
        assert!(screen.contains("NA12878_chr"), "{w} columns:\n{screen}");
        assert!(screen.contains("raw/"), "{w} columns:\n{screen}");
    }
}

#[test]
fn hidden_details_pane_is_not_a_tab_stop() {
    use filedeck::app::state::Pane;
    let mut s = fixture(60, 20, &[]);
    assert!(!s.details_shown());
    keys(&mut s, &[Tab]);
    assert_eq!(s.focus, Pane::Tree);
    keys(&mut s, &[Char('i')]);
    assert!(s.details_shown());
    keys(&mut s, &[Tab]);
    assert_eq!(s.focus, Pane::Details);
    // Narrowing under a pane in focus takes the focus back to the tree.
    let mut s = fixture(80, 24, &[]);
    keys(&mut s, &[Tab]);
    assert_eq!(s.focus, Pane::Details);
    update(&mut s, Msg::Resize(60, 20));
    assert_eq!(s.focus, Pane::Tree);
}

/// raw/sample A.vcf and results/ marked, the cursor on README.md.
fn two_marks(s: &mut State) {
    keys(
        s,
        &[Down, Right, Down, Down, Char(' '), Down, Down, Char(' ')],
    );
}

#[test]
fn marks_in_the_title_and_the_footer() {
    check("marks_in_the_title_and_the_footer", two_marks, &[]);
}

#[test]
fn marked_delete_dialog_lists_the_marks() {
    check(
        "marked_delete_dialog",
        |s| {
            two_marks(s);
            keys(s, &[Char('x')]);
        },
        &[],
    );
}

fn with_keys(s: &mut State, pairs: &[(&str, &[&str])]) {
    let over = pairs
        .iter()
        .map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect()))
        .collect();
    s.keymap = filedeck::app::keymap::Keymap::with_overrides(&over).unwrap();
}

/// The help and the footer show the keys in force: delete moved to D.
#[test]
fn help_and_footer_with_an_overridden_key() {
    let mut s = fixture(100, 30, &[]);
    with_keys(&mut s, &[("delete", &["D"])]);
    let footer = render(&s);
    assert!(footer.contains(" D delete "), "{footer}");
    assert!(!footer.contains(" x delete "), "{footer}");
    keys(&mut s, &[Char('?')]);
    insta::assert_snapshot!("help_overlay_delete_on_D", render(&s));
}

/// A dialog's own hint line shows its overridden key.
#[test]
fn delete_dialog_with_an_overridden_yes() {
    let mut s = fixture(100, 30, &[]);
    with_keys(&mut s, &[("confirm.yes", &["o"])]);
    keys(&mut s, &[Down, Char('x')]);
    let screen = render(&s);
    assert!(screen.contains(" o delete "), "{screen}");
    insta::assert_snapshot!("delete_dialog_yes_on_o", screen);
}
