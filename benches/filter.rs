//! The live filter over 1,000,000 files: key press → frame with the real matcher threads
//! running (update + draw on TestBackend), the time until the complete match set is on
//! screen after the last key, the arena's build on `/`, and the filter's memory (RSS with
//! it open minus RSS before). `cargo bench --bench filter` prints tables; nothing here
//! asserts a time.
//!
//! The files: `projects/proj_PP/seq_run/batch_BBB/sample_IIIIIII_laneL_RN.fastq.gz`-like keys,
//! 1,000 per folder, a mean display path of ~70 bytes, and 1 % of the names non-ASCII
//! (`échantillon_…µ…`).
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
use filedeck::app::{Command, Event, Msg, State, init, settle, update};
use filedeck::ui;
use filedeck::worker::filter::Matchers;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc;

#[path = "support/filter_paths.rs"]
mod filter_paths;
#[path = "support/measure.rs"]
mod measure;

use filter_paths::filter_path;
use measure::{pct, rss_kib};

fn entry(i: usize) -> FileEntry {
    let (folder, name) = filter_path(i);
    FileEntry {
        key: format!("{folder}{name}"),
        name,
        path: folder,
        size: Some(1_000_000 + i as u64 * 7),
        description: None,
        content_type: None,
        created_at: Some("2026-11-01T10:00:00Z".into()),
        sha256: None,
        etag: None,
    }
}

fn loaded(files: usize, w: u16, h: u16) -> (State, u64) {
    let mut s = State::new("http://127.0.0.1:8080", &["ws_bench".into()], w, h);
    init(&mut s);
    let mut path_bytes = 0u64;
    for start in (0..files).step_by(10_000) {
        let page: Vec<_> = (start..files.min(start + 10_000)).map(entry).collect();
        path_bytes += page.iter().map(|e| e.key.len() as u64).sum::<u64>();
        update(
            &mut s,
            Msg::Worker(Event::ListPage {
                req: 1,
                files: page,
                done: start + 10_000 >= files,
                maybe_incomplete: false,
            }),
        );
    }
    (s, path_bytes)
}

