//! The layers folded into one [`Settings`]: built-in defaults < the config file's profile <
//! the environment < flags, each value remembering the layer it came from. The browser, the
//! demo and every subcommand resolve through here, so one precedence holds everywhere.

use std::fmt;
use std::path::{Path, PathBuf};

use super::file::{ConfigFile, Profile, nearest};
use super::{API_KEY_ENV, ENDPOINT_ENV, KeyOverrides, LIMIT_RATE_ENV, Prefs, ThemeName, TimeShown};

/// Picks a profile of the config file, below `--profile`.
pub const PROFILE_ENV: &str = "FILEDECK_PROFILE";
/// Any non-empty value asks for no colour (<https://no-color.org>): the `mono` theme.
pub const NO_COLOR_ENV: &str = "NO_COLOR";

/// Transfers at once when no layer says.
pub const DEFAULT_CONCURRENCY: u16 = 4;

/// Where a value came from, as `config show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    Default,
    /// The profile of this name in the config file.
    Profile(String),
    /// The config file outside any profile (`[keys]`, `default_profile`).
    File,
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::Default => f.write_str("built-in default"),
            Layer::Profile(p) => write!(f, "profile {p}"),
            Layer::File => f.write_str("config file"),
            Layer::Env(v) => write!(f, "${v}"),
            Layer::Flag(flag) => f.write_str(flag),
        }
    }
}

/// A value and the layer that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub from: Layer,
}

fn sourced<T>(value: T, from: Layer) -> Sourced<T> {
    Sourced { value, from }
}

/// The flags that have a counterpart in a profile; `None` (or empty) is "not given".
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub profile: Option<String>,
    pub endpoint: Option<String>,
    pub workspaces: Vec<String>,
    pub concurrency: Option<u16>,
    pub limit_rate: Option<u64>,
    pub theme: Option<ThemeName>,
    /// `get --to`.
    pub download_dir: Option<PathBuf>,
}

/// Where the endpoint's key is read from: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env(String),
    File(PathBuf),
    /// A profile with an endpoint and no key: its endpoint gets no other layer's key.
    Missing,
}

/// The endpoint and the one key that may be sent to it, from one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub endpoint: String,
    pub key: KeySource,
    pub from: Layer,
}

/// Everything a run takes from the layers, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The config file read (it may not exist).
    pub file: Option<PathBuf>,
    pub profile: Option<Sourced<String>>,
    pub connection: Option<Connection>,
    pub workspaces: Sourced<Vec<String>>,
    pub download_dir: Sourced<Option<PathBuf>>,
    pub concurrency: Sourced<u16>,
    pub limit_rate: Sourced<Option<u64>>,
    pub theme: Sourced<ThemeName>,
    pub time: Sourced<TimeShown>,
    pub mouse: Sourced<bool>,
    pub preview_cap: Sourced<u64>,
    pub keys: KeyOverrides,
}

impl Settings {
    /// The real layers: the config file at [`super::config_path`] and this process's
    /// environment.
    pub fn load(flags: &Flags) -> Result<Settings, String> {
        let path = super::config_path();
        let file = match &path {
            Some(p) => ConfigFile::load(p)?,
            None => ConfigFile::default(),
        };
        // NO_COLOR counts when set and not empty, whatever it holds (" " too).
        let env = |name: &str| {
            if name == NO_COLOR_ENV {
                std::env::var(name).ok().filter(|v| !v.is_empty())
            } else {
                super::text(name)
            }
        };
        Settings::resolve(&file, path.as_deref(), flags, &env)
    }

