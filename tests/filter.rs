//! The live filter (`/`): pure update tests (pattern syntax, live updates, n/N, Enter/Esc,
//! folder actions under a filter, stale results) and frames on TestBackend. The matcher's
//! threads are stood in for by the same matching function they run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use filedeck::app::corpus;
use filedeck::app::state::{Dialog, PromptKind, Row};
use filedeck::app::{Command, Event, Msg, State, init, update};
use filedeck::config::ThemeName;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Modifier;

#[path = "support/drive.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod drive;
use drive::{
    filter, key, list_req, render_with_styles, row_of, selected_label, settle, typed, with_modifier,
};
#[path = "support/entries.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod entries;
use entries::entry;

fn page(req: u64, keys: &[&str], done: bool) -> Msg {
    drive::page(req, keys.iter().map(|k| entry(k, 10)).collect(), done)
}

const FILES: &[&str] = &[
    "raw/sample_A.vcf.gz",
    "raw/sample_B.vcf.gz",
    "raw/run1/sample_A_R1.fastq.gz",
    "raw/run1/sample_A_R2.fastq.gz",
    "ref/genome.fa",
    "ref/genome.fa.fai",
    "notes/README.md",
    "top.txt",
];

/// ws1 on a `w`×`h` screen, its listing asked for (the request's id returned).
fn started(endpoint: &str, w: u16, h: u16) -> (State, u64) {
    let mut s = State::new(endpoint, &["ws1".into()], w, h);
    let req = list_req(&init(&mut s));
    (s, req)
}

/// ws1 listed with FILES (the listing's req returned).
fn listed() -> (State, u64) {
    let (mut s, req) = started("http://files.example:8080", 80, 24);
    update(&mut s, page(req, FILES, true));
    (s, req)
}

/// ws1 on a `w`×`h` screen with the first of its pages, a/sample_1.vcf and a/other.txt
/// (the listing's req returned).
fn first_page_in(w: u16, h: u16) -> (State, u64) {
    let (mut s, req) = started("http://h", w, h);
    update(&mut s, page(req, &["a/sample_1.vcf", "a/other.txt"], false));
    (s, req)
}

/// The id of the listing a refresh asks for among `cmds`.
fn relist_req(cmds: &[Command]) -> u64 {
    cmds.iter()
        .find_map(|c| match c {
            Command::List { req, .. } => Some(*req),
            _ => None,
        })
        .unwrap()
}

fn shown_files(s: &State) -> Vec<String> {
    s.rows
        .iter()
        .filter_map(|r| match *r {
            Row::File { ws, id } => Some(s.workspaces[ws].tree.display_key(id)),
            _ => None,
        })
        .collect()
}

fn shown_folders(s: &State) -> Vec<String> {
    s.rows
        .iter()
        .filter_map(|r| match *r {
            Row::Folder { ws, id } => Some(s.workspaces[ws].tree.folder_path(id)),
            _ => None,
        })
        .collect()
}

#[test]
fn fuzzy_filter_keeps_matches_and_their_folders_opened() {
    let (mut s, _) = listed();
    filter(&mut s, "sAR1");
    assert_eq!(shown_files(&s), ["raw/run1/sample_A_R1.fastq.gz"]);
    assert_eq!(shown_folders(&s), ["raw/", "raw/run1/"]);
    let f = s.filter.as_ref().unwrap();
    assert!(f.done() && f.editing);
    assert_eq!(f.matches, 1);
}

#[test]
fn pattern_syntax_is_fzf_as_nucleo_parses_it() {
    let cases: &[(&str, &[&str])] = &[
        // exact substring
        ("'genome.fa", &["ref/genome.fa", "ref/genome.fa.fai"]),
        // prefix of the whole path
        ("^ref", &["ref/genome.fa", "ref/genome.fa.fai"]),
        // suffix
        ("fa$", &["ref/genome.fa"]),
        // and: both terms
        (
            "sample gz$ !R2",
            &[
                "raw/sample_A.vcf.gz",
                "raw/sample_B.vcf.gz",
                "raw/run1/sample_A_R1.fastq.gz",
            ],
        ),
        // not: everything without the term
        (
            "!raw",
            &[
                "notes/README.md",
                "ref/genome.fa",
                "ref/genome.fa.fai",
                "top.txt",
            ],
        ),
        // smart case: an upper-case letter makes the term case-sensitive
        ("readme", &["notes/README.md"]),
        ("Readme", &[]),
        // an inverse prefix
        ("!^raw !^ref", &["notes/README.md", "top.txt"]),
    ];
    for (pattern, want) in cases {
        let (mut s, _) = listed();
        filter(&mut s, pattern);
        let mut got = shown_files(&s);
        got.sort();
        let mut want: Vec<String> = want.iter().map(|x| x.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "pattern {pattern:?}");
    }
}

