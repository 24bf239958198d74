//! The config file through the real binary: `config path` and `config check`, with the
//! environment cleared so the developer's own config never leaks in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");

fn filedeck(xdg: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", xdg)
        .env("XDG_CONFIG_HOME", xdg)
        .args(args)
        .output()
        .unwrap()
}

fn write_config(xdg: &Path, text: &str) -> std::path::PathBuf {
    let dir = xdg.join("filedeck");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_path_is_under_xdg_config_home() {
    let tmp = tempfile::tempdir().unwrap();
    let o = filedeck(tmp.path(), &["config", "path"]);
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        out.trim(),
        tmp.path()
            .join("filedeck/config.toml")
            .display()
            .to_string()
    );
}

#[test]
fn config_check_accepts_a_sound_file_and_a_missing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let o = filedeck(tmp.path(), &["config", "check"]);
    assert!(o.status.success());
    assert!(
        text(&o.stdout).contains("does not exist (the built-in defaults apply)"),
        "{}",
        text(&o.stdout)
    );
    write_config(
        tmp.path(),
        "default_profile = \"lab\"\n[profiles.lab]\nendpoint = \"http://x\"\nlimit_rate = \"20M\"\n",
    );
    let o = filedeck(tmp.path(), &["config", "check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn config_check_names_file_line_and_nearest_field() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_config(tmp.path(), "[profiles.lab]\nconcurency = 4\n");
    let o = filedeck(tmp.path(), &["config", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains(&format!("{}:2:1", path.display())), "{err}");
    assert!(err.contains("did you mean `concurrency`?"), "{err}");
}

#[test]
fn config_check_passes_keys_to_the_keymap_and_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_config(tmp.path(), "[keys]\nno_such_action = [\"x\"]\n");
    let o = filedeck(tmp.path(), &["config", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains(&format!("{}: [keys]", path.display())),
        "{err}"
    );
}

#[test]
fn help_names_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let o = filedeck(tmp.path(), &["--help"]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("filedeck/config.toml"), "{out}");
}

#[test]
fn version_names_a_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let o = filedeck(tmp.path(), &["--version"]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with(&format!("filedeck {} (", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.trim_end().ends_with(')'), "{out}");
}

#[test]
fn completions_and_man_print_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let o = filedeck(tmp.path(), &["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(
            out.contains("filedeck") && out.contains("config"),
            "{shell}"
        );
    }
    let o = filedeck(tmp.path(), &["man"]);
    assert!(o.status.success());
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains(".TH filedeck")
    );
}

#[path = "common/mod.rs"]
mod common;

