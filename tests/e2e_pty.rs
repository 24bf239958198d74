//! End to end: the real binary in a pty (portable-pty + vt100) against a server with
//! known files. Every wait is on a screen condition with a deadline, never a bare sleep.
//! A test with files on the server runs once per key style (`key_styles!`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    unsafe_code,
    reason = "tests stop at the first surprise; the pty driver (support/pty.rs) polls with libc"
)]

use std::time::{Duration, Instant};

use filedeck::api::{ApiKey, Client, ClientConfig};
use filedeck::server;

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");
const KEY: &str = "e2e-key";

#[path = "support/pty.rs"]
mod pty;
use pty::Pty;

#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

fn contains_seq(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

key_styles! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn browse_open_delete_quit(style) {
        let data = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let srv = test_server::start_styled(data.path(), KEY, style).await;
        server::put_many(
            &srv,
            "ws1",
            vec![
                ("raw/alpha.vcf".into(), b"##fileformat=VCFv4.2\n".to_vec()),
                ("raw/beta.vcf".into(), vec![b'b'; 2048]),
                ("notes.txt".into(), b"hello".to_vec()),
            ],
            None,
        )
        .await
        .unwrap();
        let url = srv.base_url();
        let state_dir = state.path().to_str().unwrap().to_string();
        let mut pty = tokio::task::spawn_blocking(move || {
            Pty::spawn(
                &["--workspace", "ws1"],
                &[
                    ("FILEDECK_ENDPOINT", &url),
                    ("FILEDECK_API_KEY", KEY),
                    ("XDG_STATE_HOME", &state_dir),
                ],
                100,
                30,
            )
        })
        .await
        .unwrap();
        let client =
            Client::new(ClientConfig::new(&srv.base_url(), ApiKey::new(KEY)).unwrap()).unwrap();
        let pty = tokio::task::spawn_blocking(move || {
            pty.wait_for("the listing", |s| {
                s.contains("raw/") && s.contains("notes.txt") && s.contains("3 files")
            });
            assert!(
                pty.alternate_screen(),
                "the TUI runs on the alternate screen"
            );
            pty.send("j"); // raw/
            pty.wait_for("raw/ selected", |s| s.contains("Folder    raw/"));
            pty.send("l"); // open it
            pty.wait_for("raw/ opened", |s| {
                s.contains("alpha.vcf") && s.contains("beta.vcf")
            });
            pty.send("j"); // alpha.vcf
            pty.wait_for("alpha.vcf details", |s| {
                s.contains("Path      raw/alpha.vcf")
            });
            pty.send("x");
            pty.wait_for("the confirm dialog", |s| {
                s.contains("Delete ws1:raw/alpha.vcf?") && s.contains("1 file, 21 B")
            });
            pty.send("y");
            pty.wait_for("the deletion", |s| {
                s.contains("Deleted 1 file.") && !s.contains("alpha.vcf")
            });
            pty
        })
        .await
        .unwrap();
        // Gone on the server, the others kept.
        let mut left: Vec<_> = client
            .list_all("ws1", "")
            .await
            .unwrap()
            .files
            .iter()
            .map(|f| f.display_key())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.txt", "raw/beta.vcf"]);
        let mut pty = pty;
        tokio::task::spawn_blocking(move || {
            pty.send("q");
            let status = pty.wait_exit();
            assert!(status.success(), "{status:?}");
            // Give the reader thread the last bytes: wait on the terminal state itself.
            let deadline = Instant::now() + Duration::from_secs(5);
            while (pty.alternate_screen() || pty.cursor_hidden()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(!pty.alternate_screen(), "left the alternate screen");
            assert!(!pty.cursor_hidden(), "the cursor is shown again");
            let raw = pty.raw();
            assert!(
                contains_seq(&raw, b"\x1b[?1049l"),
                "leave-alternate-screen sequence sent"
            );
            assert!(
                contains_seq(&raw, b"\x1b[?25h"),
                "show-cursor sequence sent"
            );
        })
        .await
        .unwrap();
        srv.shutdown().await;
    }
}

// The signal tests run in the default (path) style only: the server holds no file, so no
// key is ever listed or used and the style cannot matter.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_restores_the_terminal() {
    signal_restores_the_terminal(rustix::process::Signal::TERM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_restores_the_terminal() {
    signal_restores_the_terminal(rustix::process::Signal::HUP).await;
}

async fn signal_restores_the_terminal(sig: rustix::process::Signal) {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let srv = test_server::start(data.path(), KEY).await;
    let url = srv.base_url();
    let state_dir = state.path().to_str().unwrap().to_string();
    tokio::task::spawn_blocking(move || {
        let mut pty = Pty::spawn(
            &["--workspace", "ws1"],
            &[
                ("FILEDECK_ENDPOINT", &url),
                ("FILEDECK_API_KEY", KEY),
                ("XDG_STATE_HOME", &state_dir),
            ],
            80,
            24,
        );
        pty.wait_for("the first frame", |s| {
            s.contains("Workspaces") && s.contains("ws1")
        });
        assert!(!pty.screen().contains(KEY), "a real API key is never shown");
        let pid = pty.child.process_id().unwrap();
        rustix::process::kill_process(rustix::process::Pid::from_raw(pid as i32).unwrap(), sig)
            .expect("signal sent");
        let status = pty.wait_exit();
        assert_eq!(status.exit_code(), 128 + sig.as_raw() as u32, "{status:?}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while (pty.alternate_screen() || pty.cursor_hidden()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            !pty.alternate_screen() && !pty.cursor_hidden(),
            "terminal restored after signal {sig:?}"
        );
    })
    .await
    .unwrap();
    srv.shutdown().await;
}

#[test]
fn no_endpoint_is_a_usage_error_naming_the_way_out() {
    let o = std::process::Command::new(BIN)
        .env_remove("FILEDECK_ENDPOINT")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--endpoint") && e.contains("--demo"), "{e}");
}

#[test]
fn demo_opens_on_seeded_data() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&[], &[], state.path());
    pty.wait_for("the seeded folders", |s| s.contains("runs/"));
    pty.send("G");
    pty.send("l");
    pty.wait_for("ws_lab opened", |s| {
        s.contains("résultats/") && s.contains("protocols/")
    });
    pty.send("q");
    assert!(pty.wait_exit().success());
}