#[test]
fn enter_keeps_the_filter_and_esc_clears_it() {
    let (mut s, _) = listed();
    filter(&mut s, "genome");
    key(&mut s, KeyCode::Enter);
    let f = s.filter.as_ref().unwrap();
    assert!(!f.editing && f.active());
    // Browser keys work again, on the filtered rows.
    key(&mut s, KeyCode::Char('G'));
    assert_eq!(selected_label(&s), "ref/genome.fa.fai");
    // `/` edits the same filter.
    key(&mut s, KeyCode::Char('/'));
    assert!(s.filter.as_ref().unwrap().editing);
    assert_eq!(s.filter.as_ref().unwrap().input.value(), "genome");
    key(&mut s, KeyCode::Enter);
    // Esc in the browser clears it; the cursor stays on its file.
    let cmds = key(&mut s, KeyCode::Esc);
    assert!(s.filter.is_none());
    assert!(
        matches!(cmds.as_slice(), [Command::Filter { pattern, chunks, .. }] if pattern.is_empty() && chunks.is_empty()),
        "{cmds:?}"
    );
    // Its folder is opened for it; the others are as the user left them.
    assert_eq!(
        shown_files(&s),
        ["ref/genome.fa", "ref/genome.fa.fai", "top.txt"]
    );
    assert_eq!(selected_label(&s), "ref/genome.fa.fai");
}

#[test]
fn esc_while_typing_clears_and_an_empty_enter_is_no_filter() {
    let (mut s, _) = listed();
    let before = s.rows.clone();
    filter(&mut s, "vcf");
    key(&mut s, KeyCode::Esc);
    assert!(s.filter.is_none());
    assert_eq!(s.rows, before);
    key(&mut s, KeyCode::Char('/'));
    key(&mut s, KeyCode::Enter);
    assert!(s.filter.is_none());
}

#[test]
fn n_and_shift_n_step_through_matches_in_tree_order() {
    let (mut s, _) = listed();
    filter(&mut s, "sample");
    key(&mut s, KeyCode::Enter);
    // Tree order: subfolders first.
    let order = [
        "raw/run1/sample_A_R1.fastq.gz",
        "raw/run1/sample_A_R2.fastq.gz",
        "raw/sample_A.vcf.gz",
        "raw/sample_B.vcf.gz",
    ];
    assert_eq!(shown_files(&s), order);
    key(&mut s, KeyCode::Char('g'));
    for want in order {
        key(&mut s, KeyCode::Char('n'));
        assert_eq!(selected_label(&s), want);
    }
    // Wraps around.
    key(&mut s, KeyCode::Char('n'));
    assert_eq!(selected_label(&s), order[0]);
    key(&mut s, KeyCode::Char('N'));
    assert_eq!(selected_label(&s), order[3]);
    key(&mut s, KeyCode::Char('N'));
    assert_eq!(selected_label(&s), order[2]);
}

#[test]
fn n_without_a_filter_says_how_to_start_one() {
    let (mut s, _) = listed();
    key(&mut s, KeyCode::Char('n'));
    assert!(s.notice.as_ref().unwrap().text.contains("/ starts one"));
}

#[test]
fn a_page_arriving_under_the_filter_is_matched_too() {
    let (mut s, req) = first_page_in(80, 24);
    filter(&mut s, "sample");
    assert_eq!(shown_files(&s), ["a/sample_1.vcf"]);
    // The listing is still arriving: "≥".
    assert!(s.workspaces[0].partial());
    let cmds = update(&mut s, page(req, &["b/sample_2.vcf", "b/x.txt"], true));
    // Only the new files go to the matcher, under the same request.
    let f = s.filter.as_ref().unwrap();
    match cmds.as_slice() {
        [
            Command::Filter {
                req, chunks, first, ..
            },
        ] => {
            assert_eq!(*req, f.req);
            assert_eq!(*first, 1);
            assert_eq!(chunks.len(), 1);
            assert_eq!(chunks[0].start, 2);
            assert_eq!(chunks[0].len(), 2);
        }
        other => panic!("{other:?}"),
    }
    settle(&mut s, &cmds);
    assert_eq!(shown_files(&s), ["a/sample_1.vcf", "b/sample_2.vcf"]);
    assert_eq!(s.filter.as_ref().unwrap().matches, 2);
}

