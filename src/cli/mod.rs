//! The command line: `serve`, the scripting commands `ls`/`put`/`get`/`rm`, and `--demo`.
//! This module starts the runtime, picks the verb, and turns its outcome into the exit status.

mod args;
mod batch;
mod checks;
mod config_verb;
mod demo;
mod logging;
mod serve;
mod verbs;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

// What `parse` returns and `main` takes, so they are named where those are.
pub use args::{Cli, ConflictArg, ServeArgs, ServeLimits, StoreArgs, Verb};
use checks::{client, client_config, required_args, required_workspace};

use crate::api::{ApiError, ClientConfig};
use crate::config::{Flags, Settings};
use args::ConfigAction;

/// A failure of a command: usage (exit 2), a signal or Ctrl-C (exit 128 + its number,
/// nothing printed), or everything else (exit 1).
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Failed(String),
    Signalled(i32),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Failed(e.to_string())
    }
}

/// Parse the command line; `--help` names the actual log file.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let log = crate::config::log_path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(no state directory: set XDG_STATE_HOME or HOME)".into());
    let cmd = Cli::command().after_help(format!("{}\nLog file:\n  {log}", args::AFTER_HELP));
    let matches = cmd.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

pub fn main(cli: Cli) -> ExitCode {
    let is_server = matches!(cli.command, Some(Verb::Serve(_)));
    // The server is a daemon and logs to stderr; everything else logs to its file, so
    // nothing is ever written under the TUI.
    logging::init(is_server);
    if cli.command.is_none() {
        limit_malloc_arenas();
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if cli.command.is_none() {
        // In the browser the main thread draws and answers keys; every runtime thread
        // (network, hashing, disk) yields to it when the cores are busy.
        builder.on_thread_start(crate::sys::lower_thread_priority);
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("filedeck: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The demo's data lives here, outside the runtime, so it is removed on every way out
    // of `run` (quit, signals, errors, a panic's unwinding) and only once the runtime —
    // the demo's server with it — has stopped writing into it.
    let demo_data = if cli.demo {
        match demo::data_dir() {
            Ok(dir) => Some(dir),
            Err(e) => return report(Err(e)),
        }
    } else {
        None
    };
    let outcome = runtime.block_on(run(cli, demo_data.as_ref().map(|d| d.path())));
    // Dropping the runtime would wait for every blocking task (a file being hashed or
    // written); what is still running now is not worth the user's wait. Outside the demo
    // the queue's journal (lines already sent, a few milliseconds) gets a moment; the
    // demo has none, and the rest of its blocking work (its server hashing and writing
    // the last chunks of abandoned uploads) goes with its data.
    let at = std::time::Instant::now();
    if demo_data.is_some() {
        runtime.shutdown_background();
    } else {
        runtime.shutdown_timeout(SHUTDOWN_WITHIN);
    }
    tracing::debug!(ms = at.elapsed().as_millis(), "the runtime stopped");
    if let Some(data) = demo_data {
        let at = std::time::Instant::now();
        data.remove();
        tracing::debug!(ms = at.elapsed().as_millis(), "the demo's data removed");
    }
    report(outcome)
}

/// How long the blocking tasks left at the end get before the process exits anyway (the
/// queue's journal lines, already sent, take a few milliseconds).
const SHUTDOWN_WITHIN: Duration = Duration::from_millis(300);

/// Print a failure (if it says anything) and give the exit status.
fn report(outcome: Result<(), Failure>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Signalled(sig)) => ExitCode::from((128 + sig).clamp(0, 255) as u8),
        // Written, not `eprintln!`: that panics when stderr is a terminal that has gone
        // (a dropped SSH session), and the exit status would be lost to an abort.
        Err(Failure::Usage(m)) => {
            let _ = writeln!(
                std::io::stderr(),
                "filedeck: {}",
                crate::sanitize::for_terminal(&m)
            );
            ExitCode::from(2)
        }
        Err(Failure::Failed(m)) => {
            let _ = writeln!(
                std::io::stderr(),
                "filedeck: error: {}",
                crate::sanitize::for_terminal(&m)
            );
            ExitCode::FAILURE
        }
    }
}

/// The browser keeps a large, long-lived, compact tree built from short-lived listing
/// pages parsed on worker threads. With glibc's per-thread arenas the freed pages stay
/// scattered over several arenas and RSS stays ~1.8× higher (measured: 325 → 184 bytes
/// per listed file at 100,000 files). One arena costs nothing measurable here: the
/// threads allocate little and large buffers are mmapped anyway. Must run before the
/// runtime starts its threads.
fn limit_malloc_arenas() {
    crate::sys::limit_malloc_arenas();
}

/// The flags that have a counterpart in the config's profiles.
fn flags(cli: &Cli) -> Flags {
    Flags {
        profile: cli.profile.clone(),
        endpoint: cli.endpoint.clone(),
        workspaces: cli.workspaces.clone(),
        concurrency: cli.concurrency,
        limit_rate: cli.limit_rate,
        theme: cli.theme,
        download_dir: match &cli.command {
            Some(Verb::Get { to, .. }) => to.clone(),
            _ => None,
        },
    }
}

async fn run(cli: Cli, demo_data: Option<&std::path::Path>) -> Result<(), Failure> {
    // What needs no settings runs even when the config file is broken.
    match cli.command {
        Some(Verb::Completions { shell }) => return config_verb::generate(Some(shell)),
        Some(Verb::Man) => return config_verb::generate(None),
        Some(Verb::Config {
            action: ConfigAction::Path,
        }) => return config_verb::path(),
        Some(Verb::Serve(args)) => {
            // The server stops on its signals by itself, gracefully, and exits 0.
            return serve::serve(*args).await;
        }
        _ => {}
    }
    let settings = Settings::load(&flags(&cli)).map_err(Failure::Failed)?;
    if cli.command.is_none() {
        config_verb::check_keys(&settings)?;
    }
    if let Some(data) = demo_data {
        return demo::run(data, &settings).await;
    }
    let Some(command) = cli.command else {
        if settings.connection.is_none() {
            return Err(Failure::Usage(
                "no endpoint to browse: pass --endpoint URL (or set FILEDECK_ENDPOINT), \
                 pick a profile of the config file (--profile NAME), \
                 or try the embedded demo with `filedeck --demo`"
                    .into(),
            ));
        }
        // Checked before the terminal is taken; the client itself is built after the
        // first frame.
        let cfg = client_config(&settings)?;
        let session = crate::runtime::Session {
            endpoint: cfg.endpoint.to_string(),
            workspaces: settings.workspaces.value.clone(),
            concurrency: settings.concurrency.value.into(),
            persist_queue: true,
            demo_key: None,
            prefs: settings.prefs(),
        };
        return tui(cfg, session).await;
    };
    if let Verb::Config { action } = command {
        return config_verb::run(action, &settings);
    }
    if matches!(command, Verb::Put { .. }) {
        // `put` reaches its batch at once, and the batch takes the signal itself: its
        // cancelled uploads settle first (one whose bytes are all sent is seen through,
        // and only then is what it replaces removed), then it exits with 130 or 143.
        return script(&settings, command).await;
    }
    // Ctrl-C or SIGTERM stops a scripting command at any point with the shell's status
    // for it (130, 143), never a plain failure a script would take for a server error.
    tokio::select! {
        result = script(&settings, command) => result,
        sig = shutdown_signal() => Err(Failure::Signalled(sig)),
    }
}

async fn script(settings: &Settings, command: Verb) -> Result<(), Failure> {
    let concurrency = usize::from(settings.concurrency.value);
    match command {
        Verb::Ls {
            workspace,
            prefix,
            json,
        } => {
            let client = client(settings)?;
            let workspace = required_workspace(workspace, settings, "ls")?;
            verbs::ls(&client, &workspace, prefix.as_deref().unwrap_or(""), json).await
        }
        Verb::Put {
            workspace,
            paths,
            to,
            description,
            on_conflict,
        } => {
            let client = client(settings)?;
            let workspace = required_workspace(workspace, settings, "put")?;
            required_args(
                &paths,
                "put",
                "PATH",
                "local files or directories to upload",
            )?;
            verbs::put(
                &client,
                &workspace,
                &paths,
                &to,
                description.as_deref(),
                concurrency,
                on_conflict.into(),
            )
            .await
        }
        Verb::Get {
            workspace,
            keys,
            to: _,
            on_conflict,
        } => {
            let client = client(settings)?;
            let workspace = required_workspace(workspace, settings, "get")?;
            required_args(&keys, "get", "KEY", "keys of files to download")?;
            let to = settings
                .download_dir
                .value
                .clone()
                .unwrap_or_else(|| std::path::PathBuf::from("."));
            verbs::get(
                &client,
                &workspace,
                &keys,
                &to,
                concurrency,
                on_conflict.into(),
            )
            .await
        }
        Verb::Rm {
            workspace,
            keys,
            recursive,
        } => {
            let client = client(settings)?;
            let workspace = required_workspace(workspace, settings, "rm")?;
            required_args(&keys, "rm", "KEY", "keys of files to delete")?;
            verbs::rm(&client, &workspace, &keys, recursive).await
        }
        Verb::Config { action } => config_verb::run(action, settings),
        // Answered before the settings were read.
        Verb::Completions { .. } | Verb::Man | Verb::Serve(_) => Ok(()),
    }
}

/// The browser, with the terminal restored however it ends.
pub(crate) async fn tui(
    cfg: ClientConfig,
    session: crate::runtime::Session,
) -> Result<(), Failure> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "the browser needs a terminal; for scripts use ls/put/get/rm (see --help)".into(),
        ));
    }
    let _ = color_eyre::install();
    crate::runtime::install_panic_hook();
    match crate::runtime::run(cfg, session).await {
        Ok(crate::runtime::Ended::Quit) => Ok(()),
        Ok(crate::runtime::Ended::Signal(sig)) => Err(Failure::Signalled(sig)),
        Err(e) => Err(Failure::Failed(format!("{e:#}"))),
    }
}

/// SIGINT or SIGTERM: which one came. The handlers are installed when this is called, not
/// when the future is first polled: a signal that arrives in between is then kept for the
/// future instead of killing the process before its cleanup could run.
pub(crate) fn shutdown_signal() -> impl Future<Output = i32> + use<> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        match (interrupt, terminate) {
            (Ok(mut int), Ok(mut term)) => tokio::select! {
                _ = int.recv() => libc::SIGINT,
                _ = term.recv() => libc::SIGTERM,
            },
            (Ok(mut int), Err(_)) => {
                int.recv().await;
                libc::SIGINT
            }
            (Err(_), Ok(mut term)) => {
                term.recv().await;
                libc::SIGTERM
            }
            // No handler could be installed: the default action (exit) stays.
            (Err(_), Err(_)) => std::future::pending().await,
        }
    }
}
