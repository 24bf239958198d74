//! The connection layer of the reference server: header and idle timeouts, the minimum
//! request-body rate, the connection cap and a bounded shutdown, driven by raw TCP clients
//! against short limits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests and benchmarks stop at the first surprise"
)]

use std::time::{Duration, Instant};

mod common;

use filedeck::server::{self, KeyGrant, RunningServer, ServerConfig, ServerLimits};
use filedeck::wire::DownloadUrlResponse;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN: &str = "admin-token-0123456789";
/// How long something that must happen at all may take on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(20);

fn limits() -> ServerLimits {
    ServerLimits {
        header_timeout: Duration::from_secs(20),
        idle_timeout: Duration::from_secs(120),
        min_body_rate: 0,
        body_rate_window: Duration::from_secs(15),
        max_connections: None,
        shutdown_grace: Duration::from_secs(10),
        send_timeout: Duration::from_secs(30),
    }
}

async fn start(limits: ServerLimits) -> (RunningServer, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    config.keys = vec![KeyGrant {
        token: ADMIN.into(),
        scopes: vec!["*".into()],
        workspaces: vec!["*".into()],
    }];
    config.limits = limits;
    (server::bind(config).await.unwrap(), dir)
}

/// A presigned download URL's request target for a stored file of `size` bytes.
async fn download_target(server: &RunningServer, size: usize) -> String {
    server::put_bytes(server, "ws1", "big.bin", vec![7u8; size], None)
        .await
        .unwrap();
    let url: DownloadUrlResponse = reqwest::Client::new()
        .get(format!("{}/v1/files/download", server.base_url()))
        .query(&[("workspace_id", "ws1"), ("key", "big.bin")])
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = url::Url::parse(&url.url).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

async fn connect(server: &RunningServer) -> TcpStream {
    TcpStream::connect(server.addr).await.unwrap()
}

fn get_workspaces() -> String {
    format!("GET /v1/workspaces HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN}\r\n\r\n")
}

/// Read until the peer closes; fails if it has not within [`DEADLINE`]. A reset counts as
/// closed.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server did not close the connection");
    got
}

/// Read one response with a `Content-Length` body; answers its status and body.
async fn read_response(stream: &mut TcpStream) -> (u16, Vec<u8>) {
    tokio::time::timeout(DEADLINE, async {
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a response: {got:?}");
            got.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&got[..head_end]).to_string();
        let status: u16 = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .unwrap_or(0);
        while got.len() < head_end + length {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed mid body");
            got.extend_from_slice(&buf[..n]);
        }
        (status, got[head_end..head_end + length].to_vec())
    })
    .await
    .expect("no response")
}

/// Open a multipart upload whose body stalls after its first bytes; answers once the
/// handler is reading the body (it asked for it with `100 Continue`).
async fn open_slow_upload(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/files/upload HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 100000\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    tokio::time::timeout(DEADLINE, async {
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before 100 Continue");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("no 100 Continue");
    assert!(got.starts_with(b"HTTP/1.1 100"), "{got:?}");
    stream
        .write_all(
            b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\nab",
        )
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn an_unfinished_request_head_is_closed() {
    let (server, _dir) = start(ServerLimits {
        header_timeout: Duration::from_secs(1),
        ..limits()
    })
    .await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /v1/workspaces HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    read_to_close(&mut stream).await;
    // A connection that sends nothing at all is closed too.
    let mut silent = connect(&server).await;
    assert!(read_to_close(&mut silent).await.is_empty());
}

/// hyper's own header timeout would also close an idle keep-alive connection; here the
/// idle timeout is long, and only the stalled next head is cut.
#[tokio::test]
async fn a_stalled_next_request_on_a_kept_alive_connection_is_closed() {
    let (server, _dir) = start(ServerLimits {
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(600),
        ..limits()
    })
    .await;
    let mut stream = connect(&server).await;
    stream.write_all(get_workspaces().as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut stream).await.0, 200);
    stream.write_all(b"GET /v1/work").await.unwrap();
    read_to_close(&mut stream).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_a_request_in_flight_is_not() {
    let (server, _dir) = start(ServerLimits {
        idle_timeout: Duration::from_secs(1),
        ..limits()
    })
    .await;
    let size = 32 << 20;
    let target = download_target(&server, size).await;
    // A download nobody reads: it stays in flight, its socket buffers full.
    let mut download = connect(&server).await;
    download
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    // An idle kept-alive connection, started after it, is closed by the idle timeout...
    let mut idle = connect(&server).await;
    idle.write_all(get_workspaces().as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut idle).await.0, 200);
    assert!(read_to_close(&mut idle).await.is_empty());
    // ...which the download, idle on the wire as long, outlives: every byte comes.
    let (status, body) = read_response(&mut download).await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), size);
}

#[tokio::test]
async fn a_request_body_below_the_minimum_rate_is_cut() {
    let (server, _dir) = start(ServerLimits {
        min_body_rate: 1000,
        body_rate_window: Duration::from_secs(1),
        ..limits()
    })
    .await;
    let mut stream = open_slow_upload(server.addr).await;
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // The server goes on serving.
    let mut next = connect(&server).await;
    next.write_all(get_workspaces().as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut next).await.0, 200);
}