#[test]
fn an_upload_under_the_filter_is_matched_and_a_delete_leaves() {
    let (mut s, _) = listed();
    filter(&mut s, "vcf");
    key(&mut s, KeyCode::Enter);
    assert_eq!(
        shown_files(&s),
        ["raw/sample_A.vcf.gz", "raw/sample_B.vcf.gz"]
    );
    let cmds = update(
        &mut s,
        Msg::Worker(Event::Uploaded {
            ws: "ws1".into(),
            entry: entry("new/sample_C.vcf.gz", 5),
        }),
    );
    settle(&mut s, &cmds);
    assert_eq!(
        shown_files(&s),
        [
            "new/sample_C.vcf.gz",
            "raw/sample_A.vcf.gz",
            "raw/sample_B.vcf.gz"
        ]
    );
    // Delete the first match.
    while selected_label(&s) != "raw/sample_A.vcf.gz" {
        key(&mut s, KeyCode::Char('n'));
    }
    key(&mut s, KeyCode::Char('x'));
    let cmds = key(&mut s, KeyCode::Char('y'));
    let req = match cmds.as_slice() {
        [Command::Delete { req, keys, .. }] => {
            assert_eq!(keys, &["raw/sample_A.vcf.gz"]);
            *req
        }
        other => panic!("{other:?}"),
    };
    update(
        &mut s,
        Msg::Worker(Event::Deleted {
            req,
            results: vec![Ok(())],
        }),
    );
    assert_eq!(
        shown_files(&s),
        ["new/sample_C.vcf.gz", "raw/sample_B.vcf.gz"]
    );
    assert_eq!(s.filter.as_ref().unwrap().matches, 2);
}

#[test]
fn a_whole_workspace_refresh_builds_a_new_corpus() {
    let (mut s, _) = listed();
    filter(&mut s, "genome");
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Char('g'));
    let cmds = key(&mut s, KeyCode::Char('r'));
    let req = relist_req(&cmds);
    let cmds = update(&mut s, page(req, &["ref/genome.fa", "zzz.txt"], true));
    settle(&mut s, &cmds);
    assert_eq!(shown_files(&s), ["ref/genome.fa"]);
}

/// The refresh's first page holds more files than the filter had: the old store (whose
/// paths belong to the old ids) must go all the same, and the old pattern's results still
/// on their way are dropped.
#[test]
fn a_refresh_with_a_larger_first_page_never_shows_the_old_paths_matches() {
    let (mut s, _) = listed();
    key(&mut s, KeyCode::Char('/'));
    let old = typed(&mut s, "genome");
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Char('g'));
    let cmds = key(&mut s, KeyCode::Char('r'));
    let req = relist_req(&cmds);
    let many: Vec<String> = (0..20).map(|i| format!("new/file_{i:02}.txt")).collect();
    let mut keys: Vec<&str> = many.iter().map(String::as_str).collect();
    keys.push("ref/genome.fa");
    let cmds = update(&mut s, page(req, &keys, true));
    // The answers about the old store arrive late: dropped.
    settle(&mut s, &old);
    settle(&mut s, &cmds);
    assert_eq!(shown_files(&s), ["ref/genome.fa"]);
}

#[test]
fn stale_results_are_dropped() {
    let (mut s, _) = listed();
    let before = s.rows.clone();
    key(&mut s, KeyCode::Char('/'));
    let old = typed(&mut s, "vcf");
    let new = typed(&mut s, "$");
    // The answer to "vcf" (an older request) comes after "vcf$" was typed: dropped.
    settle(&mut s, old.last().map(std::slice::from_ref).unwrap());
    assert!(shown_files(&s).is_empty() || !s.filter.as_ref().unwrap().done());
    assert_eq!(s.filter.as_ref().unwrap().matches, 0);
    settle(&mut s, &new);
    assert!(shown_files(&s).is_empty(), "no path ends in vcf");
    assert!(s.filter.as_ref().unwrap().done());
    // And an answer from before the filter was cleared changes nothing after.
    key(&mut s, KeyCode::Esc);
    settle(&mut s, &old);
    assert_eq!(s.rows, before);
}