// The demo (issue 9): its data dir lives in TMPDIR, pointed here at a test temp dir, so a
// test sees it made and removed.

/// The demo in a pty of 100×30, with `tmp` as its TMPDIR; its first listing is on screen
/// and its data dir the one in `tmp`.
fn demo(tmp: &std::path::Path, state: &std::path::Path) -> Pty {
    demo_beside(tmp, state, 1)
}

/// The demo's data dirs in `tmp`.
fn demo_dirs(tmp: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("filedeck-demo-"))
        .collect()
}

/// Upload a folder of 4 sparse files of 200 MB into the demo and wait until all 4 run (the
/// default concurrency): large enough to still run when the test acts.
fn uploads_running(pty: &mut Pty, tmp: &std::path::Path) {
    let src = tmp.join("big4");
    std::fs::create_dir(&src).unwrap();
    for i in 0..4 {
        let f = std::fs::File::create(src.join(format!("big{i}.bin"))).unwrap();
        f.set_len(200_000_000).unwrap();
    }
    pty.send("u");
    pty.wait_for("the upload prompt", |s| s.contains("Local file or folder"));
    pty.send(src.to_str().unwrap());
    pty.send("\r");
    pty.wait_for("4 uploads running", |s| s.contains("Transfers: 4 running"));
}

/// Wait for the terminal to be handed back (the last bytes may trail the exit).
fn assert_restored(pty: &Pty) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while (pty.alternate_screen() || pty.cursor_hidden()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!pty.alternate_screen(), "left the alternate screen");
    assert!(!pty.cursor_hidden(), "the cursor is shown again");
}

/// `q` with uploads running: the question says what really happens in the demo (no queue
/// is kept: they are cancelled), `y` ends it with status 0, and its data dir is gone.
#[test]
fn demo_quit_with_transfers_running_cancels_them_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut pty = demo(tmp.path(), state.path());
    uploads_running(&mut pty, tmp.path());
    pty.send("q");
    // The whole question, not just its title: the frame may still be arriving when the
    // title shows.
    pty.wait_for("the quit question saying they are cancelled", |s| {
        s.contains("Quit?")
            && s.contains("They are cancelled")
            && s.contains("the demo keeps no queue")
    });
    let s = pty.screen();
    assert!(
        !s.contains("resumption"),
        "the demo keeps no queue: nothing is offered next time:\n{s}"
    );
    pty.send("y");
    let status = pty.wait_exit_within(Duration::from_secs(30));
    assert_eq!(status.exit_code(), 0, "{status:?}");
    assert_restored(&pty);
    assert_eq!(
        demo_dirs(tmp.path()),
        Vec::<String>::new(),
        "data dir removed"
    );
}

