//! Pure update tests of the order within folders (`s`, `S`) and the jump prompt (`:`):
//! messages in, rows, titles' data and prompts out. No terminal, no network.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use filedeck::api::FileEntry;
use filedeck::app::sort::{SortKey, SortOrder};
use filedeck::app::state::{Dialog, PromptKind, Row};
use filedeck::app::{Command, Msg, State, init, update};
use ratatui::crossterm::event::KeyCode;

#[path = "support/drive.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod drive;
use drive::{ch, key, page, selected_label, typed};
#[path = "support/entries.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod entries;

/// A file at `key`; `size` and `created` (a day of November 2026) `None` when unknown.
fn file(key: &str, size: Option<u64>, day: Option<u64>) -> FileEntry {
    entries::file(key, size, day, None)
}

/// `workspaces` on a 100×40 screen, the first listed with one page of `files` (`done`: the
/// listing's last).
fn listed_in(workspaces: &[&str], files: Vec<FileEntry>, done: bool) -> State {
    let ids: Vec<String> = workspaces.iter().map(|w| w.to_string()).collect();
    let mut s = State::new("http://h", &ids, 100, 40);
    init(&mut s);
    update(&mut s, page(1, files, done));
    s
}

fn ws1_listed(files: Vec<FileEntry>) -> State {
    listed_in(&["ws1"], files, true)
}

/// ws1 listed with its top folder open: two folders and files of every kind of size and
/// time, in names that do not follow their sizes or times.
fn listed() -> State {
    listed_in(
        &["ws1", "ws2"],
        vec![
            file("big/x.bin", Some(5_000), Some(3)),
            file("small/y.bin", Some(10), Some(20)),
            file("b.txt", Some(300), Some(10)),
            file("a.txt", Some(300), Some(12)),
            file("c.txt", Some(1), Some(25)),
            file("nosize.txt", None, Some(28)),
            file("notime.txt", Some(2_000), None),
            file("d.txt", Some(100_000), Some(1)),
        ],
        true,
    )
}

/// The names of the rows of workspace 0's top folder, folders with a '/'.
fn top(s: &State) -> Vec<String> {
    let t = &s.workspaces[0].tree;
    s.rows
        .iter()
        .filter_map(|r| match *r {
            Row::Folder { ws: 0, id } if t.parent_of(id) == 0 => {
                Some(format!("{}/", t.folder(id).unwrap().name))
            }
            Row::File { ws: 0, id } if t.folder_of(id) == 0 => Some(t.display_key(id)),
            _ => None,
        })
        .collect()
}

fn order(s: &State, ws: usize) -> SortOrder {
    s.workspaces[ws].order
}

#[test]
fn starts_by_name_and_s_cycles_size_created_name() {
    let mut s = listed();
    assert_eq!(order(&s, 0), SortOrder::default());
    assert_eq!(order(&s, 0).label(), "name A→Z");
    assert_eq!(
        top(&s),
        [
            "big/",
            "small/",
            "a.txt",
            "b.txt",
            "c.txt",
            "d.txt",
            "nosize.txt",
            "notime.txt"
        ]
    );
    ch(&mut s, 's');
    assert_eq!(order(&s, 0).key, SortKey::Size);
    assert_eq!(order(&s, 0).label(), "size big→small");
    // Folders first (by the bytes under them), ties by name, the unknown size last.
    assert_eq!(
        top(&s),
        [
            "big/",
            "small/",
            "d.txt",
            "notime.txt",
            "a.txt",
            "b.txt",
            "c.txt",
            "nosize.txt"
        ]
    );
    ch(&mut s, 's');
    assert_eq!(order(&s, 0).label(), "created new→old");
    // small/ holds a file of the 20th, big/ one of the 3rd; no time sorts last.
    assert_eq!(
        top(&s),
        [
            "small/",
            "big/",
            "nosize.txt",
            "c.txt",
            "a.txt",
            "b.txt",
            "d.txt",
            "notime.txt"
        ]
    );
    ch(&mut s, 's');
    assert_eq!(order(&s, 0), SortOrder::default());
    assert_eq!(top(&s)[2], "a.txt");
}

