//! The reference server for the integration tests: in-process, 127.0.0.1, a free port,
//! one key with every scope and workspace.
//!
//! Every client path should hold against both key styles of the contract ("Key styles"):
//! `path` (key = path + name) and `opaque` (a new `obj_…` key per upload, display paths may
//! repeat, the confirm answers `{"key"}` only). [`start_styled`] starts the server in one
//! style, and [`key_styles!`] runs a test body once per style:
//!
//! ```ignore
//! #[path = "support/server.rs"]
//! mod test_server;
//! use test_server::key_styles;
//!
//! key_styles! {
//!     /// Doc comments and other attributes (`#[ignore]`, …) go on both tests.
//!     async fn uploads_round_trip(style) {
//!         let data = tempfile::tempdir().unwrap();
//!         let server = test_server::start_styled(data.path(), KEY, style).await;
//!         // `style` is a `filedeck::server::KeyStyle`: branch on it where the styles differ
//!         // (in opaque style, never assume key == path + name).
//!     }
//! }
//!
//! key_styles! {
//!     /// A `#[tokio::test(…)]` right after the doc comments replaces the default
//!     /// `#[tokio::test]`.
//!     #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//!     async fn busy(style) { /* … */ }
//! }
//! ```
//!
//! One `async fn NAME(style)` per invocation (so the macro never has to name itself and
//! works however it was imported). It becomes a module `NAME` holding two tests,
//! `NAME::path` and `NAME::opaque`: `cargo test NAME` runs both, `cargo test opaque` every
//! opaque one. The module does `use super::*;`, so the body sees what the test file imports.
//!
//! Seeding with `filedeck::server::put_bytes`/`put_many` works in both styles: they take a
//! display path, and in opaque style mint the key (read it from the returned entries).

// Each test crate includes this file and uses a different part of it.
#![allow(dead_code)]

use std::path::Path;

use filedeck::server::{self, KeyStyle, RunningServer, ServerConfig};

/// A path-style server (the default style).
pub async fn start(data: &Path, token: &str) -> RunningServer {
    start_with(data, token, |_| {}).await
}

/// A server with keys of `style`.
pub async fn start_styled(data: &Path, token: &str, style: KeyStyle) -> RunningServer {
    start_with(data, token, |config| config.key_style = style).await
}

/// As [`start`], with `tweak` applied to the configuration first.
pub async fn start_with(
    data: &Path,
    token: &str,
    tweak: impl FnOnce(&mut ServerConfig),
) -> RunningServer {
    let mut config = ServerConfig::new(data, "127.0.0.1:0".parse().unwrap());
    config.keys.push(server::KeyGrant {
        token: token.into(),
        scopes: vec!["files".into()],
        workspaces: vec!["*".into()],
    });
    tweak(&mut config);
    server::bind(config).await.unwrap()
}

/// A server whose files live in the bucket `s3` (see `support/s3.rs`), its index in `data`.
pub async fn start_s3(
    data: &Path,
    token: &str,
    style: KeyStyle,
    s3: filedeck::server::S3Config,
) -> RunningServer {
    start_with(data, token, |config| {
        config.key_style = style;
        config.s3 = Some(s3);
    })
    .await
}

/// Run `async fn NAME(style) { … }` once per key style: see the module docs.
macro_rules! key_styles {
    (
        $(#[doc = $doc:literal])*
        #[tokio::test $($test_args:tt)*]
        $(#[$attr:meta])*
        async fn $name:ident($style:ident) $body:block
    ) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn path() {
                let $style = ::filedeck::server::KeyStyle::Path;
                $body
            }

            #[::tokio::test $($test_args)*]
            $(#[$attr])*
            async fn opaque() {
                let $style = ::filedeck::server::KeyStyle::Opaque;
                $body
            }
        }
    };
    (
        $(#[$attr:meta])*
        async fn $name:ident($style:ident) $body:block
    ) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test]
            $(#[$attr])*
            async fn path() {
                let $style = ::filedeck::server::KeyStyle::Path;
                $body
            }

            #[::tokio::test]
            $(#[$attr])*
            async fn opaque() {
                let $style = ::filedeck::server::KeyStyle::Opaque;
                $body
            }
        }
    };
}
pub(crate) use key_styles;
