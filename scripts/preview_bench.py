#!/usr/bin/env python3
"""`p` → the preview on screen, with the release binary in tmux against `filedeck serve`.

    python3 scripts/preview_bench.py [--bin target/release/filedeck] [--runs 7] [--size-gib 1]

Makes (in a temp dir, deleted after) a 1 GiB BGZF `.vcf.gz` with a realistic header (3,200
`##contig` lines, 2,500 samples) and a BAM (200 `@SQ`, read groups, programs), uploads
both to a `filedeck serve` on loopback with `filedeck put`, starts the browser in a tmux
pane (120×40), selects the file, then, `--runs` times: sends `p` and polls `tmux
capture-pane` until the preview's first record line (VCF) or its `@SQ` count (BAM) and
the bytes fetched are on screen; `p` again clears it. Prints a table with the medians and
the bytes fetched as the screen reports them, and the same peek by a peer: `curl -r
0-262143 URL | zcat | head` on the same presigned URL. Asserts nothing.

How the 1 GiB file is made: BGZF blocks are independent gzip members, so the VCF header is
compressed into BGZF blocks, then 64 distinct blocks of whole records (random genotypes,
so they compress like real ones) are repeated until the size is reached, then BGZF's
28-byte EOF block. The result is a valid BGZF file (`zcat | head`, htslib and noodles read
it) without compressing a gigabyte of text. The BAM is written by hand (the spec's layout:
magic, header text, references, records), BGZF-compressed the same way.
"""
import argparse, json, os, re, random, shutil, signal, statistics, struct, subprocess, sys, tempfile, time, zlib
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "preview-bench-key"
WS = "ws_preview"
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def clk():
    return time.perf_counter()


def bgzf_block(data):
    """One BGZF block (a gzip member with the BC extra field) of at most 64 KiB input."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    cdata = c.compress(data) + c.flush()
    bsize = 18 + len(cdata) + 8 - 1
    head = struct.pack("<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, ord("B"), ord("C"), 2, bsize)
    return head + cdata + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data))


def bgzf_blocks(data, size=0xFF00):
    return b"".join(bgzf_block(data[i:i + size]) for i in range(0, len(data), size))


def vcf_header(contigs=3200, samples=2500):
    h = ["##fileformat=VCFv4.3", "##source=preview_bench"]
    h += [f"##contig=<ID=chrUn_KI{i:06}v1,length={10000 + i},assembly=GRCh38>" for i in range(contigs)]
    h += [f'##INFO=<ID={i},Number=1,Type=Integer,Description="{i}">' for i in ("DP", "AF", "MQ", "QD")]
    h += [f'##FORMAT=<ID={i},Number=1,Type=String,Description="{i}">' for i in ("GT", "GQ", "DP")]
    h.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" +
             "\t".join(f"SAMPLE_{i:05}" for i in range(samples)))
    return ("\n".join(h) + "\n").encode()


def record_chunk(rng, start, samples=2500):
    """Whole records, as many as fit in one BGZF block's input."""
    out, pos = bytearray(), start
    while True:
        gts = "\t".join(f"{rng.choice(('0/0', '0/1', '1/1'))}:{rng.randint(5, 99)}:{rng.randint(1, 60)}"
                        for _ in range(samples))
        line = f"chr1\t{pos}\trs{pos}\tA\tG\t{rng.randint(20, 99)}\tPASS\tDP={rng.randint(10, 900)}\tGT:GQ:DP\t{gts}\n".encode()
        if len(out) + len(line) > 0xFF00:
            return bytes(out) if out else line[:0xFF00]
        out += line
        pos += rng.randint(1, 500)


def make_vcf(path, size):
    rng = random.Random(13)
    blocks = [bgzf_block(record_chunk(rng, 1000 + i * 100000)) for i in range(64)]
    with open(path, "wb") as f:
        f.write(bgzf_blocks(vcf_header()))
        written, i = f.tell(), 0
        while written < size - len(EOF_BLOCK):
            b = blocks[i % len(blocks)]
            f.write(b)
            written += len(b)
            i += 1
        f.write(EOF_BLOCK)


