//! End to end: the real binary in a pty (portable-pty + vt100) against a server with
//! known files. Every wait is on a screen condition with a deadline, never a bare sleep.
//! A test with files on the server runs once per key style (`key_styles!`).

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
                s.contains("Delete raw/alpha.vcf?") && s.contains("1 file, 21 B")
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
    signal_restores_the_terminal(libc::SIGTERM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_restores_the_terminal() {
    signal_restores_the_terminal(libc::SIGHUP).await;
}

async fn signal_restores_the_terminal(sig: i32) {
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
        let pid = pty.child.process_id().unwrap();
        // SAFETY: signalling our own child process.
        assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
        pty.wait_exit();
        let deadline = Instant::now() + Duration::from_secs(5);
        while (pty.alternate_screen() || pty.cursor_hidden()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            !pty.alternate_screen() && !pty.cursor_hidden(),
            "terminal restored after signal {sig}"
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
    let mut pty = Pty::spawn(
        &["--demo"],
        &[("XDG_STATE_HOME", state.path().to_str().unwrap())],
        100,
        30,
    );
    pty.wait_for("the demo workspaces", |s| {
        s.contains("ws_genomics")
            && s.contains("ws_lab")
            && s.contains("runs/")
            && s.contains("1,000 files")
    });
    pty.send("G");
    pty.send("l");
    pty.wait_for("ws_lab opened", |s| {
        s.contains("résultats/") && s.contains("protocols/")
    });
    pty.send("q");
    assert!(pty.wait_exit().success());
}
