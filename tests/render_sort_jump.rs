//! Frames of the sort order in the tree's title and of the jump prompt, rendered on
//! ratatui's TestBackend through `update`, compared with insta snapshots.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use filedeck::api::FileEntry;
use filedeck::app::{State, init, update};
use ratatui::crossterm::event::KeyCode;

#[path = "support/drive.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod drive;
use drive::{drawn, keys, page, render, typed};
#[path = "support/entries.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod entries;

const SIZES: [(u16, u16); 3] = [(60, 20), (80, 24), (120, 40)];

/// A binary file of `size` bytes (`None`: unknown, and so is its time), created on a day
/// that follows from its size.
fn entry(key: &str, size: Option<u64>) -> FileEntry {
    entries::file(
        key,
        size,
        size.map(|s| 1 + s % 28),
        Some("application/octet-stream"),
    )
}

fn fixture(w: u16, h: u16) -> State {
    let mut s = State::new(
        "https://files.example.org",
        &["ws_genomics".into(), "ws_lab".into()],
        w,
        h,
    );
    init(&mut s);
    let files = vec![
        entry("raw/sample A.vcf", Some(15_107)),
        entry("raw/sample_B.vcf.gz", Some(11_582)),
        entry("raw/run1/reads_R1.fastq.gz", Some(1_288_490_188)),
        entry("raw/run2/reads_R1.fastq.gz", Some(7_000)),
        entry("raw/unsized.bin", None),
        entry("raw/\u{1b}[31mevil\u{202e}name.txt", Some(3)),
        entry("refs/chr22_fragment.fa", Some(9_921)),
        entry("results/variant_summary.csv", Some(84)),
        entry("README.md", Some(155)),
    ];
    update(&mut s, page(1, files, true));
    s
}

fn check(name: &str, setup: impl Fn(&mut State)) {
    for (w, h) in SIZES {
        let mut s = fixture(w, h);
        setup(&mut s);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), render(&s));
    }
}

/// `:`, `text` typed into the jump prompt it opens, then `then`.
fn jump(s: &mut State, text: &str, then: &[KeyCode]) {
    keys(s, &[KeyCode::Char(':')]);
    typed(s, text);
    keys(s, then);
}

use KeyCode::*;

/// `s` in raw/: by size, largest first, the unknown size last; the title says so.
#[test]
fn sorted_by_size() {
    check("sorted_by_size", |s| keys(s, &[Down, Right, Char('s')]));
}

/// `s s S`: created, oldest first; with a mark, the narrow title gives up its name first.
#[test]
fn sorted_by_created_reversed_with_a_mark() {
    check("sorted_by_created_reversed_with_a_mark", |s| {
        keys(
            s,
            &[
                Down,
                Right,
                Char('s'),
                Char('s'),
                Char('S'),
                Down,
                Char(' '),
            ],
        )
    });
}

/// `:raw/sam` Tab Tab: completed to the common prefix, stepped to the first candidate.
#[test]
fn jump_prompt_stepping_through_candidates() {
    check("jump_prompt_stepping", |s| jump(s, "raw/sam", &[Tab, Tab]));
}

/// `:raw/` Tab: everything in raw/, the hostile name sanitised in the list.
#[test]
fn jump_prompt_listing_a_folder() {
    check("jump_prompt_listing", |s| jump(s, "raw/", &[Tab]));
}

/// The hostile name completed into the input is drawn sanitised there too.
#[test]
fn jump_prompt_with_a_hostile_name_in_the_input() {
    check("jump_prompt_hostile", |s| jump(s, "raw/\u{1b}", &[Tab]));
}

/// Enter on a path that is not there: the prompt stays and says why.
#[test]
fn jump_prompt_not_found() {
    check("jump_prompt_not_found", |s| jump(s, "raw/run3/x", &[Enter]));
}

/// Enter on a file: its folders open, it is selected in the middle of the pane.
#[test]
fn jumped_to_a_file() {
    check("jumped_to_a_file", |s| {
        jump(s, "raw/run2/reads_R1.fastq.gz", &[Enter])
    });
}

/// The candidate in the input is drawn in its own style, the others alike.
#[test]
fn the_stepped_candidate_is_highlighted() {
    let mut s = fixture(80, 24);
    jump(&mut s, "raw/sam", &[Tab, Tab, Tab]); // on the second: sample_B.vcf.gz
    let screen = drawn(&s);
    let buf = screen.buffer();
    let row: String = (0..24)
        .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .find(|l| l.contains("sample A.vcf  sample_B.vcf.gz"))
        .expect("the candidates' line");
    let y = (0..24u16)
        .find(|&y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>() == row)
        .unwrap();
    let x_of = |name: &str| {
        let before = &row[..row.find(name).unwrap()];
        before.chars().count() as u16
    };
    let first = buf[(x_of("sample A.vcf"), y)].style();
    let second = buf[(x_of("sample_B.vcf.gz"), y)].style();
    assert_ne!(first, second, "the stepped candidate stands out");
    assert_eq!(
        buf[(x_of("sample_B.vcf.gz") + 14, y)].style(),
        second,
        "the whole name"
    );
}