#[test]
fn capital_s_reverses_and_unknowns_stay_last() {
    let mut s = listed();
    ch(&mut s, 'S');
    assert_eq!(order(&s, 0).label(), "name Z→A");
    assert_eq!(
        top(&s),
        [
            "small/",
            "big/",
            "notime.txt",
            "nosize.txt",
            "d.txt",
            "c.txt",
            "b.txt",
            "a.txt"
        ]
    );
    ch(&mut s, 's'); // size, largest first
    ch(&mut s, 'S'); // smallest first
    assert_eq!(order(&s, 0).label(), "size small→big");
    // Still folders first; ties (a, b at 300) still A→Z; the unknown size still last.
    assert_eq!(
        top(&s),
        [
            "small/",
            "big/",
            "c.txt",
            "a.txt",
            "b.txt",
            "notime.txt",
            "d.txt",
            "nosize.txt"
        ]
    );
    ch(&mut s, 's'); // created: a new key starts in its natural direction
    assert_eq!(order(&s, 0).label(), "created new→old");
    ch(&mut s, 'S');
    assert_eq!(order(&s, 0).label(), "created old→new");
    assert_eq!(
        top(&s),
        [
            "big/",
            "small/",
            "d.txt",
            "b.txt",
            "a.txt",
            "c.txt",
            "nosize.txt",
            "notime.txt"
        ]
    );
}

#[test]
fn folders_whose_sizes_or_times_are_all_unknown_sort_last_among_folders() {
    let mut s = ws1_listed(vec![
        file("dark/a", None, None),
        file("dark/b", None, None),
        file("lit/a", Some(1), Some(2)),
        file("z.txt", Some(9), Some(9)),
    ]);
    for (keys, want) in [
        ("s", ["lit/", "dark/", "z.txt"]),
        ("S", ["lit/", "dark/", "z.txt"]),
        ("s", ["lit/", "dark/", "z.txt"]),
        ("S", ["lit/", "dark/", "z.txt"]),
    ] {
        typed(&mut s, keys);
        assert_eq!(top(&s), want, "after {keys}: {}", order(&s, 0).label());
    }
}

#[test]
fn the_cursor_stays_on_its_file_through_every_order() {
    let mut s = listed();
    // Down to c.txt.
    while selected_label(&s) != "c.txt" {
        key(&mut s, KeyCode::Down);
    }
    for k in ['s', 'S', 's', 'S', 's'] {
        ch(&mut s, k);
        assert_eq!(selected_label(&s), "c.txt", "after {k}");
    }
    // Inside an open folder too.
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Right); // open big/
    key(&mut s, KeyCode::Down);
    assert_eq!(selected_label(&s), "big/x.bin");
    ch(&mut s, 's');
    assert_eq!(selected_label(&s), "big/x.bin");
}

#[test]
fn each_workspace_keeps_its_own_order_through_a_refresh() {
    let mut s = listed();
    ch(&mut s, 's');
    // To ws2 (the last row), open it: its own order is still by name.
    key(&mut s, KeyCode::Char('G'));
    let cmds = key(&mut s, KeyCode::Right);
    let req = match &cmds[..] {
        [Command::List { req, ws, .. }] if ws == "ws2" => *req,
        other => panic!("expected ws2 listed, got {other:?}"),
    };
    update(
        &mut s,
        page(req, vec![file("q.txt", Some(1), Some(1))], true),
    );
    assert_eq!(order(&s, 1), SortOrder::default());
    ch(&mut s, 'S');
    assert_eq!(order(&s, 1).label(), "name Z→A");
    assert_eq!(order(&s, 0).label(), "size big→small");
    // A refresh of ws1 lists it again into a new tree: the order stays.
    key(&mut s, KeyCode::Char('g'));
    let cmds = ch(&mut s, 'r');
    let req = match &cmds[..] {
        [Command::List { req, .. }] => *req,
        other => panic!("expected a listing, got {other:?}"),
    };
    update(
        &mut s,
        page(
            req,
            vec![
                file("m.txt", Some(5), Some(5)),
                file("n.txt", Some(50), Some(5)),
            ],
            true,
        ),
    );
    assert_eq!(order(&s, 0).label(), "size big→small");
    assert_eq!(top(&s), ["n.txt", "m.txt"]);
}

#[test]
fn pages_arriving_take_their_places_in_the_order() {
    let mut s = listed_in(
        &["ws1"],
        vec![
            file("m.txt", Some(50), Some(5)),
            file("a.txt", Some(5), Some(6)),
        ],
        false,
    );
    ch(&mut s, 's');
    assert_eq!(top(&s), ["m.txt", "a.txt"]);
    key(&mut s, KeyCode::Down);
    key(&mut s, KeyCode::Down);
    assert_eq!(selected_label(&s), "a.txt");
    update(
        &mut s,
        page(
            1,
            vec![
                file("z.txt", Some(500), Some(1)),
                file("q.txt", None, Some(1)),
                file("k.txt", Some(20), Some(1)),
                file("sub/deep.bin", Some(1), Some(1)),
            ],
            true,
        ),
    );
    assert_eq!(
        top(&s),
        ["sub/", "z.txt", "m.txt", "k.txt", "a.txt", "q.txt"]
    );
    assert_eq!(selected_label(&s), "a.txt", "the cursor stays on its file");
}

