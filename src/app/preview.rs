//! What the preview shows, as plain data: the worker's decoded lines and what was
//! fetched, and which file the preview follows (in the details pane, or full screen).

pub use crate::preview::{PreviewLine, Role};

/// The most bytes a preview fetches, unless the config says otherwise.
pub const DEFAULT_CAP: u64 = crate::config::DEFAULT_PREVIEW_CAP;
/// The first range: a header of thousands of contigs and samples, BGZF-compressed,
/// fits; a screenful of anything else too.
pub const FIRST_RANGE: u64 = 256 << 10;
/// Each further range while scrolling the full-screen preview.
pub const STEP: u64 = 512 << 10;

/// The worker's answer for a preview: every line decoded from the bytes fetched so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewData {
    pub format: String,
    pub lines: Vec<PreviewLine>,
    /// Bytes fetched from the file.
    pub fetched: u64,
    /// The file's size, when the server said.
    pub total: Option<u64>,
    /// The whole file was read.
    pub eof: bool,
    /// The server ignored `Range` (a `200`): it was read up to the cap and cut off.
    pub ignored_range: bool,
    /// More bytes would show more lines.
    pub wants_more: bool,
    /// Why the last fetch failed, shown under what came before it.
    pub problem: Option<String>,
}

/// The preview of one file.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Its request id (`msg::ReqId`, named by its type there: `msg` holds this module's
    /// data in its events).
    pub req: u64,
    pub ws: usize,
    pub key: String,
    /// The display path (sanitised when drawn).
    pub shown: String,
    pub data: Option<PreviewData>,
    /// Nothing could be fetched: why.
    pub error: Option<String>,
    /// A fetch is under way.
    pub loading: bool,
    /// Bytes asked for so far.
    pub asked: u64,
    /// The first line shown full screen.
    pub scroll: usize,
}

#[derive(Debug, Clone)]
pub struct PreviewState {
    /// `p` is on: the details pane previews the selected file.
    pub on: bool,
    /// The full-screen view is open.
    pub full: bool,
    /// The most bytes fetched per file.
    pub cap: u64,
    pub current: Option<Preview>,
}

impl Default for PreviewState {
    fn default() -> Self {
        PreviewState {
            on: false,
            full: false,
            cap: DEFAULT_CAP,
            current: None,
        }
    }
}

impl PreviewState {
    /// The lines of the current preview, if any came.
    pub fn lines(&self) -> &[PreviewLine] {
        self.current
            .as_ref()
            .and_then(|p| p.data.as_ref())
            .map_or(&[], |d| d.lines.as_slice())
    }
}

/// Rows of preview text the full-screen view shows on a screen this high: the footer,
/// two borders and the line of bytes fetched take the rest.
pub fn full_rows(height: u16) -> usize {
    usize::from(height.saturating_sub(4)).max(1)
}
