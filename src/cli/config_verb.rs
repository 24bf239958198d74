//! `filedeck config path|check`: where the config file is, and whether it is sound (the
//! file's shape, its values and its `[keys]`), exiting 0 or 1 with the one message.

use super::Failure;
use super::args::ConfigAction;
use crate::config::{Settings, config_path};

/// `config path`: needs no sound file, so it runs before the settings are read.
pub(super) fn path() -> Result<(), Failure> {
    let path = config_path().ok_or_else(|| {
        Failure::Failed("no config path: set XDG_CONFIG_HOME, HOME or FILEDECK_CONFIG".into())
    })?;
    println!("{}", path.display());
    Ok(())
}

/// `config check` and `config show`, on settings already read (a broken file stopped
/// before, with its one message).
pub(super) fn run(action: ConfigAction, settings: &Settings) -> Result<(), Failure> {
    let shown = settings.file.as_ref().map_or_else(
        || "(no config file)".to_string(),
        |p| p.display().to_string(),
    );
    match action {
        ConfigAction::Path => path(),
        ConfigAction::Check => {
            check_keys(settings)?;
            if settings.file.as_ref().is_some_and(|p| !p.exists()) {
                println!("{shown}: does not exist (the built-in defaults apply)");
            } else {
                println!("{shown}: ok");
            }
            Ok(())
        }
        ConfigAction::Show => {
            // Values from the file and the environment are drawn safe, line by line.
            for line in settings.show().lines() {
                println!("{}", crate::sanitize::for_terminal(line));
            }
            Ok(())
        }
    }
}

/// `[keys]` as the browser will read it: an unknown action (with the nearest name), a key
/// that does not parse, or one key bound to two actions of one context (naming both) is
/// one message naming the file, before the terminal is taken.
pub(super) fn check_keys(settings: &Settings) -> Result<(), Failure> {
    crate::app::keymap::check_overrides(&settings.keys).map_err(|problems| {
        let shown = settings.file.as_ref().map_or_else(
            || "the config file".to_string(),
            |p| p.display().to_string(),
        );
        Failure::Failed(format!("{shown}: [keys]: {}", problems.join("; ")))
    })
}

/// `filedeck completions SHELL` and `filedeck man`: generated from the grammar, to stdout.
pub(super) fn generate(shell: Option<clap_complete::Shell>) -> Result<(), Failure> {
    use clap::CommandFactory;
    let mut cmd = super::args::Cli::command();
    let mut out = std::io::stdout().lock();
    match shell {
        Some(shell) => {
            clap_complete::generate(shell, &mut cmd, "filedeck", &mut out);
            Ok(())
        }
        None => clap_mangen::Man::new(cmd)
            .render(&mut out)
            .map_err(|e| Failure::Failed(format!("man page: {e}"))),
    }
}