// ---- jump ----

/// A workspace with names that share prefixes, a folder, spaces and non-ASCII.
fn jump_fixture() -> State {
    ws1_listed(
        [
            "raw/sample_B.vcf.gz",
            "raw/run1/reads_R1.fastq.gz",
            "raw/run1/reads_R2.fastq.gz",
            "raw/run2/x",
            "raw/sample A.vcf",
            "raw/échantillon 1.bam",
            "raw/échantillon 2.bam",
            "README.md",
        ]
        .iter()
        .map(|k| file(k, Some(1), Some(1)))
        .collect(),
    )
}

fn prompt(s: &State) -> (String, Option<filedeck::app::jump::Cycle>) {
    match &s.dialog {
        Some(Dialog::Path {
            kind: PromptKind::Jump { cycle, .. },
            input,
        }) => (input.value().to_string(), cycle.clone()),
        other => panic!("expected the jump prompt, got {other:?}"),
    }
}

/// `:` and `text` typed into the jump prompt it opens.
fn jump(s: &mut State, text: &str) {
    ch(s, ':');
    typed(s, text);
}

/// Tab in the jump prompt; what its input holds then.
fn tab(s: &mut State) -> String {
    key(s, KeyCode::Tab);
    prompt(s).0
}

#[test]
fn colon_opens_the_jump_prompt_and_esc_closes_it() {
    let mut s = jump_fixture();
    assert!(ch(&mut s, ':').is_empty());
    assert_eq!(prompt(&s), (String::new(), None));
    key(&mut s, KeyCode::Esc);
    assert!(s.dialog.is_none());
}

#[test]
fn tab_completes_a_unique_name() {
    let mut s = jump_fixture();
    jump(&mut s, "raw/sample_");
    assert_eq!(tab(&mut s), "raw/sample_B.vcf.gz");
    assert!(s.under_prompt.is_empty());
    // A leading slash is allowed (and dropped).
    key(&mut s, KeyCode::Esc);
    jump(&mut s, "/REA");
    assert_eq!(tab(&mut s), "README.md");
}

#[test]
fn tab_completes_to_the_common_prefix_and_lists_the_candidates() {
    let mut s = jump_fixture();
    jump(&mut s, "raw/sam");
    tab(&mut s);
    let (text, cycle) = prompt(&s);
    assert_eq!(text, "raw/sample");
    assert_eq!(s.under_prompt, ["sample A.vcf", "sample_B.vcf.gz"]);
    let cycle = cycle.unwrap();
    assert_eq!(
        (cycle.base.as_str(), cycle.at, cycle.total),
        ("raw/", None, 2)
    );
    // Tab again steps through them, and round; Shift-Tab steps back.
    assert_eq!(tab(&mut s), "raw/sample A.vcf");
    assert_eq!(tab(&mut s), "raw/sample_B.vcf.gz");
    assert_eq!(tab(&mut s), "raw/sample A.vcf");
    key(&mut s, KeyCode::BackTab);
    assert_eq!(prompt(&s).0, "raw/sample_B.vcf.gz");
    assert_eq!(prompt(&s).1.unwrap().at, Some(1));
    // Typing ends the stepping: the candidates are stale.
    key(&mut s, KeyCode::Backspace);
    assert_eq!(prompt(&s), ("raw/sample_B.vcf.g".into(), None));
    assert!(s.under_prompt.is_empty());
}

#[test]
fn a_folder_completes_with_its_slash_and_the_next_tab_lists_inside() {
    let mut s = jump_fixture();
    jump(&mut s, "ra");
    assert_eq!(tab(&mut s), "raw/");
    tab(&mut s);
    // Folders first, then files; every one of them a candidate.
    assert_eq!(
        s.under_prompt,
        [
            "run1/",
            "run2/",
            "sample A.vcf",
            "sample_B.vcf.gz",
            "échantillon 1.bam",
            "échantillon 2.bam"
        ]
    );
    assert_eq!(prompt(&s).0, "raw/");
    typed(&mut s, "run1");
    assert_eq!(tab(&mut s), "raw/run1/");
    assert_eq!(tab(&mut s), "raw/run1/reads_R");
}