/// Ctrl-C with uploads running: status 130, the terminal restored, the data dir gone.
#[test]
fn demo_ctrl_c_with_transfers_running_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut pty = demo(tmp.path(), state.path());
    uploads_running(&mut pty, tmp.path());
    pty.send("\x03");
    let status = pty.wait_exit_within(Duration::from_secs(30));
    assert_eq!(status.exit_code(), 130, "{status:?}");
    assert_restored(&pty);
    assert_eq!(
        demo_dirs(tmp.path()),
        Vec::<String>::new(),
        "data dir removed"
    );
}

/// SIGTERM (idle) and SIGHUP (uploads running: the demo does not carry on without a
/// screen, its server dies with it) end the demo with 128 + the signal, data dir gone.
#[test]
fn demo_data_dir_is_removed_on_sigterm_and_sighup() {
    for (sig, busy) in [
        (rustix::process::Signal::TERM, false),
        (rustix::process::Signal::HUP, true),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut pty = demo(tmp.path(), state.path());
        if busy {
            uploads_running(&mut pty, tmp.path());
        }
        let pid = pty.child.process_id().unwrap();
        rustix::process::kill_process(rustix::process::Pid::from_raw(pid as i32).unwrap(), sig)
            .expect("signal sent");
        let status = pty.wait_exit_within(Duration::from_secs(30));
        assert_eq!(
            status.exit_code(),
            128 + sig.as_raw() as u32,
            "signal {sig:?}: {status:?}"
        );
        assert_restored(&pty);
        assert_eq!(
            demo_dirs(tmp.path()),
            Vec::<String>::new(),
            "data dir removed after signal {sig:?}"
        );
    }
}

/// Closing the demo's terminal (a terminal window closed, an SSH session dropped), idle
/// and with uploads running: it ends with 129, nothing aborts on the dead terminal, and its
/// data dir is gone.
#[test]
fn demo_data_dir_is_removed_when_its_terminal_closes() {
    for busy in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut pty = demo(tmp.path(), state.path());
        if busy {
            uploads_running(&mut pty, tmp.path());
        }
        pty.hang_up();
        let status = pty.wait_exit_within(Duration::from_secs(30));
        assert_eq!(status.exit_code(), 129, "busy {busy}: {status:?}");
        assert_eq!(
            demo_dirs(tmp.path()),
            Vec::<String>::new(),
            "busy {busy}: data dir removed"
        );
    }
}

/// The demo's status line and help show its endpoint and a fresh session key, which the
/// CLI can use from another terminal; `q` then removes its data dir.
#[test]
fn demo_shows_its_endpoint_and_session_key() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut pty = demo(tmp.path(), state.path());
    // The whole key, not just its start: the frame may still be arriving.
    pty.wait_for("the endpoint in the status line", |s| {
        s.lines().any(|l| {
            l.contains(" demo http://127.0.0.1:")
                && l.split(" key demo-")
                    .nth(1)
                    .is_some_and(|k| k.chars().take_while(char::is_ascii_hexdigit).count() >= 24)
        })
    });
    let s = pty.screen();
    let line = s.lines().find(|l| l.contains(" demo http://")).unwrap();
    let mut words = line.split_whitespace().skip_while(|w| *w != "demo").skip(1);
    let url = words.next().unwrap().to_string();
    assert_eq!(words.next(), Some("key"), "{line}");
    let key = words.next().unwrap().to_string();
    let random = key.strip_prefix("demo-").unwrap();
    assert!(
        random.len() == 24 && random.chars().all(|c| c.is_ascii_hexdigit()),
        "a fresh random session key, not a constant: {key}"
    );
    pty.send("?");
    pty.wait_for("the endpoint and key in the help", |s| {
        s.contains(&format!("FILEDECK_ENDPOINT={url}"))
            && s.contains(&format!(
                "FILEDECK_API_KEY={key} filedeck ls -w ws_genomics"
            ))
    });
    // What the help says works: the CLI, in another terminal, against the demo's server.
    let o = std::process::Command::new(BIN)
        .args(["ls", "-w", "ws_lab"])
        .env("FILEDECK_ENDPOINT", &url)
        .env("FILEDECK_API_KEY", &key)
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("protocols/"), "{out}");
    // The old constant key is refused.
    let o = std::process::Command::new(BIN)
        .args(["ls", "-w", "ws_lab"])
        .env("FILEDECK_ENDPOINT", &url)
        .env("FILEDECK_API_KEY", "demo")
        .env("XDG_STATE_HOME", state.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    pty.send("\x1b");
    pty.wait_for("the help closed", |s| !s.contains("FILEDECK_API_KEY="));
    assert!(pty.quit().success());
    assert_eq!(
        demo_dirs(tmp.path()),
        Vec::<String>::new(),
        "data dir removed"
    );
}

