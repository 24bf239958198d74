//! The layers folded into settings: built-in < profile < environment < flags, one test per
//! setting that has a flag, the endpoint and its key as a pair, and the key file's
//! permissions. The browser, the demo and every subcommand resolve through
//! `Settings::load`, which is `Settings::resolve` on the real file and environment; these
//! tests give `resolve` its layers directly.
#![allow(
    clippy::unwrap_used,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use filedeck::config::{
    ConfigFile, Flags, KeySource, Layer, Settings, Sourced, ThemeName, TimeShown,
};

const FILE: &str = r#"
default_profile = "lab"
[profiles.lab]
endpoint = "https://lab.example.org"
api_key_env = "LAB_FILES_KEY"
workspaces = ["ws_lab"]
download_dir = "/data/lab"
concurrency = 8
limit_rate = "20M"
theme = "light"
time = "utc"
mouse = false
[profiles.home]
endpoint = "https://home.example.org"
api_key_file = "/keys/home.key"
[profiles.bare]
endpoint = "https://bare.example.org"
[keys]
delete = ["x"]
"#;

const MIB: u64 = 1024 * 1024;

fn file() -> ConfigFile {
    ConfigFile::parse(FILE, Path::new("/cfg/config.toml")).unwrap()
}

fn resolve_with(
    file: &ConfigFile,
    flags: &Flags,
    env: &[(&str, &str)],
) -> Result<Settings, String> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    Settings::resolve(file, Some(Path::new("/cfg/config.toml")), flags, &|name| {
        env.get(name).cloned()
    })
}

fn resolve(flags: &Flags, env: &[(&str, &str)]) -> Settings {
    resolve_with(&file(), flags, env).unwrap()
}

/// The settings of `--profile home` with its api_key_file at `key`.
fn home_profile_reading(key: &Path, env: &[(&str, &str)]) -> Settings {
    let text = FILE.replace("/keys/home.key", key.to_str().unwrap());
    let file = ConfigFile::parse(&text, Path::new("/cfg/config.toml")).unwrap();
    let flags = Flags {
        profile: Some("home".into()),
        ..Flags::default()
    };
    resolve_with(&file, &flags, env).unwrap()
}

fn lab() -> Layer {
    Layer::Profile("lab".into())
}

#[test]
fn no_file_no_env_no_flags_is_the_built_in_defaults() {
    let s = resolve_with(&ConfigFile::default(), &Flags::default(), &[]).unwrap();
    assert_eq!(s.profile, None);
    assert_eq!(s.connection, None);
    assert_eq!(s.concurrency.value, 4);
    assert_eq!(s.concurrency.from, Layer::Default);
    assert_eq!(s.limit_rate.value, None);
    assert_eq!(s.theme.value, ThemeName::Auto);
    assert_eq!(s.time.value, TimeShown::Local);
    assert!(s.mouse.value);
    assert_eq!(s.download_dir.value, None);
    assert!(s.workspaces.value.is_empty());
}

#[test]
fn the_profile_is_chosen_by_file_then_env_then_flag() {
    let s = resolve(&Flags::default(), &[]);
    assert_eq!(s.profile.unwrap().from, Layer::File);
    let s = resolve(&Flags::default(), &[("FILEDECK_PROFILE", "home")]);
    assert_eq!(
        s.profile.unwrap(),
        Sourced {
            value: "home".into(),
            from: Layer::Env("FILEDECK_PROFILE")
        }
    );
    let flags = Flags {
        profile: Some("bare".into()),
        ..Flags::default()
    };
    let s = resolve(&flags, &[("FILEDECK_PROFILE", "home")]);
    assert_eq!(s.profile.unwrap().value, "bare");
}

#[test]
fn an_unknown_profile_names_the_file_and_the_nearest() {
    let flags = Flags {
        profile: Some("labb".into()),
        ..Flags::default()
    };
    let e = resolve_with(&file(), &flags, &[]).unwrap_err();
    assert!(e.contains("/cfg/config.toml"), "{e}");
    assert!(e.contains("did you mean `lab`?"), "{e}");
}

#[test]
fn endpoint_file_then_env_then_flag() {
    let s = resolve(&Flags::default(), &[]);
    let c = s.connection.unwrap();
    assert_eq!(c.endpoint, "https://lab.example.org");
    assert_eq!(c.from, lab());
    let s = resolve(&Flags::default(), &[("FILEDECK_ENDPOINT", "http://env")]);
    assert_eq!(s.connection.unwrap().endpoint, "http://env");
    let flags = Flags {
        endpoint: Some("http://flag".into()),
        ..Flags::default()
    };
    let s = resolve(&flags, &[("FILEDECK_ENDPOINT", "http://env")]);
    let c = s.connection.unwrap();
    assert_eq!(c.endpoint, "http://flag");
    assert_eq!(c.from, Layer::Flag("--endpoint"));
}

