//! A real S3 implementation for the tests: s3s-fs (it checks SigV4 signatures, presigned
//! URLs and their expiry), started on 127.0.0.1 and a free port with fixed credentials, over
//! a temp directory in which every bucket is a directory and every object a file.
//!
//! Without the binary the tests fail, saying how to install it: they are never skipped.

// Each test crate includes this file and uses a different part of it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use filedeck::server::S3Config;
use tempfile::TempDir;

pub const ACCESS_KEY: &str = "filedeck-test-access";
pub const SECRET_KEY: &str = "filedeck-test-secret-0123456789abcdef";
pub const BUCKET: &str = "filedeck-test";
const INSTALL: &str = "cargo install s3s-fs@0.14.1 --features binary --locked";

/// The s3s-fs binary: `$S3S_FS`, else `s3s-fs` on `PATH`, else `~/.cargo/bin/s3s-fs`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("S3S_FS") {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("s3s-fs"))
            .find(|candidate| candidate.is_file())
    });
    let in_cargo = std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".cargo/bin/s3s-fs"))
        .filter(|candidate| candidate.is_file());
    on_path.or(in_cargo).unwrap_or_else(|| {
        panic!(
            "the S3 tests need s3s-fs, a real S3 implementation, and it is not installed: \
             run `{INSTALL}` (.ci/run does), or point S3S_FS at the binary"
        )
    })
}

/// A running s3s-fs, stopped when dropped.
pub struct S3Fs {
    pub endpoint: String,
    pub addr: SocketAddr,
    /// The directory s3s-fs serves: `root/<bucket>/<key>` is an object's bytes.
    pub root: TempDir,
    child: Child,
}

impl S3Fs {
    /// Start s3s-fs with one bucket, [`BUCKET`].
    pub fn start() -> S3Fs {
        let mut root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let binary = binary();
        for _ in 0..5 {
            // A free port, released just before s3s-fs binds it; taken meanwhile, try again.
            let addr = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let child = Command::new(&binary)
                .args(["--host", "127.0.0.1", "--port", &addr.port().to_string()])
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg(root.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e} ({INSTALL})", binary.display()));
            let mut s3 = S3Fs {
                endpoint: format!("http://{addr}"),
                addr,
                root,
                child,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return s3;
                }
                if s3.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = s3.child.kill();
            let _ = s3.child.wait();
            root = s3.take_root();
            std::fs::create_dir_all(root.path().join(BUCKET)).unwrap();
        }
        panic!("s3s-fs did not start listening");
    }

    fn take_root(&mut self) -> TempDir {
        std::mem::replace(&mut self.root, tempfile::tempdir().unwrap())
    }

    /// The store at `s3://BUCKET/prefix` on this s3s-fs, with its credentials.
    pub fn config(&self, prefix: &str) -> S3Config {
        let mut config = S3Config::parse(&format!("s3://{BUCKET}/{prefix}")).unwrap();
        config.endpoint = Some(self.endpoint.clone());
        config.credentials = Some((ACCESS_KEY.to_string(), SECRET_KEY.to_string()));
        config
    }

    /// The objects of the bucket whose keys start with `prefix` (as s3s-fs keeps them: one
    /// file per object), sorted.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        let bucket = self.root.path().join(BUCKET);
        let mut out = Vec::new();
        walk(&bucket, &bucket, &mut out);
        out.retain(|key| key.starts_with(prefix));
        out.sort();
        out
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(base, &path, out);
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

impl Drop for S3Fs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
