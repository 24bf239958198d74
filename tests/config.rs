//! The config file through the real binary: `config path` and `config check`, with the
//! environment cleared so the developer's own config never leaks in.
#![allow(
    clippy::unwrap_used,
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
    assert!(filedeck(tmp.path(), &["config", "check"]).status.success());
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
