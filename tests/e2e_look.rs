//! End to end in a pty: what the terminal receives. NO_COLOR leaves no colour-setting
//! SGR in the raw bytes while the selection stays visible (reverse video); `y` writes the
//! exact OSC 52 sequence. Waits are on screen conditions with deadlines.
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

/// The parameter lists of every SGR (`ESC [ … m`) in `raw`.
fn sgrs(raw: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < raw.len() {
        if raw[i] == 0x1b && raw[i + 1] == b'[' {
            let start = i + 2;
            let mut j = start;
            // Parameters and intermediates, up to the final byte.
            while j < raw.len() && !(0x40..=0x7e).contains(&raw[j]) {
                j += 1;
            }
            if j < raw.len() && raw[j] == b'm' {
                out.push(String::from_utf8_lossy(&raw[start..j]).into_owned());
            }
            i = j;
        }
        i += 1;
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// An SGR parameter list that sets a foreground or background colour.
fn sets_colour(params: &str) -> bool {
    params.split([';', ':']).any(|p| {
        matches!(p.parse::<u16>(), Ok(n) if n == 38 || n == 48 || (30..=37).contains(&n)
            || (40..=47).contains(&n) || (90..=97).contains(&n) || (100..=107).contains(&n))
    })
}

#[test]
fn no_color_sends_no_colour_and_keeps_the_selection_visible() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&[], &[("NO_COLOR", "1")], state.path());
    pty.send("j");
    pty.send("?");
    pty.wait_for("the help", |s| s.contains("Keys"));
    pty.send("\x1b");
    pty.wait_for("the help closed", |s| !s.contains("?/Esc closes"));
    let raw = pty.raw();
    pty.send("q");
    assert!(pty.wait_exit().success());
    let sgrs = sgrs(&raw);
    let coloured: Vec<_> = sgrs.iter().filter(|p| sets_colour(p)).collect();
    assert!(coloured.is_empty(), "colour-setting SGRs: {coloured:?}");
    assert!(
        sgrs.iter().any(|p| p.split(';').any(|n| n == "7")),
        "no reverse video for the selection: {sgrs:?}"
    );
}

#[test]
fn the_default_theme_uses_the_16_ansi_colours_only() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&[], &[], state.path());
    let raw = pty.raw();
    pty.send("q");
    assert!(pty.wait_exit().success());
    let sgrs = sgrs(&raw);
    assert!(
        sgrs.iter().any(|p| sets_colour(p)),
        "the default has colours"
    );
    // No 256-colour or RGB pick: `38;5;n` / `38;2;r;g;b` (and their backgrounds).
    let fixed: Vec<_> = sgrs
        .iter()
        .filter(|p| p.contains("38;") || p.contains("48;"))
        .collect();
    assert!(fixed.is_empty(), "fixed colours: {fixed:?}");
}

#[test]
fn y_writes_the_selected_path_as_osc_52() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&[], &[("TMUX", "")], state.path());
    pty.send("G");
    pty.send("y");
    pty.wait_for("the copy notification", |s| {
        s.contains("Copied the path ws_lab (OSC 52)")
    });
    // `m` turns mouse capture off at once (the terminal's own selection works again).
    let before = pty.raw().len();
    pty.send("m");
    pty.wait_for("mouse off", |s| s.contains("Mouse off"));
    let after = pty.raw()[before..].to_vec();
    assert!(
        contains(&after, b"\x1b[?1000l"),
        "m did not turn capture off"
    );
    pty.send("m");
    pty.wait_for("mouse on", |s| s.contains("Mouse on"));
    let raw = pty.raw();
    pty.send("q");
    assert!(pty.wait_exit().success());
    // Capture was on from the start (presses and the wheel, not every motion), and the
    // restore turned it off.
    assert!(contains(&raw, b"\x1b[?1000h"));
    assert!(
        !contains(&raw, b"\x1b[?1003h"),
        "any-motion tracking floods an SSH link"
    );
    let tail = pty.raw()[raw.len()..].to_vec();
    assert!(
        contains(&tail, b"\x1b[?1000l"),
        "the restore left mouse capture on"
    );
    // base64("ws_lab") = "d3NfbGFi"
    let want = b"\x1b]52;c;d3NfbGFi\x07";
    assert!(
        contains(&raw, want),
        "no OSC 52 with base64 of 'ws_lab' in the output"
    );
}

