//! The command line's grammar: the flags, the verbs and their arguments, as clap reads
//! them; what they do lives beside (`serve`, `verbs`, `demo`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::server;

/// `--version`: the crate version and the commit built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FILEDECK_COMMIT"),
    ")"
);

pub(super) const AFTER_HELP: &str = "\
Config file: $XDG_CONFIG_HOME/filedeck/config.toml (else ~/.config/filedeck/config.toml;
  FILEDECK_CONFIG points elsewhere); `filedeck config path` prints it.

Settings come from built-in defaults < the config file's profile < the environment <
flags; `filedeck config show` prints each with where it came from. An endpoint and its key
always come as a pair from one layer: --endpoint and FILEDECK_ENDPOINT with FILEDECK_API_KEY,
a profile's endpoint with its own api_key_env or api_key_file.

Environment:
  FILEDECK_ENDPOINT    the API endpoint (instead of --endpoint)
  FILEDECK_API_KEY     the API key for it (never passed on the command line)
  FILEDECK_PROFILE     the profile to use (instead of --profile)
  FILEDECK_LIMIT_RATE  the cap on the transfer rate (instead of --limit-rate)
  NO_COLOR             no colours (the mono theme), unless --theme
  FILEDECK_SERVER_KEY  `serve`: one key with every scope and workspace
  FILEDECK_LARGE_UPLOAD_THRESHOLD
                       files above this many bytes use the presigned large-upload
                       flow (default 500000000)
";

/// A terminal browser and transfer tool for a workspace Files API.
#[derive(Debug, Parser)]
#[command(name = "filedeck", version = VERSION, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// API endpoint, e.g. https://api.example.com (its key: FILEDECK_API_KEY)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint: Option<String>,
    /// A profile of the config file: its endpoint with its key, and its settings.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Run the embedded reference server with sample data and browse it.
    #[arg(long)]
    pub demo: bool,
    /// Workspace to browse (repeatable); without it, the server's workspaces are listed.
    #[arg(short, long = "workspace", value_name = "ID")]
    pub workspaces: Vec<String>,
    /// Transfers at once [default: 4]
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
    /// Cap on the total rate of all transfers, bytes per second; K, M, G are binary
    /// (10M = 10 MiB/s).
    #[arg(long, global = true, value_name = "RATE", value_parser = crate::config::parse_rate)]
    pub limit_rate: Option<u64>,
    /// Colours of the browser (auto: the 16 ANSI colours, for dark and light backgrounds).
    #[arg(long, global = true, value_enum, value_name = "THEME")]
    pub theme: Option<crate::config::ThemeName>,
    #[command(subcommand)]
    pub command: Option<Verb>,
}

/// `filedeck serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where files and the index are kept (with --store, only this server's index).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// TOML file of [[key]] tables (token, scopes, workspaces).
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// Lifetime of presigned URLs, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub presign_ttl: u64,
    /// Keys of uploaded files: `path` (the key is path + name; an upload replaces the
    /// file there) or `opaque` (every upload gets a new key `obj_…`; two files may share
    /// a display path). A data directory keeps the style it was filled in.
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = server::KeyStyle::Path)]
    pub key_style: server::KeyStyle,
    /// The URL clients reach this server at, the base of its presigned URLs (default:
    /// http:// and the listen address as bound; required with a wildcard --listen such as
    /// 0.0.0.0). A path prefix (https://example.com/files) is for a reverse proxy that
    /// strips it before passing requests on. Never taken from a request's headers.
    #[arg(long, value_name = "URL", value_parser = server::parse_public_url)]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub limits: ServeLimits,
}

/// Where `serve` keeps the bytes.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Keep bytes and metadata in an S3 bucket (s3://BUCKET[/PREFIX]) instead of --data, which
    /// then holds only this server's index of the bucket. Several servers may share a
    /// bucket. Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, value_name = "URL", value_parser = server::S3Config::parse)]
    pub store: Option<server::S3Config>,
    /// The S3 store's endpoint (MinIO, Garage, Ceph, …), e.g. http://127.0.0.1:3900;
    /// default AWS.
    #[arg(long, value_name = "URL", requires = "store")]
    pub s3_endpoint: Option<String>,
    /// The S3 store's region [default: AWS_REGION, else us-east-1].
    #[arg(long, value_name = "REGION", requires = "store")]
    pub s3_region: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Print a shell completion script to stdout (e.g. `filedeck completions bash`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
    /// The config file: `path` prints where it is, `check` validates it.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Run the reference server of the Files API over a local directory, or an S3 bucket.
    Serve(Box<ServeArgs>),
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
        /// Destination directory [default: the profile's download_dir, else .]
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
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

/// What `filedeck config` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum ConfigAction {
    /// Print the config file's path (it may not exist yet).
    Path,
    /// Parse and validate the config file; exit 1 with the reason when it is broken.
    Check,
    /// Print every setting in force and the layer it came from (never a key).
    Show,
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
    pub(super) header_timeout: u64,
    /// A keep-alive connection with no request in flight for this long is closed (a
    /// request in flight, however slow its reader, is never cut by it).
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) idle_timeout: u64,
    /// Minimum request-body rate, bytes per second: a body delivering fewer than this times
    /// --body-rate-window bytes in a window is answered 408 and its connection closed
    /// (0: off).
    /// Downloads are not subject to it.
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub(super) min_body_rate: u64,
    /// The window --min-body-rate is measured over, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) body_rate_window: u64,
    /// A connection whose response writes have been blocked this many seconds, the client
    /// taking none of the bytes already sent, is closed (a slow reader still taking bytes
    /// is not).
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) send_timeout: u64,
    /// Open connections at most; at the cap, connections idle for 1 s, request heads
    /// unfinished after 1 s and responses the client has taken nothing of for 2 s are
    /// closed, and new connections wait in the listen backlog
    /// until one closes (default: half of the open-file limit, raised to its hard limit,
    /// minus 128, between 16 and 4096; each download or upload holds two descriptors).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) max_connections: Option<u64>,
    /// On SIGTERM/SIGINT, how long running requests may take before their connections
    /// are closed, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub(super) shutdown_grace: u64,
}
