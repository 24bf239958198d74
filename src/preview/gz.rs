//! gzip and BGZF prefixes, decompressed as one stream across members (a BGZF file is a
//! run of small gzip members), up to where the bytes stop.

use std::io::Read;

use flate2::bufread::GzDecoder;

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
/// damage: what it gave so far is kept. Zero bytes after a complete member are padding
/// (tape and block writers leave them; `gzip -d` ignores them too), not a member.
pub(crate) fn inflate(bytes: &[u8], whole: bool, limit: usize) -> Inflated {
    let bgzf = is_bgzf(bytes);
    let mut data = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    let mut buf = vec![0u8; 64 * 1024];
    // Member by member (not `MultiGzDecoder`) to know where each one ends.
    let mut rest = bytes;
    let mut members = 0usize;
    let end = 'members: loop {
        // Also a prefix cut exactly at a member's end (nothing left).
        if members > 0 && rest.iter().all(|b| *b == 0) {
            break if whole { End::Complete } else { End::Prefix };
        }
        let mut dec = GzDecoder::new(rest);
        loop {
            if data.len() >= limit {
                data.truncate(limit);
                break 'members End::Limit;
            }
            match dec.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => data.extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    break 'members if whole { End::Truncated } else { End::Prefix };
                }
                Err(e) => break 'members End::Corrupt(e.to_string()),
            }
        }
        rest = dec.into_inner();
        members += 1;
    };
    Inflated { data, end, bgzf }
}
