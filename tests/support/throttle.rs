//! A slow link for the tests: transfers that are verifiably in the middle, or long enough
//! to be sampled.
//!
//! The server builds presigned URLs from its public URL alone, so the proxy is bound first
//! and its [`Throttle::base`] given to the server as `public_url`: then the byte routes go
//! through the slow link too, not only the API calls.
#![allow(dead_code)] // each test file uses a part of it

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A TCP proxy in front of the server that passes at most `rate` bytes/s each way, so a
/// transfer is verifiably in the middle when the test acts.
pub struct Throttle {
    /// `http://127.0.0.1:PORT`: the client's endpoint and the server's public URL.
    pub base: String,
    upstream: Arc<OnceLock<SocketAddr>>,
    objects: Arc<AtomicU64>,
}

impl Throttle {
    /// Bind the proxy; it forwards nothing until [`Throttle::connect`].
    pub async fn bind(rate: u64) -> Throttle {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let upstream = Arc::new(OnceLock::new());
        let objects = Arc::new(AtomicU64::new(0));
        tokio::spawn(accept(listener, upstream.clone(), objects.clone(), rate));
        Throttle {
            base,
            upstream,
            objects,
        }
    }

    /// Forward to the server at `upstream` from now on.
    pub fn connect(&self, upstream: SocketAddr) {
        self.upstream.set(upstream).unwrap();
    }

    /// Requests to the byte routes (`/objects/…`) that came through, as far as a look at
    /// the start of each chunk a client sent can tell.
    pub fn objects(&self) -> u64 {
        self.objects.load(Ordering::SeqCst)
    }
}

async fn accept(
    listener: tokio::net::TcpListener,
    upstream: Arc<OnceLock<SocketAddr>>,
    objects: Arc<AtomicU64>,
    rate: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    while let Ok((down, _)) = listener.accept().await {
        let Some(&upstream) = upstream.get() else {
            continue;
        };
        let objects = objects.clone();
        tokio::spawn(async move {
            let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                return;
            };
            let (mut dr, mut dw) = down.into_split();
            let (mut ur, mut uw) = up.into_split();
            async fn pump(
                r: &mut tokio::net::tcp::OwnedReadHalf,
                w: &mut tokio::net::tcp::OwnedWriteHalf,
                rate: u64,
                objects: Option<&AtomicU64>,
            ) {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let n = match r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if let Some(objects) = objects
                        && [&b"GET /objects/"[..], b"PUT /objects/", b"HEAD /objects/"]
                            .iter()
                            .any(|line| buf[..n].starts_with(line))
                    {
                        objects.fetch_add(1, Ordering::SeqCst);
                    }
                    if w.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_micros(n as u64 * 1_000_000 / rate)).await;
                }
                let _ = w.shutdown().await;
            }
            tokio::join!(
                pump(&mut dr, &mut uw, rate, Some(&objects)),
                pump(&mut ur, &mut dw, rate, None)
            );
        });
    }
}