fn key(c: char) -> Msg {
    let code = match c {
        '\u{8}' => KeyCode::Backspace,
        '\n' => KeyCode::Enter,
        '\u{1b}' => KeyCode::Esc,
        c => KeyCode::Char(c),
    };
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

struct Rig {
    s: State,
    term: Terminal<TestBackend>,
    matchers: Matchers,
    rx: mpsc::UnboundedReceiver<Event>,
    last_settle: Instant,
}

impl Rig {
    fn send(&mut self, cmds: Vec<Command>) {
        for c in cmds {
            if let Command::Filter {
                req,
                pattern,
                chunks,
                first,
            } = c
            {
                self.matchers.submit(req, &pattern, chunks, first);
            }
        }
    }

    /// A key, as the runtime handles it: update, commands out, settle, frame.
    fn key(&mut self, c: char) -> Duration {
        let t = Instant::now();
        let cmds = update(&mut self.s, key(c));
        self.send(cmds);
        self.settle();
        if std::mem::take(&mut self.s.dirty) {
            self.term.draw(|f| ui::draw(f, &self.s)).expect("draw");
        }
        t.elapsed()
    }

    /// The matcher's events waiting now, as the runtime drains them: one settle and one
    /// frame for the batch. The time it took, if there were any.
    fn drain(&mut self) -> Option<Duration> {
        let t = Instant::now();
        let mut any = false;
        while let Ok(ev) = self.rx.try_recv() {
            any = true;
            let cmds = update(&mut self.s, Msg::Worker(ev));
            self.send(cmds);
        }
        // As the runtime: an idle turn of the loop builds the next chunk of the store.
        if !any && self.s.stepping() {
            any = true;
            let cmds = update(&mut self.s, Msg::Continue);
            self.send(cmds);
        }
        if !any {
            return None;
        }
        self.settle();
        if std::mem::take(&mut self.s.dirty) {
            self.term.draw(|f| ui::draw(f, &self.s)).expect("draw");
        }
        Some(t.elapsed())
    }

    /// Handle results for `for_` (as a user typing at that pace leaves the loop free).
    fn run_for(&mut self, for_: Duration, frames: &mut Vec<Duration>) {
        let end = Instant::now() + for_;
        while Instant::now() < end {
            match self.drain() {
                Some(d) => frames.push(d),
                None => std::thread::sleep(Duration::from_micros(200)),
            }
        }
    }

    /// As the runtime: partial results rebuild the rows at most every 50 ms.
    fn settle(&mut self) {
        if self.s.filter.as_ref().is_none_or(|f| f.done())
            || self.last_settle.elapsed() >= Duration::from_millis(50)
        {
            settle(&mut self.s);
            self.last_settle = Instant::now();
        }
    }

    fn done(&self) -> bool {
        self.s.filter.as_ref().is_none_or(|f| f.done())
    }
}

fn main() {
    let n: usize = std::env::var("FILTER_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (s, path_bytes) = loaded(n, 120, 40);
    let non_ascii = (0..n).filter(|i| i % 100 == 7).count();
    println!(
        "## {} files: mean display path {:.1} bytes, {:.1} % non-ASCII, {} CPUs\n",
        n,
        path_bytes as f64 / n as f64,
        non_ascii as f64 * 100.0 / n as f64,
        std::thread::available_parallelism().map_or(0, |p| p.get())
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    term.draw(|f| ui::draw(f, &s)).expect("draw");
    let mut rig = Rig {
        s,
        term,
        matchers: Matchers::new(tx),
        rx,
        last_settle: Instant::now(),
    };
    // Memory: the baseline is the loaded tree with no filter.
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    let before = rss_kib();
    let open = rig.key('/');
    let t = Instant::now();
    let mut steps = Vec::new();
    while rig.s.stepping() {
        if let Some(d) = rig.drain() {
            steps.push(d);
        }
    }
    let built = t.elapsed();
    steps.sort();
    println!("| what | value |\n|---|---:|");
    println!(
        "| `/` → frame (the first chunk of the store) | {} |",
        ms(open)
    );
    println!(
        "| each further chunk ({} files) → frame: p50 / max, over {} | {} / {} |",
        filedeck::app::corpus::CHUNK_FILES,
        steps.len(),
        steps.first().map_or("-".into(), |_| ms(pct(&steps, 0.5))),
        steps.last().map_or("-".into(), |d| ms(*d))
    );
    println!(
        "| the whole store of {n} paths built, after `/` | {} |",
        ms(built)
    );

    println!("\n## typing patterns (a key every 80 ms, results handled between keys)\n");
    println!(
        "| pattern | keys | key → frame p50 | p99 | max | results → frame p50 | p99 | max | last key → complete set on screen | matches |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut all_keys = Vec::new();
    let mut peak_rss = 0;
    for pattern in [
        "s42R1",
        "'lane3 R2 crai$",
        "!fastq ^projects/proj_0",
        "échµ",
        "sample",
        "zzzzqx",
    ] {
        let mut keys = Vec::new();
        let mut frames = Vec::new();
        for c in pattern.chars() {
            keys.push(rig.key(c));
            rig.run_for(Duration::from_millis(80), &mut frames);
        }
        // Until every chunk has answered the last pattern and the frame shows it.
        while !rig.done() {
            if rig.drain().is_none() {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let matches = rig.s.filter.as_ref().map_or(0, |f| f.matches);
        peak_rss = peak_rss.max(rss_kib());
        keys.sort();
        frames.sort();
        all_keys.extend(keys.iter().copied());
        let fr = |p| frames.first().map_or("-".into(), |_| ms(pct(&frames, p)));
        // Complete set: retype the last key alone and time until done (the pause above
        // hides it).
        rig.key('\u{8}');
        while !rig.done() {
            if rig.drain().is_none() {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        let t = Instant::now();
        rig.key(pattern.chars().last().unwrap());
        while !rig.done() {
            if rig.drain().is_none() {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        let complete = t.elapsed();
        println!(
            "| `{pattern}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            keys.len(),
            ms(pct(&keys, 0.5)),
            ms(pct(&keys, 0.99)),
            ms(keys[keys.len() - 1]),
            fr(0.5),
            fr(0.99),
            frames.last().map_or("-".into(), |d| ms(*d)),
            ms(complete),
            matches
        );
        // Clear the input for the next pattern.
        for _ in 0..pattern.chars().count() {
            rig.key('\u{8}');
        }
        while rig.drain().is_some() {}
    }
    all_keys.sort();
    println!(
        "\n| all keys typed | {} | p50 {} | p99 {} | max {} |",
        all_keys.len(),
        ms(pct(&all_keys, 0.5)),
        ms(pct(&all_keys, 0.99)),
        ms(all_keys[all_keys.len() - 1])
    );

    // Burst: a pattern typed with no pause (a paste-speed typist): keys queue behind nothing.
    let mut burst = Vec::new();
    for _ in 0..20 {
        for c in "s42R1".chars() {
            burst.push(rig.key(c));
            rig.drain();
        }
        for _ in 0..5 {
            burst.push(rig.key('\u{8}'));
            rig.drain();
        }
    }
    burst.sort();
    println!(
        "| keys typed in a burst (results drained between) | {} | p50 {} | p99 {} | max {} |",
        burst.len(),
        ms(pct(&burst, 0.5)),
        ms(pct(&burst, 0.99)),
        ms(burst[burst.len() - 1])
    );

    let held = rig.s.filter.as_ref().map_or(0, |f| f.bytes());
    let after = rss_kib().max(peak_rss);
    let budget = path_bytes + 48 * n as u64;
    println!("\n## the filter's memory\n");
    println!("| what | bytes |\n|---|---:|");
    println!("| path bytes (sum of display paths) | {path_bytes} |");
    println!("| budget: path bytes + 48 B × files | {budget} |");
    println!("| arena + offsets + result bits, as held | {held} |");
    println!(
        "| RSS with the filter open (peak over the patterns) − RSS before `/` | {} |",
        (after.saturating_sub(before)) * 1024
    );
    println!(
        "| per file beyond its path bytes | {:.1} |",
        ((after.saturating_sub(before)) * 1024) as f64 / n as f64 - path_bytes as f64 / n as f64
    );
}