/// Connections with a request in flight are never shed at the cap.
#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let (server, _dir) = start(ServerLimits {
        max_connections: Some(2),
        ..limits()
    })
    .await;
    let first = open_slow_upload(server.addr).await;
    let _second = open_slow_upload(server.addr).await;
    // The third is in the backlog: connected, its request sent, no answer.
    let mut third = connect(&server).await;
    third.write_all(get_workspaces().as_bytes()).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    drop(first);
    assert_eq!(read_response(&mut third).await.0, 200);
}

#[tokio::test]
async fn shutdown_closes_a_slow_body_after_the_grace() {
    let (server, _dir) = start(ServerLimits {
        shutdown_grace: Duration::from_secs(1),
        ..limits()
    })
    .await;
    let mut stream = open_slow_upload(server.addr).await;
    let stopped = tokio::time::timeout(DEADLINE, server.shutdown()).await;
    assert!(stopped.is_ok(), "shutdown waited for the slow body");
    read_to_close(&mut stream).await;
}

#[tokio::test]
async fn serve_exits_on_sigterm_with_a_slow_upload_open() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, url) = common::spawn_serve(
        [
            "--data".as_ref(),
            data.path().as_os_str(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--shutdown-grace".as_ref(),
            "1".as_ref(),
        ],
        ADMIN,
    );
    let addr = url.strip_prefix("http://").expect(&url).parse().unwrap();
    let _stream = open_slow_upload(addr).await;
    common::sigterm(&child);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("serve did not exit after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
}

/// The only connection slot is held by a download nobody reads; the send timeout frees it.
#[tokio::test]
async fn a_download_nobody_reads_is_closed_after_the_send_timeout() {
    let (server, _dir) = start(ServerLimits {
        send_timeout: Duration::from_secs(1),
        max_connections: Some(1),
        ..limits()
    })
    .await;
    let size = 32 << 20;
    let target = download_target(&server, size).await;
    let mut download = connect(&server).await;
    download
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut next = connect(&server).await;
    next.write_all(get_workspaces().as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut next).await.0, 200);
    let got = read_to_close(&mut download).await;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    assert!(got.len() < size, "the whole download came");
}

#[tokio::test]
async fn a_slow_but_reading_client_is_not_cut_by_the_send_timeout() {
    let (server, _dir) = start(ServerLimits {
        send_timeout: Duration::from_secs(1),
        ..limits()
    })
    .await;
    let size = 160 << 10;
    let target = download_target(&server, size).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut download = socket.connect(server.addr).await.unwrap();
    download
        .write_all(
            format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    // About 32 KiB/s: the server's send buffer stays full for seconds at a time.
    let mut pace = tokio::time::interval(Duration::from_millis(31));
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(DEADLINE, async {
        loop {
            pace.tick().await;
            match download.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the download did not end");
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(got.starts_with(b"HTTP/1.1 200"));
    assert_eq!(got.len() - head_end, size, "the slow reader was cut");
}

/// At the cap, idle keep-alive connections and stalled heads are closed to let others in.
#[tokio::test]
async fn at_the_cap_idle_and_slow_head_connections_are_shed() {
    let (server, _dir) = start(ServerLimits {
        max_connections: Some(8),
        header_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    let mut attacker = Vec::new();
    for _ in 0..4 {
        let mut idle = connect(&server).await;
        idle.write_all(b"GET /v1/workspaces HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut idle).await.0, 401);
        attacker.push(idle);
    }
    for _ in 0..4 {
        let mut slow = connect(&server).await;
        slow.write_all(b"GET /v1/workspaces HTTP/1.1\r\nHo")
            .await
            .unwrap();
        attacker.push(slow);
    }
    let mut honest = connect(&server).await;
    honest.write_all(get_workspaces().as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut honest).await.0, 200);
}

#[tokio::test]
async fn a_request_head_beyond_64_kib_is_refused() {
    let (server, _dir) = start(ServerLimits {
        header_timeout: Duration::from_secs(30),
        ..limits()
    })
    .await;
    let mut stream = connect(&server).await;
    let mut head = b"GET /v1/workspaces HTTP/1.1\r\nHost: x\r\nX-Pad: ".to_vec();
    head.resize(head.len() + (200 << 10), b'a');
    // The server may close before taking it all.
    let _ = stream.write_all(&head).await;
    let answer = read_to_close(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn at_the_cap_downloads_nobody_reads_are_shed_long_before_the_send_timeout() {
    let (server, _dir) = start(ServerLimits {
        max_connections: Some(4),
        // Only shedding can free a slot within the test's deadline.
        send_timeout: Duration::from_secs(600),
        ..limits()
    })
    .await;
    let size = 32 << 20;
    let target = download_target(&server, size).await;
    let mut unread = Vec::new();
    for _ in 0..4 {
        let mut download = connect(&server).await;
        download
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
            .await
            .unwrap();
        unread.push(download);
    }
    let mut honest = connect(&server).await;
    honest.write_all(get_workspaces().as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut honest).await.0, 200);
    let mut cut = 0;
    for mut download in unread {
        let got = read_to_close_or_stop(&mut download, size).await;
        cut += usize::from(got < size);
    }
    assert!(cut >= 1, "no unread download was shed");
}

/// Read until the peer closes or `size` body bytes could have come; how many bytes came.
async fn read_to_close_or_stop(stream: &mut TcpStream, size: usize) -> usize {
    let mut got = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match tokio::time::timeout(DEADLINE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => {
                got += n;
                if got > size {
                    return got;
                }
            }
            Err(_) => panic!("neither closed nor complete within {DEADLINE:?}"),
        }
    }
}
