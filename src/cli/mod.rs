//! The command line: `serve`, the scripting commands `ls`/`put`/`get`/`rm`, and `--demo`.

mod demo;
pub(crate) mod logging;
mod transfer;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use humansize::{BINARY, format_size};

use crate::api::{ApiError, ApiKey, Client, ClientConfig};
use crate::server;

const AFTER_HELP: &str = "\
Environment:
  FILEDECK_ENDPOINT    the API endpoint (instead of --endpoint)
  FILEDECK_API_KEY     the API key (never passed on the command line)
  FILEDECK_SERVER_KEY  `serve`: one key with every scope and workspace
  FILEDECK_LARGE_UPLOAD_THRESHOLD
                       files above this many bytes use the presigned large-upload
                       flow (default 500000000)
";

/// A terminal browser and transfer tool for a workspace Files API.
#[derive(Debug, Parser)]
#[command(name = "filedeck", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// API endpoint, e.g. https://api.example.com
    #[arg(long, env = "FILEDECK_ENDPOINT", global = true, hide_env_values = true)]
    pub endpoint: Option<String>,
    /// Run the embedded reference server with sample data and browse it.
    #[arg(long)]
    pub demo: bool,
    /// Workspace to browse (repeatable); without it, the server's workspaces are listed.
    #[arg(short, long = "workspace", value_name = "ID")]
    pub workspaces: Vec<String>,
    /// Transfers at once in the browser.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    #[command(subcommand)]
    pub command: Option<Verb>,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Run the reference server of the Files API over a local directory.
    Serve {
        /// Where files and the index are kept.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// TOML file of [[key]] tables (token, scopes, workspaces).
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// Lifetime of presigned URLs, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 3600)]
        presign_ttl: u64,
        /// Keys of uploaded files: `path` (the key is path + name; an upload replaces the
        /// file there) or `opaque` (every upload gets a new key `obj_…`; two files may share
        /// a display path). A data directory keeps the style it was filled in.
        #[arg(long, value_enum, value_name = "STYLE", default_value_t = server::KeyStyle::Path)]
        key_style: server::KeyStyle,
        /// The URL clients reach this server at, the base of its presigned URLs (default:
        /// http:// and the listen address as bound; required with a wildcard --listen such as
        /// 0.0.0.0). A path prefix (https://example.com/files) is for a reverse proxy that
        /// strips it before passing requests on. Never taken from a request's headers.
        #[arg(long, value_name = "URL", value_parser = server::parse_public_url)]
        public_url: Option<String>,
        #[command(flatten)]
        limits: ServeLimits,
    },
    /// List files (recursively) under a prefix.
    #[command(override_usage = "filedeck ls -w <WS> [PREFIX] [--json]")]
    Ls {
        /// The workspace to list (required).
        #[arg(short, long, value_name = "WS")]
        workspace: Option<String>,
        /// Only keys starting with this, e.g. raw/ (default: the whole workspace).
        prefix: Option<String>,
        /// Print one JSON array of file objects.
        #[arg(long)]
        json: bool,
    },
    /// Upload files and directories (recursively, layout kept).
    #[command(override_usage = "filedeck put -w <WS> [OPTIONS] <PATH>...")]
    Put {
        /// The workspace to upload into (required).
        #[arg(short, long, value_name = "WS")]
        workspace: Option<String>,
        /// Local files and directories to upload (at least one); a directory is uploaded
        /// with everything under it, under its own name.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Destination folder, e.g. raw/ (default: the workspace root).
        #[arg(long, value_name = "FOLDER/", default_value = "")]
        to: String,
        /// A description stored with every uploaded file.
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// Transfers at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// When a file exists already on the server.
        #[arg(long, value_enum, default_value_t = ConflictArg::Fail)]
        on_conflict: ConflictArg,
    },
    /// Download files; a key ending in / downloads the folder.
    #[command(override_usage = "filedeck get -w <WS> [OPTIONS] <KEY>...")]
    Get {
        /// The workspace to download from (required).
        #[arg(short, long, value_name = "WS")]
        workspace: Option<String>,
        /// Keys of files to download (at least one), as `ls` prints them; a key ending in
        /// / downloads every file under it.
        #[arg(value_name = "KEY")]
        keys: Vec<String>,
        /// Destination directory.
        #[arg(long, value_name = "DIR", default_value = ".")]
        to: PathBuf,
        /// Transfers at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
        /// When a file exists already in the destination.
        #[arg(long, value_enum, default_value_t = ConflictArg::Fail)]
        on_conflict: ConflictArg,
    },
    /// Delete files; with -r, a key ending in / deletes every file under it.
    #[command(override_usage = "filedeck rm -w <WS> [-r] <KEY>...")]
    Rm {
        /// The workspace to delete from (required).
        #[arg(short, long, value_name = "WS")]
        workspace: Option<String>,
        /// Keys of files to delete (at least one), as `ls` prints them; with -r, a key
        /// ending in / names every file under it.
        #[arg(value_name = "KEY")]
        keys: Vec<String>,
        /// Delete every file under a key ending in / (without it such a key is refused).
        #[arg(short, long)]
        recursive: bool,
    },
}

