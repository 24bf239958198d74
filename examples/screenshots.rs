//! Screenshots of the real binary: `filedeck --demo` runs in a pty, is driven by keys,
//! and each screen is captured through vt100 and written as an SVG in `screenshots/`.
//! Run by `scripts/screenshots.sh`; nothing here is drawn by hand.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "an example stops at the first surprise"
)]

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::num::NonZero;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const COLS: u16 = 120;
const ROWS: u16 = 36;

fn main() {
    let bin = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/filedeck".into());
    let bin = std::path::absolute(bin).expect("binary path");
    let out = std::path::Path::new("screenshots");
    std::fs::create_dir_all(out).expect("screenshots/");
    let state = tempfile::tempdir().expect("state dir");
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(&bin);
    cmd.cwd(std::env::current_dir().expect("cwd"));
    cmd.arg("--demo");
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", state.path());
    let mut child = pair.slave.spawn_command(cmd).expect("spawn filedeck");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut writer = pair.master.take_writer().expect("writer");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        NonZero::new(ROWS).expect("rows"),
        NonZero::new(COLS).expect("cols"),
        0,
    )));
    let p = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            p.lock().expect("parser").process(&buf[..n]);
        }
    });
    let wait = |what: &str, cond: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = parser.lock().expect("parser").screen().contents();
            if cond(&s) {
                // Let the frame finish arriving.
                std::thread::sleep(Duration::from_millis(150));
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut send = |keys: &str| {
        writer.write_all(keys.as_bytes()).expect("write keys");
        writer.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(120));
    };
    let shot = |name: &str| {
        let svg = to_svg(parser.lock().expect("parser").screen());
        std::fs::write(out.join(format!("{name}.svg")), svg).expect("write svg");
        println!("screenshots/{name}.svg");
    };
    wait("the demo", &|s| {
        s.contains("runs/") && s.contains("1,000 files")
    });
    send("j");
    send("l");
    wait("raw/ open", &|s| s.contains("sample A.vcf"));
    shot("browse");
    send("j");
    wait("file details", &|s| {
        s.contains("Path      raw/sample A.vcf")
    });
    shot("file-details");
    send("k");
    send("k");
    send("k"); // runs/ is below: go to it from the top
    for _ in 0..5 {
        send("j");
    }
    wait("a folder selected", &|s| s.contains("Folder    "));
    shot("folder-details");
    send("x");
    wait("the delete dialog", &|s| s.contains("Confirm delete"));
    shot("delete-dialog");
    send("n");
    send("?");
    wait("help", &|s| {
        s.contains("Keys") && s.contains("quit at once")
    });
    shot("help");
    send("\x1b");
    // The filter, kept: matches and the folders holding them, matched letters marked.
    send("/");
    send("sample vcf");
    send("\r");
    send("n");
    wait("the filter kept", &|s| {
        s.contains("filter on: /sample vcf")
            && !s.contains("… of")
            && s.contains("Path      raw/sample")
    });
    shot("filter");
    send("\x1b");
    // A jump to the gzipped VCF (in the cursor's workspace: the top one), and its
    // preview in the details pane.
    send("g");
    send(":");
    send("raw/sample_B.vcf.gz");
    send("\r");
    send("p");
    wait("the preview", &|s| {
        s.contains("VCF header") && s.contains("fetched")
    });
    shot("preview");
    send("p");
    std::thread::sleep(Duration::from_millis(100));
    // A batch of uploads, to show the transfers pane.
    let local = tempfile::tempdir().expect("local dir");
    let run = local.path().join("run8");
    std::fs::create_dir_all(run.join("lane1")).expect("mkdir");
    for i in 1..=4u8 {
        std::fs::write(
            run.join("lane1").join(format!("reads_{i}.fastq")),
            vec![b'A'; 200_000 * i as usize],
        )
        .expect("write");
    }
    std::fs::write(run.join("samplesheet.csv"), "sample,lane\nNA12878,1\n").expect("write");
    send("g");
    send("j"); // raw/
    send("u");
    wait("the upload prompt", &|s| s.contains("Local file or folder"));
    send(&run.display().to_string());
    send("\r");
    wait("the uploads", &|s| s.contains(" 5 done"));
    send("\t");
    send("\t");
    send("k");
    wait("a transfer selected", &|s| s.contains("Transfer  upload"));
    shot("transfers");
    send("q");
    let _ = child.wait();
}

fn color(c: vt100::Color, fg: bool) -> Option<String> {
    const PALETTE: [&str; 16] = [
        "#1e1e1e", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#cccccc",
        "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
    ];
    match c {
        vt100::Color::Default => fg.then(|| "#d4d4d4".to_string()),
        vt100::Color::Idx(i) if (i as usize) < 16 => Some(PALETTE[i as usize].to_string()),
        vt100::Color::Idx(i) => Some(format!(
            "#{0:02x}{0:02x}{0:02x}",
            8 + (i.saturating_sub(232) as u32) * 10
        )),
        vt100::Color::Rgb(r, g, b) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn to_svg(screen: &vt100::Screen) -> String {
    let (cw, ch) = (8.4_f32, 18.0_f32);
    let (w, h) = (cw * COLS as f32 + 16.0, ch * ROWS as f32 + 16.0);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><rect width="100%" height="100%" rx="6" fill="#1e1e1e"/><g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" xml:space="preserve">"##
    );
    for row in 0..ROWS {
        let y = 8.0 + ch * row as f32;
        let mut col = 0;
        while col < COLS {
            let Some(cell) = screen.cell(row, col) else {
                break;
            };
            let (fg, bg, bold) = (cell.fgcolor(), cell.bgcolor(), cell.bold());
            let start = col;
            let mut text = String::new();
            while col < COLS {
                let Some(c) = screen.cell(row, col) else {
                    break;
                };
                if c.fgcolor() != fg || c.bgcolor() != bg || c.bold() != bold {
                    break;
                }
                let t = c.contents();
                text.push_str(if t.is_empty() { " " } else { t });
                col += 1;
            }
            let x = 8.0 + cw * start as f32;
            if let Some(b) = color(bg, false) {
                let _ = write!(
                    svg,
                    r#"<rect x="{x}" y="{y}" width="{}" height="{ch}" fill="{b}"/>"#,
                    cw * (col - start) as f32
                );
            }
            if !text.trim().is_empty() {
                let _ = write!(
                    svg,
                    r#"<text x="{x}" y="{}" fill="{}"{} textLength="{}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
                    y + 14.0,
                    color(fg, true).unwrap_or_default(),
                    if bold { r#" font-weight="bold""# } else { "" },
                    cw * text.chars().count() as f32,
                    esc(&text)
                );
            }
        }
        svg.push('\n');
    }
    svg.push_str("</g></svg>\n");
    svg
}