#[test]
fn the_last_matches_stay_until_the_new_pattern_answers() {
    let (mut s, _) = listed();
    filter(&mut s, "sample");
    assert_eq!(shown_files(&s).len(), 4);
    let cmds = typed(&mut s, "B");
    // Not answered yet: the matches of "sample" stay, marked as still matching.
    assert_eq!(shown_files(&s).len(), 4);
    assert!(!s.filter.as_ref().unwrap().done());
    settle(&mut s, &cmds);
    assert_eq!(shown_files(&s), ["raw/sample_B.vcf.gz"]);
}

#[test]
fn folder_delete_under_a_filter_takes_the_whole_folder_and_says_so() {
    let (mut s, _) = listed();
    filter(&mut s, "R1");
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Down); // raw/
    assert_eq!(selected_label(&s), "raw/");
    key(&mut s, KeyCode::Char('x'));
    let Some(Dialog::ConfirmDelete(c)) = &s.dialog else {
        panic!("{:?}", s.dialog);
    };
    assert_eq!(
        c.label,
        "ws1:raw/ and every file under it (the whole folder, not only what the filter shows: 1 of its 4 files match)"
    );
    assert_eq!(c.files.len(), 4, "the whole folder");
    let cmds = key(&mut s, KeyCode::Char('y'));
    let [Command::Delete { keys, .. }] = cmds.as_slice() else {
        panic!("{cmds:?}");
    };
    let mut keys = keys.clone();
    keys.sort();
    assert_eq!(
        keys,
        [
            "raw/run1/sample_A_R1.fastq.gz",
            "raw/run1/sample_A_R2.fastq.gz",
            "raw/sample_A.vcf.gz",
            "raw/sample_B.vcf.gz"
        ]
    );
}

#[test]
fn folder_download_under_a_filter_takes_the_whole_folder_and_says_so() {
    let (mut s, _) = listed();
    filter(&mut s, "genome.fa$");
    key(&mut s, KeyCode::Enter);
    key(&mut s, KeyCode::Char('g'));
    key(&mut s, KeyCode::Down);
    assert_eq!(selected_label(&s), "ref/");
    key(&mut s, KeyCode::Char('d'));
    let Some(Dialog::Path {
        kind: PromptKind::Download { files, what, .. },
        ..
    }) = &s.dialog
    else {
        panic!("{:?}", s.dialog);
    };
    assert_eq!(files.len(), 2, "the whole folder");
    assert!(
        what[0].ends_with(
            "(the whole folder, not only what the filter shows: 1 of its 2 files match)"
        ),
        "{what:?}"
    );
}

// Frames.

#[test]
fn frame_of_a_filter_being_typed() {
    let (mut s, _) = listed();
    s.width = 70;
    s.height = 14;
    filter(&mut s, "sAR");
    let (text, _) = render_with_styles(&s);
    insta::assert_snapshot!("filter_typing_70x14", text);
}

#[test]
fn frame_of_a_kept_filter_with_highlights_mono() {
    let (mut s, _) = listed();
    s.width = 70;
    s.height = 14;
    s.look.theme = ThemeName::Mono;
    filter(&mut s, "gz$ sB");
    key(&mut s, KeyCode::Enter);
    let (text, buf) = render_with_styles(&s);
    insta::assert_snapshot!("filter_kept_mono_70x14", text);
    // The matched letters of the name are bold and underlined (mono has no colour).
    let y = row_of(&text, "sample_B.vcf.gz");
    let hl = with_modifier(&buf, y, Modifier::UNDERLINED);
    assert_eq!(hl.trim(), "s      B     gz", "{hl:?}");
}

/// A folder row is marked where the pattern finds the folder's own path; a name with a
/// combining mark is marked by grapheme, as nucleo matched it (e + U+0301 is one letter).
#[test]
fn folders_and_combining_marks_are_marked_where_nucleo_matched() {
    let (mut s, req) = started("http://h", 70, 12);
    update(
        &mut s,
        page(req, &["run1/cafe\u{301}_x.txt", "run1/other.txt"], true),
    );
    s.look.theme = ThemeName::Mono;
    filter(&mut s, "run1/ e_x");
    key(&mut s, KeyCode::Enter);
    let (text, buf) = render_with_styles(&s);
    let folder = with_modifier(&buf, row_of(&text, "▾ run1/"), Modifier::UNDERLINED);
    assert_eq!(folder.trim(), "run1", "{text}");
    let file = with_modifier(&buf, row_of(&text, "_x.txt"), Modifier::UNDERLINED);
    assert_eq!(file.trim(), "e\u{301}_x", "{text}");
}

