//! In-process cost of the browser: key press → update → frame drawn on ratatui's
//! TestBackend with a large workspace loaded, and resident memory per listed file.
//! `cargo bench --bench tui` prints tables (`-- sort`: only the sort and jump one);
//! nothing here asserts a time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    unsafe_code,
    reason = "benchmarks stop at the first surprise; malloc_trim has no safe wrapper"
)]

use std::time::{Duration, Instant};

use filedeck::api::FileEntry;
use filedeck::app::{Event, Msg, State, init, update};
use filedeck::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "support/measure.rs"]
mod measure;

use measure::{pct, rss_kib};

fn entry(i: usize) -> FileEntry {
    let folder = if i < 20_000 {
        "big/".to_string()
    } else {
        format!("runs/run{:03}/", i / 1000)
    };
    let name = format!("sample_{i:07}_R1.fastq.gz");
    FileEntry {
        key: format!("{folder}{name}"),
        name,
        path: folder,
        size: Some(1_000_000 + i as u64 * 7),
        description: None,
        content_type: Some("application/gzip".into()),
        created_at: Some(format!(
            "2026-11-{:02}T10:{:02}:{:02}Z",
            1 + i % 28,
            i % 60,
            (i / 60) % 60
        )),
        sha256: Some(format!("{:064x}", i * 2654435761)),
        etag: Some(format!("\"{:032x}\"", i)),
    }
}

