//! `filedeck config path|check`: where the config file is, and whether it is sound (the
//! file's shape, its values and its `[keys]`), exiting 0 or 1 with the one message.

use super::Failure;
use crate::config::{ConfigFile, config_path};

/// What `filedeck config` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum ConfigAction {
    /// Print the config file's path (it may not exist yet).
    Path,
    /// Parse and validate the config file; exit 1 with the reason when it is broken.
    Check,
}

pub(super) fn run(action: ConfigAction) -> Result<(), Failure> {
    let Some(path) = config_path() else {
        return Err(Failure::Failed(
            "no config path: set XDG_CONFIG_HOME, HOME or FILEDECK_CONFIG".into(),
        ));
    };
    match action {
        ConfigAction::Path => {
            println!("{}", path.display());
            Ok(())
        }
        ConfigAction::Check => {
            let file = ConfigFile::load(&path).map_err(Failure::Failed)?;
            crate::app::keymap::check_overrides(&file.keys).map_err(|problems| {
                Failure::Failed(format!(
                    "{}: [keys]: {}",
                    path.display(),
                    problems.join("; ")
                ))
            })?;
            println!("{}: ok", path.display());
            Ok(())
        }
    }
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
