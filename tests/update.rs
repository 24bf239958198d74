//! Pure update tests: messages in, commands and state out. No terminal, no network.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use filedeck::app::state::{Dialog, Row};
use filedeck::app::{Command, Event, Msg, State, init, update};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[path = "support/drive.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod drive;
use drive::{ch, key, list_req, selected_label, typed};
#[path = "support/entries.rs"]
#[allow(dead_code, reason = "each test crate uses a part of it")]
mod entries;
use entries::entry;

fn page(req: u64, keys: &[(&str, u64)], done: bool) -> Msg {
    drive::page(req, keys.iter().map(|(k, s)| entry(k, *s)).collect(), done)
}

/// A state with ws1 listed: raw/{a,b}.vcf, raw/run1/x.fq, top.txt.
fn listed() -> State {
    let mut s = State::new("http://files.example:8080", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    update(
        &mut s,
        page(req, &[("raw/a.vcf", 10), ("raw/b.vcf", 20)], false),
    );
    update(
        &mut s,
        page(req, &[("raw/run1/x.fq", 300), ("top.txt", 1)], true),
    );
    s
}

#[test]
fn starts_by_listing_the_given_workspace() {
    let mut s = State::new("http://h", &["ws1".into(), "ws2".into()], 80, 24);
    let cmds = init(&mut s);
    assert_eq!(
        cmds,
        vec![Command::List {
            req: 1,
            ws: "ws1".into(),
            prefix: String::new()
        }]
    );
    assert!(s.workspaces[0].expanded && !s.workspaces[1].expanded);
    // The first page is on screen at once, counts partial until the last page.
    update(&mut s, page(1, &[("raw/a.vcf", 10)], false));
    assert_eq!(s.workspaces[0].tree.file_count(), 1);
    assert!(s.workspaces[0].partial());
    update(&mut s, page(1, &[("raw/b.vcf", 10)], true));
    assert!(!s.workspaces[0].partial());
}

#[test]
fn without_workspaces_asks_the_server_then_prompts() {
    let mut s = State::new("http://h", &[], 80, 24);
    let cmds = init(&mut s);
    assert_eq!(cmds, vec![Command::ListWorkspaces { req: 1 }]);
    let cmds = update(
        &mut s,
        Msg::Worker(Event::Workspaces {
            req: 1,
            result: Ok(None),
        }),
    );
    assert!(cmds.is_empty());
    assert!(matches!(s.dialog, Some(Dialog::WorkspacePrompt(_))));
    typed(&mut s, "ws_x");
    let cmds = key(&mut s, KeyCode::Enter);
    assert_eq!(
        cmds,
        vec![Command::List {
            req: 2,
            ws: "ws_x".into(),
            prefix: String::new()
        }]
    );
    assert!(s.dialog.is_none());
}

#[test]
fn server_workspaces_are_listed_and_the_first_opened() {
    let mut s = State::new("http://h", &[], 80, 24);
    init(&mut s);
    let ws = vec![
        filedeck::api::Workspace {
            id: "a".into(),
            name: Some("Alpha".into()),
        },
        filedeck::api::Workspace {
            id: "b".into(),
            name: None,
        },
    ];
    let cmds = update(
        &mut s,
        Msg::Worker(Event::Workspaces {
            req: 1,
            result: Ok(Some(ws)),
        }),
    );
    assert_eq!(list_req(&cmds), 2);
    assert_eq!(s.workspaces.len(), 2);
}

#[test]
fn navigation_expand_collapse() {
    let mut s = listed();
    // Rows: ws1, raw/, top.txt
    assert_eq!(s.rows.len(), 3);
    assert_eq!(selected_label(&s), "ws1");
    ch(&mut s, 'j');
    assert_eq!(selected_label(&s), "raw/");
    key(&mut s, KeyCode::Right);
    // ws1, raw/, run1/, a.vcf, b.vcf, top.txt — folders before files
    let labels: Vec<_> = (0..s.rows.len())
        .map(|i| {
            s.selected = i;
            selected_label(&s)
        })
        .collect();
    assert_eq!(
        labels,
        [
            "ws1",
            "raw/",
            "raw/run1/",
            "raw/a.vcf",
            "raw/b.vcf",
            "top.txt"
        ]
    );
    s.selected = 1;
    // → on an open folder moves into it.
    key(&mut s, KeyCode::Right);
    assert_eq!(selected_label(&s), "raw/run1/");
    // ← on a closed folder goes to its parent; on an open one collapses it.
    ch(&mut s, 'h');
    assert_eq!(selected_label(&s), "raw/");
    ch(&mut s, 'h');
    assert_eq!(s.rows.len(), 3);
    ch(&mut s, 'G');
    assert_eq!(selected_label(&s), "top.txt");
    ch(&mut s, 'g');
    assert_eq!(selected_label(&s), "ws1");
    ch(&mut s, 'k');
    assert_eq!(s.selected, 0, "clamped at the top");
    key(&mut s, KeyCode::Left);
    assert_eq!(s.rows.len(), 1, "workspace collapsed");
}

#[test]
fn paging_scrolls_the_viewport() {
    let mut s = State::new("http://h", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    let files: Vec<(String, u64)> = (0..500).map(|i| (format!("f{i:04}"), 1)).collect();
    let refs: Vec<(&str, u64)> = files.iter().map(|(k, s)| (k.as_str(), *s)).collect();
    update(&mut s, page(req, &refs, true));
    let vp = s.viewport();
    assert_eq!(vp, 20);
    key(&mut s, KeyCode::PageDown);
    assert_eq!(s.selected, vp - 1);
    key(&mut s, KeyCode::PageDown);
    assert!(s.selected >= s.offset && s.selected < s.offset + vp);
    key(&mut s, KeyCode::End);
    assert_eq!(s.selected, 500);
    assert_eq!(s.offset, 501 - vp);
    // Resizing keeps the selection visible.
    update(&mut s, Msg::Resize(80, 10));
    assert!(s.selected < s.offset + s.viewport());
}

#[test]
fn stale_results_are_dropped() {
    let mut s = listed();
    s.selected = 0;
    // Refresh the workspace: a new listing; pages of the old one must be ignored.
    let new_req = list_req(&ch(&mut s, 'r'));
    assert_ne!(new_req, 1);
    update(&mut s, page(1, &[("stale/old.txt", 5)], true));
    assert_eq!(
        s.workspaces[0].tree.file_count(),
        0,
        "the old listing's page was dropped"
    );
    update(&mut s, page(new_req, &[("fresh.txt", 5)], true));
    assert_eq!(s.workspaces[0].tree.file_count(), 1);
    // A failure of a superseded request is dropped too: no error shown.
    update(
        &mut s,
        Msg::Worker(Event::ListFailed {
            req: 1,
            error: "boom".into(),
        }),
    );
    assert!(s.last_error.is_none());
}

#[test]
fn folder_refresh_replaces_only_that_folder() {
    let mut s = listed();
    ch(&mut s, 'j'); // raw/
    let cmds = ch(&mut s, 'r');
    let req = match &cmds[..] {
        [Command::List { req, prefix, .. }] => {
            assert_eq!(prefix, "raw/");
            *req
        }
        other => panic!("{other:?}"),
    };
    assert!(s.workspaces[0].partial());
    update(&mut s, page(req, &[("raw/c.vcf", 7)], true));
    let t = &s.workspaces[0].tree;
    assert_eq!(t.file_count(), 2, "raw/ now holds only c.vcf; top.txt kept");
    assert_eq!(
        t.folders[t.folder_by_path("raw/").unwrap() as usize].bytes,
        7
    );
    assert!(!s.workspaces[0].partial());
}

#[test]
fn delete_flow_confirm_and_cancel() {
    let mut s = listed();
    ch(&mut s, 'j'); // raw/
    // Cancel with n: nothing sent.
    assert!(ch(&mut s, 'x').is_empty());
    match &s.dialog {
        Some(Dialog::ConfirmDelete(c)) => {
            assert_eq!(c.files.len(), 3);
            assert_eq!(c.bytes, 330);
            assert!(c.label.contains("raw/"));
        }
        other => panic!("{other:?}"),
    }
    assert!(ch(&mut s, 'n').is_empty());
    assert!(s.dialog.is_none());
    // Esc cancels too.
    key(&mut s, KeyCode::Delete);
    assert!(key(&mut s, KeyCode::Esc).is_empty());
    // Confirm with y: one Delete with every key under the folder.
    ch(&mut s, 'x');
    let cmds = ch(&mut s, 'y');
    let (req, keys) = match &cmds[..] {
        [Command::Delete { req, ws, keys }] => {
            assert_eq!(ws, "ws1");
            (*req, keys.clone())
        }
        other => panic!("{other:?}"),
    };
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, ["raw/a.vcf", "raw/b.vcf", "raw/run1/x.fq"]);
    update(
        &mut s,
        Msg::Worker(Event::Deleted {
            req,
            results: vec![Ok(()); 3],
        }),
    );
    assert_eq!(s.workspaces[0].tree.file_count(), 1);
    assert_eq!(s.rows.len(), 2, "raw/ is gone: ws1, top.txt");
    assert!(s.last_error.is_none());
}

#[test]
fn delete_reports_partial_failure_per_file() {
    let mut s = listed();
    ch(&mut s, 'j');
    ch(&mut s, 'x');
    let cmds = key(&mut s, KeyCode::Enter);
    let Command::Delete { req, keys, .. } = &cmds[0] else {
        panic!()
    };
    let results: Vec<_> = keys
        .iter()
        .map(|k| {
            if k.ends_with("b.vcf") {
                Err("access denied (403): nope".to_string())
            } else {
                Ok(())
            }
        })
        .collect();
    update(&mut s, Msg::Worker(Event::Deleted { req: *req, results }));
    let t = &s.workspaces[0].tree;
    assert_eq!(t.file_count(), 2, "b.vcf and top.txt remain");
    let err = s.last_error.clone().unwrap();
    assert!(err.contains("Deleted 2 of 3 files; 1 failed"), "{err}");
    assert!(err.contains("raw/b.vcf: access denied"), "{err}");
    assert!(s.notice.is_some());
    // The app keeps running; any key dismisses the notification.
    ch(&mut s, 'j');
    assert!(s.notice.is_none());
}

#[test]
fn folder_delete_refused_while_listing_or_incomplete() {
    let mut s = State::new("http://h", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    update(&mut s, page(req, &[("raw/a.vcf", 10)], false));
    ch(&mut s, 'j');
    assert!(ch(&mut s, 'x').is_empty());
    assert!(s.dialog.is_none());
    assert!(
        s.last_error
            .as_deref()
            .unwrap()
            .contains("still being listed")
    );
    // A full page without a cursor: maybe incomplete, folder actions refused.
    update(
        &mut s,
        Msg::Worker(Event::ListPage {
            req,
            files: vec![entry("raw/b.vcf", 1)],
            done: true,
            maybe_incomplete: true,
        }),
    );
    assert!(ch(&mut s, 'x').is_empty());
    assert!(
        s.last_error
            .as_deref()
            .unwrap()
            .contains("may be incomplete")
    );
    // A single file can still be deleted.
    key(&mut s, KeyCode::Right);
    ch(&mut s, 'j');
    ch(&mut s, 'x');
    assert!(matches!(s.dialog, Some(Dialog::ConfirmDelete(_))));
}

#[test]
fn listing_error_is_a_notification_and_the_app_keeps_running() {
    let mut s = State::new("http://h", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    update(
        &mut s,
        Msg::Worker(Event::ListFailed {
            req,
            error: "server error 500: boom".into(),
        }),
    );
    assert!(s.last_error.as_deref().unwrap().contains("boom"));
    assert!(!s.quit);
    // r retries the listing.
    let cmds = ch(&mut s, 'r');
    assert!(matches!(cmds[..], [Command::List { .. }]));
}

#[test]
fn help_quit_and_ctrl_c() {
    let mut s = listed();
    ch(&mut s, '?');
    assert!(matches!(s.dialog, Some(Dialog::Help)));
    ch(&mut s, 'q');
    assert!(s.dialog.is_none() && !s.quit, "q closes help first");
    ch(&mut s, 'q');
    assert!(s.quit);
    let mut s = listed();
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(s.quit);
}

#[test]
fn idle_ticks_do_not_redraw() {
    let mut s = listed();
    s.dirty = false;
    update(&mut s, Msg::Tick);
    assert!(!s.dirty, "nothing animates: no redraw");
    assert!(!s.animating());
}

#[test]
fn a_delete_finishing_after_a_relist_removes_the_right_files() {
    let mut s = listed();
    ch(&mut s, 'j'); // raw/
    ch(&mut s, 'x');
    let cmds = ch(&mut s, 'y');
    let Command::Delete { req: del, keys, .. } = &cmds[0] else {
        panic!()
    };
    // The workspace is re-listed while the delete runs: new tree, new ids.
    s.selected = 0;
    let relist = list_req(&ch(&mut s, 'r'));
    update(
        &mut s,
        page(
            relist,
            &[
                ("top.txt", 1),
                ("raw/a.vcf", 10),
                ("raw/b.vcf", 20),
                ("raw/run1/x.fq", 300),
                ("zz.txt", 2),
            ],
            true,
        ),
    );
    update(
        &mut s,
        Msg::Worker(Event::Deleted {
            req: *del,
            results: vec![Ok(()); keys.len()],
        }),
    );
    let t = &s.workspaces[0].tree;
    let mut left: Vec<_> = (0..t.files.len() as u32)
        .filter(|i| !t.files[*i as usize].deleted)
        .map(|i| t.display_key(i))
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["top.txt", "zz.txt"],
        "exactly the deleted keys went, by key"
    );
}

#[test]
fn a_failed_folder_refresh_leaves_the_tree_marked_incomplete() {
    let mut s = listed();
    ch(&mut s, 'j'); // raw/
    let req = list_req(&ch(&mut s, 'r'));
    update(&mut s, page(req, &[("raw/a.vcf", 10)], false));
    update(
        &mut s,
        Msg::Worker(Event::ListFailed {
            req,
            error: "connection reset".into(),
        }),
    );
    assert!(s.workspaces[0].partial(), "counts show ≥ again");
    ch(&mut s, 'x');
    assert!(
        s.dialog.is_none(),
        "no folder delete over a partial listing"
    );
}

#[test]
fn an_unbound_key_says_so_and_does_nothing() {
    let mut s = listed();
    let before = s.selected;
    assert!(ch(&mut s, 'Z').is_empty());
    let notice = s
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("Z does nothing here"), "{notice}");
    assert!(notice.contains("? lists the keys"), "{notice}");
    assert_eq!(s.selected, before);
    // Esc and q typed together arrive as Alt-q: named so, not as a q that did nothing.
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::ALT)),
    );
    let notice = s
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.starts_with("Alt-q does nothing"), "{notice}");
    assert!(!s.quit);
}

