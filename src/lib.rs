//! filedeck: a terminal browser and transfer tool for a workspace Files API, with the
//! API's reference server.
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod local;
pub mod mime;
pub mod preview;
pub mod runtime;
pub mod sanitize;
pub mod server;
pub mod sys;
pub mod ui;
pub mod wire;
pub mod worker;