#[test]
fn frame_of_a_filter_while_the_listing_arrives() {
    let (mut s, _) = first_page_in(70, 12);
    filter(&mut s, "sample");
    let (text, buf) = render_with_styles(&s);
    insta::assert_snapshot!("filter_partial_70x12", text);
    assert!(text.contains("1 of ≥ 2"), "{text}");
    // Colour themes highlight with the theme's role (bold + a colour).
    let y = row_of(&text, "sample_1.vcf");
    assert_eq!(with_modifier(&buf, y, Modifier::BOLD).trim(), "sample");
}

#[test]
fn the_yes_no_matcher_agrees_with_nucleos_scoring() {
    use nucleo_matcher::Utf32Str;
    let (mut s, req) = started("http://h", 80, 24);
    let paths = [
        "raw/sample_A.vcf.gz",
        "raw/Sample_B.VCF.GZ",
        "résultats/échantillon_µL3.bam",
        "Resultats/echantillon_uL3.bam",
        "a/b/c/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
        "notes/README.md",
        "x",
    ];
    update(&mut s, page(req, &paths, true));
    let tree = &s.workspaces[0].tree;
    let chunk = corpus::build(tree, 0, 1, &mut Vec::new()).remove(0);
    let mut m = corpus::matcher();
    for pattern in [
        "sample",
        "SAMPLE",
        "Sample",
        "smpl",
        "échµ",
        "echu",
        "resultats",
        "Résultats",
        "ab$",
        "aab",
        "!vcf",
        "'vcf ^raw",
        "!^raw gz$",
        "b c",
        "xyz",
        "R",
        "r",
        "µl3",
        "µL3",
    ] {
        let p = corpus::parse(pattern);
        let (bits, n) = corpus::match_chunk(&p, &chunk, &mut m);
        let mut buf = Vec::new();
        let mut want = 0;
        for i in 0..chunk.len() {
            let scored = p
                .score(Utf32Str::new(chunk.path(i), &mut buf), &mut m)
                .is_some();
            want += u32::from(scored);
            assert_eq!(
                bits[i / 64] & (1 << (i % 64)) != 0,
                scored,
                "{pattern:?} on {:?}",
                chunk.path(i)
            );
        }
        assert_eq!(n, want);
    }
}

/// `/` over more files than one chunk builds one chunk at once and the rest a chunk per
/// turn of the loop (`Msg::Continue` while `stepping`): the filter is not done until every
/// file is in, and each new chunk goes to the matcher under the pattern in force.
#[test]
fn the_path_store_of_a_large_workspace_is_built_in_steps() {
    let (mut s, req) = started("http://files.example:8080", 80, 24);
    let n = corpus::CHUNK_FILES as usize * 3 + 10;
    let names: Vec<String> = (0..n).map(|i| format!("d{}/f{i:06}.txt", i % 7)).collect();
    let keys: Vec<&str> = names.iter().map(String::as_str).collect();
    update(&mut s, page(req, &keys, true));
    key(&mut s, KeyCode::Char('/'));
    let f = s.filter.as_ref().unwrap();
    assert_eq!(f.chunks.len(), 1, "one chunk at once");
    assert!(f.pending && s.stepping());
    // A key is a turn of the loop too: the pattern in force goes with each new chunk.
    let mut cmds = typed(&mut s, "f");
    assert_eq!(s.filter.as_ref().unwrap().chunks.len(), 2);
    assert!(
        !s.filter.as_ref().unwrap().done(),
        "not done while files are left out"
    );
    let mut steps = 0;
    while s.stepping() {
        cmds.extend(update(&mut s, Msg::Continue));
        steps += 1;
        assert!(steps < 100, "the steps end");
    }
    assert_eq!(steps, 2);
    assert_eq!(s.filter.as_ref().unwrap().covered as usize, n);
    cmds.extend(typed(&mut s, "0491"));
    let cmds: Vec<Command> = cmds
        .into_iter()
        .filter(|c| matches!(c, Command::Filter { pattern, .. } if pattern == "f0491"))
        .collect();
    settle(&mut s, &cmds);
    let f = s.filter.as_ref().unwrap();
    assert!(f.done());
    let last_chunk_hits = (corpus::CHUNK_FILES as usize * 3..n)
        .filter(|&i| f.matched(i as u32))
        .count();
    assert!(last_chunk_hits > 0, "the last chunk was matched too");
}