/// Set `dir/.filedeck-demo.lock`'s modification time two minutes back: the lock of a demo started then.
fn age_lock(dir: &std::path::Path) {
    let lock = std::fs::File::options()
        .write(true)
        .open(dir.join(".filedeck-demo.lock"))
        .unwrap();
    lock.set_modified(std::time::SystemTime::now() - Duration::from_secs(120))
        .unwrap();
}

/// A SIGKILL leaves the data dir (nothing runs to remove it); the next demo removes it,
/// and never the dir of a demo still running (it holds its lock, however old).
#[test]
fn a_killed_demos_data_dir_is_removed_by_the_next_demo() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut a = demo(tmp.path(), state.path());
    let a_dir = tmp.path().join(&demo_dirs(tmp.path())[0]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&a_dir).unwrap().permissions().mode() & 0o777,
        0o700,
        "what is uploaded into the demo is the user's alone"
    );
    age_lock(&a_dir);
    // A live one is left alone.
    let mut b = demo_beside(tmp.path(), state.path(), 2);
    assert!(a_dir.exists(), "a running demo's data dir is kept");
    assert!(b.quit().success());
    let pid = a.child.process_id().unwrap();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .expect("signal sent");
    a.wait_exit();
    assert!(a_dir.exists(), "nothing removes it at a SIGKILL");
    age_lock(&a_dir);
    // A folder of the user's that only shares the prefix (and a lock file's name) stays.
    let notes = tmp.path().join("filedeck-demo-notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("notes.txt"), "mine").unwrap();
    std::fs::write(notes.join(".filedeck-demo.lock"), "not a demo's").unwrap();
    age_lock(&notes);
    let mut c = demo_beside(tmp.path(), state.path(), 2);
    assert!(!a_dir.exists(), "the killed demo's data dir is removed");
    assert!(
        notes.join("notes.txt").exists(),
        "the user's folder is kept"
    );
    std::fs::remove_dir_all(&notes).unwrap();
    assert!(c.quit().success());
    assert_eq!(demo_dirs(tmp.path()), Vec::<String>::new());
}

/// Another demo, with `expect` data dirs in `tmp` once it shows its first listing.
fn demo_beside(tmp: &std::path::Path, state: &std::path::Path, expect: usize) -> Pty {
    let pty = Pty::demo(&[], &[("TMPDIR", tmp.to_str().unwrap())], state);
    assert_eq!(demo_dirs(tmp).len(), expect, "{:?}", demo_dirs(tmp));
    pty
}

/// `/` in the demo: typed letters filter the listing live (matched off the UI thread),
/// Enter keeps the filter (the footer says so), Esc clears it.
#[test]
fn demo_filter_typed_live() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&[], &[], state.path());
    pty.wait_for("the demo listed", |s| s.contains("runs/"));
    pty.send("/");
    pty.wait_for("the filter's input", |s| {
        s.contains("Enter keep") && s.contains("Esc clear")
    });
    pty.send("'batch_0042");
    pty.wait_for("the one match, its folder opened, the count", |s| {
        s.contains("batch_0042.csv")
            && s.contains("▾ runs/")
            && !s.contains("batch_0041.csv")
            && s.contains("/'batch_0042 1 of")
            && s.lines().last().is_some_and(|l| l.contains("/'batch_0042"))
    });
    pty.send("\r");
    pty.wait_for("the filter kept", |s| {
        s.contains("filter on: /'batch_0042") && s.contains("batch_0042.csv")
    });
    // `n` goes to the match; Esc clears the filter and keeps it in sight, its folder open.
    pty.send("n");
    pty.wait_for("the match selected", |s| {
        s.contains("Name      batch_0042.csv")
    });
    pty.send("\x1b");
    pty.wait_for("the filter cleared", |s| {
        !s.contains("filter on") && s.contains("batch_0041.csv") && s.contains("batch_0042.csv")
    });
    pty.send("q");
    assert!(pty.wait_exit().success());
}
