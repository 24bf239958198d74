//! A hostile store answering the preview's ranged GETs on a presigned URL: more bytes than
//! asked, a `200` that never ends, a wrong `Content-Range`, a body dripping a byte at a
//! time, a redirect loop. `Client::get_range` is called directly against a raw TCP server
//! that writes canned answers and counts what it managed to send: a hand-written fake,
//! because the reference server (rightly) never answers so.
use super::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// A server whose answer to `GET /<path>` is chosen by the path; the bytes of body it
/// wrote go to `sent`.
async fn hostile() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let me = base.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let sent = counter.clone();
            let me = me.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&req).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                let chunk = vec![b'A'; 64 << 10];
                let endless = |status: &str, extra: &str| {
                    format!("HTTP/1.1 {status}\r\n{extra}Connection: close\r\n\r\n")
                };
                match path.as_str() {
                    "/more206" | "/endless200" => {
                        let head = if path == "/more206" {
                            endless(
                                "206 Partial Content",
                                "Content-Range: bytes 0-99/100000000000\r\n",
                            )
                        } else {
                            endless("200 OK", "")
                        };
                        if sock.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        // Until the client hangs up (or 1 GiB).
                        for _ in 0..(16 << 10) {
                            if sock.write_all(&chunk).await.is_err() {
                                return;
                            }
                            sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        }
                    }
                    "/wrongstart" => {
                        let body = vec![b'B'; 100];
                        let _ = sock
                            .write_all(
                                b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 5-104/1000\r\n\
                                  Content-Length: 100\r\nConnection: close\r\n\r\n",
                            )
                            .await;
                        let _ = sock.write_all(&body).await;
                    }
                    "/drip" => {
                        let head = endless(
                            "206 Partial Content",
                            "Content-Range: bytes 0-99/100\r\nContent-Length: 100\r\n",
                        );
                        let _ = sock.write_all(head.as_bytes()).await;
                        for _ in 0..100 {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            if sock.write_all(b"C").await.is_err() {
                                return;
                            }
                        }
                    }
                    _ => {
                        // A redirect to itself, forever.
                        let _ = sock
                            .write_all(
                                format!(
                                    "HTTP/1.1 302 Found\r\nLocation: {me}/loop\r\nContent-Length: 0\r\n\
                                     Connection: close\r\n\r\n"
                                )
                                .as_bytes(),
                            )
                            .await;
                    }
                }
            });
        }
    });
    (base, sent)
}

fn url(base: &str, path: &str) -> Url {
    Url::parse(&format!("{base}{path}")).unwrap()
}

/// Held: a `206` that goes on past the range is cut at the range and the connection
/// dropped; the server manages to push only what the socket buffers hold.
#[tokio::test]
async fn held_a_206_longer_than_asked_is_cut_at_the_range() {
    let (base, sent) = hostile().await;
    let client = common::client(&base, "k", |_| {});
    let r = client
        .get_range(&url(&base, "/more206"), 0, 100, 8 << 20)
        .await
        .unwrap();
    assert_eq!(r.bytes.len(), 100);
    assert!(!r.eof);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = sent.load(Ordering::Relaxed);
    eprintln!("server wrote {out} body bytes for a 100-byte range");
    assert!(out < 16 << 20, "{out}");
}

/// Held: a `200` that never ends is read to the limit and dropped.
#[tokio::test]
async fn held_an_endless_200_is_read_to_the_limit() {
    let (base, sent) = hostile().await;
    let client = common::client(&base, "k", |_| {});
    let r = client
        .get_range(&url(&base, "/endless200"), 0, 100, 1 << 20)
        .await
        .unwrap();
    assert_eq!(r.bytes.len(), 1 << 20);
    assert!(r.ignored_range);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let out = sent.load(Ordering::Relaxed);
    eprintln!("server wrote {out} body bytes for a 1 MiB limit");
    assert!(out < 32 << 20, "{out}");
}

/// Held: bytes from another place than asked are refused, a redirect loop ends.
#[tokio::test]
async fn held_a_wrong_start_and_a_redirect_loop_are_errors() {
    let (base, _) = hostile().await;
    let client = common::client(&base, "k", |_| {});
    let e = client
        .get_range(&url(&base, "/wrongstart"), 0, 100, 1 << 20)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("from 0"), "{e}");
    let e = client
        .get_range(&url(&base, "/loop"), 0, 100, 1 << 20)
        .await
        .unwrap_err();
    eprintln!("redirect loop: {e}");
}

/// A body dripping a byte every 100 ms: bounded by the request timeout (120 s by default,
/// 2 s here), not by anything the preview shows. Printed, not judged.
#[tokio::test]
async fn a_dripping_body_ends_at_the_request_timeout() {
    let (base, _) = hostile().await;
    let client = common::client(&base, "k", |c| c.request_timeout = Duration::from_secs(2));
    let t = Instant::now();
    let r = client
        .get_range(&url(&base, "/drip"), 0, 100, 1 << 20)
        .await;
    eprintln!(
        "dripping body: {:?} after {:?}",
        r.map(|r| r.bytes.len()),
        t.elapsed()
    );
    assert!(t.elapsed() < Duration::from_secs(5));
}
