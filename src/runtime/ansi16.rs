//! The frames' bytes on their way to the terminal: crossterm writes the 16 ANSI colours
//! in their 256-colour form (`38;5;6`), which a 16-colour terminal (the Linux console,
//! an old `screen`) may not read. This writer turns them back into `36`, `96`, `46`…;
//! everything else passes as it came.

use std::io::{self, Write};

/// Rewrites `ESC [ … m` as it streams (crossterm writes one sequence in several pieces).
pub struct Ansi16<W: Write> {
    inner: W,
    /// A control sequence begun and not yet ended (starts with ESC).
    pending: Vec<u8>,
}

impl<W: Write> Ansi16<W> {
    pub fn new(inner: W) -> Self {
        Ansi16 {
            inner,
            pending: Vec::new(),
        }
    }
}

/// `38;5;n` / `48;5;n` with n < 16 as the classic codes; the rest unchanged.
fn rewrite(params: &str) -> String {
    let parts: Vec<&str> = params.split(';').collect();
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while let Some(&p) = parts.get(i) {
        let index = match (p, parts.get(i + 1), parts.get(i + 2)) {
            ("38" | "48", Some(&"5"), Some(n)) => n.parse::<u8>().ok().filter(|n| *n < 16),
            _ => None,
        };
        match index {
            Some(n) => {
                let base: u8 = match (p == "38", n < 8) {
                    (true, true) => 30,
                    (true, false) => 90 - 8,
                    (false, true) => 40,
                    (false, false) => 100 - 8,
                };
                out.push(u16::from(base.saturating_add(n)).to_string());
                i += 3;
            }
            None => {
                out.push(p.to_string());
                i += 1;
            }
        }
    }
    out.join(";")
}

impl<W: Write> Write for Ansi16<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut plain_from = 0;
        for (i, &b) in buf.iter().enumerate() {
            if self.pending.is_empty() {
                if b == 0x1b {
                    self.inner
                        .write_all(buf.get(plain_from..i).unwrap_or_default())?;
                    self.pending.push(b);
                }
                continue;
            }
            self.pending.push(b);
            plain_from = i + 1;
            let csi = self.pending.get(1) == Some(&b'[');
            let ended = match self.pending.len() {
                2 => !csi,
                _ => (0x40..=0x7e).contains(&b),
            };
            if !ended {
                continue;
            }
            let seq = std::mem::take(&mut self.pending);
            match seq.split_last() {
                Some((b'm', head)) if csi => {
                    let params = String::from_utf8_lossy(head.get(2..).unwrap_or_default());
                    write!(self.inner, "\x1b[{}m", rewrite(&params))?;
                }
                _ => self.inner.write_all(&seq)?,
            }
        }
        if self.pending.is_empty() {
            self.inner
                .write_all(buf.get(plain_from..).unwrap_or_default())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    fn through(pieces: &[&[u8]]) -> Vec<u8> {
        let mut w = super::Ansi16::new(Vec::new());
        for p in pieces {
            w.write_all(p).unwrap();
        }
        w.inner
    }

    #[test]
    fn sixteen_colours_lose_their_256_colour_form() {
        assert_eq!(through(&[b"a\x1b[38;5;6;49mb"]), b"a\x1b[36;49mb");
        assert_eq!(
            through(&[b"\x1b[38;5;12m\x1b[48;5;1m"]),
            b"\x1b[94m\x1b[41m"
        );
        assert_eq!(through(&[b"\x1b[48;5;9m"]), b"\x1b[101m");
        // Split across writes, as crossterm writes it.
        assert_eq!(through(&[b"x\x1b", b"[38;5", b";3m", b"y"]), b"x\x1b[33my");
    }

    #[test]
    fn everything_else_passes() {
        let other: &[u8] = b"\x1b[38;5;200m\x1b[38;2;1;2;3m\x1b[0m\x1b[7m\x1b[?1000h\x1b[2;3H\x1b7\x1b]52;c;eA==\x07z";
        assert_eq!(through(&[other]), other);
    }
}