/// `--on-conflict`: what `put`/`get` do with a file that exists at its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConflictArg {
    /// Transfer nothing, list the files that exist, exit 1.
    Fail,
    /// Leave them, transfer the rest.
    Skip,
    /// Skip those known to be identical (size and SHA-256), replace the others; a file
    /// that cannot be compared (no hash on the server) fails.
    SkipIdentical,
    /// Replace them (an upload's old copy goes once the new one is in and verified).
    Overwrite,
    /// Transfer under a numbered name: "name (1).ext".
    Rename,
}

impl From<ConflictArg> for crate::app::msg::OnConflict {
    fn from(a: ConflictArg) -> Self {
        use crate::app::msg::OnConflict as O;
        match a {
            ConflictArg::Fail => O::Fail,
            ConflictArg::Skip => O::Skip,
            ConflictArg::SkipIdentical => O::SkipIdentical,
            ConflictArg::Overwrite => O::Overwrite,
            ConflictArg::Rename => O::Rename,
        }
    }
}

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
    let cmd = Cli::command().after_help(format!("{AFTER_HELP}\nLog file:\n  {log}"));
    let matches = cmd.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

pub fn main(cli: Cli) -> ExitCode {
    let is_server = matches!(cli.command, Some(Verb::Serve { .. }));
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
    tracing::debug!(ms = at.elapsed().as_millis() as u64, "the runtime stopped");
    if let Some(data) = demo_data {
        let at = std::time::Instant::now();
        data.remove();
        tracing::debug!(
            ms = at.elapsed().as_millis() as u64,
            "the demo's data removed"
        );
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

async fn run(cli: Cli, demo_data: Option<&std::path::Path>) -> Result<(), Failure> {
    if let Some(data) = demo_data {
        return demo::run(data, cli.workspaces, cli.concurrency.into()).await;
    }
    let Some(command) = cli.command else {
        let Some(endpoint) = cli.endpoint else {
            return Err(Failure::Usage(
                "no endpoint to browse: pass --endpoint URL (or set FILEDECK_ENDPOINT), \
                 or try the embedded demo with `filedeck --demo`"
                    .into(),
            ));
        };
        // Checked before the terminal is taken; the client itself is built after the
        // first frame.
        let cfg = client_config(Some(endpoint.clone()))?;
        let session = crate::runtime::Session {
            endpoint,
            workspaces: cli.workspaces,
            concurrency: cli.concurrency.into(),
            persist_queue: true,
            demo_key: None,
        };
        return tui(cfg, session).await;
    };
    if matches!(command, Verb::Serve { .. }) {
        // The server stops on these signals by itself, gracefully, and exits 0.
        return script(cli.endpoint, command).await;
    }
    if matches!(command, Verb::Put { .. }) {
        // `put` reaches its batch at once, and the batch takes the signal itself: its
        // cancelled uploads settle first (one whose bytes are all sent is seen through,
        // and only then is what it replaces removed), then it exits with 130 or 143.
        return script(cli.endpoint, command).await;
    }
    // Ctrl-C or SIGTERM stops a scripting command at any point with the shell's status
    // for it (130, 143), never a plain failure a script would take for a server error.
    tokio::select! {
        result = script(cli.endpoint, command) => result,
        sig = shutdown_signal() => Err(Failure::Signalled(sig)),
    }
}

async fn script(endpoint: Option<String>, command: Verb) -> Result<(), Failure> {
    match command {
        Verb::Serve {
            data,
            listen,
            keys,
            presign_ttl,
            key_style,
            public_url,
            limits,
        } => {
            serve(
                data,
                listen,
                keys,
                presign_ttl,
                key_style,
                public_url,
                limits,
            )
            .await
        }
        Verb::Ls {
            workspace,
            prefix,
            json,
        } => {
            let client = client(endpoint)?;
            let workspace = required_workspace(workspace, "ls")?;
            ls(&client, &workspace, prefix.as_deref().unwrap_or(""), json).await
        }
        Verb::Put {
            workspace,
            paths,
            to,
            description,
            concurrency,
            on_conflict,
        } => {
            let client = client(endpoint)?;
            let workspace = required_workspace(workspace, "put")?;
            required_args(
                &paths,
                "put",
                "PATH",
                "local files or directories to upload",
            )?;
            transfer::put(
                &client,
                &workspace,
                &paths,
                &to,
                description.as_deref(),
                concurrency.into(),
                on_conflict.into(),
            )
            .await
        }
        Verb::Get {
            workspace,
            keys,
            to,
            concurrency,
            on_conflict,
        } => {
            let client = client(endpoint)?;
            let workspace = required_workspace(workspace, "get")?;
            required_args(&keys, "get", "KEY", "keys of files to download")?;
            transfer::get(
                &client,
                &workspace,
                &keys,
                &to,
                concurrency.into(),
                on_conflict.into(),
            )
            .await
        }
        Verb::Rm {
            workspace,
            keys,
            recursive,
        } => {
            let client = client(endpoint)?;
            let workspace = required_workspace(workspace, "rm")?;
            required_args(&keys, "rm", "KEY", "keys of files to delete")?;
            transfer::rm(&client, &workspace, &keys, recursive).await
        }
    }
}

// A scripting command's problems are reported in the order they must be fixed: the
// endpoint, the key (both from the environment, usually set once), then the workspace,
// then what to work on. Clap would name a missing -w first, and the user who adds it
// then learns that nothing would have worked anyway.

fn required_workspace(ws: Option<String>, command: &str) -> Result<String, Failure> {
    ws.ok_or_else(|| {
        Failure::Usage(format!(
            "no workspace: pass -w WS (`filedeck {command} --help`); \
             the browser (`filedeck` alone) lists the workspaces of your key"
        ))
    })
}

fn required_args<T>(args: &[T], command: &str, name: &str, what: &str) -> Result<(), Failure> {
    if args.is_empty() {
        return Err(Failure::Usage(format!(
            "no {name} given: pass the {what} (`filedeck {command} --help`)"
        )));
    }
    Ok(())
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

fn client(endpoint: Option<String>) -> Result<Client, Failure> {
    Ok(Client::new(client_config(endpoint)?)?)
}

/// The endpoint and key, checked as far as [`Client::new`] would check them, without
/// building the HTTP client (which reads every CA certificate of the system).
fn client_config(endpoint: Option<String>) -> Result<ClientConfig, Failure> {
    let endpoint = endpoint.ok_or_else(|| {
        Failure::Usage("no endpoint: pass --endpoint URL or set FILEDECK_ENDPOINT".into())
    })?;
    let key = ApiKey::from_env()
        .ok_or_else(|| Failure::Usage("no API key: set FILEDECK_API_KEY".into()))?;
    // The key travels as `Authorization: Bearer KEY`, which `Client::new` refuses to
    // build from a key that is no header value: the browser must know before it takes
    // the terminal. `ApiKey` never hands its text out, so this reads what it read.
    let text = std::env::var(crate::config::API_KEY_ENV).unwrap_or_default();
    if reqwest::header::HeaderValue::from_str(&format!("Bearer {}", text.trim())).is_err() {
        return Err(Failure::Usage(
            "the API key (FILEDECK_API_KEY) contains characters not allowed in a header".into(),
        ));
    }
    ClientConfig::new(&endpoint, key).map_err(|e| Failure::Usage(e.to_string()))
}

async fn serve(
    data: PathBuf,
    listen: SocketAddr,
    keys: Option<PathBuf>,
    presign_ttl: u64,
    key_style: server::KeyStyle,
    public_url: Option<String>,
    limits: ServeLimits,
) -> Result<(), Failure> {
    // One server per data directory: opening a store clears temp files and unindexed
    // blobs, which would be another live server's uploads in flight.
    let _lock = lock_data_dir(&data)?;
    let mut config = server::ServerConfig::new(data, listen);
    config.presign_ttl = Duration::from_secs(presign_ttl);
    config.key_style = key_style;
    config.max_uploads_per_key = limits.max_uploads_per_key;
    config.public_url = public_url;
    config.limits = limits.into_limits();
    if let Some(path) = keys {
        config.keys = server::load_keys_file(&path).map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let running = server::bind(config).await.map_err(|e| match e {
        server::ServerError::WildcardWithoutPublicUrl(_) => Failure::Usage(e.to_string()),
        e => Failure::Failed(e.to_string()),
    })?;
    // Installed before the line below: a script may signal as soon as it reads it.
    let stop = shutdown_signal();
    // Scripts wait for this line: print it only once the port is bound.
    println!("listening on {}", running.base_url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    stop.await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

/// The connection limits of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeLimits {
    /// Concurrent uploads (multipart and presigned PUT) one API key may have running;
    /// more are answered `503` with `Retry-After`.
    #[arg(long, value_name = "N", default_value_t = server::DEFAULT_MAX_UPLOADS_PER_KEY,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_uploads_per_key: usize,
    /// A connection whose request head is not complete this many seconds after it opened
    /// (or after the first byte of its next request) is closed; at most 30.
    #[arg(long, value_name = "SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=30))]
    header_timeout: u64,
    /// A keep-alive connection with no request in flight for this long is closed (a
    /// request in flight, however slow its reader, is never cut by it).
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Minimum request-body rate, bytes per second: a body delivering fewer than this times
    /// --body-rate-window bytes in a window is answered 408 and its connection closed
    /// (0: off).
    /// Downloads are not subject to it.
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    min_body_rate: u64,
    /// The window --min-body-rate is measured over, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..))]
    body_rate_window: u64,
    /// A connection whose response writes have been blocked this many seconds, the client
    /// taking none of the bytes already sent, is closed (a slow reader still taking bytes
    /// is not).
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    send_timeout: u64,
    /// Open connections at most; at the cap, connections idle for 1 s, request heads
    /// unfinished after 1 s and responses the client has taken nothing of for 2 s are
    /// closed, and new connections wait in the listen backlog
    /// until one closes (default: half of the open-file limit, raised to its hard limit,
    /// minus 128, between 16 and 4096; each download or upload holds two descriptors).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// On SIGTERM/SIGINT, how long running requests may take before their connections
    /// are closed, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    shutdown_grace: u64,
}

impl ServeLimits {
    fn into_limits(self) -> server::ServerLimits {
        server::ServerLimits {
            header_timeout: Duration::from_secs(self.header_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
            min_body_rate: self.min_body_rate,
            body_rate_window: Duration::from_secs(self.body_rate_window),
            max_connections: self
                .max_connections
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            shutdown_grace: Duration::from_secs(self.shutdown_grace),
            send_timeout: Duration::from_secs(self.send_timeout),
        }
    }
}

/// An exclusive lock on `DIR/.lock`, held while the server runs.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Failure::Failed(format!("cannot open {}: {e}", path.display())))?;
    // Released when the process ends.
    if file.try_lock().is_err() {
        return Err(Failure::Failed(format!(
            "another filedeck server is using {}; one server per data directory",
            dir.display()
        )));
    }
    Ok(file)
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

async fn ls(client: &Client, ws: &str, prefix: &str, json: bool) -> Result<(), Failure> {
    let listing = client.list_all(ws, prefix).await?;
    if json {
        let out = crate::sanitize::to_json(&listing.files)
            .map_err(|e| Failure::Failed(format!("cannot encode the listing: {e}")))?;
        println!("{out}");
    } else {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for f in &listing.files {
            let created = crate::sanitize::for_terminal(f.created_at.as_deref().unwrap_or("-"));
            let display = f.display_key();
            // Where keys are opaque the key is what tells two files of one path apart (and
            // what `get`/`rm` take to name one of them): shown after the path.
            let key = if f.key == display {
                String::new()
            } else {
                format!("  key={}", crate::sanitize::for_terminal(&f.key))
            };
            let _ = writeln!(
                out,
                "{:>10}  {:<20}  {}{key}",
                f.size
                    .map_or_else(|| "?".to_string(), |s| format_size(s, BINARY)),
                created,
                crate::sanitize::for_terminal(&display)
            );
        }
        let _ = out.flush();
    }
    if listing.maybe_incomplete {
        eprintln!(
            "filedeck: warning: the server returned a full page without a cursor; \
             there may be more than {} files",
            listing.files.len()
        );
    }
    Ok(())
}