def make_bam(path, refs=200, records=20001):
    text = "@HD\tVN:1.6\tSO:unsorted\n"
    text += "".join(f"@SQ\tSN:chr{i + 1}\tLN:{1000000 + i}\n" for i in range(refs))
    text += "@RG\tID:rg1\tSM:NA12878\n@RG\tID:rg2\tSM:NA12878\n@PG\tID:bwa\tPN:bwa\tVN:0.7.17\n"
    tb = text.encode()
    out = bytearray(b"BAM\x01" + struct.pack("<i", len(tb)) + tb + struct.pack("<i", refs))
    for i in range(refs):
        name = f"chr{i + 1}".encode() + b"\0"
        out += struct.pack("<i", len(name)) + name + struct.pack("<i", 1000000 + i)
    rng = random.Random(7)
    code = {"A": 1, "C": 2, "G": 4, "T": 8}
    for r in range(records):
        name = f"read_{r:07}".encode() + b"\0"
        seq = "".join(rng.choice("ACGT") for _ in range(100))
        packed = bytes((code[seq[j]] << 4) | code[seq[j + 1]] for j in range(0, 100, 2))
        qual = bytes(rng.randint(20, 40) for _ in range(100))
        body = struct.pack("<iiBBHHHIiii", -1, -1, len(name), 255, 4680, 0, 4, 100, -1, -1, 0)
        body += name + packed + qual
        out += struct.pack("<i", len(body)) + body
    with open(path, "wb") as f:
        f.write(bgzf_blocks(bytes(out)))
        f.write(EOF_BLOCK)


class Tmux:
    def __init__(self):
        self.sock = f"fdprev{os.getpid()}"
        self.run("new-session", "-d", "-s", "pv", "-x", "120", "-y", "40", "sleep 100000")

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True).stdout

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "pv")

    def keys(self, *k):
        self.run("send-keys", "-t", "pv", *k)

    def wait(self, cond, what, timeout=20):
        deadline = clk() + timeout
        while True:
            s = self.screen()
            if cond(s):
                return clk(), s
            if clk() > deadline:
                sys.exit(f"timed out waiting for {what}:\n{s}")

    def close(self):
        self.run("kill-server")


def fetched_of(screen):
    """`256 KiB of 1 GiB fetched`, as the preview's bottom line says it."""
    m = re.search(r"([\d.,]+ [KMG]?i?B)( of [\d.,]+ [KMG]?i?B)? fetched", screen)
    return m.group(0) if m else "?"


def measure(tm, marker, runs):
    times, fetched = [], "?"
    for _ in range(runs):
        tm.wait(lambda s: marker not in s and "fetching" not in s, "a screen without the preview")
        time.sleep(0.2)
        t0 = clk()
        tm.keys("p")
        t1, s = tm.wait(lambda s: marker in s and "fetched" in s, repr(marker))
        times.append(t1 - t0)
        fetched = fetched_of(s)
        tm.keys("p")
    return times, fetched


def peer(url, n=262143):
    """curl a range of the presigned URL, zcat it, keep the first 40 lines."""
    t0 = clk()
    subprocess.run(f"curl -s -r 0-{n} '{url}' | zcat 2>/dev/null | head -n 40 > /dev/null",
                   shell=True, check=False)
    return clk() - t0


