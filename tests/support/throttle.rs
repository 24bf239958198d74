//! A slow link for the tests: transfers that are verifiably in the middle, or long enough
//! to be sampled.

use std::time::Duration;

/// A TCP proxy in front of the server that passes at most `rate` bytes/s each way, so a
/// transfer is verifiably in the middle when the test acts.
pub async fn throttled_proxy(upstream: std::net::SocketAddr, rate: u64) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((down, _)) = listener.accept().await {
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
                ) {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_micros(n as u64 * 1_000_000 / rate))
                            .await;
                    }
                    let _ = w.shutdown().await;
                }
                tokio::join!(pump(&mut dr, &mut uw, rate), pump(&mut ur, &mut dw, rate));
            });
        }
    });
    format!("http://{addr}")
}