mod transfers {
    use super::*;
    use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};

    fn info(remote: &str, size: u64) -> TransferInfo {
        TransferInfo {
            dir: Direction::Up,
            ws: "ws1".into(),
            remote: remote.into(),
            local: format!("/l/{remote}"),
            size: Some(size),
        }
    }

    fn ev(s: &mut State, e: Event) -> Vec<Command> {
        update(s, Msg::Worker(e))
    }

    #[test]
    fn upload_prompt_targets_the_selected_folder() {
        let mut s = listed();
        ch(&mut s, 'j'); // raw/
        assert!(ch(&mut s, 'u').is_empty());
        typed(&mut s, "~/runs/run7");
        let cmds = key(&mut s, KeyCode::Enter);
        assert_eq!(
            cmds,
            vec![Command::Upload {
                ws: "ws1".into(),
                local: "~/runs/run7".into(),
                folder: "raw/".into()
            }]
        );
    }

    #[test]
    fn enter_on_an_empty_upload_prompt_says_what_to_type_in_the_prompt() {
        let mut s = listed();
        ch(&mut s, 'u');
        assert!(key(&mut s, KeyCode::Enter).is_empty());
        assert!(matches!(s.dialog, Some(Dialog::Path { .. })), "still open");
        assert!(s.under_prompt[0].contains("type a local file or folder"));
        ch(&mut s, '/');
        assert!(s.under_prompt.is_empty(), "typing clears the hint");
    }

    #[test]
    fn a_file_marked_inside_a_marked_folder_is_downloaded_once_with_the_folder() {
        let mut s = listed();
        ch(&mut s, 'j'); // raw/
        key(&mut s, KeyCode::Right);
        ch(&mut s, ' '); // raw/ marked; the cursor moves on to raw/run1/
        ch(&mut s, ' '); // raw/run1/ marked too; on to raw/a.vcf
        ch(&mut s, ' '); // raw/a.vcf marked too
        assert_eq!(s.marked.len(), 3);
        ch(&mut s, 'd');
        let cmds = key(&mut s, KeyCode::Enter);
        let Command::Download { files, .. } = &cmds[0] else {
            panic!("{cmds:?}")
        };
        let mut rels: Vec<_> = files.iter().map(|(_, r)| r.as_str()).collect();
        rels.sort();
        assert_eq!(rels, ["raw/a.vcf", "raw/b.vcf", "raw/run1/x.fq"]);
    }

    #[test]
    fn download_of_a_folder_and_marked_files_keeps_layout() {
        let mut s = listed();
        ch(&mut s, 'j'); // raw/
        ch(&mut s, 'd');
        let cmds = key(&mut s, KeyCode::Enter); // default destination "."
        let Command::Download { ws, dest, files } = &cmds[0] else {
            panic!("{cmds:?}")
        };
        assert_eq!((ws.as_str(), dest.as_str()), ("ws1", "."));
        let mut rels: Vec<_> = files.iter().map(|(_, r)| r.as_str()).collect();
        rels.sort();
        assert_eq!(rels, ["raw/a.vcf", "raw/b.vcf", "raw/run1/x.fq"]);
        // Marked items go as one batch.
        ch(&mut s, 'G'); // top.txt
        ch(&mut s, ' ');
        ch(&mut s, 'g');
        ch(&mut s, 'j'); // raw/
        key(&mut s, KeyCode::Right);
        ch(&mut s, 'j');
        ch(&mut s, 'j'); // raw/a.vcf
        ch(&mut s, ' ');
        assert_eq!(s.marked.len(), 2);
        ch(&mut s, 'd');
        let cmds = key(&mut s, KeyCode::Enter);
        let Command::Download { files, .. } = &cmds[0] else {
            panic!()
        };
        let mut rels: Vec<_> = files.iter().map(|(_, r)| r.as_str()).collect();
        rels.sort();
        assert_eq!(rels, ["a.vcf", "top.txt"]);
        assert!(s.marked.is_empty(), "marks cleared once queued");
    }

    #[test]
    fn progress_state_retry_clear_and_quit() {
        let mut s = listed();
        ev(
            &mut s,
            Event::TransferAdded {
                id: 1,
                info: info("raw/big.bam", 10_000),
            },
        );
        ev(
            &mut s,
            Event::TransferAdded {
                id: 2,
                info: info("raw/small.txt", 10),
            },
        );
        ev(
            &mut s,
            Event::TransferState {
                id: 1,
                state: TransferState::Running,
            },
        );
        ev(
            &mut s,
            Event::TransferProgress {
                at_ms: 1000,
                samples: vec![(1, 100)],
            },
        );
        ev(
            &mut s,
            Event::TransferProgress {
                at_ms: 1100,
                samples: vec![(1, 200)],
            },
        );
        let t = &s.transfers[0];
        assert_eq!(t.done, 200);
        assert!(
            (t.speed - 1000.0).abs() < 1.0,
            "100 bytes in 100 ms: {}",
            t.speed
        );
        assert_eq!(t.eta_secs(), Some(9), "9,800 bytes left at 1,000 a second");
        // q asks first while transfers are active.
        ch(&mut s, 'q');
        assert!(!s.quit && matches!(s.dialog, Some(Dialog::ConfirmQuit { active: 2 })));
        ch(&mut s, 'n');
        assert!(!s.quit && s.dialog.is_none());
        // A failure, then R retries only the failed one.
        ev(
            &mut s,
            Event::TransferState {
                id: 2,
                state: TransferState::Failed("network error".into()),
            },
        );
        assert_eq!(ch(&mut s, 'R'), vec![Command::Retry(vec![2])]);
        // A late "verifying" never overrides an ending.
        ev(
            &mut s,
            Event::TransferState {
                id: 1,
                state: TransferState::Done,
            },
        );
        ev(
            &mut s,
            Event::TransferState {
                id: 1,
                state: TransferState::Verifying,
            },
        );
        assert_eq!(s.transfers[0].state, TransferState::Done);
        // Cancel in the transfers pane; C cancels all; X clears finished.
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, filedeck::app::state::Pane::Transfers);
        ev(
            &mut s,
            Event::TransferState {
                id: 2,
                state: TransferState::Running,
            },
        );
        ch(&mut s, 'j');
        assert_eq!(ch(&mut s, 'c'), vec![Command::CancelTransfer(2)]);
        assert_eq!(ch(&mut s, 'C'), vec![Command::CancelAll]);
        ch(&mut s, 'X');
        assert_eq!(
            s.transfers.len(),
            1,
            "the done one is cleared, the running one stays"
        );
    }

    #[test]
    fn a_finished_upload_refreshes_its_folder() {
        let mut s = listed();
        ev(
            &mut s,
            Event::TransferAdded {
                id: 1,
                info: info("raw/new.vcf", 5),
            },
        );
        ev(
            &mut s,
            Event::TransferAdded {
                id: 2,
                info: info("raw/other.vcf", 5),
            },
        );
        assert!(
            ev(
                &mut s,
                Event::TransferState {
                    id: 1,
                    state: TransferState::Done
                }
            )
            .is_empty(),
            "one still running into raw/"
        );
        let cmds = ev(
            &mut s,
            Event::TransferState {
                id: 2,
                state: TransferState::Done,
            },
        );
        assert!(
            matches!(&cmds[..], [Command::List { prefix, .. }] if prefix == "raw/"),
            "{cmds:?}"
        );
    }

    #[test]
    fn each_finished_upload_shows_at_once_and_an_overwrite_replaces_its_row() {
        let mut s = listed();
        // Open raw/ and stand on raw/b.vcf: the selection must stay on it.
        ch(&mut s, 'j');
        key(&mut s, KeyCode::Right);
        ch(&mut s, 'j');
        ch(&mut s, 'j');
        ch(&mut s, 'j');
        assert_eq!(selected_label(&s), "raw/b.vcf");
        let ws = &s.workspaces[0];
        let before = ws.tree.folders[0].count;
        ev(
            &mut s,
            Event::Uploaded {
                ws: "ws1".into(),
                entry: entry("raw/a2.vcf", 7),
            },
        );
        let raw = s.workspaces[0].tree.folder_by_path("raw/").unwrap();
        assert_eq!(s.workspaces[0].tree.folders[0].count, before + 1);
        assert_eq!(
            s.workspaces[0].tree.folders[raw as usize].bytes,
            10 + 20 + 300 + 7
        );
        assert_eq!(selected_label(&s), "raw/b.vcf", "the selection stays put");
        assert!(
            s.rows.iter().any(|r| matches!(r, Row::File { ws, id }
                if s.workspaces[*ws].tree.display_key(*id) == "raw/a2.vcf")),
            "the new file has a row in the open folder"
        );
        assert!(s.dirty);
        // The same key again (overwritten): one row, the new size.
        ev(
            &mut s,
            Event::Uploaded {
                ws: "ws1".into(),
                entry: entry("raw/a2.vcf", 9),
            },
        );
        let rows: Vec<_> = s
            .rows
            .iter()
            .filter(|r| {
                matches!(r, Row::File { ws, id }
                if s.workspaces[*ws].tree.display_key(*id) == "raw/a2.vcf")
            })
            .collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            s.workspaces[0].tree.folders[raw as usize].bytes,
            10 + 20 + 300 + 9
        );
        // Into a new folder at the root: it appears too.
        ev(
            &mut s,
            Event::Uploaded {
                ws: "ws1".into(),
                entry: entry("runs/r7/x.fq", 1),
            },
        );
        assert!(s.workspaces[0].tree.folder_by_path("runs/r7/").is_some());
    }

    #[test]
    fn an_upload_finishing_during_a_listing_waits_for_the_relist() {
        let mut s = State::new("http://files.example:8080", &["ws1".into()], 80, 24);
        let req = list_req(&init(&mut s));
        update(&mut s, page(req, &[("raw/a.vcf", 10)], false));
        ev(
            &mut s,
            Event::Uploaded {
                ws: "ws1".into(),
                entry: entry("raw/new.vcf", 7),
            },
        );
        // The listing's later pages may carry the same file: nothing is added twice.
        update(&mut s, page(req, &[("raw/new.vcf", 7)], true));
        assert_eq!(s.workspaces[0].tree.folders[0].count, 2);
    }

    /// raw/ and raw/run1/ open, the cursor on raw/run1/x.fq.
    fn opened(s: &mut State) {
        ch(s, 'j');
        key(s, KeyCode::Right);
        ch(s, 'j');
        key(s, KeyCode::Right);
        ch(s, 'j');
        assert_eq!(selected_label(s), "raw/run1/x.fq");
    }

    fn upload_done(s: &mut State, remote: &str) -> Vec<Command> {
        let id = 100 + s.transfers.len() as u64;
        ev(
            s,
            Event::TransferAdded {
                id,
                info: info(remote, 5),
            },
        );
        ev(
            s,
            Event::TransferState {
                id,
                state: TransferState::Done,
            },
        )
    }

    #[test]
    fn a_folder_refresh_keeps_what_was_open_and_selected() {
        let mut s = listed();
        opened(&mut s);
        let cmds = upload_done(&mut s, "raw/run1/new.fq");
        let req = match &cmds[..] {
            [Command::List { req, prefix, .. }] if prefix == "raw/run1/" => *req,
            other => panic!("expected a re-list of raw/run1/, got {other:?}"),
        };
        update(
            &mut s,
            page(req, &[("raw/run1/new.fq", 5), ("raw/run1/x.fq", 300)], true),
        );
        assert_eq!(selected_label(&s), "raw/run1/x.fq");
        let labels: Vec<_> = (0..s.rows.len())
            .map(|i| {
                let mut t = s.clone();
                t.selected = i;
                selected_label(&t)
            })
            .collect();
        assert!(
            labels.contains(&"raw/run1/new.fq".to_string()),
            "the folder stays open: {labels:?}"
        );
    }

    #[test]
    fn a_whole_relist_keeps_what_was_open_and_selected_unless_the_user_moved() {
        let mut s = listed();
        opened(&mut s);
        // An upload to the workspace root re-lists everything.
        let cmds = upload_done(&mut s, "new_top.txt");
        let req = list_req(&cmds);
        update(
            &mut s,
            page(req, &[("new_top.txt", 5), ("top.txt", 1)], false),
        );
        update(
            &mut s,
            page(req, &[("raw/a.vcf", 10), ("raw/b.vcf", 20)], false),
        );
        update(&mut s, page(req, &[("raw/run1/x.fq", 300)], true));
        assert_eq!(selected_label(&s), "raw/run1/x.fq", "back where it was");
        // Once the user moves, a re-list no longer moves the cursor.
        let cmds = upload_done(&mut s, "other_top.txt");
        let req = list_req(&cmds);
        update(&mut s, page(req, &[("top.txt", 1)], false));
        ch(&mut s, 'g');
        update(
            &mut s,
            page(req, &[("raw/run1/x.fq", 300), ("other_top.txt", 5)], true),
        );
        assert_eq!(selected_label(&s), "ws1");
        let labels: Vec<String> = (0..s.rows.len())
            .map(|i| {
                let mut t = s.clone();
                t.selected = i;
                selected_label(&t)
            })
            .collect();
        assert!(
            labels.iter().any(|l| l == "raw/run1/x.fq"),
            "raw/ and raw/run1/ stay open: {labels:?}"
        );
    }

    #[test]
    fn a_resumed_download_does_not_count_its_bytes_on_disk_as_speed() {
        let mut s = listed();
        ev(
            &mut s,
            Event::TransferAdded {
                id: 1,
                info: info("raw/big.bam", 100_000_000),
            },
        );
        for (at_ms, done) in [(1000, 0), (1100, 50_000_000), (1200, 50_150_000)] {
            ev(
                &mut s,
                Event::TransferProgress {
                    at_ms,
                    samples: vec![(1, done)],
                },
            );
        }
        let t = &s.transfers[0];
        assert!(
            (t.speed - 1_500_000.0).abs() < 1.0,
            "150 kB in 100 ms, not the 50 MB already on disk: {}",
            t.speed
        );
    }

    #[test]
    fn the_transfers_pane_moves_with_every_movement_key_and_the_tree_stays() {
        let mut s = listed();
        for id in 1..=20 {
            ev(
                &mut s,
                Event::TransferAdded {
                    id,
                    info: info(&format!("raw/f{id}.fq"), 10),
                },
            );
        }
        let tree_at = s.selected;
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, filedeck::app::state::Pane::Transfers);
        ch(&mut s, 'G');
        assert_eq!(s.transfer_selected, 19);
        key(&mut s, KeyCode::PageUp);
        let up = s.transfer_selected;
        assert!(up < 19, "PgUp moved: {up}");
        ch(&mut s, 'g');
        assert_eq!(s.transfer_selected, 0);
        key(&mut s, KeyCode::PageDown);
        assert!(s.transfer_selected > 0);
        key(&mut s, KeyCode::End);
        assert_eq!(s.transfer_selected, 19);
        key(&mut s, KeyCode::Home);
        assert_eq!(s.transfer_selected, 0);
        assert_eq!(s.selected, tree_at, "the tree's cursor did not move");
    }

    #[test]
    fn x_in_the_transfers_pane_never_deletes_from_the_tree() {
        let mut s = listed();
        for id in 1..=2 {
            ev(
                &mut s,
                Event::TransferAdded {
                    id,
                    info: info(&format!("raw/f{id}.fq"), 10),
                },
            );
        }
        ev(
            &mut s,
            Event::TransferState {
                id: 1,
                state: TransferState::Done,
            },
        );
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, filedeck::app::state::Pane::Transfers);
        // The running row: a hint, no question, nothing removed.
        ch(&mut s, 'j');
        let cmds = ch(&mut s, 'x');
        assert!(cmds.is_empty());
        assert!(s.dialog.is_none(), "no delete question about the tree");
        assert_eq!(s.transfers.len(), 2);
        // The finished row: removed from the pane, and still nothing asked of the tree.
        ch(&mut s, 'k');
        let cmds = ch(&mut s, 'x');
        assert!(cmds.is_empty());
        assert!(s.dialog.is_none(), "no delete question about the tree");
        assert_eq!(s.transfers.len(), 1);
        assert_eq!(s.transfers[0].id, 2);
    }

    #[test]
    fn a_relist_keeps_marks_by_path_and_withdraws_a_delete_question() {
        let mut s = listed();
        opened(&mut s); // cursor on raw/run1/x.fq
        ch(&mut s, ' '); // x.fq marked; on to raw/a.vcf
        ch(&mut s, 'x'); // asks to delete raw/a.vcf
        assert!(matches!(s.dialog, Some(Dialog::ConfirmDelete(_))));
        // An upload into the root re-lists the whole workspace: the old ids mean nothing.
        let cmds = upload_done(&mut s, "new_top.txt");
        let req = list_req(&cmds);
        assert!(s.dialog.is_none(), "no delete of ids from the old tree");
        assert!(s.marked.is_empty(), "marks wait for their nodes");
        update(
            &mut s,
            page(req, &[("top.txt", 1), ("raw/run1/x.fq", 300)], true),
        );
        let marked: Vec<String> = s
            .marked
            .iter()
            .map(|r| match *r {
                Row::File { ws, id } => s.workspaces[ws].tree.display_key(id),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(marked, ["raw/run1/x.fq"]);
    }

    #[test]
    fn a_batch_whose_last_upload_fails_still_relists_what_landed() {
        let mut s = listed();
        for (id, remote) in [(1, "raw/new.vcf"), (2, "raw/bad.vcf")] {
            ev(
                &mut s,
                Event::TransferAdded {
                    id,
                    info: info(remote, 5),
                },
            );
        }
        let done = TransferState::Done;
        assert!(ev(&mut s, Event::TransferState { id: 1, state: done }).is_empty());
        let cmds = ev(
            &mut s,
            Event::TransferState {
                id: 2,
                state: TransferState::Failed("network error".into()),
            },
        );
        assert!(
            matches!(&cmds[..], [Command::List { prefix, .. }] if prefix == "raw/"),
            "{cmds:?}"
        );
        // Retried (queued again, so the batch is busy again), then done: re-listed again.
        let queued = TransferState::Queued;
        assert!(
            ev(
                &mut s,
                Event::TransferState {
                    id: 2,
                    state: queued
                }
            )
            .is_empty()
        );
        let cmds = ev(
            &mut s,
            Event::TransferState {
                id: 2,
                state: TransferState::Done,
            },
        );
        assert!(matches!(&cmds[..], [Command::List { .. }]), "{cmds:?}");
    }

    #[test]
    fn a_path_can_be_pasted_into_the_upload_prompt() {
        let mut s = listed();
        ch(&mut s, 'u');
        update(&mut s, Msg::Paste("/data/run 7\n".into()));
        let Some(Dialog::Path { input, .. }) = &s.dialog else {
            panic!("{:?}", s.dialog)
        };
        assert_eq!(input.value(), "/data/run 7", "control characters dropped");
    }
}

mod conflicts {
    use super::*;
    use filedeck::app::msg::{Choice, ConflictItem};

    fn item(n: &str) -> ConflictItem {
        ConflictItem {
            existing: n.into(),
            existing_size: Some(1),
            new_size: Some(2),
            upload: true,
            note: None,
        }
    }

    #[test]
    fn a_second_question_waits_for_the_first_to_be_answered() {
        let mut s = listed();
        update(
            &mut s,
            Msg::Worker(Event::Conflicts {
                batch: 1,
                items: vec![item("a")],
            }),
        );
        update(
            &mut s,
            Msg::Worker(Event::Conflicts {
                batch: 2,
                items: vec![item("b")],
            }),
        );
        assert!(matches!(s.dialog, Some(Dialog::Conflicts { batch: 1, .. })));
        let cmds = ch(&mut s, 's');
        assert_eq!(
            cmds,
            vec![Command::Resolve {
                batch: 1,
                choices: vec![Choice::Skip]
            }]
        );
        assert!(
            matches!(s.dialog, Some(Dialog::Conflicts { batch: 2, .. })),
            "the second batch is asked next, not lost"
        );
    }

    #[test]
    fn answered_one_by_one_or_for_all() {
        let mut s = listed();
        update(
            &mut s,
            Msg::Worker(Event::Conflicts {
                batch: 7,
                items: vec![item("a"), item("b"), item("c")],
            }),
        );
        assert!(matches!(s.dialog, Some(Dialog::Conflicts { .. })));
        assert!(ch(&mut s, 'o').is_empty());
        assert!(ch(&mut s, 'z').is_empty(), "an unknown key answers nothing");
        let cmds = ch(&mut s, 'K');
        assert_eq!(
            cmds,
            vec![Command::Resolve {
                batch: 7,
                choices: vec![Choice::Overwrite, Choice::KeepBoth, Choice::KeepBoth]
            }]
        );
        assert!(s.dialog.is_none());
        // Esc skips whatever is left: nothing is overwritten without an answer.
        update(
            &mut s,
            Msg::Worker(Event::Conflicts {
                batch: 8,
                items: vec![item("a"), item("b")],
            }),
        );
        ch(&mut s, 'i');
        let cmds = key(&mut s, KeyCode::Esc);
        assert_eq!(
            cmds,
            vec![Command::Resolve {
                batch: 8,
                choices: vec![Choice::SkipIfIdentical, Choice::Skip]
            }]
        );
    }
}

#[test]
fn transfers_wait_for_the_queue_another_instance_holds_and_go_on_once_it_is_free() {
    use filedeck::app::state::PromptKind;
    let mut s = listed();
    s.transfers_blocked = Some("another filedeck (pid 42) is working the transfer queue".into());
    // Still held: the reason, and no prompt.
    assert_eq!(ch(&mut s, 'u'), vec![Command::ClaimQueue]);
    assert!(s.dialog.is_none());
    update(
        &mut s,
        Msg::Worker(Event::QueueClaimed(Err(
            "another filedeck (pid 42) is working the transfer queue".into(),
        ))),
    );
    assert!(s.dialog.is_none());
    assert!(s.last_error.as_deref().unwrap().contains("pid 42"));
    // The other one has exited: the queue is claimed and the upload prompt opens.
    assert_eq!(ch(&mut s, 'u'), vec![Command::ClaimQueue]);
    update(&mut s, Msg::Worker(Event::QueueClaimed(Ok(()))));
    assert!(s.transfers_blocked.is_none());
    assert!(
        matches!(
            s.dialog,
            Some(Dialog::Path {
                kind: PromptKind::Upload { .. },
                ..
            })
        ),
        "{:?}",
        s.dialog
    );
}

/// Stale answers: a result lands only while what it answers is still on screen.
mod stale {
    use super::*;

    fn prompt_text(s: &State) -> String {
        match &s.dialog {
            Some(Dialog::Path { input, .. }) => input.value().to_string(),
            other => panic!("no path prompt: {other:?}"),
        }
    }

    /// Tab in the open path prompt: the request id the completion will carry.
    fn tab(s: &mut State) -> u64 {
        match &key(s, KeyCode::Tab)[..] {
            [Command::Complete { req, .. }] => *req,
            other => panic!("expected one Complete, got {other:?}"),
        }
    }

    fn completed(req: u64, text: &str) -> Msg {
        Msg::Worker(Event::Completed {
            req,
            text: text.into(),
            candidates: vec!["run1/".into(), "run2/".into()],
        })
    }

    #[test]
    fn a_completion_lands_while_its_prompt_is_unchanged() {
        let mut s = listed();
        ch(&mut s, 'u');
        typed(&mut s, "/da");
        let req = tab(&mut s);
        update(&mut s, completed(req, "/data/"));
        assert_eq!(prompt_text(&s), "/data/");
        assert_eq!(s.under_prompt, ["run1/", "run2/"]);
    }

    #[test]
    fn a_completion_answering_after_a_paste_does_not_overwrite_it() {
        let mut s = listed();
        ch(&mut s, 'u');
        typed(&mut s, "/da");
        let req = tab(&mut s);
        update(&mut s, Msg::Paste("ta/run 7".into()));
        update(&mut s, completed(req, "/data/"));
        assert_eq!(prompt_text(&s), "/data/run 7", "the pasted text stays");
        assert!(s.under_prompt.is_empty());
    }

    #[test]
    fn a_completion_answering_after_esc_does_not_land_in_a_later_prompt() {
        let mut s = listed();
        ch(&mut s, 'u');
        typed(&mut s, "/da");
        let req = tab(&mut s);
        key(&mut s, KeyCode::Esc);
        assert!(s.dialog.is_none());
        // A new prompt, opened before the old answer comes.
        ch(&mut s, 'u');
        update(&mut s, completed(req, "/data/"));
        assert_eq!(
            prompt_text(&s),
            "",
            "the new prompt is not the one completed"
        );
        assert!(s.under_prompt.is_empty());
        typed(&mut s, "/x");
        // Closed and never reopened: nothing to land in, nothing changes.
        let req = tab(&mut s);
        key(&mut s, KeyCode::Esc);
        update(&mut s, completed(req, "/xyz/"));
        assert!(s.dialog.is_none());
    }

    /// ws1 listed: a/1, a/sub/2, b/3, top.
    fn two_folders() -> State {
        let mut s = State::new("http://h", &["ws1".into()], 80, 24);
        let req = list_req(&init(&mut s));
        update(
            &mut s,
            page(
                req,
                &[("a/1", 1), ("a/sub/2", 2), ("b/3", 3), ("top", 4)],
                true,
            ),
        );
        assert!(!s.workspaces[0].partial());
        s
    }

    fn select(s: &mut State, label: &str) {
        let i = (0..s.rows.len())
            .find(|&i| {
                let mut t = s.clone();
                t.selected = i;
                selected_label(&t) == label
            })
            .unwrap_or_else(|| panic!("no row {label}"));
        s.selected = i;
    }

    /// `r` on a folder: the prefix and request id of the listing it starts.
    fn refresh(s: &mut State, folder: &str) -> Vec<Command> {
        select(s, folder);
        ch(s, 'r')
    }

    fn listed_req(cmds: &[Command], prefix: &str) -> u64 {
        match cmds {
            [Command::List { req, prefix: p, .. }] if p == prefix => *req,
            other => panic!("expected one List of {prefix}, got {other:?}"),
        }
    }

    fn count(s: &State, folder: &str) -> u64 {
        let t = &s.workspaces[0].tree;
        t.folder_by_path(folder)
            .map_or(0, |id| t.folders[id as usize].count)
    }

    #[test]
    fn a_second_folder_refresh_runs_beside_the_first_which_keeps_its_pages() {
        let mut s = two_folders();
        let a = listed_req(&refresh(&mut s, "a/"), "a/");
        update(&mut s, page(a, &[("a/1", 1)], false));
        // r on b/ while a/ has pages to come: its own request, beside a/'s.
        let b = listed_req(&refresh(&mut s, "b/"), "b/");
        assert_ne!(a, b);
        update(&mut s, page(b, &[("b/3", 3), ("b/4", 4)], true));
        assert_eq!(count(&s, "b/"), 2);
        // a/ is still short of files: not complete, no folder delete.
        assert!(
            s.workspaces[0].partial(),
            "counts show ≥ while a/ is listed"
        );
        select(&mut s, "a/");
        ch(&mut s, 'x');
        assert!(s.dialog.is_none(), "no folder delete with a/ half listed");
        // a/'s remaining pages still land.
        update(&mut s, page(a, &[("a/sub/2", 2), ("a/9", 9)], true));
        assert_eq!(count(&s, "a/"), 3, "a/1, a/sub/2 and a/9");
        assert_eq!(s.workspaces[0].tree.file_count(), 6);
        assert!(!s.workspaces[0].partial());
        assert!(s.loading().is_none());
        ch(&mut s, 'x');
        assert!(matches!(s.dialog, Some(Dialog::ConfirmDelete(_))));
    }

    #[test]
    fn a_refresh_nested_in_a_running_one_waits_for_it() {
        let mut s = two_folders();
        let a = listed_req(&refresh(&mut s, "a/"), "a/");
        select(&mut s, "a/");
        key(&mut s, KeyCode::Right);
        // a/sub/'s files are a/'s too: listed together they would come twice.
        assert!(refresh(&mut s, "a/sub/").is_empty(), "waits behind a/");
        assert!(s.workspaces[0].partial());
        update(&mut s, page(a, &[("a/1", 1)], false));
        let cmds = update(&mut s, page(a, &[("a/sub/2", 2)], true));
        let sub = listed_req(&cmds, "a/sub/");
        assert!(s.workspaces[0].partial(), "a/sub/ is being listed");
        update(&mut s, page(sub, &[("a/sub/2", 2), ("a/sub/5", 5)], true));
        assert_eq!(count(&s, "a/"), 3);
        assert_eq!(count(&s, "a/sub/"), 2);
        assert!(!s.workspaces[0].partial());
    }

    #[test]
    fn the_same_folder_again_replaces_its_refresh() {
        let mut s = two_folders();
        let old = listed_req(&refresh(&mut s, "a/"), "a/");
        update(&mut s, page(old, &[("a/1", 1)], false));
        // The worker cancels the old listing of a/; what it had sent is dropped here.
        let new = listed_req(&refresh(&mut s, "a/"), "a/");
        update(&mut s, page(old, &[("a/old", 1)], true));
        assert!(
            s.workspaces[0].partial(),
            "the old listing's end ends nothing"
        );
        update(&mut s, page(new, &[("a/1", 1), ("a/sub/2", 2)], true));
        assert_eq!(count(&s, "a/"), 2, "a/1 once, a/sub/2; no a/old");
        assert!(!s.workspaces[0].partial());
    }

    #[test]
    fn a_failed_refresh_beside_another_leaves_the_tree_incomplete_and_stops_spinning() {
        let mut s = two_folders();
        let a = listed_req(&refresh(&mut s, "a/"), "a/");
        let b = listed_req(&refresh(&mut s, "b/"), "b/");
        update(&mut s, page(a, &[("a/1", 1)], false));
        update(
            &mut s,
            Msg::Worker(Event::ListFailed {
                req: a,
                error: "connection reset".into(),
            }),
        );
        assert!(
            s.last_error
                .as_deref()
                .unwrap()
                .contains("connection reset")
        );
        update(&mut s, page(b, &[("b/3", 3)], true));
        assert_eq!(count(&s, "b/"), 1, "b/'s listing still lands");
        assert!(s.workspaces[0].partial(), "a/ is short of a/sub/2");
        select(&mut s, "a/");
        ch(&mut s, 'x');
        assert!(s.dialog.is_none(), "no folder delete over a failed listing");
        assert!(s.loading().is_none(), "nothing is listing any more");
        assert!(!s.animating(), "no spinner ticking forever");
        // r lists the whole workspace again.
        assert!(
            matches!(&ch(&mut s, 'r')[..], [Command::List { prefix, .. }] if prefix.is_empty())
        );
    }
}

#[test]
fn a_delete_finishing_after_a_folder_refresh_removes_the_file_listed_again() {
    let mut s = listed();
    ch(&mut s, 'j'); // raw/
    key(&mut s, KeyCode::Right);
    ch(&mut s, 'j'); // raw/run1/
    ch(&mut s, 'j'); // raw/a.vcf
    ch(&mut s, 'x');
    let cmds = ch(&mut s, 'y');
    let Command::Delete { req: del, keys, .. } = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!(keys, &["raw/a.vcf"]);
    // raw/ is re-listed while the delete runs; the server still lists the file.
    ch(&mut s, 'g');
    ch(&mut s, 'j'); // raw/
    let relist = list_req(&ch(&mut s, 'r'));
    update(
        &mut s,
        page(
            relist,
            &[("raw/a.vcf", 10), ("raw/b.vcf", 20), ("raw/run1/x.fq", 300)],
            true,
        ),
    );
    update(
        &mut s,
        Msg::Worker(Event::Deleted {
            req: *del,
            results: vec![Ok(())],
        }),
    );
    let t = &s.workspaces[0].tree;
    let mut left: Vec<_> = (0..t.files.len() as u32)
        .filter(|i| !t.files[*i as usize].deleted)
        .map(|i| t.display_key(i))
        .collect();
    left.sort();
    assert_eq!(left, ["raw/b.vcf", "raw/run1/x.fq", "top.txt"]);
}

/// Issue 9: what a first hour with the browser broke, each reproduced here.
mod first_hour {
    use super::*;
    use filedeck::app::marks;
    use filedeck::app::queue_view::aggregate;
    use filedeck::app::state::Pane;
    use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};

    fn ev(s: &mut State, e: Event) -> Vec<Command> {
        update(s, Msg::Worker(e))
    }

    fn notice(s: &State) -> String {
        s.notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default()
    }

    fn info(remote: &str, size: u64) -> TransferInfo {
        TransferInfo {
            dir: Direction::Down,
            ws: "ws1".into(),
            remote: remote.into(),
            local: format!("/l/{remote}"),
            size: Some(size),
        }
    }

    fn added(s: &mut State, n: u64) {
        for id in 1..=n {
            ev(
                s,
                Event::TransferAdded {
                    id,
                    info: info(&format!("runs/f{id:03}.csv"), 100),
                },
            );
        }
    }

    fn set(s: &mut State, id: u64, state: TransferState) {
        ev(s, Event::TransferState { id, state });
    }

    /// Tree: ws1 / raw/ run1/ x.fq a.vcf b.vcf top.txt; raw/ open; the cursor on raw/.
    fn raw_open() -> State {
        let mut s = listed();
        ch(&mut s, 'j');
        key(&mut s, KeyCode::Right);
        assert_eq!(selected_label(&s), "raw/");
        s
    }

    fn go_to(s: &mut State, label: &str) {
        ch(s, 'g');
        for _ in 0..s.rows.len() {
            if selected_label(s) == label {
                return;
            }
            ch(s, 'j');
        }
        panic!("no row {label}");
    }

    #[test]
    fn x_in_the_tree_deletes_the_marked_items_and_the_dialog_lists_them() {
        let mut s = raw_open();
        go_to(&mut s, "raw/a.vcf");
        ch(&mut s, ' ');
        go_to(&mut s, "top.txt");
        ch(&mut s, ' ');
        // The cursor rests on another file: the marks win, as they do for d.
        go_to(&mut s, "raw/b.vcf");
        ch(&mut s, 'x');
        let Some(Dialog::ConfirmDelete(d)) = &s.dialog else {
            panic!("no delete question: {:?}", s.dialog)
        };
        assert!(d.marked);
        assert_eq!(d.items, ["ws1:raw/a.vcf", "ws1:top.txt"]);
        assert_eq!(d.label, "2 marked items");
        assert_eq!((d.files.len(), d.bytes), (2, 11));
        let cmds = key(&mut s, KeyCode::Enter);
        let [Command::Delete { keys, .. }] = &cmds[..] else {
            panic!("{cmds:?}")
        };
        let mut keys = keys.clone();
        keys.sort();
        assert_eq!(keys, ["raw/a.vcf", "top.txt"]);
        assert!(s.marked.is_empty(), "the deleted marks are gone");
    }

    #[test]
    fn x_without_marks_acts_on_the_cursor_row() {
        let mut s = raw_open();
        go_to(&mut s, "raw/b.vcf");
        ch(&mut s, 'x');
        let Some(Dialog::ConfirmDelete(d)) = &s.dialog else {
            panic!()
        };
        assert!(!d.marked && d.items.is_empty());
        assert_eq!(d.label, "ws1:raw/b.vcf");
        ch(&mut s, 'n');
        go_to(&mut s, "raw/run1/");
        ch(&mut s, 'x');
        let Some(Dialog::ConfirmDelete(d)) = &s.dialog else {
            panic!()
        };
        assert_eq!(d.label, "ws1:raw/run1/ and every file under it");
    }

    #[test]
    fn marks_are_counted_with_their_size_and_esc_clears_them() {
        let mut s = raw_open();
        assert_eq!(marks::summary(&s), None);
        ch(&mut s, ' '); // raw/ (3 files, 330 B)
        go_to(&mut s, "raw/a.vcf");
        ch(&mut s, ' '); // inside raw/: counted once
        go_to(&mut s, "top.txt");
        ch(&mut s, ' ');
        let m = marks::summary(&s).expect("marks");
        assert_eq!((m.items, m.files, m.bytes, m.workspaces), (2, 4, 331, 1));
        // Esc closes a dialog first, and only then clears marks.
        ch(&mut s, '?');
        key(&mut s, KeyCode::Esc);
        assert!(s.dialog.is_none());
        assert_eq!(s.marked.len(), 3);
        key(&mut s, KeyCode::Esc);
        assert!(s.marked.is_empty());
        assert!(notice(&s).contains("3 marks cleared"), "{}", notice(&s));
    }

    fn two_workspaces() -> State {
        let mut s = State::new("http://h", &["ws1".into(), "ws2".into()], 80, 24);
        let req = list_req(&init(&mut s));
        update(&mut s, page(req, &[("a.txt", 1), ("b.txt", 2)], true));
        ch(&mut s, 'G'); // ws2
        let cmds = key(&mut s, KeyCode::Right);
        update(&mut s, page(list_req(&cmds), &[("c.txt", 4)], true));
        s
    }

    #[test]
    fn marks_in_two_workspaces_are_refused_with_the_reason_and_kept() {
        let mut s = two_workspaces();
        go_to(&mut s, "a.txt");
        ch(&mut s, ' ');
        go_to(&mut s, "c.txt");
        ch(&mut s, ' ');
        assert_eq!(marks::summary(&s).map(|m| m.workspaces), Some(2));
        for k in ['d', 'x'] {
            assert!(ch(&mut s, k).is_empty());
            assert!(s.dialog.is_none(), "{k}: nothing asked");
            let e = s.last_error.clone().unwrap_or_default();
            assert!(e.contains("1 in ws1, 1 in ws2"), "{k}: {e}");
            assert_eq!(s.marked.len(), 2, "{k}: the marks stay");
        }
    }

    #[test]
    fn a_download_that_cannot_start_keeps_its_marks() {
        let mut s = raw_open();
        go_to(&mut s, "raw/a.vcf");
        ch(&mut s, ' ');
        ch(&mut s, 'd');
        let cmds = key(&mut s, KeyCode::Enter);
        assert!(matches!(cmds[..], [Command::Download { .. }]));
        ev(
            &mut s,
            Event::TransferProblem("Cannot create /nope: permission denied".into()),
        );
        assert_eq!(s.marked.len(), 1, "the marks are back");
        // Once a batch is taken, its marks are done with.
        ch(&mut s, ' '); // any key dismissed the error; mark toggles off then on
        ch(&mut s, 'k');
        ch(&mut s, ' ');
        assert_eq!(s.marked.len(), 1);
        ch(&mut s, 'd');
        key(&mut s, KeyCode::Enter);
        added(&mut s, 1);
        ev(
            &mut s,
            Event::TransferProblem("an unrelated failure".into()),
        );
        assert!(s.marked.is_empty());
    }

    #[test]
    fn the_download_prompt_starts_in_the_absolute_download_folder_and_names_the_items() {
        let mut s = raw_open();
        s.download_dir = "/home/ana/data".into();
        go_to(&mut s, "raw/run1/");
        ch(&mut s, 'd');
        let Some(Dialog::Path { kind, input }) = &s.dialog else {
            panic!()
        };
        assert_eq!(input.value(), "/home/ana/data");
        let filedeck::app::state::PromptKind::Download { what, .. } = kind else {
            panic!()
        };
        assert_eq!(what, &["ws1:raw/run1/"]);
    }

    #[test]
    fn the_title_counts_every_ending() {
        let mut s = listed();
        added(&mut s, 6);
        set(&mut s, 1, TransferState::Done);
        set(&mut s, 2, TransferState::Failed("gone".into()));
        set(&mut s, 3, TransferState::Cancelled);
        set(&mut s, 4, TransferState::Skipped("identical".into()));
        set(&mut s, 5, TransferState::Running);
        let a = aggregate(&s.transfers);
        assert_eq!(
            (
                a.done,
                a.failed,
                a.cancelled,
                a.skipped,
                a.running,
                a.queued
            ),
            (1, 1, 1, 1, 1, 1)
        );
    }

    #[test]
    fn the_unfocused_transfers_pane_follows_the_work_and_shows_failures() {
        let mut s = listed();
        added(&mut s, 20);
        assert_eq!(s.transfer_selected, 0);
        for id in 1..=12 {
            set(&mut s, id, TransferState::Running);
            set(&mut s, id, TransferState::Done);
        }
        assert_eq!(
            s.transfer_selected, 12,
            "the cursor is on the next active one"
        );
        set(&mut s, 13, TransferState::Running);
        set(&mut s, 16, TransferState::Failed("No such file".into()));
        assert_eq!(s.transfer_selected, 15, "a failure takes the cursor");
        set(&mut s, 13, TransferState::Done);
        assert_eq!(s.transfer_selected, 15, "and keeps it");
        // A new batch after everything ended well comes into view.
        let mut s = listed();
        added(&mut s, 2);
        set(&mut s, 1, TransferState::Done);
        set(&mut s, 2, TransferState::Done);
        ev(
            &mut s,
            Event::TransferAdded {
                id: 3,
                info: info("new.txt", 1),
            },
        );
        assert_eq!(s.transfer_selected, 2);
        // The focused pane's cursor is the user's.
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, Pane::Transfers);
        ch(&mut s, 'g');
        set(&mut s, 3, TransferState::Failed("x".into()));
        assert_eq!(s.transfer_selected, 0);
    }

    #[test]
    fn many_small_files_show_a_batch_speed() {
        let mut s = listed();
        added(&mut s, 200);
        // Each file ends within one sample: none has a rate of its own.
        for id in 1..=200u64 {
            set(&mut s, id, TransferState::Running);
            ev(
                &mut s,
                Event::TransferProgress {
                    at_ms: id * 10,
                    samples: vec![(id, 100)],
                },
            );
            set(&mut s, id, TransferState::Done);
            if id == 199 {
                assert!(aggregate(&s.transfers).speed < 1.0, "no rate of their own");
            }
        }
        // 100 bytes every 10 ms.
        let speed = s.throughput.speed;
        assert!((speed - 10_000.0).abs() < 1.0, "{speed}");
        ev(&mut s, Event::TransfersIdle);
        assert_eq!(s.throughput.speed, 0.0);
    }

    #[test]
    fn a_keep_both_download_row_names_the_file_it_wrote() {
        let mut i = info("raw/a.vcf", 1);
        i.local = "/data/raw/a (1).vcf".into();
        assert_eq!(i.label(), "raw/a.vcf → a (1).vcf");
        i.local = "/data/raw/a.vcf".into();
        assert_eq!(i.label(), "raw/a.vcf");
    }

    #[test]
    fn r_retries_every_failed_row_even_one_without_a_remote_name() {
        let mut s = listed();
        added(&mut s, 2);
        let mut i = info("", 1);
        i.dir = Direction::Up;
        ev(&mut s, Event::TransferAdded { id: 3, info: i });
        set(&mut s, 1, TransferState::Failed("x".into()));
        set(&mut s, 3, TransferState::Failed("No such file".into()));
        assert_eq!(ch(&mut s, 'R'), vec![Command::Retry(vec![1, 3])]);
    }

    #[test]
    fn esc_on_an_error_closes_it_and_keeps_the_marks() {
        let mut s = two_workspaces();
        go_to(&mut s, "a.txt");
        ch(&mut s, ' ');
        go_to(&mut s, "c.txt");
        ch(&mut s, ' ');
        ch(&mut s, 'd'); // refused: two workspaces
        assert!(s.notice.is_some());
        key(&mut s, KeyCode::Esc);
        assert!(s.notice.is_none(), "the error is closed");
        assert_eq!(s.marked.len(), 2, "and the marks it was about stay");
        key(&mut s, KeyCode::Esc);
        assert!(s.marked.is_empty(), "a second Esc clears them");
    }

    #[test]
    fn the_trees_keys_do_nothing_to_the_tree_from_the_transfers_pane() {
        let mut s = raw_open();
        go_to(&mut s, "raw/a.vcf");
        added(&mut s, 1);
        set(&mut s, 1, TransferState::Done);
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, Pane::Transfers);
        let before = (s.selected, s.rows.len());
        for k in [KeyCode::Enter, KeyCode::Right, KeyCode::Left] {
            assert!(key(&mut s, k).is_empty());
            assert_eq!(s.focus, Pane::Transfers, "{k:?} keeps the focus");
        }
        for c in ['r', 'u', 'd', ' '] {
            assert!(ch(&mut s, c).is_empty(), "{c}");
            assert!(s.dialog.is_none(), "{c}: nothing asked");
            assert!(notice(&s).contains("Tab goes back to the tree"), "{c}");
        }
        assert_eq!((s.selected, s.rows.len()), before, "the tree did not move");
        assert!(s.marked.is_empty());
        // X empties the pane: the focus goes back to the tree, and the footer says so.
        ch(&mut s, 'X');
        assert_eq!(s.focus, Pane::Tree);
        assert!(notice(&s).contains("back in the tree"), "{}", notice(&s));
    }

    #[test]
    fn marks_inside_a_marked_folder_are_not_counted_twice() {
        let mut s = raw_open();
        ch(&mut s, ' '); // raw/
        go_to(&mut s, "raw/a.vcf");
        ch(&mut s, ' ');
        assert_eq!(s.marked.len(), 2);
        let m = marks::summary(&s).expect("marks");
        assert_eq!((m.items, m.files), (1, 3));
        ch(&mut s, 'x');
        let Some(Dialog::ConfirmDelete(d)) = &s.dialog else {
            panic!()
        };
        assert_eq!(d.label, "1 marked item", "the question counts as the title");
    }

    #[test]
    fn c_on_an_ended_row_r_and_c_with_nothing_to_do_say_so() {
        let mut s = listed();
        added(&mut s, 1);
        set(&mut s, 1, TransferState::Done);
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Tab);
        assert!(ch(&mut s, 'c').is_empty());
        assert!(
            notice(&s).contains("this transfer is done"),
            "{}",
            notice(&s)
        );
        assert!(ch(&mut s, 'C').is_empty());
        assert!(notice(&s).contains("No transfer is queued or running"));
        assert!(ch(&mut s, 'R').is_empty());
        assert!(notice(&s).contains("No failed transfer"));
        key(&mut s, KeyCode::Tab);
        ch(&mut s, 'j'); // raw/
        let cmds = ch(&mut s, 'r');
        assert!(
            notice(&s).contains("Listing ws1:raw/ again"),
            "{}",
            notice(&s)
        );
        let req = list_req(&cmds);
        update(&mut s, page(req, &[("raw/a.vcf", 10)], true));
        assert!(
            notice(&s).contains("Listed ws1:raw/ again: 1 file."),
            "{}",
            notice(&s)
        );
    }
}

