//! Property tests: the tree's aggregates against sums over its files, and `update` plus
//! `ui::draw` against arbitrary message sequences (neither may panic).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use filedeck::api::{FileEntry, Workspace};
use filedeck::app::msg::ConflictItem;
use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};
use filedeck::app::tree::{FileId, ROOT, Tree};
use filedeck::app::{Command, Event, Msg, State, init, update};
use filedeck::ui;
use proptest::prelude::*;
use proptest::sample::select;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Few letters, so keys collide into shared folders and repeated names; a space, a wide
/// and a combining character, since widths and sorting must cope with them.
fn segment() -> impl Strategy<Value = String> {
    prop::collection::vec(select(vec!['a', 'b', ' ', '.', 'é', '日', '\u{301}']), 1..4)
        .prop_map(String::from_iter)
}

fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..=4).prop_map(|s| s.join("/"))
}

fn file_entry() -> impl Strategy<Value = FileEntry> {
    // Sizes stay far below u64::MAX: the tree saturates its sums, which removal cannot
    // undo, and that is out of scope here.
    (
        key(),
        prop::option::of(0u64..1 << 40),
        prop::option::of(select(vec![
            "2026-01-01T00:00:00Z",
            "2026-06-01T12:00:00Z",
            "not a date",
        ])),
    )
        .prop_map(|(key, size, created)| {
            FileEntry {
                key,
                name: String::new(),
                path: String::new(),
                size,
                description: None,
                content_type: Some("text/plain".into()),
                created_at: created.map(str::to_string),
                sha256: None,
                etag: None,
            }
            .normalise()
        })
}

/// Walks the tree from the root and checks every folder's aggregates against the files
/// actually under it; returns the display key of every file listed.
fn walk(tree: &Tree) -> Result<Vec<String>, TestCaseError> {
    let mut keys = Vec::new();
    let mut seen_folders = std::collections::HashSet::new();
    // Post-order by hand: (folder, children done).
    let mut stack = vec![(ROOT, false)];
    let mut sums: std::collections::HashMap<u32, (u64, u64, u64)> = Default::default();
    while let Some((id, done)) = stack.pop() {
        let f = &tree.folders[id as usize];
        if !done {
            prop_assert!(seen_folders.insert(id), "folder {id} listed twice");
            stack.push((id, true));
            for &sub in &f.subfolders {
                prop_assert_eq!(tree.folders[sub as usize].parent, id);
                stack.push((sub, false));
            }
            continue;
        }
        let (mut count, mut bytes, mut unknown) = (0u64, 0u64, 0u64);
        for &fid in &f.files {
            let file = &tree.files[fid as usize];
            prop_assert!(!file.deleted, "a removed file is still listed");
            prop_assert_eq!(file.folder, id);
            keys.push(tree.display_key(fid));
            count += 1;
            match file.size() {
                Some(s) => bytes += s,
                None => unknown += 1,
            }
        }
        for sub in &f.subfolders {
            let (c, b, u) = sums[sub];
            count += c;
            bytes += b;
            unknown += u;
        }
        let path = tree.folder_path(id);
        prop_assert_eq!(
            (f.count, f.bytes, f.unknown_sizes),
            (count, bytes, unknown),
            "aggregates of {:?}",
            path
        );
        if id != ROOT {
            prop_assert!(count > 0, "empty folder {:?} kept", path);
            prop_assert_eq!(tree.folder_by_path(&path), Some(id));
        }
        sums.insert(id, (count, bytes, unknown));
    }
    Ok(keys)
}

fn sorted_keys<'a>(entries: impl IntoIterator<Item = &'a FileEntry>) -> Vec<String> {
    let mut v: Vec<String> = entries.into_iter().map(FileEntry::display_key).collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// `add` keeps a repeated key as a second file (it does not deduplicate), so the
    /// expected listing is the input as a multiset.
    #[test]
    fn tree_lists_every_file_once_and_sums_match(
        first in prop::collection::vec(file_entry(), 0..40),
        page_len in 1usize..10,
        drop_mask in prop::collection::vec(any::<bool>(), 40),
        second in prop::collection::vec(file_entry(), 0..20),
    ) {
        let mut tree = Tree::new();
        for page in first.chunks(page_len) {
            tree.add(page.to_vec());
        }
        let mut listed = walk(&tree)?;
        listed.sort();
        prop_assert_eq!(&listed, &sorted_keys(&first));
        let root = &tree.folders[ROOT as usize];
        prop_assert_eq!(root.count, first.len() as u64);
        prop_assert_eq!(tree.file_count(), first.len() as u64);

        // Ids are given in order of arrival, so file i is first[i].
        let gone: Vec<FileId> = (0..first.len() as FileId)
            .filter(|&i| drop_mask[i as usize])
            .collect();
        tree.remove(&gone);
        let kept: Vec<&FileEntry> = first
            .iter()
            .enumerate()
            .filter(|(i, _)| !drop_mask[*i])
            .map(|(_, e)| e)
            .collect();
        let mut listed = walk(&tree)?;
        listed.sort();
        prop_assert_eq!(&listed, &sorted_keys(kept.iter().copied()));

        // Folders pruned by the removal must come back whole.
        tree.add(second.clone());
        let mut listed = walk(&tree)?;
        listed.sort();
        prop_assert_eq!(
            listed,
            sorted_keys(kept.iter().copied().chain(second.iter()))
        );
        let root = &tree.folders[ROOT as usize];
        let total: u64 = kept.iter().copied().chain(second.iter()).filter_map(|e| e.size).sum();
        prop_assert_eq!(root.bytes, total);
    }
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(select(vec!['a', '/', ' ', 'é', '日', '\n', '\u{1b}']), 0..6)
        .prop_map(String::from_iter)
}

