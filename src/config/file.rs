//! `config.toml`: its place (XDG config dir, or `FILEDECK_CONFIG`), its shape (profiles and
//! `[keys]`), and one readable error per broken file naming the file, line, column and field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{KeyOverrides, ThemeName, TimeShown};

/// Points at a config file elsewhere than the XDG config directory.
pub const CONFIG_ENV: &str = "FILEDECK_CONFIG";

/// `FILEDECK_CONFIG`, else `$XDG_CONFIG_HOME/filedeck/config.toml`, else
/// `~/.config/filedeck/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("filedeck/config.toml"));
    }
    super::home_dir().map(|h| h.join(".config/filedeck/config.toml"))
}

/// Keys one action may have in `[keys]`.
const MAX_KEYS_PER_ACTION: usize = 16;

/// A config file is a few lines; anything this big is not one (`/dev/zero` would
/// otherwise be read forever).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The text of a regular file of at most `max` bytes: see [`read_small_bytes`].
pub fn read_small(path: &Path, max: u64) -> std::io::Result<String> {
    String::from_utf8(read_small_bytes(path, max)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// The bytes of a regular file of at most `max` bytes: a FIFO, a device or a directory is
/// refused before it is opened (reading one could block or never end), and a file that
/// grows past `max` while read is refused too.
pub fn read_small_bytes(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > max {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("over {max} bytes: not a file filedeck reads"),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Error::new(ErrorKind::InvalidInput, "grew while read"));
    }
    Ok(bytes)
}

/// The whole file, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    #[serde(default)]
    pub keys: KeyOverrides,
}

/// `[profiles.NAME]`: every field optional; what it leaves out falls to the next layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub endpoint: Option<String>,
    pub api_key_env: Option<String>,
    pub api_key_file: Option<String>,
    pub workspaces: Option<Vec<String>>,
    pub download_dir: Option<String>,
    pub concurrency: Option<u16>,
    /// As written (`"20M"`); read by [`super::parse_rate`] in [`ConfigFile::check`].
    pub limit_rate: Option<String>,
    pub theme: Option<ThemeName>,
    pub time: Option<TimeShown>,
    pub mouse: Option<bool>,
    /// The most bytes a preview fetches of a file, as written (`"8M"`).
    pub preview_cap: Option<String>,
}

impl ConfigFile {
    /// Reads and parses `path`; a missing file is an empty config, not an error.
    pub fn load(path: &Path) -> Result<ConfigFile, String> {
        match read_small(path, MAX_CONFIG_BYTES) {
            Ok(text) => ConfigFile::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Parses `text` (read from `path`, named in errors) and checks what serde cannot.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, String> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| describe(&e, text, path))?;
        file.check(path)?;
        Ok(file)
    }

    /// Values serde accepts but filedeck does not: rates, concurrency, the default profile.
    fn check(&self, path: &Path) -> Result<(), String> {
        let at = path.display();
        if let Some(name) = &self.default_profile
            && !self.profiles.contains_key(name)
        {
            let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            return Err(format!(
                "{at}: default_profile = {name:?}: no [profiles.{name}]{}",
                hint(name, &known)
            ));
        }
        // A binding is a handful of keys; a list of thousands is a mistake (and would cost
        // quadratic time in the keymap's clash check).
        if let Some((action, keys)) = self
            .keys
            .iter()
            .find(|(_, k)| k.len() > MAX_KEYS_PER_ACTION)
        {
            return Err(format!(
                "{at}: [keys] {action} has {} keys: at most {MAX_KEYS_PER_ACTION}",
                keys.len()
            ));
        }
        if self.keys.len() > 256 {
            return Err(format!(
                "{at}: [keys] has {} entries: at most 256",
                self.keys.len()
            ));
        }
        for (name, p) in &self.profiles {
            if let Some(rate) = &p.limit_rate {
                super::parse_rate(rate)
                    .map_err(|e| format!("{at}: [profiles.{name}] limit_rate: {e}"))?;
            }
            if let Some(cap) = &p.preview_cap {
                super::parse_preview_cap(cap)
                    .map_err(|e| format!("{at}: [profiles.{name}] preview_cap: {e}"))?;
            }
            if let Some(c) = p.concurrency
                && !(1..=64).contains(&c)
            {
                return Err(format!(
                    "{at}: [profiles.{name}] concurrency = {c}: use 1 to 64"
                ));
            }
            if p.api_key_env.is_some() && p.api_key_file.is_some() {
                return Err(format!(
                    "{at}: [profiles.{name}] has both api_key_env and api_key_file: keep one"
                ));
            }
        }
        Ok(())
    }
}