/// `filedeck ARGS` with only `env` (plus PATH, HOME, XDG_CONFIG_HOME) in its environment.
fn filedeck_env(xdg: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", xdg)
        .env("XDG_CONFIG_HOME", xdg)
        .env("XDG_STATE_HOME", xdg.join("state"))
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn config_show_prints_each_value_with_its_layer_and_never_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(
        tmp.path(),
        "default_profile = \"lab\"\n[profiles.lab]\nendpoint = \"http://lab\"\n\
         api_key_env = \"LAB_KEY\"\nconcurrency = 8\nlimit_rate = \"20M\"\ntheme = \"light\"\n",
    );
    let env = [
        ("LAB_KEY", "very-secret"),
        ("FILEDECK_API_KEY", "also-secret"),
        ("FILEDECK_LIMIT_RATE", "5M"),
    ];
    let o = filedeck_env(tmp.path(), &env, &["config", "show", "--theme", "dark"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(!out.contains("secret"), "{out}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .to_string()
    };
    assert!(
        line("endpoint").contains("http://lab  (profile lab)"),
        "{out}"
    );
    assert!(line("api key").contains("from $LAB_KEY"), "{out}");
    assert!(line("concurrency").contains("8  (profile lab)"), "{out}");
    assert!(
        line("limit_rate").contains("5242880 bytes/s  ($FILEDECK_LIMIT_RATE)"),
        "{out}"
    );
    assert!(line("theme").contains("dark  (--theme)"), "{out}");
    // The same settings for every subcommand: flags after the verb are the global ones.
    let o = filedeck_env(tmp.path(), &env, &["config", "show", "--concurrency", "3"]);
    assert!(
        text(&o.stdout).contains("3  (--concurrency)"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn a_broken_file_stops_every_command_that_reads_it_with_one_message() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_config(tmp.path(), "[profiles.lab]\nendpont = \"http://x\"\n");
    for args in [&["ls", "-w", "ws1"][..], &["config", "show"], &[]] {
        let o = filedeck_env(tmp.path(), &[("FILEDECK_ENDPOINT", "http://x")], args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = text(&o.stderr);
        assert!(
            err.contains(&format!("{}:2:1", path.display())),
            "{args:?}: {err}"
        );
        assert!(err.contains("did you mean `endpoint`?"), "{err}");
    }
    // What needs no settings still runs.
    assert!(
        filedeck_env(tmp.path(), &[], &["config", "path"])
            .status
            .success()
    );
    assert!(
        filedeck_env(tmp.path(), &[], &["completions", "bash"])
            .status
            .success()
    );
}

/// A real server; a profile pointing at it with its key in a file; the CLI driven by the
/// profile alone (endpoint, key, workspace, download folder).
#[test]
fn a_profile_drives_the_cli_with_its_own_key_only() {
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
        "the-real-key",
    );
    let key_file = tmp.path().join("lab.key");
    std::fs::write(&key_file, "the-real-key\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir(&downloads).unwrap();
    write_config(
        tmp.path(),
        &format!(
            "default_profile = \"lab\"\n[profiles.lab]\nendpoint = {url:?}\n\
             api_key_file = {:?}\nworkspaces = [\"ws1\"]\ndownload_dir = {:?}\n\
             [profiles.nokey]\nendpoint = {url:?}\n",
            key_file.to_str().unwrap(),
            downloads.to_str().unwrap()
        ),
    );
    let local = tmp.path().join("reads.vcf");
    std::fs::write(&local, b"##fileformat=VCFv4.2\n").unwrap();
    // A wrong key exported: never sent to the profile's endpoint, so everything works.
    let env = [("FILEDECK_API_KEY", "wrong-key")];
    let o = filedeck_env(tmp.path(), &env, &["put", local.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = filedeck_env(tmp.path(), &env, &["get", "reads.vcf"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read(downloads.join("reads.vcf")).unwrap(),
        b"##fileformat=VCFv4.2\n"
    );
    // --to (a flag) outranks the profile's download_dir.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let o = filedeck_env(
        tmp.path(),
        &env,
        &["get", "reads.vcf", "--to", elsewhere.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(elsewhere.join("reads.vcf").exists());
    // The right key exported, but the profile names none: refused before any request.
    let o = filedeck_env(
        tmp.path(),
        &[("FILEDECK_API_KEY", "the-real-key")],
        &["--profile", "nokey", "ls", "-w", "ws1"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("profile nokey has an endpoint but no key"),
        "{}",
        text(&o.stderr)
    );
    // --endpoint takes the exported key, never the profile's file.
    let o = filedeck_env(tmp.path(), &env, &["ls", "--endpoint", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    // The key file readable by others: refused, naming it.
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = filedeck_env(tmp.path(), &env, &["ls"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains(key_file.to_str().unwrap()), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    common::sigterm(&server);
    server.wait().unwrap();
}

/// The browser refuses a `[keys]` conflict before it takes the terminal, naming both
/// actions and the file (never a silent fallback to the defaults).
#[test]
fn the_browser_reports_a_key_conflict_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_config(tmp.path(), "[keys]\ndelete = [\"r\"]\n");
    let o = filedeck_env(
        tmp.path(),
        &[
            ("FILEDECK_ENDPOINT", "http://127.0.0.1:9"),
            ("FILEDECK_API_KEY", "k"),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("delete") && err.contains("refresh"), "{err}");
    let o = filedeck_env(tmp.path(), &[], &["--demo"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
}

/// A config path that is a device, a directory or a FIFO is refused at once, naming it,
/// never read forever or waited on.
#[test]
fn a_config_path_that_is_no_regular_file_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.toml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for path in [Path::new("/dev/zero"), tmp.path(), fifo.as_path()] {
        let o = filedeck_env(
            tmp.path(),
            &[("FILEDECK_CONFIG", path.to_str().unwrap())],
            &["config", "show"],
        );
        assert_eq!(o.status.code(), Some(1), "{}", path.display());
        let err = text(&o.stderr);
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}

/// Without HOME, `~` in api_key_file means nothing: refused, never a file found relative
/// to wherever filedeck was started.
#[test]
fn a_key_file_under_tilde_without_home_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write_config(
        tmp.path(),
        "[profiles.lab]\nendpoint = \"http://127.0.0.1:9\"\napi_key_file = \"~/lab.key\"\n",
    );
    // A key file planted where filedeck starts, under the literal name.
    std::fs::create_dir_all(tmp.path().join("~")).unwrap();
    std::fs::write(tmp.path().join("~/lab.key"), "planted\n").unwrap();
    let o = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("XDG_CONFIG_HOME", tmp.path())
        .env("XDG_STATE_HOME", tmp.path().join("state"))
        .current_dir(tmp.path())
        .args(["--profile", "lab", "ls", "-w", "ws1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("HOME is not set"),
        "{}",
        text(&o.stderr)
    );
}
