//! Previews: one at a time (a new one cancels the one before: latest wins). Each runs as
//! a task that presigns the file's URL, fetches `Range`s of it on demand (never the whole
//! object), and decodes everything fetched so far on a blocking thread, sending plain
//! lines back. An expired URL is presigned again once.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, Client};
use crate::app::Event;
use crate::app::msg::ReqId;
use crate::app::preview::PreviewData;

/// A preview of another file asked for this soon after the one before means the
/// selection is moving (a held arrow key): it waits [`SETTLE`] before its first request, and the next one
/// cancels it before it asks anything. One file a keypress would be 30 presigns and
/// range GETs a second against the service.
const MOVING: Duration = Duration::from_millis(150);
/// Short beside the ≤ 300 ms a preview may take; long beside a key repeat (~33 ms).
const SETTLE: Duration = Duration::from_millis(100);

/// The preview running, if any: its request, where to ask it for more, its cancel switch;
/// and when the last one was asked for, of which file (`P` on the file `p` shows is not
/// a move).
#[derive(Default)]
pub(super) struct Previews {
    current: Option<(ReqId, mpsc::UnboundedSender<u64>, CancellationToken)>,
    last_start: Option<(Instant, String, String)>,
}

/// What a preview is of.
pub(super) struct Job {
    pub req: ReqId,
    pub ws: String,
    pub key: String,
    pub name: String,
    pub want: u64,
    pub cap: u64,
}

impl Previews {
    pub(super) fn start(&mut self, client: Client, job: Job, events: mpsc::UnboundedSender<Event>) {
        self.stop();
        let moving = self
            .last_start
            .as_ref()
            .is_some_and(|(t, ws, key)| t.elapsed() < MOVING && (*ws != job.ws || *key != job.key));
        self.last_start = Some((Instant::now(), job.ws.clone(), job.key.clone()));
        let (tx, rx) = mpsc::unbounded_channel();
        let token = CancellationToken::new();
        self.current = Some((job.req, tx, token.clone()));
        tokio::spawn(async move {
            tokio::select! {
                _ = async {
                    if moving {
                        tokio::time::sleep(SETTLE).await;
                    }
                    run(client, job, rx, events).await;
                } => {}
                _ = token.cancelled() => {}
            }
        });
    }

    pub(super) fn more(&mut self, req: ReqId, want: u64) {
        if let Some((r, tx, _)) = &self.current
            && *r == req
        {
            let _ = tx.send(want);
        }
    }

    pub(super) fn stop(&mut self) {
        if let Some((_, _, token)) = self.current.take() {
            token.cancel();
        }
    }
}

/// The reason shown in the preview for a failed fetch.
fn why(e: &ApiError) -> String {
    match e {
        ApiError::UrlExpired => {
            "The preview link expired (403) and a new one was refused too.".into()
        }
        e => format!("Could not fetch the file: {e}"),
    }
}

async fn run(
    client: Client,
    job: Job,
    mut more: mpsc::UnboundedReceiver<u64>,
    events: mpsc::UnboundedSender<Event>,
) {
    let req = job.req;
    let send = |result| {
        let _ = events.send(Event::Preview { req, result });
    };
    let mut url = match client.download_link(&job.ws, &job.key).await {
        Ok((u, _)) => u,
        Err(e) => return send(Err(format!("No preview: {e}"))),
    };
    let mut bytes: Vec<u8> = Vec::new();
    let mut total: Option<u64> = None;
    let mut eof = false;
    let mut ignored = false;
    let mut want = job.want.min(job.cap);
    loop {
        let mut problem = None;
        let have = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if !eof && !ignored && want > have {
            let mut fetched = client.get_range(&url, have, want, job.cap).await;
            if matches!(fetched, Err(ApiError::UrlExpired)) {
                // A link that lived its life (a preview left open): one fresh one.
                match client.download_link(&job.ws, &job.key).await {
                    Ok((u, _)) => {
                        url = u;
                        fetched = client.get_range(&url, have, want, job.cap).await;
                    }
                    Err(e) => fetched = Err(e),
                }
            }
            match fetched {
                Ok(r) => {
                    total = r.total.or(total);
                    eof = r.eof;
                    if r.ignored_range {
                        // The whole file from its start, read up to the cap.
                        ignored = true;
                        bytes = r.bytes;
                        let got = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
                        eof = eof || total.is_some_and(|t| got >= t);
                    } else {
                        bytes.extend_from_slice(&r.bytes);
                    }
                }
                Err(e) if have == 0 => return send(Err(why(&e))),
                Err(e) => problem = Some(why(&e)),
            }
        }
        let fetched = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let whole = eof;
        let name = job.name.clone();
        let decoding = tokio::task::spawn_blocking(move || {
            let d = crate::preview::decode(crate::preview::Input {
                bytes: &bytes,
                name: &name,
                whole,
            });
            (d, bytes)
        })
        .await;
        // A decoder that panicked has lost the bytes with it: say so and stop, rather
        // than show an empty preview and fetch the file again from its start.
        let (decoded, back) = match decoding {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "preview decoder failed");
                return send(Err(
                    "The preview could not read this file (a fault in filedeck: the log says more)"
                        .into(),
                ));
            }
        };
        bytes = back;
        let capped = fetched >= job.cap;
        send(Ok(PreviewData {
            format: decoded.format,
            lines: decoded.lines,
            fetched,
            total,
            eof,
            ignored_range: ignored,
            wants_more: decoded.wants_more && !eof && !capped && !ignored,
            problem,
        }));
        // Wait for the next ask; several queued asks are one.
        let Some(mut next) = more.recv().await else {
            return;
        };
        while let Ok(n) = more.try_recv() {
            next = next.max(n);
        }
        want = next.min(job.cap);
    }
}