def presigned(base, key):
    q = urllib.parse.urlencode({"workspace_id": WS, "key": key})
    req = urllib.request.Request(f"{base}/v1/files/download?{q}", headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["url"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "filedeck"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--size-gib", type=float, default=1.0)
    a = ap.parse_args()
    if not os.access(a.bin, os.X_OK):
        sys.exit(f"no binary at {a.bin}: cargo build --release")
    if not shutil.which("tmux"):
        sys.exit("needs tmux")
    tmp = tempfile.mkdtemp(prefix="filedeck-preview-bench-")
    srv = tm = None
    try:
        files = os.path.join(tmp, "files")
        os.makedirs(files)
        vcf = os.path.join(files, "cohort.vcf.gz")
        bam = os.path.join(files, "sample.bam")
        t0 = clk()
        make_vcf(vcf, int(a.size_gib * (1 << 30)))
        make_bam(bam)
        made = clk() - t0
        env = dict(os.environ, FILEDECK_SERVER_KEY=KEY)
        srv = subprocess.Popen([a.bin, "serve", "--data", os.path.join(tmp, "data"), "--listen", "127.0.0.1:0"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
        line = srv.stdout.readline().strip()
        if not line.startswith("listening on "):
            sys.exit(f"the server did not start: {line!r}")
        url = line.removeprefix("listening on ")
        cenv = dict(os.environ, FILEDECK_ENDPOINT=url, FILEDECK_API_KEY=KEY,
                    XDG_STATE_HOME=os.path.join(tmp, "state"), XDG_CONFIG_HOME=os.path.join(tmp, "config"))
        subprocess.run([a.bin, "put", "-w", WS, vcf, bam], env=cenv, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.remove(vcf)
        tm = Tmux()
        tm.run("respawn-pane", "-k", "-t", "pv",
               f"env TERM=tmux-256color FILEDECK_ENDPOINT={url} FILEDECK_API_KEY={KEY} "
               f"XDG_STATE_HOME={tmp}/state XDG_CONFIG_HOME={tmp}/config {a.bin} -w {WS}")
        tm.wait(lambda s: "sample.bam" in s and "cohort.vcf.gz" in s, "the listing")
        # ws, cohort.vcf.gz, sample.bam
        tm.keys("Down")
        tm.wait(lambda s: "Path      cohort.vcf.gz" in s, "cohort.vcf.gz selected")
        vcf_t, vcf_f = measure(tm, "chr1  ", a.runs)
        tm.keys("Down")
        tm.wait(lambda s: "Path      sample.bam" in s, "sample.bam selected")
        bam_t, bam_f = measure(tm, "@SQ  200 reference sequences", a.runs)
        tm.keys("Up")
        tm.wait(lambda s: "Path      cohort.vcf.gz" in s, "cohort.vcf.gz selected")
        # Full screen: `P` → first records.
        full_t = []
        for _ in range(a.runs):
            t0 = clk()
            tm.keys("P")
            t1, _ = tm.wait(lambda s: "chr1  " in s and "lines 1–" in s, "the full-screen preview")
            full_t.append(t1 - t0)
            tm.keys("Escape")
            tm.wait(lambda s: "lines 1–" not in s, "the full-screen preview closed")
        base = []
        for _ in range(a.runs):
            t0 = clk()
            tm.screen()
            base.append(clk() - t0)
        vcf_key = "cohort.vcf.gz"
        peer_t = [peer(presigned(url, vcf_key)) for _ in range(a.runs)]
        tm.keys("q")
    finally:
        if tm:
            tm.close()
        if srv:
            srv.send_signal(signal.SIGTERM)
            srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    ms = lambda xs: " ".join(f"{x * 1e3:.0f}" for x in xs)
    med = lambda xs: f"{statistics.median(xs) * 1e3:.1f} ms"
    print(f"\n## preview: key → lines on screen, tmux 120×40, {a.runs} runs, `filedeck serve` on loopback\n")
    print(f"binary: {a.bin}; files made in {made:.1f} s ({a.size_gib:g} GiB BGZF VCF: 3,200 contigs, "
          f"2,500 samples; BAM: 200 @SQ, 20,001 reads)\n")
    print("| what | runs (ms) | median | bytes fetched (screen) | target |")
    print("|---|---|---|---|---|")
    gib = f"{a.size_gib:g} GiB"
    print(f"| `p` → VCF summary + first records ({gib} .vcf.gz) | {ms(vcf_t)} | {med(vcf_t)} | {vcf_f} | ≤ 300 ms |")
    print(f"| `p` → BAM SAM header (@SQ count) | {ms(bam_t)} | {med(bam_t)} | {bam_f} | ≤ 300 ms |")
    print(f"| `P` → full-screen first records ({gib} .vcf.gz) | {ms(full_t)} | {med(full_t)} | | |")
    print(f"| peer: `curl -r 0-262143 URL \\| zcat \\| head -n 40` | {ms(peer_t)} | {med(peer_t)} | 256 KiB | |")
    print(f"| one `tmux capture-pane` (polling cost, included above) | {ms(base)} | {med(base)} | | |")


if __name__ == "__main__":
    main()
