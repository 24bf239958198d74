#!/usr/bin/env python3
"""The filter through tmux, against `filedeck serve` on loopback with N files.

    python3 scripts/filter_bench.py [--files 1000000] [--rounds 5] [--data DIR]

Seeds N files with the filter benchmark's paths (`SEED_STYLE=filter` examples/seed, the
generator of benches/support/filter_paths.rs: ~70-byte display paths, 1 % non-ASCII),
written straight into the data directory before the server starts (`server::seed_files`:
about a minute and 4.5 GB of small blobs for the default million; `--data DIR` keeps them for
the next run), lists them in the release binary inside tmux, then types
filter patterns letter by letter: each letter's time until the screen changed (its echo in
the filter's input, with whatever matches are ready), compared with a peer's echo (`cat` in
a tmux pane of the same server: the tty's own echo) measured the same way; the time until
the complete match set is on screen (the title's "…" gone); RSS of the process before `/`
and with the filter open. Prints tables; asserts nothing.
"""
import argparse, os, shutil, statistics, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "filedeck")
SEED = os.path.join(ROOT, "target", "release", "examples", "seed")
KEY = "bench-key"
PATTERNS = ["s42R1", "lane3 R2 crai$", "!fastq ^projects/proj_0", "échµ", "sample"]


def clk():
    return time.perf_counter()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1_000_000, help="files to seed (default 1,000,000)")
    ap.add_argument("--rounds", type=int, default=5, help="times each pattern is typed (default 5)")
    ap.add_argument("--data", help="the data dir: used as it is when it exists, else seeded there and kept")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bins", "--examples"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="filedeck-filter-bench-")
    try:
        data = a.data or os.path.join(tmp, "data")
        if not a.data or not os.path.exists(a.data):
            t = clk()
            subprocess.run([SEED, data, "ws_big", str(a.files)], check=True,
                           env=dict(os.environ, SEED_STYLE="filter"))
            print(f"seeded {a.files} files in {clk() - t:.1f} s")
        run(a, tmp, data)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a, tmp, data):
    env = dict(os.environ, FILEDECK_SERVER_KEY=KEY)
    srv = subprocess.Popen([BIN, "serve", "--data", data, "--listen", "127.0.0.1:0"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           start_new_session=True)
    url = srv.stdout.readline().strip().removeprefix("listening on ")
    sock = f"fdfilter{os.getpid()}"
    tm = lambda *args: subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True).stdout
    state = os.path.join(tmp, "state")
    try:
        tm("new-session", "-d", "-s", "app", "-x", "120", "-y", "40",
           f"env FILEDECK_ENDPOINT={url} FILEDECK_API_KEY={KEY} XDG_STATE_HOME={state} {BIN} --workspace ws_big")
        tm("new-session", "-d", "-s", "peer", "-x", "120", "-y", "40", "cat")
        pid = int(tm("display", "-p", "-t", "app", "#{pane_pid}").strip())
        t = clk()
        while True:
            s = tm("capture-pane", "-p", "-t", "app")
            if "listing ws_big" not in s and "files" in s:
                break
            time.sleep(0.1)
        print(f"listed in {clk() - t:.1f} s (through tmux)")
        time.sleep(1.0)
        before = rss_kib(pid)

        def typed(target, ch):
            """The time until the screen changed (None for a space: its echo is blank)."""
            cur = tm("capture-pane", "-p", "-t", target)
            t = clk()
            tm("send-keys", "-t", target, "-l", ch)
            if ch == " ":
                time.sleep(0.05)
                return None
            while tm("capture-pane", "-p", "-t", target) == cur:
                if clk() - t > 2:
                    return None
            return clk() - t

        tm("send-keys", "-t", "app", "/")
        while "Enter keep" not in tm("capture-pane", "-p", "-t", "app"):
            time.sleep(0.01)
        app_lat, peer_lat, complete, peak = [], [], [], before
        for _ in range(a.rounds):
            for p in PATTERNS:
                for ch in p:
                    a_, p_ = typed("app", ch), typed("peer", ch)
                    if a_ is not None and p_ is not None:
                        app_lat.append(a_)
                        peer_lat.append(p_)
                # The last key's complete match set: the title's "…" gone.
                t_last = clk()
                while "…" in tm("capture-pane", "-p", "-t", "app").splitlines()[0]:
                    if clk() - t_last > 5:
                        break
                complete.append(clk() - t_last + app_lat[-1])
                peak = max(peak, rss_kib(pid))
                for _ in p:
                    tm("send-keys", "-t", "app", "BSpace")
                tm("send-keys", "-t", "peer", "Enter")
                time.sleep(0.3)
        tm("send-keys", "-t", "app", "Escape")
        tm("send-keys", "-t", "app", "q")
        app_lat.sort(); peer_lat.sort(); complete.sort()
        med = statistics.median
        print("| measure | result |\n|---|---|")
        print(f"| letters typed | {len(app_lat)} |")
        print(f"| filedeck: letter → screen changed, median / p99 | {med(app_lat)*1e3:.2f} ms / {app_lat[int(len(app_lat)*0.99)-1]*1e3:.2f} ms |")
        print(f"| peer (`cat`, tty echo): letter → screen changed, median / p99 | {med(peer_lat)*1e3:.2f} ms / {peer_lat[int(len(peer_lat)*0.99)-1]*1e3:.2f} ms |")
        print(f"| filedeck median beyond the peer's echo | {(med(app_lat)-med(peer_lat))*1e3:.2f} ms |")
        print(f"| last letter → complete match set on screen, median / max | {med(complete)*1e3:.1f} ms / {complete[-1]*1e3:.1f} ms |")
        print(f"| RSS before `/` | {before/1024:.1f} MiB |")
        print(f"| RSS with the filter open (peak) − before | {(peak-before)/1024:.1f} MiB ({(peak-before)*1024/a.files:.1f} B per file) |")
    finally:
        tm("kill-server")
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