fn key_msg() -> impl Strategy<Value = Msg> {
    let bound = select(vec![
        KeyCode::Char('j'),
        KeyCode::Char('k'),
        KeyCode::Char('h'),
        KeyCode::Char('l'),
        KeyCode::Char('g'),
        KeyCode::Char('G'),
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Char(' '),
        KeyCode::Char('x'),
        KeyCode::Char('d'),
        KeyCode::Char('u'),
        KeyCode::Char('r'),
        KeyCode::Char('c'),
        KeyCode::Char('C'),
        KeyCode::Char('R'),
        KeyCode::Char('X'),
        KeyCode::Char('q'),
        KeyCode::Char('?'),
        KeyCode::Char('i'),
        KeyCode::Char('y'),
        KeyCode::Char('n'),
        KeyCode::Char('o'),
        KeyCode::Char('s'),
        KeyCode::Char('S'),
        KeyCode::Char(':'),
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::Backspace,
        KeyCode::Delete,
        // Answers to dialogs, more often: a dialog takes every key until answered.
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Char('y'),
        KeyCode::Char('n'),
        KeyCode::Char('s'),
    ]);
    // Typed into prompts: slashes, a wide character, a control character.
    let typed = select(vec!['a', '/', '.', '日', '\u{7}']).prop_map(KeyCode::Char);
    let mods = select(vec![
        KeyModifiers::NONE,
        KeyModifiers::NONE,
        KeyModifiers::NONE,
        KeyModifiers::SHIFT,
        KeyModifiers::CONTROL,
    ]);
    (prop_oneof![4 => bound, 1 => typed], mods)
        .prop_map(|(code, mods)| Msg::Key(KeyEvent::new(code, mods)))
}

fn transfer_state() -> impl Strategy<Value = TransferState> {
    prop_oneof![
        Just(TransferState::Queued),
        Just(TransferState::Running),
        (0u32..4, 0u32..4).prop_map(|(n, of)| TransferState::Retrying { n, of }),
        Just(TransferState::Verifying),
        Just(TransferState::Done),
        text().prop_map(TransferState::Failed),
        Just(TransferState::Cancelled),
        text().prop_map(TransferState::Skipped),
    ]
}

fn transfer_info() -> impl Strategy<Value = TransferInfo> {
    (
        any::<bool>(),
        select(vec!["ws1", "ws2", "other"]),
        prop_oneof![key(), Just(String::new())],
        text(),
        prop::option::of(0u64..1 << 40),
    )
        .prop_map(|(up, ws, remote, local, size)| TransferInfo {
            dir: if up { Direction::Up } else { Direction::Down },
            ws: ws.into(),
            remote,
            local,
            size,
        })
}

fn conflict_item() -> impl Strategy<Value = ConflictItem> {
    (
        key(),
        prop::option::of(0u64..1000),
        prop::option::of(0u64..1000),
        any::<bool>(),
        prop::option::of(text()),
    )
        .prop_map(
            |(existing, existing_size, new_size, upload, note)| ConflictItem {
                existing,
                existing_size,
                new_size,
                upload,
                note,
            },
        )
}

fn result_text() -> impl Strategy<Value = Result<(), String>> {
    prop_oneof![Just(Ok(())), text().prop_map(Err)]
}

