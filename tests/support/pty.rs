//! The real binary in a pty (portable-pty + vt100), for the end-to-end tests: spawn it,
//! read its screen, send keys, and wait on screen conditions with deadlines.
#![allow(dead_code)] // each test file uses a part of it

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");

pub struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    /// Set to close the terminal: the reader lets go of the master side.
    closing: Arc<std::sync::atomic::AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    pub fn spawn(args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        // The developer's own config and colour wishes stay out unless a test sets them.
        cmd.env("FILEDECK_CONFIG", "/nonexistent/filedeck-test-config.toml");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("FILEDECK_PROFILE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZero::new(rows).unwrap(),
            std::num::NonZero::new(cols).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = closing.clone();
        let reader = std::thread::spawn(move || {
            let master = pair.master;
            let fd = master.as_raw_fd().unwrap();
            let mut buf = [0u8; 8192];
            // Polled, so that `hang_up` can make this thread drop the master side.
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let mut pfd = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, owned by this frame.
                if unsafe { libc::poll(&mut pfd, 1, 20) } <= 0 {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        p.lock().unwrap().process(&buf[..n]);
                        r.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        Pty {
            parser,
            raw,
            writer,
            child,
            closing,
            reader: Some(reader),
        }
    }

    /// Close the terminal, as closing a terminal window or dropping an SSH session does:
    /// every handle on the master side goes, so the program gets SIGHUP and its terminal
    /// I/O fails (EIO) from then on.
    pub fn hang_up(&mut self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.writer = Box::new(std::io::sink());
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Wait until `cond` holds for the screen, or fail with the screen shown.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) {
        self.poll(
            what,
            Duration::from_secs(60),
            Duration::from_millis(10),
            cond,
            |_| false,
        );
    }

    /// Wait at most `limit` for `cond` on the screen, checking every millisecond; how long
    /// it took.
    pub fn wait_within(
        &self,
        what: &str,
        limit: Duration,
        cond: impl Fn(&str) -> bool,
    ) -> Duration {
        self.wait_unless(what, limit, cond, |_| false)
    }

    /// As [`Pty::wait_within`], failing at once when `bad` holds first.
    pub fn wait_unless(
        &self,
        what: &str,
        limit: Duration,
        cond: impl Fn(&str) -> bool,
        bad: impl Fn(&str) -> bool,
    ) -> Duration {
        self.poll(what, limit, Duration::from_millis(1), cond, bad)
    }

    fn poll(
        &self,
        what: &str,
        limit: Duration,
        every: Duration,
        cond: impl Fn(&str) -> bool,
        bad: impl Fn(&str) -> bool,
    ) -> Duration {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if cond(&s) {
                return started.elapsed();
            }
            assert!(!bad(&s), "while waiting for {what}; screen:\n{s}");
            assert!(
                started.elapsed() < limit,
                "timed out after {limit:?} waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(every);
        }
    }

    /// `filedeck --demo ARGS` in a pty of 100×30, its state in `state`, `env` on top; returned
    /// once its first listing is on screen: both demo workspaces, ws_genomics's 1,000 files.
    pub fn demo(args: &[&str], env: &[(&str, &str)], state: &std::path::Path) -> Pty {
        let argv: Vec<&str> = ["--demo"].iter().chain(args).copied().collect();
        let mut all = vec![("XDG_STATE_HOME", state.to_str().unwrap())];
        all.extend_from_slice(env);
        let pty = Pty::spawn(&argv, &all, 100, 30);
        pty.wait_for("the demo's first listing", |s| {
            s.contains("ws_genomics") && s.contains("ws_lab") && s.contains("1,000 files")
        });
        pty
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        self.poll_exit(Duration::from_secs(60), Duration::from_millis(10))
    }

    /// Wait at most `limit` for the process to end by itself.
    pub fn wait_exit_within(&mut self, limit: Duration) -> portable_pty::ExitStatus {
        self.poll_exit(limit, Duration::from_millis(20))
    }

    /// `q`, then the process ends by itself (within 10 s).
    pub fn quit(&mut self) -> portable_pty::ExitStatus {
        self.send("q");
        self.wait_exit_within(Duration::from_secs(10))
    }

    fn poll_exit(&mut self, limit: Duration, every: Duration) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "did not exit within {limit:?}; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(every);
        }
    }

    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    pub fn alternate_screen(&self) -> bool {
        self.parser.lock().unwrap().screen().alternate_screen()
    }

    pub fn cursor_hidden(&self) -> bool {
        self.parser.lock().unwrap().screen().hide_cursor()
    }
}

impl Drop for Pty {
    /// A failed test must not leave the binary running (or finishing transfers headless):
    /// SIGKILL, not the SIGHUP of `Child::kill`, after which it would carry on.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Some(pid) = self.child.process_id() {
                let _ = rustix::process::kill_process(
                    rustix::process::Pid::from_raw(pid as i32).unwrap(),
                    rustix::process::Signal::KILL,
                );
            } else {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }
}

/// The transfers pane shows some bytes done of `total` (neither 0 nor all).
pub fn in_the_middle(s: &str, total: &str) -> bool {
    s.lines().any(|l| {
        l.contains("running")
            && l.contains(&format!("/ {total}"))
            && !l.contains(&format!(" 0 B / {total}"))
            && !l.contains(&format!("{total} / {total}"))
    })
}
