//! Previews against the real reference server, through the fault proxy (which counts the
//! bytes it passes on and can hide `Range` from the server): the worker presigns the URL,
//! fetches ranges, decodes off the UI thread and sends back lines. Plain text, a
//! multi-member `.vcf.gz`, a BGZF VCF with a realistic header, a BAM made with noodles,
//! FASTQ.gz, binary, a server that answers `200` to a `Range`, corrupt gzip, a truncated
//! BAM, an expired link; and a 64 MiB file of which only the ranges asked cross the wire.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests stop at the first surprise"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use filedeck::app::preview::{PreviewData, Role};
use filedeck::app::{Command, Event};
use filedeck::server::{self, RunningServer};
use tokio::sync::mpsc;

#[path = "support/faults.rs"]
mod fault_proxy;
#[path = "support/hostile_store.rs"]
mod hostile_store;
use fault_proxy::{Fault, Proxy, Route};

#[path = "support/server.rs"]
mod test_server;
use test_server::key_styles;

#[path = "support/genomics.rs"]
mod genomics;

const KEY: &str = "preview-key";
const WS: &str = "ws_preview";
const MIB: u64 = 1 << 20;

struct Env {
    server: RunningServer,
    proxy: Arc<Proxy>,
    cmds: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<Event>,
    next: u64,
    _data: tempfile::TempDir,
}

async fn start() -> Env {
    start_styled(filedeck::server::KeyStyle::Path).await
}

async fn start_styled(style: filedeck::server::KeyStyle) -> Env {
    let data = tempfile::tempdir().unwrap();
    let (proxy, base) = Proxy::bind().await;
    let server = test_server::start_with(data.path(), KEY, |config| {
        config.key_style = style;
        config.public_url = Some(base.clone());
    })
    .await;
    proxy.connect(&server.base_url());
    let client = common::client(&base, KEY, |_| {});
    let (cmds, events) = filedeck::worker::spawn(client, 2, filedeck::worker::Queue::Off);
    Env {
        server,
        proxy,
        cmds,
        events,
        next: 1,
        _data: data,
    }
}

impl Env {
    async fn seed(&self, display: &str, bytes: Vec<u8>) -> String {
        server::put_bytes(&self.server, WS, display, bytes, None)
            .await
            .unwrap()
            .key
    }

    /// The next preview answer of `req`, skipping any other event.
    async fn answer(&mut self, req: u64) -> Result<PreviewData, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .expect("no preview answer within 60 s")
                .expect("worker gone");
            if let Event::Preview { req: r, result } = ev
                && r == req
            {
                return result;
            }
        }
    }

    async fn preview(
        &mut self,
        display: &str,
        key: &str,
        want: u64,
        cap: u64,
    ) -> (u64, Result<PreviewData, String>) {
        let req = self.next;
        self.next += 1;
        self.cmds
            .send(Command::Preview {
                req,
                ws: WS.into(),
                key: key.into(),
                name: display.rsplit('/').next().unwrap().into(),
                want,
                cap,
            })
            .unwrap();
        (req, self.answer(req).await)
    }

    async fn more(&mut self, req: u64, want: u64) -> PreviewData {
        self.cmds.send(Command::PreviewMore { req, want }).unwrap();
        self.answer(req).await.unwrap()
    }

    /// Bytes of file bodies the proxy passed on, and the `Range` of every GET.
    fn object_traffic(&self) -> (u64, Vec<Option<String>>) {
        let seen = self.proxy.seen(Route::ObjectGet);
        (
            seen.iter().map(|s| s.out()).sum(),
            seen.iter().map(|s| s.range.clone()).collect(),
        )
    }
}

