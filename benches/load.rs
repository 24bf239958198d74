//! Load and abuse suite for the real `filedeck serve`, over loopback only:
//! `cargo bench --bench load -- [--scenario main|put-flood|slow-headers|shutdown|curl]
//! [--seconds N] [--clients N] [--files N] [--rate R]`. `--rate R` paces each honest client
//! to at most R actions a second (an action: a walk of up to 10 list pages, an upload, or a
//! download); without it they run closed-loop, back to back, and saturate the machine, so
//! their latency then measures queueing on its cores more than the server. Every scenario is bounded in time and count;
//! every answer the server gives is counted, never trusted, so the suite runs against a
//! server with or without the connection limits and timeouts. Prints markdown tables.
//! Temp data lives under `BENCH_DIR` (default: the system's temp dir).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    unsafe_code,
    reason = "benchmarks stop at the first surprise; own CPU time is read with getrusage"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use filedeck::server::{self, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const BIN: &str = env!("CARGO_BIN_EXE_filedeck");
const WS: &str = "ws_load";
const WS_ABUSE: &str = "ws_abuse";
const HONEST: &str = "honest-key";
const ABUSE: &str = "abusive-key";
const FILE_SIZE: usize = 64 * 1024;
const DECLARED: u64 = 1_000_000;
const OCTET: &str = "application/octet-stream";

struct Opts {
    scenario: Option<String>,
    seconds: u64,
    clients: usize,
    files: usize,
    loris: usize,
    slow_puts: usize,
    /// Actions per second per honest client; `None`: back to back.
    rate: Option<f64>,
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        scenario: None,
        seconds: 60,
        clients: 64,
        files: 100_000,
        loris: 500,
        slow_puts: 200,
        rate: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        let num = |v: &str| {
            v.parse::<usize>()
                .unwrap_or_else(|_| die(&format!("bad number {v}")))
        };
        // `cargo bench` adds `--bench`; unknown flags are ignored rather than fatal.
        match args[i].as_str() {
            "--scenario" => o.scenario = Some(value),
            "--seconds" => o.seconds = num(&value) as u64,
            "--clients" => o.clients = num(&value),
            "--files" => o.files = num(&value),
            "--loris" => o.loris = num(&value),
            "--slow-puts" => o.slow_puts = num(&value),
            "--rate" => o.rate = value.parse().ok().filter(|r: &f64| *r > 0.0),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

fn die(msg: &str) -> ! {
    eprintln!("load: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let opts = parse_opts();
    raise_fd_limit();
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // Other branches add these flags; pass them only when this binary knows them.
    let flags = ServerFlags {
        header_timeout: help.contains("--header-timeout").then_some(20),
        shutdown_grace: help.contains("--shutdown-grace").then_some(10),
    };
    println!(
        "server flags: header-timeout {:?}, shutdown-grace {:?}, max-uploads-per-key known: {}",
        flags.header_timeout,
        flags.shutdown_grace,
        help.contains("--max-uploads-per-key")
    );
    let want = |name: &str| opts.scenario.as_deref().is_none_or(|s| s == name);
    if want("main") {
        main_scenario(&opts, &flags).await;
    }
    if want("put-flood") {
        put_flood(&opts, &flags).await;
    }
    if want("slow-headers") {
        slow_headers(&flags).await;
    }
    if want("shutdown") {
        shutdown(&flags).await;
    }
    if want("curl") {
        curl_peer(&flags).await;
    }
}

/// 700 abusive sockets plus the honest clients' need more than the usual soft limit of 1024.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    lim.current = lim.maximum;
    let _ = setrlimit(Resource::Nofile, lim);
}

/// User + system CPU seconds this process has used so far.
fn own_cpu() -> f64 {
    // SAFETY: getrusage fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

// ---------------------------------------------------------------------------------------
// The server process

struct ServerFlags {
    header_timeout: Option<u64>,
    shutdown_grace: Option<u64>,
}

struct Server {
    child: Child,
    url: String,
    addr: String,
    _data: tempfile::TempDir,
}

fn temp_dir() -> tempfile::TempDir {
    let base = std::env::var("BENCH_DIR").map_or_else(|_| std::env::temp_dir(), PathBuf::from);
    tempfile::tempdir_in(base).unwrap_or_else(|e| die(&format!("temp dir: {e}")))
}

/// Seed `files` small files in process (far faster than uploads), then run the real binary
/// on the same data dir. The in-process server is shut down first: the binary locks the dir.
async fn start_server(files: usize, flags: &ServerFlags) -> Server {
    let data = temp_dir();
    let keys_path = data.path().join("keys.toml");
    std::fs::write(
        &keys_path,
        format!(
            "[[key]]\ntoken = \"{HONEST}\"\nscopes = [\"files\"]\nworkspaces = [\"{WS}\"]\n\n\
             [[key]]\ntoken = \"{ABUSE}\"\nscopes = [\"files\"]\nworkspaces = [\"{WS_ABUSE}\"]\n"
        ),
    )
    .unwrap_or_else(|e| die(&format!("keys file: {e}")));
    set_private(&keys_path);
    let store = data.path().join("store");
    if files > 0 {
        let t = Instant::now();
        // Seeding fsyncs every file (about 7 min for 100,000 here): a seeded store is kept
        // under target/ and copied for later runs of the same size.
        let cache = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(format!("load-seed-{files}"));
        if cache.join("complete").exists() {
            copy_dir(&cache.join("store"), &store);
            println!(
                "seeded {files} files from {} in {:.1} s",
                cache.display(),
                t.elapsed().as_secs_f64()
            );
        } else {
            seed(&store, files).await;
            println!("seeded {files} files in {:.1} s", t.elapsed().as_secs_f64());
            let _ = std::fs::remove_dir_all(&cache);
            if std::fs::create_dir_all(&cache).is_ok() {
                copy_dir(&store, &cache.join("store"));
                let _ = std::fs::write(cache.join("complete"), b"");
            }
        }
    }
    let mut args: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--data"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(store.display().to_string());
    args.push("--keys".into());
    args.push(keys_path.display().to_string());
    if let Some(s) = flags.header_timeout {
        args.extend(["--header-timeout".into(), s.to_string()]);
    }
    if let Some(s) = flags.shutdown_grace {
        args.extend(["--shutdown-grace".into(), s.to_string()]);
    }
    let log = std::fs::File::create(data.path().join("server.log"))
        .unwrap_or_else(|e| die(&format!("log: {e}")));
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| die(&format!("spawn serve: {e}")));
    let Some(stdout) = child.stdout.take() else {
        die("no stdout")
    };
    // The address line arrives once the port is bound; read it off-thread with a deadline.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let Some(url) = line
        .trim()
        .strip_prefix("listening on ")
        .map(str::to_string)
    else {
        let _ = child.kill();
        die(&format!("serve did not start: {line:?}"))
    };
    let addr = url.trim_start_matches("http://").to_string();
    Server {
        child,
        url,
        addr,
        _data: data,
    }
}

/// `cp -a FROM TO` (TO must not exist): the store's modes and layout as they are.
fn copy_dir(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        die(&format!(
            "cannot copy {} to {}",
            from.display(),
            to.display()
        ));
    }
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

async fn seed(store: &Path, files: usize) {
    let mut config =
        ServerConfig::new(store, "127.0.0.1:0".parse().unwrap_or_else(|_| die("addr")));
    config.keys.push(server::KeyGrant {
        token: HONEST.into(),
        scopes: vec!["files".into()],
        workspaces: vec![WS.into()],
    });
    let srv = server::bind(config)
        .await
        .unwrap_or_else(|e| die(&format!("seed server: {e}")));
    for start in (0..files).step_by(10_000) {
        let batch = (start..files.min(start + 10_000))
            .map(|i| (seeded_key(i), format!("{i}").into_bytes()))
            .collect();
        server::put_many(&srv, WS, batch, None)
            .await
            .unwrap_or_else(|e| die(&format!("seed: {e}")));
    }
    srv.shutdown().await;
}

fn seeded_key(i: usize) -> String {
    format!("runs/run{:03}/sample_{i:07}.txt", i / 1000)
}

impl Server {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGTERM, then SIGKILL if it has not gone within `patience`. Returns how long it took
    /// to exit on its own, if it did.
    fn stop(&mut self, patience: Duration) -> Option<Duration> {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(self.pid()).unwrap(),
            rustix::process::Signal::TERM,
        );
        let t = Instant::now();
        while t.elapsed() < patience {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Some(t.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Measurements

/// What one client class saw: latencies per route and every outcome counted.
#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    ok: u64,
    errors: u64,
    unavailable: u64,
    statuses: BTreeMap<u16, u64>,
    /// Raw connections the abusers opened, and those still open when the run ended.
    conns: u64,
    open_at_end: u64,
}

impl Tally {
    fn status(&mut self, route: &'static str, took: Duration, status: u16) {
        self.latencies.entry(route).or_default().push(took);
        match status {
            200..=299 => self.ok += 1,
            503 => self.unavailable += 1,
            _ => *self.statuses.entry(status).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Tally) {
        for (route, mut l) in other.latencies {
            self.latencies.entry(route).or_default().append(&mut l);
        }
        self.ok += other.ok;
        self.errors += other.errors;
        self.unavailable += other.unavailable;
        self.conns += other.conns;
        self.open_at_end += other.open_at_end;
        for (s, n) in other.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (p50, p99, max) of the samples.
fn percentiles(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    if samples.is_empty() {
        return Default::default();
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), samples[samples.len() - 1])
}

fn print_routes(tallies: &mut [(&str, &mut Tally)], secs: f64) {
    println!("| class | route | requests | req/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (class, t) in tallies.iter_mut() {
        for (route, l) in t.latencies.iter_mut() {
            let n = l.len();
            let (p50, p99, max) = percentiles(l);
            println!(
                "| {class} | {route} | {n} | {:.1} | {:.1} | {:.1} | {:.1} |",
                n as f64 / secs,
                ms(p50),
                ms(p99),
                ms(max)
            );
        }
    }
}

fn print_classes(tallies: &[(&str, &Tally)]) {
    println!(
        "| class | 2xx | transport errors / cut | 503 | other statuses | raw conns (open at end) |"
    );
    println!("|---|---:|---:|---:|---|---:|");
    for (class, t) in tallies {
        println!(
            "| {class} | {} | {} | {} | {:?} | {} ({}) |",
            t.ok, t.errors, t.unavailable, t.statuses, t.conns, t.open_at_end
        );
    }
}

/// The server process's memory and descriptors, sampled until cancelled.
#[derive(Default, Debug, Clone, Copy)]
struct Resources {
    rss_kib: u64,
    hwm_kib: u64,
    fds_max: usize,
    fds_last: usize,
}

fn status_kib(pid: i32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn fd_limit(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| {
            let v: Vec<&str> = l.split_whitespace().collect();
            format!(
                "{} soft / {} hard",
                v.get(3).unwrap_or(&"?"),
                v.get(4).unwrap_or(&"?")
            )
        })
        .unwrap_or_else(|| "?".into())
}

async fn sample(pid: i32, stop: CancellationToken) -> Resources {
    let mut r = Resources::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                r.rss_kib = status_kib(pid, "VmRSS:");
                r.hwm_kib = r.hwm_kib.max(status_kib(pid, "VmHWM:"));
                r.fds_last = fd_count(pid);
                r.fds_max = r.fds_max.max(r.fds_last);
            }
        }
    }
    r
}

fn print_resources(pid: i32, r: Resources, cpu: f64, secs: f64) {
    println!(
        "| server VmRSS MiB | VmHWM MiB | fds max (last) | fd limit | generator CPU s (% of wall) |"
    );
    println!("|---:|---:|---:|---|---:|");
    println!(
        "| {:.1} | {:.1} | {} ({}) | {} | {cpu:.1} ({:.0} %) |",
        r.rss_kib as f64 / 1024.0,
        r.hwm_kib as f64 / 1024.0,
        r.fds_max,
        r.fds_last,
        fd_limit(pid),
        100.0 * cpu / secs
    );
}

// ---------------------------------------------------------------------------------------
// Raw sockets for the abusers: reqwest cannot send a request a byte at a time.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// The server answered with this status (then we drop the connection).
    Answered(u16),
    /// The server closed the connection without an answer.
    Closed,
    ConnectFailed,
    Cancelled,
}

/// Connect, write `prefix` at once, then drip `drip(i)` one byte every `interval` for
/// `drip_len` bytes (then sit idle), until the server answers or closes, or `stop`.
/// Returns the outcome and how long the connection lived.
async fn trickle(
    addr: &str,
    prefix: &[u8],
    drip: &(dyn Fn(u64) -> u8 + Sync),
    drip_len: u64,
    interval: Duration,
    stop: &CancellationToken,
) -> (Outcome, Duration) {
    let t = Instant::now();
    let Ok(stream) = TcpStream::connect(addr).await else {
        return (Outcome::ConnectFailed, t.elapsed());
    };
    let (mut rd, mut wr) = stream.into_split();
    if wr.write_all(prefix).await.is_err() {
        return (Outcome::Closed, t.elapsed());
    }
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    let (mut sent, mut got, mut buf) = (0u64, Vec::new(), [0u8; 1024]);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return (Outcome::Cancelled, t.elapsed()),
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => return (status_of(&got).map_or(Outcome::Closed, Outcome::Answered), t.elapsed()),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if let Some(s) = status_of(&got) {
                        return (Outcome::Answered(s), t.elapsed());
                    }
                }
            },
            _ = tick.tick(), if sent < drip_len => {
                if wr.write_all(&[drip(sent)]).await.is_err() {
                    return (Outcome::Closed, t.elapsed());
                }
                sent += 1;
            }
        }
    }
}

fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    if !head.contains(&b'\n') {
        return None;
    }
    std::str::from_utf8(line)
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Request bytes that never finish their headers: a request line, then one header value
/// that grows forever.
fn loris_byte(i: u64) -> u8 {
    const HEAD: &[u8] = b"GET /v1/files?workspace_id=ws_load HTTP/1.1\r\nHost: l\r\nX-Slow: ";
    HEAD.get(i as usize).copied().unwrap_or(b'a')
}

/// Slow-loris connections that reconnect whenever the server drops them, until `stop`.
async fn loris(
    addr: String,
    stop: CancellationToken,
    interval: Duration,
) -> (Tally, Vec<Duration>) {
    let mut tally = Tally::default();
    let mut lives = Vec::new();
    while !stop.is_cancelled() {
        let (outcome, life) = trickle(&addr, b"", &loris_byte, u64::MAX, interval, &stop).await;
        tally.conns += u64::from(outcome != Outcome::ConnectFailed);
        match outcome {
            Outcome::Answered(s) => tally.status("loris-conn", life, s),
            Outcome::Closed => lives.push(life),
            Outcome::ConnectFailed => tally.errors += 1,
            Outcome::Cancelled => {
                tally.open_at_end += 1;
                break;
            }
        }
        if !matches!(outcome, Outcome::Cancelled) {
            // A server that refuses at once must not turn this into a hot loop.
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    }
    (tally, lives)
}

/// A presigned PUT target: where to connect and what to write first.
#[derive(Clone)]
struct PutTarget {
    addr: String,
    head: Vec<u8>,
}

async fn upload_url(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    ws: &str,
    name: &str,
    size: u64,
) -> Result<PutTarget, String> {
    let resp = http
        .post(format!("{base}/v1/files/upload-url"))
        .bearer_auth(key)
        .json(&serde_json::json!({
            "filename": name, "workspace_id": ws, "content_type": OCTET, "size": size,
        }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let v: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    let raw = v["uploadUrl"]
        .as_str()
        .or(v["upload_url"].as_str())
        .ok_or_else(|| format!("upload-url answered {status}"))?;
    let url = url::Url::parse(raw).map_err(|e| e.to_string())?;
    let host = url.host_str().unwrap_or("127.0.0.1");
    let port = url.port_or_known_default().unwrap_or(80);
    let target = &url[url::Position::BeforePath..];
    let head = format!(
        "PUT {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {OCTET}\r\nContent-Length: {size}\r\n\r\n"
    );
    Ok(PutTarget {
        addr: format!("{host}:{port}"),
        head: head.into_bytes(),
    })
}

/// One byte a second of a declared million, reconnecting whenever cut, until `stop`.
async fn slow_put(target: PutTarget, stop: CancellationToken) -> Tally {
    let mut tally = Tally::default();
    while !stop.is_cancelled() {
        let (outcome, life) = trickle(
            &target.addr,
            &target.head,
            &|_| b'x',
            DECLARED,
            Duration::from_secs(1),
            &stop,
        )
        .await;
        tally.conns += u64::from(outcome != Outcome::ConnectFailed);
        match outcome {
            Outcome::Answered(s) => tally.status("slow-put", life, s),
            Outcome::Closed => {
                tally.errors += 1;
                tally
                    .latencies
                    .entry("slow-put-cut")
                    .or_default()
                    .push(life);
            }
            Outcome::ConnectFailed => tally.errors += 1,
            Outcome::Cancelled => {
                tally.open_at_end += 1;
                break;
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    tally
}

// ---------------------------------------------------------------------------------------
// Honest clients

/// A tiny xorshift: the choice of pages and prefixes only needs to spread, not be random.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// One listing request; its `next_cursor`, or None at the end or on any failure.
async fn list_page(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    prefix: &str,
    cursor: Option<&str>,
    tally: &mut Tally,
) -> Option<String> {
    let mut req = http
        .get(format!("{base}/v1/files"))
        .bearer_auth(key)
        .query(&[("workspace_id", WS), ("limit", "100"), ("prefix", prefix)]);
    if let Some(c) = cursor {
        req = req.query(&[("cursor", c)]);
    }
    let t = Instant::now();
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.json::<serde_json::Value>().await;
            tally.status("list", t.elapsed(), status);
            body.ok()?["next_cursor"].as_str().map(str::to_string)
        }
        Err(_) => {
            tally.errors += 1;
            tally
                .latencies
                .entry("list: no answer")
                .or_default()
                .push(t.elapsed());
            None
        }
    }
}

async fn honest(
    id: usize,
    base: String,
    files: usize,
    rate: Option<f64>,
    stop: CancellationToken,
) -> Tally {
    let mut tally = Tally::default();
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    else {
        tally.errors += 1;
        return tally;
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1));
    let payload = vec![b'0' + (id % 10) as u8; FILE_SIZE];
    let mut mine: Vec<String> = Vec::new();
    let mut n = 0usize;
    let mut pace = rate.map(|r| {
        let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / r));
        // A slow answer delays the next action; it never causes a burst to catch up.
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    while !stop.is_cancelled() {
        if let Some(p) = &mut pace {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = p.tick() => {}
            }
        }
        n += 1;
        match n % 4 {
            // Walk one run folder by prefix, page by page.
            0 | 1 => {
                let dirs = files.div_ceil(1000).max(1);
                let prefix = if n.is_multiple_of(4) {
                    format!("runs/run{:03}/", rng.below(dirs))
                } else {
                    String::new()
                };
                let mut cursor = None;
                for _ in 0..10 {
                    cursor =
                        list_page(&http, &base, HONEST, &prefix, cursor.as_deref(), &mut tally)
                            .await;
                    if cursor.is_none() || stop.is_cancelled() {
                        break;
                    }
                }
            }
            2 => {
                let name = format!("f{n:06}.bin");
                let form = reqwest::multipart::Form::new()
                    .text("workspace_id", WS)
                    .text("path", format!("load/c{id:03}/"))
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(payload.clone()).file_name(name.clone()),
                    );
                let t = Instant::now();
                match http
                    .post(format!("{base}/v1/files/upload"))
                    .bearer_auth(HONEST)
                    .multipart(form)
                    .send()
                    .await
                {
                    Ok(resp) => {
                        let status = resp.status();
                        let _ = resp.bytes().await;
                        tally.status("upload 64 KiB", t.elapsed(), status.as_u16());
                        if status.is_success() {
                            mine.push(format!("load/c{id:03}/{name}"));
                        }
                    }
                    Err(_) => tally.errors += 1,
                }
            }
            _ => {
                let key = match mine.last() {
                    Some(k) => k.clone(),
                    None => seeded_key(rng.below(files.max(1))),
                };
                download(&http, &base, &key, &mut tally).await;
            }
        }
    }
    tally
}

async fn download(http: &reqwest::Client, base: &str, key: &str, tally: &mut Tally) {
    let t = Instant::now();
    let url = match http
        .get(format!("{base}/v1/files/download"))
        .bearer_auth(HONEST)
        .query(&[("workspace_id", WS), ("key", key)])
        .send()
        .await
    {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let v = resp.json::<serde_json::Value>().await.unwrap_or_default();
            tally.status("download-url", t.elapsed(), status);
            v["url"].as_str().map(str::to_string)
        }
        Err(_) => {
            tally.errors += 1;
            None
        }
    };
    let Some(url) = url else { return };
    let t = Instant::now();
    match http.get(url).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body_ok = resp.bytes().await.is_ok();
            tally.status("object GET", t.elapsed(), status);
            if !body_ok {
                tally.errors += 1;
            }
        }
        Err(_) => tally.errors += 1,
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios

