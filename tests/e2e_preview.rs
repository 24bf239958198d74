//! End to end in a pty: `p` previews a file of the demo under its details, `P` full
//! screen, Esc back; the real binary, its worker and the demo's server. Waits are on
//! whole screen conditions with deadlines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    unsafe_code,
    reason = "tests stop at the first surprise; the pty driver (support/pty.rs) polls with libc"
)]

#[path = "common/mod.rs"]
mod common;
#[path = "support/pty.rs"]
mod pty;
use pty::Pty;

#[test]
fn p_and_shift_p_preview_a_file_of_the_demo() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&[], &[], state.path());
    // ws_lab is the last row: open it, then its last row is README.md.
    pty.send("G");
    pty.send("l");
    pty.wait_for("ws_lab listed", |s| {
        s.contains("3 files  189 B") && s.contains("protocols/")
    });
    pty.send("G");
    pty.wait_for("README.md selected", |s| s.contains("Path      README.md"));
    pty.send("p");
    pty.wait_for("the preview in the details pane", |s| {
        s.contains("Preview · text") && s.contains("(the whole file)")
    });
    pty.send("P");
    pty.wait_for("the full-screen preview", |s| {
        s.contains("README.md · text") && s.contains("lines 1–") && s.contains("q closes")
    });
    pty.send("\x1b");
    pty.wait_for("back to the details preview", |s| {
        !s.contains("q closes") && s.contains("Preview · text")
    });
    pty.send("p");
    pty.wait_for("the preview off", |s| {
        !s.contains("Preview · text") && s.contains("Path      README.md")
    });
    assert!(pty.quit().success());
}