/// One message: file, line:column, toml's reason, and for an unknown field the nearest name.
fn describe(e: &toml::de::Error, text: &str, path: &Path) -> String {
    let place = match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("{}:{line}:{col}", path.display())
        }
        None => path.display().to_string(),
    };
    let reason = e.message().trim();
    format!("{place}: {reason}{}", unknown_field_hint(reason))
}

/// 1-based line and column (in characters) of byte `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

/// serde writes "unknown field `x`, expected one of `a`, `b`": turn that into a suggestion.
fn unknown_field_hint(reason: &str) -> String {
    let Some(rest) = reason.strip_prefix("unknown field `") else {
        return String::new();
    };
    let Some((field, expected)) = rest.split_once('`') else {
        return String::new();
    };
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    hint(field, &names)
}

/// ", did you mean `x`?" when some name is close enough to be a typo.
fn hint(word: &str, names: &[&str]) -> String {
    nearest(word, names)
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default()
}

/// The name in `names` nearest to `word`, when close enough to be a typo of it.
pub(super) fn nearest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (strsim::levenshtein(word, n), *n))
        .filter(|(d, n)| *d <= 3.max(n.chars().count() / 3))
        .min()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, String> {
        ConfigFile::parse(text, Path::new("/cfg/config.toml"))
    }

    #[test]
    fn every_field_is_read() {
        let f = parse(
            r#"
default_profile = "lab"
[profiles.lab]
endpoint = "https://files.example.org"
api_key_env = "LAB_FILES_KEY"
workspaces = ["ws_abc123"]
download_dir = "~/data"
concurrency = 4
limit_rate = "20M"
theme = "mono"
time = "utc"
mouse = false
[keys]
delete = ["x", "Delete"]
"#,
        )
        .unwrap();
        assert_eq!(f.default_profile.as_deref(), Some("lab"));
        let p = f.profiles.get("lab").unwrap();
        assert_eq!(p.endpoint.as_deref(), Some("https://files.example.org"));
        assert_eq!(p.api_key_env.as_deref(), Some("LAB_FILES_KEY"));
        assert_eq!(p.workspaces, Some(vec!["ws_abc123".to_string()]));
        assert_eq!(p.download_dir.as_deref(), Some("~/data"));
        assert_eq!(p.concurrency, Some(4));
        assert_eq!(p.limit_rate.as_deref(), Some("20M"));
        assert_eq!(p.theme, Some(ThemeName::Mono));
        assert_eq!(p.time, Some(TimeShown::Utc));
        assert_eq!(p.mouse, Some(false));
        assert_eq!(
            f.keys.get("delete"),
            Some(&vec!["x".to_string(), "Delete".to_string()])
        );
    }

    #[test]
    fn unknown_field_names_file_line_and_nearest_name() {
        let e = parse("[profiles.lab]\nendpoint = \"http://x\"\nendpont = \"y\"\n").unwrap_err();
        assert!(e.starts_with("/cfg/config.toml:3:1: "), "{e}");
        assert!(e.contains("endpont"), "{e}");
        assert!(e.contains("did you mean `endpoint`?"), "{e}");
    }

    #[test]
    fn broken_values_name_the_place() {
        let e = parse("[profiles.lab]\n\ntheme = \"pink\"\n").unwrap_err();
        assert!(e.starts_with("/cfg/config.toml:3:"), "{e}");
        assert!(e.contains("pink"), "{e}");
        let e = parse("[profiles.lab]\nconcurrency = \"four\"\n").unwrap_err();
        assert!(e.starts_with("/cfg/config.toml:2:"), "{e}");
        let e = parse("[profiles.lab]\nlimit_rate = \"20Q\"\n").unwrap_err();
        assert!(e.contains("[profiles.lab] limit_rate"), "{e}");
        let e = parse("default_profile = \"lap\"\n[profiles.lab]\n").unwrap_err();
        assert!(e.contains("did you mean `lab`?"), "{e}");
    }

    #[test]
    fn the_example_file_stays_valid() {
        let text = include_str!("../../assets/config.example.toml");
        let f = parse(text).unwrap();
        assert!(!f.profiles.is_empty());
    }
}