#[test]
fn a_double_click_in_the_terminal_opens_a_workspace() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&[], &[], state.path());
    let screen = pty.screen();
    let row = screen
        .lines()
        .position(|l| l.contains("▸ ws_lab"))
        .expect("ws_lab on screen");
    // SGR mouse reports (1-based): left press and release, twice, on ws_lab's name.
    let y = row + 1;
    let click = format!("\x1b[<0;6;{y}M\x1b[<0;6;{y}m");
    pty.send(&format!("{click}{click}"));
    pty.wait_for("ws_lab opened", |s| {
        s.contains("▾ ws_lab") && s.contains("protocols/")
    });
    pty.send("q");
    assert!(pty.wait_exit().success());
}

/// The browser from a profile alone: its endpoint, its key (from a 0600 file; a wrong key
/// exported beside it is never sent), its workspace and its theme (mono: no colour).
#[test]
fn a_profile_alone_opens_the_browser_on_its_endpoint_with_its_key_and_theme() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut server, url) = common::spawn_serve(
        [
            "--data".as_ref(),
            data.path().as_os_str(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
        ],
        "profile-key",
    );
    let local = tmp.path().join("from_the_profile.vcf");
    std::fs::write(&local, b"##fileformat=VCFv4.2\n").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_filedeck"))
        .args(["put", "-w", "ws1", local.to_str().unwrap()])
        .env("FILEDECK_CONFIG", "/nonexistent/filedeck-test-config.toml")
        .env("FILEDECK_ENDPOINT", &url)
        .env("FILEDECK_API_KEY", "profile-key")
        .env("XDG_STATE_HOME", tmp.path().join("state"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let key_file = tmp.path().join("lab.key");
    std::fs::write(&key_file, "profile-key\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = tmp.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.lab]\nendpoint = {url:?}\napi_key_file = {:?}\n\
             workspaces = [\"ws1\"]\ntheme = \"mono\"\n",
            key_file.to_str().unwrap()
        ),
    )
    .unwrap();
    let state = tmp.path().join("state");
    let mut pty = Pty::spawn(
        &["--profile", "lab"],
        &[
            ("FILEDECK_CONFIG", config.to_str().unwrap()),
            ("FILEDECK_API_KEY", "wrong-key"),
            ("XDG_STATE_HOME", state.to_str().unwrap()),
        ],
        100,
        30,
    );
    pty.wait_for("the profile's workspace listed", |s| {
        s.contains("from_the_profile.vcf")
    });
    let raw = pty.raw();
    pty.send("q");
    assert!(pty.wait_exit().success());
    let coloured: Vec<_> = sgrs(&raw).into_iter().filter(|p| sets_colour(p)).collect();
    assert!(
        coloured.is_empty(),
        "the profile's mono theme: {coloured:?}"
    );
    common::sigterm(&server);
    server.wait().unwrap();
}

/// A `TZ` naming a FIFO or an endless device: the browser starts, draws and quits as
/// ever (times in UTC), never hangs with the terminal taken.
#[test]
fn a_tz_naming_a_fifo_or_a_device_does_not_hang_the_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("zone");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for tz in [format!(":{}", fifo.display()), ":/dev/zero".to_string()] {
        let mut pty = Pty::demo(&[], &[("TZ", tz.as_str())], tmp.path());
        pty.send("q");
        assert!(pty.wait_exit().success(), "TZ={tz}");
    }
}

/// `--theme` outranks NO_COLOR: the theme chosen is drawn in colour (crossterm reads
/// NO_COLOR on its own; the settings decide).
#[test]
fn theme_flag_outranks_no_color() {
    let state = tempfile::tempdir().unwrap();
    let mut pty = Pty::demo(&["--theme", "dark"], &[("NO_COLOR", "1")], state.path());
    let raw = pty.raw();
    pty.send("q");
    assert!(pty.wait_exit().success());
    assert!(
        sgrs(&raw).iter().any(|p| sets_colour(p)),
        "--theme dark drew no colour"
    );
}
