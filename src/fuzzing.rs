//! Not an API: the internals the fuzz targets in `fuzz/` drive, behind thin wrappers so
//! the modules themselves stay private. May change with any commit.

pub use crate::server::fuzzing::*;

use crate::api::{ApiError, ListPage};

/// The client's reading of a `GET /v1/files` answer.
pub fn parse_list(body: &[u8], limit: u32) -> Result<ListPage, ApiError> {
    crate::api::parse_list(body, limit, "fuzz")
}