#[test]
fn workspaces_file_then_flag() {
    let s = resolve(&Flags::default(), &[]);
    assert_eq!(s.workspaces.value, vec!["ws_lab".to_string()]);
    assert_eq!(s.workspaces.from, lab());
    let flags = Flags {
        workspaces: vec!["ws_a".into(), "ws_b".into()],
        ..Flags::default()
    };
    let s = resolve(&flags, &[]);
    assert_eq!(s.workspaces.value, vec!["ws_a".to_string(), "ws_b".into()]);
    assert_eq!(s.workspaces.from, Layer::Flag("--workspace"));
}

#[test]
fn download_dir_file_then_flag() {
    let s = resolve(&Flags::default(), &[]);
    assert_eq!(s.download_dir.value, Some(PathBuf::from("/data/lab")));
    assert_eq!(s.prefs().download_dir, Some(PathBuf::from("/data/lab")));
    let flags = Flags {
        download_dir: Some("/tmp/here".into()),
        ..Flags::default()
    };
    let s = resolve(&flags, &[]);
    assert_eq!(s.download_dir.value, Some(PathBuf::from("/tmp/here")));
    assert_eq!(s.download_dir.from, Layer::Flag("--to"));
}

#[test]
fn concurrency_file_then_flag() {
    let s = resolve(&Flags::default(), &[]);
    assert_eq!(
        s.concurrency,
        Sourced {
            value: 8,
            from: lab()
        }
    );
    let flags = Flags {
        concurrency: Some(2),
        ..Flags::default()
    };
    let s = resolve(&flags, &[]);
    assert_eq!(
        s.concurrency,
        Sourced {
            value: 2,
            from: Layer::Flag("--concurrency")
        }
    );
}

#[test]
fn limit_rate_file_then_env_then_flag() {
    let s = resolve(&Flags::default(), &[]);
    assert_eq!(s.limit_rate.value, Some(20 * MIB));
    assert_eq!(s.limit_rate.from, lab());
    let s = resolve(&Flags::default(), &[("FILEDECK_LIMIT_RATE", "5M")]);
    assert_eq!(s.limit_rate.value, Some(5 * MIB));
    assert_eq!(s.limit_rate.from, Layer::Env("FILEDECK_LIMIT_RATE"));
    let flags = Flags {
        limit_rate: Some(MIB),
        ..Flags::default()
    };
    let s = resolve(&flags, &[("FILEDECK_LIMIT_RATE", "5M")]);
    assert_eq!(s.limit_rate.value, Some(MIB));
    assert_eq!(s.limit_rate.from, Layer::Flag("--limit-rate"));
    let e = resolve_with(
        &file(),
        &Flags::default(),
        &[("FILEDECK_LIMIT_RATE", "fast")],
    )
    .unwrap_err();
    assert!(e.contains("FILEDECK_LIMIT_RATE"), "{e}");
}

#[test]
fn theme_file_then_no_color_then_flag() {
    let s = resolve(&Flags::default(), &[]);
    assert_eq!(s.theme.value, ThemeName::Light);
    let s = resolve(&Flags::default(), &[("NO_COLOR", "1")]);
    assert_eq!(s.theme.value, ThemeName::Mono);
    assert_eq!(s.theme.from, Layer::Env("NO_COLOR"));
    assert_eq!(s.prefs().theme, ThemeName::Mono);
    let flags = Flags {
        theme: Some(ThemeName::Dark),
        ..Flags::default()
    };
    let s = resolve(&flags, &[("NO_COLOR", "1")]);
    assert_eq!(s.theme.value, ThemeName::Dark);
    assert_eq!(s.theme.from, Layer::Flag("--theme"));
}

#[test]
fn time_mouse_and_keys_come_from_the_file() {
    let s = resolve(&Flags::default(), &[]);
    assert_eq!(
        s.time,
        Sourced {
            value: TimeShown::Utc,
            from: lab()
        }
    );
    assert!(!s.mouse.value);
    let p = s.prefs();
    assert_eq!(p.time, TimeShown::Utc);
    assert!(!p.mouse);
    assert_eq!(p.keys.get("delete"), Some(&vec!["x".to_string()]));
}

// The endpoint and the key that may go to it always come from one layer.

#[test]
fn the_exported_key_never_goes_to_a_profiles_endpoint() {
    let env = [
        ("FILEDECK_API_KEY", "exported"),
        ("LAB_FILES_KEY", "lab-key"),
    ];
    let s = resolve(&Flags::default(), &env);
    let c = s.connection.as_ref().unwrap();
    assert_eq!(c.key, KeySource::Env("LAB_FILES_KEY".into()));
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_string())
    };
    let (endpoint, key) = s.endpoint_and_key(&lookup).unwrap();
    assert_eq!(
        (endpoint.as_str(), key.as_str()),
        ("https://lab.example.org", "lab-key")
    );
    // A profile naming no key gets none, however a key is exported.
    let flags = Flags {
        profile: Some("bare".into()),
        ..Flags::default()
    };
    let s = resolve(&flags, &env);
    assert_eq!(s.connection.as_ref().unwrap().key, KeySource::Missing);
    let e = s.endpoint_and_key(&lookup).unwrap_err();
    assert!(e.contains("profile bare has an endpoint but no key"), "{e}");
    assert!(!e.contains("exported"), "{e}");
    // The profile's variable unset: an error naming it, not the exported key.
    let e = resolve(&Flags::default(), &env[..1])
        .endpoint_and_key(&|n| (n == "FILEDECK_API_KEY").then(|| "exported".to_string()))
        .unwrap_err();
    assert!(e.contains("LAB_FILES_KEY"), "{e}");
}