fn loaded(files: usize, w: u16, h: u16) -> State {
    let mut s = State::new("http://127.0.0.1:8080", &["ws_bench".into()], w, h);
    init(&mut s);
    for start in (0..files).step_by(10_000) {
        let page: Vec<_> = (start..files.min(start + 10_000)).map(entry).collect();
        let done = start + 10_000 >= files;
        update(
            &mut s,
            Msg::Worker(Event::ListPage {
                req: 1,
                files: page,
                done,
                maybe_incomplete: false,
            }),
        );
    }
    s
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// 100,000 files loaded (120×40) and the 20,000-file `big/` open, so the visible list is
/// long.
fn loaded_with_big_open() -> State {
    let mut s = loaded(100_000, 120, 40);
    for m in [
        key(KeyCode::Down),
        key(KeyCode::Right),
        key(KeyCode::Down),
        key(KeyCode::Right),
    ] {
        update(&mut s, m);
    }
    s
}

fn main() {
    // `cargo bench --bench tui -- sort`: only the sort and jump table.
    if std::env::args().any(|a| a == "sort") {
        sort_and_jump();
        return;
    }
    println!("## key press → frame (update + draw on TestBackend 120×40), 100,000 files loaded\n");
    println!("| key sequence | presses | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    let mut s = loaded_with_big_open();
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| ui::draw(f, &s)).expect("draw");
    let runs: [(&str, Vec<KeyCode>); 4] = [
        (
            "↓ (j) through a 20,000-file folder",
            vec![KeyCode::Down; 2000],
        ),
        ("↑/↓ alternating", [KeyCode::Up, KeyCode::Down].repeat(1000)),
        ("PgDn", vec![KeyCode::PageDown; 500]),
        (
            "G / g (bottom, top)",
            [KeyCode::Char('G'), KeyCode::Char('g')].repeat(250),
        ),
    ];
    for (label, codes) in runs {
        let mut times = Vec::with_capacity(codes.len());
        for c in codes {
            let t = Instant::now();
            update(&mut s, key(c));
            if std::mem::take(&mut s.dirty) {
                term.draw(|f| ui::draw(f, &s)).expect("draw");
            }
            times.push(t.elapsed());
        }
        row(label, times);
    }
    // Expanding and collapsing the 20,000-file folder re-flattens the rows.
    let mut times = Vec::new();
    update(&mut s, key(KeyCode::Char('g')));
    update(&mut s, key(KeyCode::Down));
    for _ in 0..100 {
        for c in [KeyCode::Left, KeyCode::Right] {
            let t = Instant::now();
            update(&mut s, key(c));
            term.draw(|f| ui::draw(f, &s)).expect("draw");
            times.push(t.elapsed());
        }
    }
    row("←/→ collapse/expand a folder", times);
    drop(s);

    sort_and_jump();

    // Eight transfers running: their progress events stream in (10 per second each)
    // between the key presses; every key and every event is followed by a frame.
    println!(
        "\n## key press → frame with 8 transfers running and their progress streaming in (120×40, 100,000 files)\n"
    );
    println!("| what | count | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    let mut s = loaded(100_000, 120, 40);
    for m in [key(KeyCode::Down), key(KeyCode::Right)] {
        update(&mut s, m);
    }
    use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};
    for id in 1..=8u64 {
        let info = TransferInfo {
            dir: if id % 2 == 0 {
                Direction::Up
            } else {
                Direction::Down
            },
            ws: "ws_bench".into(),
            remote: format!("big/sample_{id:07}_R1.fastq.gz"),
            local: format!("/data/in/sample_{id:07}_R1.fastq.gz"),
            size: Some(1 << 30),
        };
        update(&mut s, Msg::Worker(Event::TransferAdded { id, info }));
        update(
            &mut s,
            Msg::Worker(Event::TransferState {
                id,
                state: TransferState::Running,
            }),
        );
    }
    term.draw(|f| ui::draw(f, &s)).expect("draw");
    let (mut keys, mut evs) = (Vec::new(), Vec::new());
    let mut at_ms = 0u64;
    for i in 0..3000u64 {
        // ~100 key presses a second against 8 × 10 progress events a second: one
        // progress event (all 8 samples, as the worker batches them) per 10 keys.
        if i % 10 == 0 {
            at_ms += 100;
            let samples = (1..=8u64).map(|id| (id, at_ms * 40_000 + id)).collect();
            let t = Instant::now();
            update(
                &mut s,
                Msg::Worker(Event::TransferProgress { at_ms, samples }),
            );
            if std::mem::take(&mut s.dirty) {
                term.draw(|f| ui::draw(f, &s)).expect("draw");
            }
            evs.push(t.elapsed());
        }
        let t = Instant::now();
        update(
            &mut s,
            key(if i % 2 == 0 {
                KeyCode::Down
            } else {
                KeyCode::Up
            }),
        );
        if std::mem::take(&mut s.dirty) {
            term.draw(|f| ui::draw(f, &s)).expect("draw");
        }
        keys.push(t.elapsed());
    }
    for (label, times) in [("key → frame", keys), ("progress event → frame", evs)] {
        row(label, times);
    }
    drop(s);

    println!("\n## resident memory per listed file (state built page by page, as the app does)\n");
    println!("| files | RSS before (MiB) | RSS after (MiB) | bytes per file |");
    println!("|---:|---:|---:|---:|");
    for n in [100_000usize, 1_000_000] {
        // Give back what earlier sections freed, so "before" is a true baseline.
        // SAFETY: malloc_trim only returns free heap pages to the kernel.
        unsafe {
            libc::malloc_trim(0);
        }
        let before = rss_kib();
        let s = loaded(n, 120, 40);
        let after = rss_kib();
        println!(
            "| {n} | {:.1} | {:.1} | {:.0} |",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            (after.saturating_sub(before)) as f64 * 1024.0 / n as f64
        );
        drop(s);
    }
}

/// p50, p99, max of `times` as a table row.
fn row(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "| {label} | {} | {:.3} ms | {:.3} ms | {:.3} ms |",
        times.len(),
        pct(&times, 0.5).as_secs_f64() * 1e3,
        pct(&times, 0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

/// `s` and `S` with the 20,000-file `big/` open (each press re-sorts it: the order
/// changed, so its cached order is stale), a page arriving under a sort, and the jump
/// prompt's Tab over that folder.
fn sort_and_jump() {
    println!(
        "\n## sort and jump: key press → frame (update + draw, 120×40), 100,000 files, big/ (20,000 files) open\n"
    );
    println!("| what | presses | p50 | p99 | max |");
    println!("|---|---:|---:|---:|---:|");
    let mut s = loaded_with_big_open();
    // The cursor in the middle of the folder: the re-sort keeps it on its file.
    for _ in 0..10 {
        update(&mut s, key(KeyCode::PageDown));
    }
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| ui::draw(f, &s)).expect("draw");
    let (mut small_s, mut big_s) = (Vec::new(), Vec::new());
    for i in 0..600 {
        let c = if i % 2 == 0 { 's' } else { 'S' };
        let t = Instant::now();
        update(&mut s, key(KeyCode::Char(c)));
        term.draw(|f| ui::draw(f, &s)).expect("draw");
        if c == 's' { &mut small_s } else { &mut big_s }.push(t.elapsed());
    }
    row(
        "s (next order: size, created, name) in a 20,000-file folder",
        small_s,
    );
    row(
        "S (reverse the order in force) in a 20,000-file folder",
        big_s,
    );

    // Pages of 1,000 more files arriving into big/ while it is sorted by size, and (the
    // baseline: the tree's own order needs no sort of its own) by name.
    let mut by_name = loaded_with_big_open();
    row(
        "page of 1,000 files into big/ (20,000 → 40,000) by name (baseline) → frame",
        pages_into_big(&mut by_name, &mut term),
    );
    drop(by_name);
    while s.workspaces[0].order.key != filedeck::app::sort::SortKey::Size {
        update(&mut s, key(KeyCode::Char('s')));
    }
    row(
        "page of 1,000 files into big/ (20,000 → 40,000) by size → frame",
        pages_into_big(&mut s, &mut term),
    );

    // The jump prompt: Tab over big/ (40,000 files now), ambiguous and unique.
    let mut tabs = Vec::new();
    for i in 0..100usize {
        update(&mut s, key(KeyCode::Char(':')));
        let typed = if i % 2 == 0 {
            "big/sample_000".to_string()
        } else {
            format!("big/sample_{:07}", i * 100)
        };
        for c in typed.chars() {
            update(&mut s, key(KeyCode::Char(c)));
        }
        let t = Instant::now();
        update(&mut s, key(KeyCode::Tab));
        term.draw(|f| ui::draw(f, &s)).expect("draw");
        tabs.push(t.elapsed());
        update(&mut s, key(KeyCode::Esc));
    }
    row("jump prompt Tab in a 40,000-file folder → frame", tabs);
}

/// Twenty pages of 1,000 new files into big/, each timed from arrival to frame drawn.
fn pages_into_big(s: &mut State, term: &mut Terminal<TestBackend>) -> Vec<Duration> {
    let mut times = Vec::new();
    for p in 0..20usize {
        let files = (0..1000usize)
            .map(|j| {
                let mut e = entry(200_000 + p * 1000 + j);
                e.key = format!("big/late_{p:02}_{j:04}.fastq.gz");
                e.name = format!("late_{p:02}_{j:04}.fastq.gz");
                e.path = "big/".into();
                e
            })
            .collect();
        let t = Instant::now();
        update(
            s,
            Msg::Worker(Event::ListPage {
                req: 1,
                files,
                done: true,
                maybe_incomplete: false,
            }),
        );
        term.draw(|f| ui::draw(f, s)).expect("draw");
        times.push(t.elapsed());
    }
    times
}