    /// Folds `file` (read from `path`), the environment as `env` answers it and `flags`.
    pub fn resolve(
        file: &ConfigFile,
        path: Option<&Path>,
        flags: &Flags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, String> {
        let at = || {
            path.map_or_else(
                || "the config file".to_string(),
                |p| p.display().to_string(),
            )
        };
        let profile_name = match (&flags.profile, env(PROFILE_ENV), &file.default_profile) {
            (Some(p), _, _) => Some(sourced(p.clone(), Layer::Flag("--profile"))),
            (None, Some(p), _) => Some(sourced(p, Layer::Env(PROFILE_ENV))),
            (None, None, Some(p)) => Some(sourced(p.clone(), Layer::File)),
            (None, None, None) => None,
        };
        let empty = Profile::default();
        let profile = match &profile_name {
            None => &empty,
            Some(name) => file.profiles.get(&name.value).ok_or_else(|| {
                let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
                let hint = nearest(&name.value, &known)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                format!(
                    "no profile {:?} (from {}) in {}{hint}",
                    name.value,
                    name.from,
                    at()
                )
            })?,
        };
        let in_profile = || {
            Layer::Profile(
                profile_name
                    .as_ref()
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
            )
        };
        let profile_pair = profile.endpoint.as_ref().map(|endpoint| Connection {
            endpoint: endpoint.clone(),
            key: match (&profile.api_key_env, &profile.api_key_file) {
                (Some(var), _) => KeySource::Env(var.clone()),
                // Without a HOME, `~` stays as written and is refused when read: never a
                // key file found relative to wherever filedeck was started.
                (None, Some(f)) if f.trim().starts_with('~') && super::home_dir().is_none() => {
                    KeySource::File(PathBuf::from(f.trim()))
                }
                (None, Some(f)) => KeySource::File(crate::local::expand_tilde(f)),
                (None, None) => KeySource::Missing,
            },
            from: in_profile(),
        });
        let chosen_by_flag = flags.profile.is_some();
        let env_pair = || {
            env(ENDPOINT_ENV).map(|endpoint| Connection {
                endpoint,
                key: KeySource::Env(API_KEY_ENV.into()),
                from: Layer::Env(ENDPOINT_ENV),
            })
        };
        // The endpoint decides the key: a key only ever goes to the endpoint of its own
        // layer. `--profile` is a flag, so its pair outranks the environment's.
        let connection = match &flags.endpoint {
            Some(endpoint) => Some(Connection {
                endpoint: endpoint.clone(),
                key: KeySource::Env(API_KEY_ENV.into()),
                from: Layer::Flag("--endpoint"),
            }),
            None if chosen_by_flag && profile_pair.is_some() => profile_pair,
            None => env_pair().or(profile_pair),
        };

        let workspaces = if !flags.workspaces.is_empty() {
            sourced(flags.workspaces.clone(), Layer::Flag("--workspace"))
        } else if let Some(ws) = &profile.workspaces {
            sourced(ws.clone(), in_profile())
        } else {
            sourced(Vec::new(), Layer::Default)
        };
        let download_dir = if let Some(d) = &flags.download_dir {
            sourced(Some(d.clone()), Layer::Flag("--to"))
        } else if let Some(d) = &profile.download_dir {
            sourced(Some(crate::local::expand_tilde(d)), in_profile())
        } else {
            sourced(None, Layer::Default)
        };
        let concurrency = match (flags.concurrency, profile.concurrency) {
            (Some(c), _) => sourced(c, Layer::Flag("--concurrency")),
            (None, Some(c)) => sourced(c, in_profile()),
            (None, None) => sourced(DEFAULT_CONCURRENCY, Layer::Default),
        };
        let limit_rate = if let Some(r) = flags.limit_rate {
            sourced(Some(r), Layer::Flag("--limit-rate"))
        } else if let Some(text) = env(LIMIT_RATE_ENV) {
            let r = super::parse_rate(&text).map_err(|e| format!("{LIMIT_RATE_ENV}: {e}"))?;
            sourced(Some(r), Layer::Env(LIMIT_RATE_ENV))
        } else if let Some(text) = &profile.limit_rate {
            // Checked when the file was read; read again here for its value.
            let r = super::parse_rate(text).map_err(|e| format!("{}: limit_rate: {e}", at()))?;
            sourced(Some(r), in_profile())
        } else {
            sourced(None, Layer::Default)
        };
        let theme = if let Some(t) = flags.theme {
            sourced(t, Layer::Flag("--theme"))
        } else if env(NO_COLOR_ENV).is_some() {
            sourced(ThemeName::Mono, Layer::Env(NO_COLOR_ENV))
        } else if let Some(t) = profile.theme {
            sourced(t, in_profile())
        } else {
            sourced(ThemeName::Auto, Layer::Default)
        };
        let time = profile.time.map_or_else(
            || sourced(TimeShown::Local, Layer::Default),
            |t| sourced(t, in_profile()),
        );
        let mouse = profile.mouse.map_or_else(
            || sourced(true, Layer::Default),
            |m| sourced(m, in_profile()),
        );
        let preview_cap = match &profile.preview_cap {
            // Checked when the file was read; read again here for its value.
            Some(text) => sourced(
                super::parse_preview_cap(text)
                    .map_err(|e| format!("{}: preview_cap: {e}", at()))?,
                in_profile(),
            ),
            None => sourced(super::DEFAULT_PREVIEW_CAP, Layer::Default),
        };
        Ok(Settings {
            file: path.map(Path::to_path_buf),
            profile: profile_name,
            connection,
            workspaces,
            download_dir,
            concurrency,
            limit_rate,
            theme,
            time,
            mouse,
            preview_cap,
            keys: file.keys.clone(),
        })
    }

    /// What the browser takes beyond the endpoint and its key.
    pub fn prefs(&self) -> Prefs {
        Prefs {
            download_dir: self.download_dir.value.clone(),
            theme: self.theme.value,
            time: self.time.value,
            mouse: self.mouse.value,
            preview_cap: self.preview_cap.value,
            keys: self.keys.clone(),
        }
    }

    /// The endpoint and its key's text, read from where the key's layer says (an
    /// environment variable, or a key file only its owner can read).
    pub fn endpoint_and_key(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, String), String> {
        let Some(c) = &self.connection else {
            return Err(
                "no endpoint: pass --endpoint URL, set FILEDECK_ENDPOINT, or pick a profile \
                 with an endpoint (--profile NAME; `filedeck config path` shows the file)"
                    .into(),
            );
        };
        let key = match &c.key {
            KeySource::Env(var) => env(var).ok_or_else(|| {
                if c.from == Layer::Env(ENDPOINT_ENV) || c.from == Layer::Flag("--endpoint") {
                    format!("no API key: set {var} (the key for {})", c.from)
                } else {
                    format!("no API key: set {var} (api_key_env of {})", c.from)
                }
            })?,
            KeySource::File(path) => read_key_file(path)?,
            KeySource::Missing => {
                return Err(format!(
                    "{} has an endpoint but no key: add api_key_env or api_key_file to it \
                     ({API_KEY_ENV} is only sent to {ENDPOINT_ENV} or --endpoint)",
                    c.from
                ));
            }
        };
        Ok((c.endpoint.clone(), key))
    }

    /// `config show`: each value with its layer; where the key is read from, never the key.
    pub fn show(&self) -> String {
        let mut out = Vec::new();
        let mut line = |name: &str, value: String, from: &Layer| {
            out.push(format!("{name:<13} {value}  ({from})"));
        };
        let file = self.file.as_ref().map_or_else(
            || "(none: no HOME or XDG_CONFIG_HOME)".to_string(),
            |p| {
                let exists = if p.exists() { "" } else { " (does not exist)" };
                format!("{}{exists}", p.display())
            },
        );
        line("config file", file, &Layer::Default);
        match &self.profile {
            Some(p) => line("profile", p.value.clone(), &p.from),
            None => line("profile", "(none)".into(), &Layer::Default),
        }
        match &self.connection {
            Some(c) => {
                line("endpoint", c.endpoint.clone(), &c.from);
                let key = match &c.key {
                    KeySource::Env(var) => format!("from ${var}"),
                    KeySource::File(path) => format!("from the file {}", path.display()),
                    KeySource::Missing => "(none: the profile names no key)".into(),
                };
                line("api key", key, &c.from);
            }
            None => line("endpoint", "(none)".into(), &Layer::Default),
        }
        let w = &self.workspaces;
        let ws = if w.value.is_empty() {
            "(all of the key's)".into()
        } else {
            w.value.join(", ")
        };
        line("workspaces", ws, &w.from);
        let d = &self.download_dir;
        let dir = d.value.as_ref().map_or_else(
            || "(the current directory)".into(),
            |p| p.display().to_string(),
        );
        line("download_dir", dir, &d.from);
        line(
            "concurrency",
            self.concurrency.value.to_string(),
            &self.concurrency.from,
        );
        let r = &self.limit_rate;
        let rate = r
            .value
            .map_or_else(|| "(no cap)".into(), |b| format!("{b} bytes/s"));
        line("limit_rate", rate, &r.from);
        line(
            "theme",
            format!("{:?}", self.theme.value).to_lowercase(),
            &self.theme.from,
        );
        line(
            "time",
            format!("{:?}", self.time.value).to_lowercase(),
            &self.time.from,
        );
        line("mouse", self.mouse.value.to_string(), &self.mouse.from);
        line(
            "preview_cap",
            format!("{} bytes", self.preview_cap.value),
            &self.preview_cap.from,
        );
        for (action, keys) in &self.keys {
            line(
                "keys",
                format!("{action} = {}", keys.join(", ")),
                &Layer::File,
            );
        }
        out.join("\n")
    }
}

/// A key file's first line, refused when anyone but its owner may read or change it.
fn read_key_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    use std::os::unix::fs::MetadataExt;
    if path.starts_with("~") {
        return Err(format!(
            "the key file {shown}: HOME is not set, so `~` means nothing; write the whole path"
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("the key file {shown}: {e}"))?;
    if meta.uid() != crate::sys::user_id() {
        return Err(format!(
            "refusing the key file {shown}: it belongs to another user (uid {})",
            meta.uid()
        ));
    }
    if !meta.is_file() {
        return Err(format!("the key file {shown} is not a regular file"));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "refusing the key file {shown}: its mode is {mode:03o}, so group or others can \
             read it; run `chmod 600 {shown}`"
        ));
    }
    let text = super::file::read_small(path, 64 * 1024)
        .map_err(|e| format!("the key file {shown}: {e}"))?;
    let key = text.lines().next().unwrap_or("").trim().to_string();
    if key.is_empty() {
        return Err(format!("the key file {shown} is empty"));
    }
    Ok(key)
}
