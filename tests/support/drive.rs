//! Keys and listing pages into a `State` through `update`, and what the pure update and
//! render tests read back (the selection, the screen), so that those tests say what they
//! press and what they expect and nothing of how an event or a frame is built. Shared by
//! the update, filter, sort and jump, look and render tests.

use filedeck::api::FileEntry;
use filedeck::app::state::Row;
use filedeck::app::{Command, Event, Msg, State, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// `code` pressed without a modifier; the commands it asked for.
pub fn key(s: &mut State, code: KeyCode) -> Vec<Command> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ch(s: &mut State, c: char) -> Vec<Command> {
    key(s, KeyCode::Char(c))
}

/// Each of `codes` pressed in turn.
pub fn keys(s: &mut State, codes: &[KeyCode]) {
    for &code in codes {
        key(s, code);
    }
}

/// `text` typed a character at a time; every command it asked for, in order.
pub fn typed(s: &mut State, text: &str) -> Vec<Command> {
    text.chars().flat_map(|c| ch(s, c)).collect()
}

/// A page of the listing `req` asked for; `done`: its last.
pub fn page(req: u64, files: Vec<FileEntry>, done: bool) -> Msg {
    Msg::Worker(Event::ListPage {
        req,
        files,
        done,
        maybe_incomplete: false,
    })
}

/// The request id of the one listing `cmds` asks for (they must ask for nothing else).
pub fn list_req(cmds: &[Command]) -> u64 {
    match cmds {
        [Command::List { req, .. }] => *req,
        other => panic!("expected one List, got {other:?}"),
    }
}

/// The selected row as the user reads it: a workspace's id, a folder's path with its `/`,
/// a file's display path.
pub fn selected_label(s: &State) -> String {
    match s.selected_row().unwrap() {
        Row::Workspace { ws } => s.workspaces[ws].id.clone(),
        Row::Folder { ws, id } => s.workspaces[ws].tree.folder_path(id),
        Row::File { ws, id } => s.workspaces[ws].tree.display_key(id),
        Row::Status { .. } => "<status>".into(),
    }
}

/// `s` drawn once on a test terminal of its size.
pub fn drawn(s: &State) -> TestBackend {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).unwrap();
    t.draw(|f| filedeck::ui::draw(f, s)).unwrap();
    t.backend().clone()
}

/// The screen `s` draws, a quoted line per row, as the snapshots hold it.
pub fn render(s: &State) -> String {
    drawn(s).to_string()
}

/// What the filter's matcher threads would answer to these commands (the same function
/// they run), as the messages they would send.
pub fn answer(cmds: &[Command]) -> Vec<Msg> {
    use filedeck::app::corpus::{self, ChunkResult};
    let mut m = corpus::matcher();
    cmds.iter()
        .filter_map(|c| match c {
            Command::Filter {
                req,
                pattern,
                chunks,
                first,
            } if !pattern.is_empty() => {
                let p = corpus::parse(pattern);
                let results: Vec<ChunkResult> = chunks
                    .iter()
                    .enumerate()
                    .map(|(i, ch)| {
                        let (bits, n) = corpus::match_chunk(&p, ch, &mut m);
                        (first + i, bits, n)
                    })
                    .collect();
                Some(Msg::Worker(Event::Filtered { req: *req, results }))
            }
            _ => None,
        })
        .collect()
}

/// The matcher's answers to `cmds` taken, then the rows rebuilt as the loop would.
pub fn settle(s: &mut State, cmds: &[Command]) {
    for m in answer(cmds) {
        update(s, m);
    }
    filedeck::app::settle(s);
}

/// Type `text` into a new filter and let the matcher answer the last pattern.
pub fn filter(s: &mut State, text: &str) {
    key(s, KeyCode::Char('/'));
    let cmds = typed(s, text);
    settle(s, cmds.last().map(std::slice::from_ref).unwrap_or_default());
}

/// The frame's text and its buffer (to read styles back).
pub fn render_with_styles(s: &State) -> (String, ratatui::buffer::Buffer) {
    let b = drawn(s);
    (b.to_string(), b.buffer().clone())
}

/// The cells of row `y` drawn with `m`, as a string (spaces elsewhere).
pub fn with_modifier(buf: &ratatui::buffer::Buffer, y: u16, m: ratatui::style::Modifier) -> String {
    (0..buf.area.width)
        .map(|x| {
            let c = &buf[(x, y)];
            if c.modifier.contains(m) {
                c.symbol()
            } else {
                " "
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// The screen row of the first line holding `needle`.
pub fn row_of(text: &str, needle: &str) -> u16 {
    let row = text.lines().position(|l| l.contains(needle));
    let row = row.unwrap_or_else(|| panic!("{needle:?} not on screen:\n{text}"));
    u16::try_from(row).unwrap_or(u16::MAX)
}