#[test]
fn an_upload_that_failed_without_a_remote_name_lists_nothing_again() {
    use filedeck::app::transfer_types::{Direction, TransferInfo, TransferState};
    let mut s = listed();
    let info = TransferInfo {
        dir: Direction::Up,
        ws: "ws1".into(),
        remote: String::new(),
        local: "/gone/file.txt".into(),
        size: None,
    };
    update(&mut s, Msg::Worker(Event::TransferAdded { id: 1, info }));
    let cmds = update(
        &mut s,
        Msg::Worker(Event::TransferState {
            id: 1,
            state: TransferState::Failed("No such file".into()),
        }),
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(s.workspaces[0].listing.complete, "the tree stays");
}

fn ctrl(state: &mut State, c: char) -> Vec<Command> {
    update(
        state,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

fn with_keys(s: &mut State, pairs: &[(&str, &[&str])]) {
    let over = pairs
        .iter()
        .map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect()))
        .collect();
    s.keymap = filedeck::app::keymap::Keymap::with_overrides(&over).unwrap();
}

#[test]
fn an_overridden_browser_key_acts_and_the_old_one_does_not() {
    let mut s = listed();
    with_keys(&mut s, &[("delete", &["D"])]);
    ch(&mut s, 'j'); // raw/
    ch(&mut s, 'x');
    assert!(s.dialog.is_none(), "x is no longer delete");
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('D'), KeyModifiers::SHIFT)),
    );
    assert!(matches!(s.dialog, Some(Dialog::ConfirmDelete(_))));
}

