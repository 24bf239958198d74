//! gzip and BGZF prefixes, decompressed as one stream across members (a BGZF file is a
//! run of small gzip members), up to where the bytes stop.

use std::io::Read;

use flate2::read::MultiGzDecoder;

/// Why the decompressed data ends where it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// The whole file was read and decompressed.
    Complete,
    /// The fetched prefix ended (more of the file exists).
    Prefix,
    /// The whole file was read but its last member is cut short.
    Truncated,
    /// Enough was decompressed.
    Limit,
    Corrupt(String),
}

pub(crate) struct Inflated {
    pub data: Vec<u8>,
    pub end: End,
    /// The first member carries BGZF's `BC` extra field.
    pub bgzf: bool,
}

/// BGZF's mark: a gzip header with FEXTRA whose first subfield is `BC`.
pub(crate) fn is_bgzf(bytes: &[u8]) -> bool {
    bytes.get(3).is_some_and(|f| f & 4 != 0) && bytes.get(12..14) == Some(b"BC")
}

/// Decompress `bytes`, a prefix of a gzip file unless `whole`, keeping at most `limit`
/// bytes of output. A member cut by the end of a prefix is where the prefix ends, not
/// damage: what it gave so far is kept.
pub(crate) fn inflate(bytes: &[u8], whole: bool, limit: usize) -> Inflated {
    let bgzf = is_bgzf(bytes);
    let mut dec = MultiGzDecoder::new(bytes);
    let mut data = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        if data.len() >= limit {
            data.truncate(limit);
            break End::Limit;
        }
        match dec.read(&mut buf) {
            Ok(0) if whole => break End::Complete,
            // Cut exactly at a member's end.
            Ok(0) => break End::Prefix,
            Ok(n) => data.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break if whole { End::Truncated } else { End::Prefix };
            }
            Err(e) => break End::Corrupt(e.to_string()),
        }
    };
    Inflated { data, end, bgzf }
}
