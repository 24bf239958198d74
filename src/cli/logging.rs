//! Logs go to a file under the XDG state directory (never onto a screen a TUI owns);
//! the server, a daemon, logs to stderr.

use tracing_subscriber::EnvFilter;

use crate::config::{LOG_ENV, log_path};

/// Install the subscriber. Only our own crate logs at info by default: reqwest and
/// hyper log URLs at debug level, and presigned URLs carry signatures.
pub fn init(to_stderr: bool) {
    let filter =
        EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("filedeck=info,warn"));
    if to_stderr {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            // Escaped would show colour codes' ESC as visible text.
            .with_ansi(false)
            .with_writer(|| Escaped(std::io::stderr()))
            .try_init();
        return;
    }
    let Some(path) = log_path() else { return };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    if let Ok(file) = opts.open(&path) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(EscapedFile(std::sync::Mutex::new(file)))
            .try_init();
    }
}

/// Each log line is one write of a whole formatted event: names from the server or the
/// disk (with a newline, an ESC, a bidi override) are made visible there, so they can
/// neither forge log lines nor drive the terminal of whoever reads the log.
struct Escaped<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for Escaped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, end) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let line = format!("{}{end}", crate::sanitize::for_terminal(body));
        self.0.write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

struct EscapedFile(std::sync::Mutex<std::fs::File>);

/// The log file, held for one event's write.
struct Locked<'a>(std::sync::MutexGuard<'a, std::fs::File>);

impl std::io::Write for Locked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for EscapedFile {
    type Writer = Escaped<Locked<'a>>;

    fn make_writer(&'a self) -> Self::Writer {
        // A poisoned lock only means another thread panicked mid-write; the file is fine.
        Escaped(Locked(self.0.lock().unwrap_or_else(|e| e.into_inner())))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::Escaped;

    #[test]
    fn a_name_cannot_forge_a_line_or_reach_the_terminal() {
        let mut out = Escaped(Vec::new());
        out.write_all(b"WARN transfer failed name=a\nFAKE line \x1b[31mred\xe2\x80\xaeevil\n")
            .unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.ends_with('\n'));
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text:?}"
        );
    }
}