fn worker_event() -> impl Strategy<Value = Event> {
    let req = 0u64..6;
    let tid = 0u64..11;
    // Events that open a dialog (conflicts, resume) are rare: a dialog takes every key
    // until answered, and a run spent in dialogs reaches little else.
    prop_oneof![
        8 => (req.clone(), prop::collection::vec(file_entry(), 0..8), any::<bool>(), any::<bool>())
            .prop_map(|(req, files, done, maybe_incomplete)| Event::ListPage {
                req,
                files,
                done,
                maybe_incomplete,
            }),
        2 => (req.clone(), text()).prop_map(|(req, error)| Event::ListFailed { req, error }),
        1 => (
            req.clone(),
            prop_oneof![
                Just(Ok(None)),
                prop::collection::vec(segment(), 0..3).prop_map(|ids| Ok(Some(
                    ids.into_iter()
                        .map(|id| Workspace { id, name: None })
                        .collect()
                ))),
                text().prop_map(Err),
            ]
        )
            .prop_map(|(req, result)| Event::Workspaces { req, result }),
        1 => (req.clone(), prop::collection::vec(result_text(), 0..4))
            .prop_map(|(req, results)| Event::Deleted { req, results }),
        6 => (tid.clone(), transfer_info()).prop_map(|(id, info)| Event::TransferAdded { id, info }),
        6 => (tid.clone(), transfer_state())
            .prop_map(|(id, state)| Event::TransferState { id, state }),
        1 => (select(vec!["ws1", "ws2"]), file_entry())
            .prop_map(|(ws, entry)| Event::Uploaded { ws: ws.into(), entry }),
        4 => (any::<u64>(), prop::collection::vec((tid.clone(), any::<u64>()), 0..4))
            .prop_map(|(at_ms, samples)| Event::TransferProgress { at_ms, samples }),
        1 => (0u64..3, prop::collection::vec(conflict_item(), 0..4))
            .prop_map(|(batch, items)| Event::Conflicts { batch, items }),
        1 => (0usize..5, any::<u64>()).prop_map(|(count, bytes)| Event::ResumeOffer { count, bytes }),
        1 => (req, text(), prop::collection::vec(text(), 0..3)).prop_map(
            |(req, text, candidates)| Event::Completed { req, text, candidates }
        ),
        1 => text().prop_map(Event::TransferProblem),
        1 => (tid, text()).prop_map(|(id, note)| Event::TransferNote { id, note }),
        1 => prop::collection::vec(conflict_item(), 0..3).prop_map(Event::ConflictsRefused),
        1 => Just(Event::TransfersIdle),
        1 => result_text().prop_map(Event::QueueClaimed),
    ]
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        6 => key_msg(),
        1 => text().prop_map(Msg::Paste),
        1 => (1u16..=200, 1u16..=80).prop_map(|(w, h)| Msg::Resize(w, h)),
        1 => Just(Msg::Tick),
        5 => worker_event().prop_map(Msg::Worker),
    ]
}

fn draw(state: &State) -> Result<(), TestCaseError> {
    let backend = TestBackend::new(state.width, state.height);
    let mut term = Terminal::new(backend).map_err(|e| TestCaseError::fail(e.to_string()))?;
    term.draw(|f| ui::draw(f, state))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(())
}

/// One step of a run: a message made up in advance, or an answer to one of the commands
/// `update` has given so far (as the worker would send), since made-up request ids
/// rarely match the ones a deep path (list, select, delete, confirm) waits for.
#[derive(Debug, Clone)]
enum Step {
    Msg(Msg),
    Reply {
        pick: prop::sample::Index,
        files: Vec<FileEntry>,
        done: bool,
        ok: Vec<bool>,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => msg().prop_map(Step::Msg),
        1 => (
            any::<prop::sample::Index>(),
            prop::collection::vec(file_entry(), 0..8),
            any::<bool>(),
            prop::collection::vec(any::<bool>(), 0..8),
        )
            .prop_map(|(pick, files, done, ok)| Step::Reply { pick, files, done, ok }),
    ]
}

/// The worker's answer to `cmd`, when it has one that carries a request id.
fn reply(cmd: &Command, files: Vec<FileEntry>, done: bool, ok: &[bool]) -> Option<Event> {
    Some(match cmd {
        Command::List { req, .. } => Event::ListPage {
            req: *req,
            files,
            done,
            maybe_incomplete: false,
        },
        Command::ListWorkspaces { req } => Event::Workspaces {
            req: *req,
            result: Ok(Some(vec![Workspace {
                id: "ws1".into(),
                name: None,
            }])),
        },
        Command::Delete { req, keys, .. } => Event::Deleted {
            req: *req,
            results: (0..keys.len())
                .map(|i| {
                    if ok.get(i).copied().unwrap_or(true) {
                        Ok(())
                    } else {
                        Err("refused".into())
                    }
                })
                .collect(),
        },
        Command::Complete { req, text } => Event::Completed {
            req: *req,
            text: format!("{text}a/"),
            candidates: Vec::new(),
        },
        _ => return None,
    })
}

proptest! {
    // Each case draws after every step: kept modest so the file runs in seconds.
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Also checks, after every step, that each workspace's tree still adds up.
    #[test]
    fn update_and_draw_never_panic(
        with_workspaces in any::<bool>(),
        size in (1u16..=200, 1u16..=80),
        steps in prop::collection::vec(step(), 0..200),
    ) {
        let ids: Vec<String> = if with_workspaces {
            vec!["ws1".into(), "ws2".into()]
        } else {
            Vec::new()
        };
        let mut state = State::new("http://files.example:8080", &ids, size.0, size.1);
        let mut given = init(&mut state);
        draw(&state)?;
        for s in steps {
            let m = match s {
                Step::Msg(m) => m,
                Step::Reply { pick, files, done, ok } => {
                    if given.is_empty() {
                        continue;
                    }
                    let cmd = &given[pick.index(given.len())];
                    match reply(cmd, files, done, &ok) {
                        Some(ev) => Msg::Worker(ev),
                        None => continue,
                    }
                }
            };
            given.extend(update(&mut state, m));
            draw(&state)?;
            // Whatever arrived, each tree's aggregates still add up.
            for w in &state.workspaces {
                walk(&w.tree)?;
            }
        }
    }
}
