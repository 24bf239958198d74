//! filedeck: a terminal browser and transfer tool for a workspace Files API, with the
//! API's reference server.
pub mod api;
pub mod cli;
pub mod sanitize;
pub mod server;