#[test]
fn unicode_and_spaces_complete_on_character_boundaries() {
    let mut s = jump_fixture();
    jump(&mut s, "raw/é");
    assert_eq!(tab(&mut s), "raw/échantillon ");
    typed(&mut s, "2");
    assert_eq!(tab(&mut s), "raw/échantillon 2.bam");
    key(&mut s, KeyCode::Enter);
    assert!(s.dialog.is_none());
    assert_eq!(selected_label(&s), "raw/échantillon 2.bam");
}

#[test]
fn an_unknown_path_says_so_and_keeps_the_prompt() {
    let mut s = jump_fixture();
    jump(&mut s, "raw/zz");
    tab(&mut s);
    assert_eq!(prompt(&s), ("raw/zz".into(), None));
    assert_eq!(s.under_prompt, ["nothing in raw/ starts with zz"]);
    typed(&mut s, "z");
    assert!(s.under_prompt.is_empty());
    key(&mut s, KeyCode::Enter);
    assert_eq!(prompt(&s).0, "raw/zzz");
    assert_eq!(
        s.under_prompt,
        ["not found: raw/zzz (raw/ exists; Tab lists what is in it)"]
    );
    // A folder that does not exist.
    key(&mut s, KeyCode::Esc);
    jump(&mut s, "nope/a");
    tab(&mut s);
    assert_eq!(s.under_prompt, ["no folder nope/ here"]);
    // Enter on nothing typed asks for a path.
    key(&mut s, KeyCode::Esc);
    ch(&mut s, ':');
    key(&mut s, KeyCode::Enter);
    assert!(s.dialog.is_some());
    assert_eq!(
        s.under_prompt,
        ["type a path in this workspace; Tab completes"]
    );
}

#[test]
fn enter_selects_the_file_and_opens_its_folders() {
    let mut s = jump_fixture();
    assert!(s.workspaces[0].open.is_empty());
    jump(&mut s, "raw/run1/reads_R2.fastq.gz");
    key(&mut s, KeyCode::Enter);
    assert!(s.dialog.is_none());
    assert_eq!(selected_label(&s), "raw/run1/reads_R2.fastq.gz");
    let t = &s.workspaces[0].tree;
    let raw = t.folder_by_path("raw/").unwrap();
    let run1 = t.folder_by_path("raw/run1/").unwrap();
    assert!(s.workspaces[0].open.contains(&raw) && s.workspaces[0].open.contains(&run1));
    assert!(s.selected >= s.offset && s.selected < s.offset + s.viewport());
}

#[test]
fn enter_on_a_folder_selects_and_opens_it() {
    let mut s = jump_fixture();
    jump(&mut s, "raw/run2");
    key(&mut s, KeyCode::Enter);
    assert_eq!(selected_label(&s), "raw/run2/");
    let run2 = s.workspaces[0].tree.folder_by_path("raw/run2/").unwrap();
    assert!(s.workspaces[0].open.contains(&run2));
    assert!(matches!(s.rows[s.selected + 1], Row::File { .. }));
}

#[test]
fn enter_on_a_stepped_candidate_goes_there_in_the_order_in_force() {
    let mut s = jump_fixture();
    ch(&mut s, 'S'); // name Z→A: the jump does not care
    jump(&mut s, "raw/sam");
    tab(&mut s);
    tab(&mut s);
    key(&mut s, KeyCode::Enter);
    assert_eq!(selected_label(&s), "raw/sample A.vcf");
}

#[test]
fn a_hidden_dotfile_is_named_not_lost() {
    let mut s = ws1_listed(vec![
        file("raw/.secret", Some(1), Some(1)),
        file("raw/a", Some(1), Some(1)),
    ]);
    ch(&mut s, '.'); // hide dotfiles
    key(&mut s, KeyCode::Esc); // the notice
    jump(&mut s, "raw/");
    assert_eq!(tab(&mut s), "raw/a", "a hidden name is no candidate");
    key(&mut s, KeyCode::Esc);
    jump(&mut s, "raw/.s");
    assert_eq!(
        tab(&mut s),
        "raw/.secret",
        "unless the typed name starts with '.'"
    );
    key(&mut s, KeyCode::Enter);
    assert_eq!(
        s.under_prompt,
        ["raw/.secret is hidden with the dotfiles: . shows them"]
    );
    assert!(s.dialog.is_some());
}

#[test]
fn a_paste_ends_the_stepping_and_the_next_tab_completes_afresh() {
    let mut s = jump_fixture();
    jump(&mut s, "raw/sam");
    tab(&mut s);
    assert_eq!(s.under_prompt.len(), 2);
    update(&mut s, Msg::Paste("_".into()));
    assert!(s.under_prompt.is_empty());
    assert_eq!(tab(&mut s), "raw/sample_B.vcf.gz");
}