fn text(d: &PreviewData) -> String {
    d.lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn problems(d: &PreviewData) -> Vec<String> {
    d.lines
        .iter()
        .filter(|l| l.role == Role::Problem)
        .map(|l| l.text.clone())
        .collect()
}

key_styles! {
    /// Opaque keys too: the preview names the file by its key, never by path + name.
    #[tokio::test]
    async fn plain_text_is_previewed_whole_when_small(style) {
    let mut env = start_styled(style).await;
    let key = env.seed("notes/readme.txt", b"hello\tworld\nsecond line\n".to_vec()).await;
    let (_, r) = env.preview("notes/readme.txt", &key, 256 << 10, 8 * MIB).await;
    let d = r.unwrap();
    assert_eq!(d.format, "text");
    assert_eq!(text(&d), "hello   world\nsecond line");
    assert!(d.eof && !d.wants_more && !d.ignored_range);
    assert_eq!(d.fetched, 24);
    assert_eq!(d.total, Some(24));
    let (_, ranges) = env.object_traffic();
    assert_eq!(ranges, [Some("bytes=0-262143".to_string())]);
    }
}

#[tokio::test]
async fn a_multi_member_vcf_gz() {
    let mut env = start().await;
    let vcf = genomics::vcf(10, 3, 20);
    let (head, tail) = vcf.split_at(vcf.len() / 2);
    let gz = genomics::gzip_members(&[head.as_bytes(), tail.as_bytes()]);
    let key = env.seed("raw/multi.vcf.gz", gz).await;
    let d = env
        .preview("raw/multi.vcf.gz", &key, 256 << 10, 8 * MIB)
        .await
        .1
        .unwrap();
    assert_eq!(d.format, "VCF (gzip)");
    let t = text(&d);
    assert!(t.contains("Samples      3: SAMPLE_00000"), "{t}");
    // The last record is in the second member.
    assert!(t.contains("rs19"), "{t}");
    assert!(problems(&d).is_empty());
}

#[tokio::test]
async fn a_bgzf_vcf_with_a_realistic_header_and_the_cap() {
    let mut env = start().await;
    let vcf = genomics::vcf(3200, 2500, 200);
    let bgzf = genomics::bgzf(vcf.as_bytes());
    let size = bgzf.len() as u64;
    let key = env.seed("raw/cohort.vcf.gz", bgzf).await;
    let d = env
        .preview("raw/cohort.vcf.gz", &key, 256 << 10, 8 * MIB)
        .await
        .1
        .unwrap();
    assert_eq!(d.format, "VCF (BGZF)");
    let t = text(&d);
    assert!(t.contains("Contigs      3200"), "{t}");
    assert!(
        t.contains("Samples      2500: SAMPLE_00000, SAMPLE_00001"),
        "{t}"
    );
    assert!(t.contains("chr1  1000  rs0"), "{t}");
    assert!(d.fetched <= 256 << 10);
    assert_eq!(d.total, Some(size));
    // A cap smaller than the header: what was read, with lower bounds, and no more asked.
    let (req, r) = env
        .preview("raw/cohort.vcf.gz", &key, 16 << 10, 16 << 10)
        .await;
    let d = r.unwrap();
    let t = text(&d);
    assert!(t.contains("Contigs      ≥ "), "{t}");
    assert!(t.contains("Samples      not known yet"), "{t}");
    assert!(!d.wants_more, "the cap is reached");
    assert_eq!(d.fetched, 16 << 10);
    // Asking past the cap fetches nothing more.
    let d2 = env.more(req, 1 << 20).await;
    assert_eq!(d2.fetched, 16 << 10);
}

/// An assembly's header: 30,000 `##contig` lines, more than the lines a preview keeps.
#[tokio::test]
async fn a_vcf_gz_whose_header_is_longer_than_the_lines_kept() {
    let mut env = start().await;
    let vcf = genomics::vcf(30_000, 4, 50);
    let bgzf = genomics::bgzf(vcf.as_bytes());
    let size = bgzf.len() as u64;
    let key = env.seed("asm/scaffolds.vcf.gz", bgzf).await;
    let d = env
        .preview("asm/scaffolds.vcf.gz", &key, 8 * MIB, 8 * MIB)
        .await
        .1
        .unwrap();
    assert_eq!(d.format, "VCF (BGZF)");
    assert_eq!(d.fetched, size, "read whole");
    let t = text(&d);
    assert!(t.contains("Contigs      30000"), "{t}");
    assert!(
        t.contains("Samples      4: SAMPLE_00000, SAMPLE_00001, SAMPLE_00002, SAMPLE_00003"),
        "{t}"
    );
    assert!(t.contains("INFO         3: DP, AF, MQ"), "{t}");
    assert!(t.contains("chr1  1000  rs0"), "{t}");
    assert!(t.contains("chr1  1049  rs49"), "{t}");
    assert!(!t.contains('≥'), "{t}");
    assert!(problems(&d).is_empty(), "{:?}", problems(&d));
}

#[tokio::test]
async fn a_bam_made_with_noodles_and_a_truncated_one() {
    let mut env = start().await;
    let bam = genomics::bam(40, 300);
    let cut = bam[..bam.len() / 2].to_vec();
    let key = env.seed("aln/x.bam", bam).await;
    let d = env
        .preview("aln/x.bam", &key, 256 << 10, 8 * MIB)
        .await
        .1
        .unwrap();
    assert_eq!(d.format, "BAM (BGZF)");
    let t = text(&d);
    assert!(t.contains("@SQ  40 reference sequences"), "{t}");
    assert!(t.contains("@RG  1 read groups"), "{t}");
    assert!(t.contains("read_299"), "{t}");
    assert!(problems(&d).is_empty(), "{:?}", problems(&d));
    let key = env.seed("aln/cut.bam", cut).await;
    let d = env
        .preview("aln/cut.bam", &key, 256 << 10, 8 * MIB)
        .await
        .1
        .unwrap();
    assert!(d.eof);
    assert!(text(&d).contains("read_0"), "{}", text(&d));
    assert!(
        problems(&d)
            .iter()
            .any(|p| p.contains("truncated") || p.contains("ends early")),
        "{:?}",
        d.lines
    );
}

#[tokio::test]
async fn fastq_gz_binary_and_corrupt_gzip() {
    let mut env = start().await;
    let fq = genomics::gzip_members(&[genomics::fastq(20).as_bytes()]);
    let key = env.seed("reads/r1.fastq.gz", fq.clone()).await;
    let d = env
        .preview("reads/r1.fastq.gz", &key, 256 << 10, 8 * MIB)
        .await
        .1
        .unwrap();
    assert_eq!(d.format, "FASTQ (gzip)");
    assert!(
        text(&d).contains("20 reads shown, lengths 50–69"),
        "{}",
        text(&d)
    );

    let blob: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let key = env.seed("misc/blob.bin", blob).await;
    let d = env
        .preview("misc/blob.bin", &key, 256 << 10, 8 * MIB)
        .await
        .1
        .unwrap();
    assert_eq!(d.format, "binary");
    assert_eq!(d.lines.len(), 4096 / 16 + 1);
    assert!(!d.wants_more);

    let mut bad = fq;
    for b in bad.iter_mut().skip(30).take(50) {
        *b = !*b;
    }
    let key = env.seed("reads/bad.fastq.gz", bad).await;
    let d = env
        .preview("reads/bad.fastq.gz", &key, 256 << 10, 8 * MIB)
        .await
        .1
        .unwrap();
    assert!(
        problems(&d).iter().any(|p| p.contains("corrupt")),
        "{:?}",
        d.lines
    );
}

#[tokio::test]
async fn a_server_answering_200_to_a_range_is_read_to_the_cap_and_cut_off() {
    let mut env = start().await;
    let line = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";
    let big = line.repeat((64 * MIB as usize) / line.len());
    let key = env.seed("big/no-range.txt", big.into_bytes()).await;
    env.proxy.arm(Route::ObjectGet, &[Fault::IgnoreRange]);
    let d = env
        .preview("big/no-range.txt", &key, 256 << 10, MIB)
        .await
        .1
        .unwrap();
    assert!(d.ignored_range);
    assert_eq!(d.fetched, MIB, "read up to the cap");
    assert!(!d.wants_more);
    assert_eq!(d.format, "text");
    let (out, ranges) = env.object_traffic();
    assert_eq!(ranges.len(), 1);
    // The proxy hid the range; what it passed on before the client hung up is the cap
    // and what socket buffers held, far from the 64 MiB it was asked to send.
    assert!(out < 24 * MIB, "{out} bytes crossed the wire");
}

#[tokio::test]
async fn an_expired_link_is_presigned_again_once_then_reported() {
    let mut env = start().await;
    let key = env.seed("a.txt", b"one\ntwo\n".to_vec()).await;
    env.proxy.arm(Route::ObjectGet, &[Fault::Expired]);
    let d = env.preview("a.txt", &key, 1024, MIB).await.1.unwrap();
    assert_eq!(text(&d), "one\ntwo");
    env.proxy
        .arm(Route::ObjectGet, &[Fault::Expired, Fault::Expired]);
    let e = env.preview("a.txt", &key, 1024, MIB).await.1.unwrap_err();
    assert!(e.contains("expired"), "{e}");
}

#[tokio::test]
async fn of_a_64_mib_file_only_the_ranges_asked_cross_the_wire() {
    let mut env = start().await;
    let vcf = genomics::vcf(100, 50, 0);
    let mut body = vcf.into_bytes();
    let record = format!(
        "chr1\t1\t.\tA\tG\t50\tPASS\tDP=1\tGT{}\n",
        "\t0/1".repeat(50)
    );
    while (body.len() as u64) < 64 * MIB {
        body.extend_from_slice(record.as_bytes());
    }
    let size = body.len() as u64;
    let key = env.seed("big/cohort.vcf", body).await;
    let (req, r) = env
        .preview("big/cohort.vcf", &key, 256 << 10, 8 * MIB)
        .await;
    let d = r.unwrap();
    assert_eq!(d.total, Some(size));
    assert!(d.wants_more);
    let d = env.more(req, 768 << 10).await;
    assert_eq!(d.fetched, 768 << 10);
    let d = env.more(req, 1280 << 10).await;
    assert_eq!(d.fetched, 1280 << 10);
    let (out, ranges) = env.object_traffic();
    assert_eq!(
        ranges,
        [
            Some("bytes=0-262143".to_string()),
            Some("bytes=262144-786431".to_string()),
            Some("bytes=786432-1310719".to_string()),
        ]
    );
    assert_eq!(out, 1280 << 10, "exactly the ranges, not the {size} bytes");
}

/// A selection moving fast (a held arrow key: a preview asked for every ~30 ms) fetches
/// the file it stops on, not every file it passes: each waits a moment before its first
/// request and the next cancels it first.
#[tokio::test]
async fn a_held_arrow_key_fetches_the_file_it_stops_on_not_every_file() {
    let mut env = start().await;
    let mut keys = Vec::new();
    for i in 0..10 {
        keys.push(
            env.seed(&format!("f{i}.txt"), format!("file {i}\n").into_bytes())
                .await,
        );
    }
    for (i, key) in keys.iter().enumerate().take(9) {
        env.cmds
            .send(Command::Preview {
                req: 500 + i as u64,
                ws: WS.into(),
                key: key.clone(),
                name: format!("f{i}.txt"),
                want: 1024,
                cap: MIB,
            })
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    env.next = 509;
    let (_, r) = env.preview("f9.txt", &keys[9], 1024, MIB).await;
    assert_eq!(text(&r.unwrap()), "file 9");
    // The first (nothing was moving yet) and the last; none of the eight between.
    let links = env.proxy.seen(Route::DownloadUrl).len();
    let gets = env.proxy.seen(Route::ObjectGet).len();
    assert!(
        links <= 2 && gets <= 2,
        "{links} links, {gets} GETs for 10 files passed"
    );
}

#[tokio::test]
async fn a_new_preview_cancels_the_one_before() {
    let mut env = start().await;
    let key_a = env.seed("a.txt", b"aaa\n".to_vec()).await;
    let key_b = env.seed("b.txt", b"bbb\n".to_vec()).await;
    env.proxy.arm(
        Route::ObjectGet,
        &[Fault::Stall(0, Duration::from_secs(30))],
    );
    env.cmds
        .send(Command::Preview {
            req: 100,
            ws: WS.into(),
            key: key_a,
            name: "a.txt".into(),
            want: 1024,
            cap: MIB,
        })
        .unwrap();
    // Let the first one reach its stalled GET.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, r) = env.preview("b.txt", &key_b, 1024, MIB).await;
    assert_eq!(text(&r.unwrap()), "bbb");
    // Nothing more comes for the cancelled one.
    let late = tokio::time::timeout(Duration::from_millis(500), env.events.recv()).await;
    assert!(
        !matches!(late, Ok(Some(Event::Preview { req: 100, .. }))),
        "the cancelled preview answered"
    );
}