#[test]
fn an_overridden_dialog_key_answers_the_dialog() {
    let mut s = listed();
    with_keys(&mut s, &[("confirm.yes", &["o"])]);
    ch(&mut s, 'j');
    ch(&mut s, 'x');
    // y is no answer any more: the dialog stays.
    assert!(ch(&mut s, 'y').is_empty());
    assert!(matches!(s.dialog, Some(Dialog::ConfirmDelete(_))));
    let cmds = ch(&mut s, 'o');
    assert!(matches!(&cmds[..], [Command::Delete { .. }]), "{cmds:?}");
}

#[test]
fn half_pages_move_half_the_viewport() {
    let mut s = State::new("http://files.example:8080", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    let files: Vec<(String, u64)> = (0..60).map(|i| (format!("f{i:02}.txt"), 1)).collect();
    let refs: Vec<(&str, u64)> = files.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    update(&mut s, page(req, &refs, true));
    let half = (s.viewport() / 2).max(1);
    ctrl(&mut s, 'd');
    assert_eq!(s.selected, half);
    ctrl(&mut s, 'd');
    assert_eq!(s.selected, 2 * half);
    ctrl(&mut s, 'u');
    assert_eq!(s.selected, half);
}

#[test]
fn mark_all_invert_and_range() {
    let mut s = listed();
    // ws1, raw/, top.txt: Ctrl-a on raw/ marks raw/ and top.txt (the root's entries).
    ch(&mut s, 'j');
    ctrl(&mut s, 'a');
    assert_eq!(s.marked.len(), 2);
    ctrl(&mut s, 'r');
    assert!(s.marked.is_empty(), "inverting all-marked unmarks all");
    ctrl(&mut s, 'r');
    assert_eq!(s.marked.len(), 2);
    key(&mut s, KeyCode::Esc);
    assert!(s.marked.is_empty());
    // Open raw/: ws1, raw/, run1/, a.vcf, b.vcf, top.txt. Space on run1/, then v on b.vcf
    // marks run1/, a.vcf and b.vcf.
    ch(&mut s, 'l');
    ch(&mut s, 'j');
    assert_eq!(selected_label(&s), "raw/run1/");
    ch(&mut s, ' ');
    ch(&mut s, 'j');
    assert_eq!(selected_label(&s), "raw/b.vcf");
    ch(&mut s, 'v');
    assert_eq!(s.marked.len(), 3);
    assert!(s.marked.contains(&s.selected_row().unwrap()));
}

#[test]
fn t_goes_to_the_transfers_pane_and_back() {
    let mut s = listed();
    ch(&mut s, 't');
    assert_eq!(
        s.focus,
        filedeck::app::state::Pane::Tree,
        "no transfers: stays"
    );
    update(
        &mut s,
        Msg::Worker(Event::TransferAdded {
            id: 1,
            info: filedeck::app::transfer_types::TransferInfo {
                dir: filedeck::app::transfer_types::Direction::Down,
                ws: "ws1".into(),
                remote: "top.txt".into(),
                local: "./top.txt".into(),
                size: Some(1),
            },
        }),
    );
    ch(&mut s, 't');
    assert_eq!(s.focus, filedeck::app::state::Pane::Transfers);
    ch(&mut s, 't');
    assert_eq!(s.focus, filedeck::app::state::Pane::Tree);
}

#[test]
fn download_on_a_workspace_row_takes_everything_in_it() {
    let mut s = listed();
    assert!(matches!(s.selected_row(), Some(Row::Workspace { .. })));
    ch(&mut s, 'd');
    let files = match &s.dialog {
        Some(Dialog::Path {
            kind: filedeck::app::state::PromptKind::Download { files, bytes, .. },
            ..
        }) => {
            assert_eq!(*bytes, 331);
            files.clone()
        }
        other => panic!("{other:?}"),
    };
    let mut rel: Vec<String> = files.iter().map(|(_, r)| r.clone()).collect();
    rel.sort();
    assert_eq!(rel, ["raw/a.vcf", "raw/b.vcf", "raw/run1/x.fq", "top.txt"]);
}

#[test]
fn a_workspace_still_listing_is_not_downloaded_whole() {
    let mut s = State::new("http://files.example:8080", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    update(&mut s, page(req, &[("a.txt", 1)], false));
    ch(&mut s, 'd');
    assert!(s.dialog.is_none());
    assert!(
        s.last_error
            .as_deref()
            .unwrap_or("")
            .contains("not complete"),
        "{:?}",
        s.last_error
    );
}

#[test]
fn dot_hides_and_shows_dotfiles_and_dot_folders() {
    let mut s = State::new("http://files.example:8080", &["ws1".into()], 80, 24);
    let req = list_req(&init(&mut s));
    update(
        &mut s,
        page(
            req,
            &[
                (".env", 1),
                (".cache/x", 1),
                ("data/.keep", 1),
                ("data/a.txt", 1),
            ],
            true,
        ),
    );
    // Shown by default: ws1, .cache/, data/, .env.
    assert_eq!(s.rows.len(), 4);
    ch(&mut s, 'l'); // ws1 is open: l moves on to .cache/
    ch(&mut s, 'j');
    assert_eq!(selected_label(&s), "data/");
    ch(&mut s, 'l'); // data/ open: .keep, a.txt under it.
    assert_eq!(s.rows.len(), 6);
    ch(&mut s, '.');
    assert!(s.hide_dotfiles);
    // ws1, data/, a.txt: the cursor stays on data/.
    assert_eq!(s.rows.len(), 3);
    assert_eq!(selected_label(&s), "data/");
    ch(&mut s, '.');
    assert_eq!(s.rows.len(), 6);
}

/// The key that closes a notification without doing its work is whichever clears marks
/// (Esc by default), and an unbound key's hint names the help's key in force.
#[test]
fn notification_dismissal_and_the_unbound_hint_follow_the_keymap() {
    let mut s = listed();
    let mut keys = filedeck::config::KeyOverrides::new();
    keys.insert("clear_marks".into(), vec!["z".into()]);
    keys.insert("help".into(), vec!["F1".into()]);
    s.set_keys(&keys);
    key(&mut s, KeyCode::Down);
    ch(&mut s, ' ');
    assert_eq!(s.marked.len(), 1);
    ch(&mut s, 'Q');
    let notice = s
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(
        notice.contains("Q does nothing here: F1 lists the keys"),
        "{notice}"
    );
    // z closes the notification and nothing more: the mark stays.
    ch(&mut s, 'z');
    assert!(s.notice.is_none());
    assert_eq!(s.marked.len(), 1);
    // Without a notification z clears the marks.
    ch(&mut s, 'z');
    assert_eq!(s.marked.len(), 0);
}