#[test]
fn a_profiles_key_never_goes_to_another_endpoint() {
    // --endpoint with a default profile that has a key: the endpoint takes FILEDECK_API_KEY.
    let flags = Flags {
        endpoint: Some("http://flag".into()),
        ..Flags::default()
    };
    let s = resolve(&flags, &[("LAB_FILES_KEY", "lab-key")]);
    let c = s.connection.as_ref().unwrap();
    assert_eq!(c.key, KeySource::Env("FILEDECK_API_KEY".into()));
    let e = s
        .endpoint_and_key(&|n| (n == "LAB_FILES_KEY").then(|| "lab-key".to_string()))
        .unwrap_err();
    assert!(e.contains("FILEDECK_API_KEY"), "{e}");
    // FILEDECK_ENDPOINT outranks the default profile, and takes FILEDECK_API_KEY with it.
    let s = resolve(&Flags::default(), &[("FILEDECK_ENDPOINT", "http://env")]);
    assert_eq!(
        s.connection.unwrap().key,
        KeySource::Env("FILEDECK_API_KEY".into())
    );
    // --profile is a flag: its pair outranks FILEDECK_ENDPOINT's.
    let flags = Flags {
        profile: Some("home".into()),
        ..Flags::default()
    };
    let s = resolve(&flags, &[("FILEDECK_ENDPOINT", "http://env")]);
    let c = s.connection.unwrap();
    assert_eq!(c.endpoint, "https://home.example.org");
    assert_eq!(c.key, KeySource::File("/keys/home.key".into()));
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("home.key");
    std::fs::write(&key, "file-key\n").unwrap();
    let s = home_profile_reading(&key, &[("FILEDECK_API_KEY", "exported")]);
    for mode in [0o644, 0o640, 0o604, 0o620] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = s.endpoint_and_key(&|_| None).unwrap_err();
        assert!(e.contains(key.to_str().unwrap()), "{e}");
        assert!(e.contains("chmod 600"), "{e}");
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (_, got) = s.endpoint_and_key(&|_| None).unwrap();
    assert_eq!(got, "file-key");
}

#[test]
fn show_says_where_the_key_comes_from_never_the_key() {
    let env = [("LAB_FILES_KEY", "secret-lab-key"), ("NO_COLOR", "1")];
    let text = resolve(&Flags::default(), &env).show();
    assert!(!text.contains("secret-lab-key"), "{text}");
    assert!(text.contains("from $LAB_FILES_KEY"), "{text}");
    assert!(text.contains("(profile lab)"), "{text}");
    assert!(text.contains("($NO_COLOR)"), "{text}");
}

#[cfg(unix)]
#[test]
fn a_key_file_that_is_a_fifo_is_refused_not_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("home.key");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let s = home_profile_reading(&fifo, &[]);
    let e = s.endpoint_and_key(&|_| None).unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");
}

/// A key file that belongs to someone else is refused (checked where the test may give a
/// file away: as root; elsewhere `chown` fails and there is nothing to check).
#[cfg(unix)]
#[test]
fn a_key_file_of_another_user_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("home.key");
    std::fs::write(&key, "file-key\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    if std::os::unix::fs::chown(&key, Some(65534), None).is_err() {
        return;
    }
    let s = home_profile_reading(&key, &[]);
    let e = s.endpoint_and_key(&|_| None).unwrap_err();
    assert!(e.contains("belongs to another user"), "{e}");
}

#[test]
fn preview_cap_comes_from_the_profile_and_is_checked() {
    let text = "[profiles.p]\nendpoint = \"https://p.example.org\"\npreview_cap = \"2M\"\n";
    let f = ConfigFile::parse(text, Path::new("/cfg/config.toml")).unwrap();
    let flags = Flags {
        profile: Some("p".into()),
        ..Flags::default()
    };
    let s = resolve_with(&f, &flags, &[]).unwrap();
    assert_eq!(s.preview_cap.value, 2 * MIB);
    assert_eq!(s.prefs().preview_cap, 2 * MIB);
    assert!(
        s.show()
            .contains("preview_cap   2097152 bytes  (profile p)")
    );
    // The built-in default elsewhere.
    assert_eq!(resolve(&Flags::default(), &[]).preview_cap.value, 8 * MIB);
    for bad in ["1K", "2G", "lots"] {
        let text = format!("[profiles.p]\npreview_cap = \"{bad}\"\n");
        let e = ConfigFile::parse(&text, Path::new("/cfg/config.toml")).unwrap_err();
        assert!(e.contains("preview_cap"), "{bad}: {e}");
    }
}