async fn main_scenario(opts: &Opts, flags: &ServerFlags) {
    println!(
        "\n## main: {} files, {} honest clients ({}), {} slow-loris, {} slow PUTs, {} s",
        opts.files,
        opts.clients,
        opts.rate.map_or("back to back".to_string(), |r| format!(
            "{r} actions/s each"
        )),
        opts.loris,
        opts.slow_puts,
        opts.seconds
    );
    let srv = start_server(opts.files, flags).await;
    let pid = srv.pid();
    let stop = CancellationToken::new();
    let sampler = tokio::spawn(sample(pid, stop.clone()));
    let http = reqwest::Client::new();

    // 20 upload URLs for the abusive key, 10 PUTs on each.
    let mut puts = tokio::task::JoinSet::new();
    let mut abuse_setup = Tally::default();
    let urls = opts.slow_puts.div_ceil(10);
    for u in 0..urls {
        let t = Instant::now();
        match upload_url(
            &http,
            &srv.url,
            ABUSE,
            WS_ABUSE,
            &format!("slow{u}.bin"),
            DECLARED,
        )
        .await
        {
            Ok(target) => {
                abuse_setup.status("upload-url", t.elapsed(), 200);
                for _ in 0..10.min(opts.slow_puts - u * 10) {
                    puts.spawn(slow_put(target.clone(), stop.clone()));
                }
            }
            Err(_) => abuse_setup.errors += 1,
        }
    }
    let mut lorises = tokio::task::JoinSet::new();
    for _ in 0..opts.loris {
        lorises.spawn(loris(
            srv.addr.clone(),
            stop.clone(),
            Duration::from_secs(1),
        ));
    }
    let cpu0 = own_cpu();
    let t = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for id in 0..opts.clients {
        clients.spawn(honest(
            id,
            srv.url.clone(),
            opts.files,
            opts.rate,
            stop.clone(),
        ));
    }
    tokio::time::sleep(Duration::from_secs(opts.seconds)).await;
    stop.cancel();
    let mut honest_t = Tally::default();
    while let Some(r) = clients.join_next().await {
        honest_t.merge(r.unwrap_or_default());
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = own_cpu() - cpu0;
    let mut put_t = abuse_setup;
    while let Some(r) = puts.join_next().await {
        put_t.merge(r.unwrap_or_default());
    }
    let mut loris_t = Tally::default();
    let mut lives = Vec::new();
    while let Some(r) = lorises.join_next().await {
        if let Ok((t, mut l)) = r {
            loris_t.merge(t);
            lives.append(&mut l);
        }
    }
    let res = sampler.await.unwrap_or_default();
    let total: usize = honest_t.latencies.values().map(Vec::len).sum();
    println!(
        "honest requests/s: {:.1} ({total} in {secs:.1} s)",
        total as f64 / secs
    );
    print_routes(
        &mut [("honest", &mut honest_t), ("abusive PUT", &mut put_t)],
        secs,
    );
    let (p50, _, max) = percentiles(&mut lives);
    println!(
        "slow-loris connections closed by the server: {} (life p50 {:.1} s, max {:.1} s)",
        lives.len(),
        p50.as_secs_f64(),
        max.as_secs_f64()
    );
    print_classes(&[
        ("honest", &honest_t),
        ("slow-loris", &loris_t),
        ("abusive PUT", &put_t),
    ]);
    print_resources(pid, res, cpu, secs);
    let mut srv = srv;
    srv.stop(Duration::from_secs(30));
}

async fn put_flood(opts: &Opts, flags: &ServerFlags) {
    const PUTS: usize = 530;
    println!(
        "\n## put-flood: {PUTS} PUTs on one URL, 1 byte of {DECLARED} each; list latency beside them"
    );
    let srv = start_server(opts.files.min(1000), flags).await;
    let http = reqwest::Client::new();
    let Ok(target) = upload_url(&http, &srv.url, ABUSE, WS_ABUSE, "flood.bin", DECLARED).await
    else {
        println!("upload-url refused: scenario skipped");
        return;
    };
    let stop = CancellationToken::new();
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..PUTS {
        let (target, stop) = (target.clone(), stop.clone());
        flood.spawn(async move {
            let mut head = target.head.clone();
            head.push(b'x');
            trickle(
                &target.addr,
                &head,
                &|_| b'x',
                0,
                Duration::from_secs(1),
                &stop,
            )
            .await
        });
    }
    // Let the flood's connections land before measuring beside them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut lists = Tally::default();
    let t = Instant::now();
    // A stalled server must show as timeouts (counted as errors), not hang the suite.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default();
    for _ in 0..200 {
        if t.elapsed() > Duration::from_secs(30) {
            break;
        }
        list_page(&client, &srv.url, HONEST, "", None, &mut lists).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let fds = fd_count(srv.pid());
    let threads = status_kib(srv.pid(), "Threads:");
    stop.cancel();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(r) = flood.join_next().await {
        let key = match r {
            Ok((Outcome::Cancelled, _)) => "still open at the end".to_string(),
            Ok((o, _)) => format!("{o:?}"),
            Err(_) => "task failed".to_string(),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    print_routes(&mut [("honest (another key)", &mut lists)], secs);
    print_classes(&[("honest (another key)", &lists)]);
    println!(
        "flood PUT outcomes: {outcomes:?}; server fds during flood: {fds}, threads: {threads}"
    );
    let answered = lists.latencies.get("list").is_some_and(|l| !l.is_empty());
    let (_, p99, _) = percentiles(lists.latencies.entry("list").or_default());
    // Unanswered requests miss the target whatever the answered ones took.
    let met = answered && lists.errors == 0 && p99 <= Duration::from_millis(100);
    println!(
        "target list p99 <= 100 ms: {}",
        if met { "met" } else { "MISSED" }
    );
    let mut srv = srv;
    srv.stop(Duration::from_secs(30));
}

async fn slow_headers(flags: &ServerFlags) {
    const CONNS: usize = 50;
    let timeout = flags.header_timeout.unwrap_or(20);
    // Watch a while past the timeout, so a server without one shows as "still open".
    let watch = Duration::from_secs(timeout + 10);
    println!(
        "\n## slow-headers: {CONNS} idle + {CONNS} dripping unfinished headers, watched {} s",
        watch.as_secs()
    );
    let srv = start_server(0, flags).await;
    let stop = CancellationToken::new();
    let mut conns = tokio::task::JoinSet::new();
    for i in 0..CONNS * 2 {
        let (addr, stop) = (srv.addr.clone(), stop.clone());
        conns.spawn(async move {
            // Half send a partial head once and go quiet; half drip a byte a second.
            let drip = if i.is_multiple_of(2) { 20 } else { u64::MAX };
            let r = trickle(&addr, b"", &loris_byte, drip, Duration::from_secs(1), &stop).await;
            (i.is_multiple_of(2), r)
        });
    }
    let deadline = tokio::time::sleep(watch);
    tokio::pin!(deadline);
    let mut closed: [Vec<Duration>; 2] = Default::default();
    let mut other: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        tokio::select! {
            _ = &mut deadline => { stop.cancel(); }
            r = conns.join_next() => match r {
                None => break,
                Some(Ok((idle, (Outcome::Closed, life)))) => closed[usize::from(idle)].push(life),
                Some(Ok((_, (o, _)))) => *other.entry(format!("{o:?}")).or_default() += 1,
                Some(Err(_)) => *other.entry("task failed".into()).or_default() += 1,
            }
        }
    }
    println!("| kind | closed by server | p50 s | max s | target s |");
    println!("|---|---:|---:|---:|---:|");
    for (i, kind) in ["dripping", "idle after 20 bytes"].iter().enumerate() {
        let n = closed[i].len();
        let (p50, _, max) = percentiles(&mut closed[i]);
        println!(
            "| {kind} | {n}/{CONNS} | {:.1} | {:.1} | {timeout} |",
            p50.as_secs_f64(),
            max.as_secs_f64()
        );
    }
    println!("other outcomes (Cancelled = still open when watching ended): {other:?}");
    let mut srv = srv;
    srv.stop(Duration::from_secs(30));
}

async fn shutdown(flags: &ServerFlags) {
    let grace = flags.shutdown_grace.unwrap_or(10);
    println!("\n## shutdown: SIGTERM with a slow PUT body and a slow-loris open (grace {grace} s)");
    let mut srv = start_server(10, flags).await;
    let http = reqwest::Client::new();
    let stop = CancellationToken::new();
    let mut open = tokio::task::JoinSet::new();
    match upload_url(&http, &srv.url, HONEST, WS, "slow.bin", DECLARED).await {
        Ok(target) => {
            let stop = stop.clone();
            open.spawn(async move {
                trickle(
                    &target.addr,
                    &target.head,
                    &|_| b'x',
                    DECLARED,
                    Duration::from_millis(500),
                    &stop,
                )
                .await
            });
        }
        Err(e) => println!("upload-url failed ({e}); only the slow-loris is open"),
    }
    {
        let (addr, stop) = (srv.addr.clone(), stop.clone());
        open.spawn(async move {
            trickle(
                &addr,
                b"",
                &loris_byte,
                u64::MAX,
                Duration::from_secs(1),
                &stop,
            )
            .await
        });
    }
    // Let both be mid-request when the signal lands.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let patience = Duration::from_secs(grace + 20);
    let exited = tokio::task::spawn_blocking(move || srv.stop(patience))
        .await
        .ok()
        .flatten();
    stop.cancel();
    let mut outcomes = Vec::new();
    while let Some(r) = open.join_next().await {
        if let Ok((o, _)) = r {
            outcomes.push(o);
        }
    }
    match exited {
        Some(d) => println!(
            "exited {:.2} s after SIGTERM (target <= {grace} s: {}); open requests ended as {outcomes:?}",
            d.as_secs_f64(),
            if d <= Duration::from_secs(grace) {
                "met"
            } else {
                "MISSED"
            }
        ),
        None => println!(
            "did NOT exit within {} s of SIGTERM (killed); target <= {grace} s: MISSED",
            patience.as_secs()
        ),
    }
}

async fn curl_peer(flags: &ServerFlags) {
    const N: usize = 200;
    println!("\n## curl peer: the same list request {N} times, sequential, keep-alive");
    let srv = start_server(1000, flags).await;
    let url = format!("{}/v1/files?workspace_id={WS}&limit=100", srv.url);
    let mut args = vec![
        "-s".to_string(),
        "-H".into(),
        format!("Authorization: Bearer {HONEST}"),
        "-w".into(),
        "%{http_code}\\n".into(),
    ];
    for _ in 0..N {
        args.extend(["-o".into(), "/dev/null".into(), url.clone()]);
    }
    let t = Instant::now();
    let out = tokio::process::Command::new("curl")
        .args(&args)
        .output()
        .await;
    let curl_s = t.elapsed().as_secs_f64();
    let curl_ok = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| *l == "200")
            .count(),
        Err(e) => {
            println!("curl could not run: {e}");
            return;
        }
    };
    let client = reqwest::Client::new();
    let mut tally = Tally::default();
    let t = Instant::now();
    for _ in 0..N {
        list_page(&client, &srv.url, HONEST, "", None, &mut tally).await;
    }
    let ours_s = t.elapsed().as_secs_f64();
    println!("| client | 200s | seconds | req/s |");
    println!("|---|---:|---:|---:|");
    println!(
        "| curl (one invocation) | {curl_ok}/{N} | {curl_s:.3} | {:.0} |",
        N as f64 / curl_s
    );
    println!(
        "| reqwest (this suite) | {}/{N} | {ours_s:.3} | {:.0} |",
        tally.ok,
        N as f64 / ours_s
    );
    println!("ratio ours/curl time: {:.2}", ours_s / curl_s);
    let mut srv = srv;
    srv.stop(Duration::from_secs(30));
}
