//! Helpers shared by the integration tests (`mod common;`): clients, bytes, hashes, files.
// Nine test crates include this file and each uses a different part of it; every helper
// here is used by at least one of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use filedeck::api::{ApiError, ApiKey, Client, ClientConfig, FileEntry, Progress, RetryPolicy};
use md5::Md5;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// Fast retries: tests must not wait for production back-off.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

/// A client for `endpoint` with fast retries, then `tweak`.
pub fn client(endpoint: &str, key: &str, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
    let mut cfg = ClientConfig::new(endpoint, ApiKey::new(key)).expect("client config");
    cfg.retry = fast_retry();
    tweak(&mut cfg);
    Client::new(cfg).expect("client")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The SHA-256 of the file at `path`, read whole.
pub fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).expect("read file to hash"))
}

pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// `len` deterministic, incompressible-looking bytes (xorshift), different per `seed`.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write local file");
    p
}

/// Every file under `root`, by its `/`-separated path relative to `root`, sorted.
pub fn files_under(root: &Path) -> Vec<(String, PathBuf)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push((
                    p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                    p,
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Download `entry` into `dir/out/<name>` and return the target path and its bytes.
pub async fn download(
    c: &Client,
    ws: &str,
    entry: &FileEntry,
    dir: &Path,
) -> Result<(PathBuf, Vec<u8>, filedeck::api::DownloadOutcome), ApiError> {
    let root = dir.join("out");
    std::fs::create_dir_all(&root).expect("mkdir");
    let target = root.join(&entry.name);
    let outcome = c
        .download(
            ws,
            entry,
            &root,
            &target,
            &Progress::new(),
            &CancellationToken::new(),
        )
        .await?;
    let bytes = std::fs::read(&target).expect("read downloaded file");
    Ok((target, bytes, outcome))
}

/// Start `filedeck serve ARGS` with `FILEDECK_SERVER_KEY=key`, stderr discarded; the child
/// and the URL it prints once its port is bound (`listening on URL`).
pub fn spawn_serve(
    args: impl IntoIterator<Item = impl AsRef<std::ffi::OsStr>>,
    key: &str,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_filedeck"))
        .arg("serve")
        .args(args)
        .env("FILEDECK_SERVER_KEY", key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .to_string();
    (child, url)
}

/// SIGTERM to a child started by [`spawn_serve`].
pub fn sigterm(child: &std::process::Child) {
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .expect("signal sent");
}
