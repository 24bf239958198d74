#!/usr/bin/env python3
"""Transfers through the browser (release binary in a pty, screen read with pyte) against
`filedeck serve` on loopback, beside curl in the same run:

  1. 1,000 files of 64 KiB uploaded: filedeck (u, the folder, Enter → "1000 done") vs
     4 parallel curl processes (`xargs -P 4`) doing the same multipart uploads.
  2. One 1 GiB file up and down through the TUI, verified, vs curl + sha256sum + sync.
  3. 8 transfers of 1 GiB at once: key press → frame latency (pty) and filedeck's RSS.

    python3 scripts/transfer_bench.py [--skip-big]

Needs curl, sha256sum, sync, `pip install pyte`. Prints a table; asserts nothing.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tui_bench import App, BIN, KEY, ROOT, clk, start_server  # noqa: E402


def wait_done(app, n, timeout=600):
    return app.wait_screen(lambda s: f" {n:,} done" in s and "0 running, 0 queued" in s, f"{n:,} done", timeout)


def upload_in_tui(app, path):
    app.wait_screen(lambda s: "Workspaces" in s, "first frame")
    os.write(app.fd, b"u")
    app.wait_screen(lambda s: "Local file or folder" in s, "upload prompt")
    os.write(app.fd, path.encode())
    app.drain(0.05)
    t = clk()
    os.write(app.fd, b"\r")
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-big", action="store_true", help="only the 1,000-file run")
    ap.add_argument("--eight-only", action="store_true", help="only the 8-transfer key latency run")
    ap.add_argument("--server-nice", type=int, default=0,
                    help="run the server niced (the server shares this machine's 2 cores with the TUI)")
    ap.add_argument("--server-idle", action="store_true",
                    help="run the server as SCHED_IDLE (chrt --idle 0), standing in for a remote server")
    ap.add_argument("--server-in-my-session", action="store_true",
                    help="start the server in this script's session (it then competes with the measuring loop)")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="filedeck-transfer-bench-", dir=os.environ.get("BENCH_DIR"))
    rows = []
    srv = None
    try:
        srv, url = start_server(os.path.join(tmp, "data"), a.server_nice, a.server_idle, not a.server_in_my_session)
        state = os.path.join(tmp, "state")
        if a.eight_only:
            rows += eight(url, tmp, state, make_big(tmp))
        else:
            # 1. 1,000 × 64 KiB.
            small = os.path.join(tmp, "small")
            os.makedirs(small)
            for i in range(1000):
                with open(os.path.join(small, f"f{i:04}.bin"), "wb") as f:
                    f.write(os.urandom(64 * 1024))
            # Writeback of the files just made (or of a run before) must not land in one
            # of the two timed runs and not the other.
            os.sync()
            app = App(url, "ws_fd", state)
            t = upload_in_tui(app, small)
            fd_time = wait_done(app, 1000) - t
            app.quit()
            files = " ".join(sorted(os.listdir(small)))
            os.sync()
            t = clk()
            subprocess.run(
                f"cd {small} && printf '%s\\n' {files} | xargs -P 4 -I{{}} curl -sS --fail -o /dev/null "
                f"-H 'Authorization: Bearer {KEY}' -F workspace_id=ws_curl -F file=@{{}} {url}/v1/files/upload",
                shell=True, check=True)
            curl_time = clk() - t
            rows.append(("1,000 × 64 KiB upload: filedeck TUI / xargs -P 4 curl",
                         f"{fd_time:.2f} s / {curl_time:.2f} s = {fd_time / curl_time:.2f}×"))
            if not a.skip_big:
                rows += big(url, tmp, state)
    finally:
        if srv:
            srv.terminate()
            srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n## filedeck transfers through the TUI, release build, loopback\n")
    print("| measure | result |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


def make_big(tmp):
    src = os.path.join(tmp, "one", "big.bin")
    os.makedirs(os.path.dirname(src))
    with open(src, "wb") as f:
        for _ in range(1024):
            f.write(os.urandom(1024 * 1024))
    return src


def big(url, tmp, state):
    rows = []
    gib = 1024 * 1024 * 1024
    src = make_big(tmp)
    mb = gib / 1e6
    # Up through the TUI (verified against the server's sha256), then down (verified).
    app = App(url, "ws_big", state)
    t = upload_in_tui(app, src)
    up = wait_done(app, 1) - t
    app.wait_screen(lambda s: "big.bin" in s and "▸" in s or "big.bin" in s, "the tree refreshed")
    os.write(app.fd, b"gj")  # the file row
    app.wait_screen(lambda s: "Path      big.bin" in s, "big.bin selected")
    os.write(app.fd, b"d")
    app.wait_screen(lambda s: "into the local folder" in s, "download prompt")
    dest = os.path.join(tmp, "down")
    # The prompt starts with the working directory filled in: clear it first.
    os.write(app.fd, b"\x7f" * 512 + dest.encode())
    app.drain(0.05)
    t = clk()
    os.write(app.fd, b"\r")
    down = wait_done(app, 2) - t
    app.quit()
    os.remove(os.path.join(dest, "big.bin"))
    # curl + sha256sum + sync, same requests.
    auth = ["-H", f"Authorization: Bearer {KEY}"]
    t = clk()
    info = json.loads(subprocess.run(
        ["curl", "-sS", "--fail", *auth, "-H", "Content-Type: application/json", "-d",
         json.dumps({"filename": "c.bin", "workspace_id": "ws_big", "content_type": "application/octet-stream",
                     "size": gib}), f"{url}/v1/files/upload-url"], capture_output=True, check=True).stdout)
    subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-X", "PUT", "-T", src, "-H", "Expect:",
                    "-H", "Content-Type: application/octet-stream", info["uploadUrl"]], check=True)
    subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", *auth, "-H", "Content-Type: application/json", "-d",
                    json.dumps({"file_key": info["fileKey"], "workspace_id": "ws_big", "filename": "c.bin", "size": gib}),
                    f"{url}/v1/files/upload-confirm"], check=True)
    subprocess.run(["sha256sum", src], capture_output=True, check=True)
    subprocess.run(["sync"], check=True)
    curl_up = clk() - t
    t = clk()
    dl = json.loads(subprocess.run(["curl", "-sS", "--fail", *auth,
                                    f"{url}/v1/files/download?workspace_id=ws_big&key=c.bin"],
                                   capture_output=True, check=True).stdout)
    out = os.path.join(dest, "c.bin")
    subprocess.run(["curl", "-sS", "--fail", "-o", out, dl["url"]], check=True)
    subprocess.run(["sha256sum", out], capture_output=True, check=True)
    subprocess.run(["sync"], check=True)
    curl_down = clk() - t
    os.remove(out)
    rows.append(("1 GiB up through the TUI (verified) / curl + sha256sum + sync",
                 f"{mb / up:.0f} MB/s / {mb / curl_up:.0f} MB/s = {curl_up / up:.2f}×"))
    rows.append(("1 GiB down through the TUI (verified) / curl + sha256sum + sync",
                 f"{mb / down:.0f} MB/s / {mb / curl_down:.0f} MB/s = {curl_down / down:.2f}×"))
    return rows + eight(url, tmp, state, src)


def eight(url, tmp, state, src):
    """8 transfers at once: 8 × 1 GiB (hard links of one file) up, keys pressed meanwhile."""
    rows = []
    eight = os.path.join(tmp, "eight")
    os.makedirs(eight)
    for i in range(8):
        os.link(src, os.path.join(eight, f"b{i}.bin"))
    # filedeck logs each key's own latency (key read → frame written) at trace level.
    os.environ["FILEDECK_LOG"] = KEYS_LOG
    app = App(url, "ws_eight", state, concurrency=8)
    t = upload_in_tui(app, eight)
    app.wait_screen(lambda s: "running" in s, "transfers running")
    lat, rss, dropped = [], 0, 0
    while True:
        if " 8 done" in app.text():
            break
        # The help overlay toggles: a change only the key makes (progress redraws too).
        was_open = "this help" in app.text()
        k = clk()
        os.write(app.fd, b"?")
        while ("this help" in app.text()) == was_open and clk() - k < DROPPED_AFTER:
            app.read(0.1)
        if ("this help" in app.text()) == was_open:
            dropped += 1
            continue
        lat.append(clk() - k)
        if os.environ.get("PYLOG"):
            with open(os.environ["PYLOG"], "a") as f:
                f.write(f"{int(k*1e9)} {int(clk()*1e9)}\n")
        rss = max(rss, app.rss_kib() or 0)
        app.read(0.05)
    took = clk() - t
    # The last key may have left the help open, and `q` there only closes it.
    if "this help" in app.text():
        os.write(app.fd, b"?")
        app.wait_screen(lambda s: "this help" not in s, "help closed")
    app.quit()
    lat.sort()
    rows.append((f"key → frame while 8 × 1 GiB upload ({len(lat)} keys, pty) median / p99",
                 f"{statistics.median(lat) * 1e3:.2f} ms / {lat[max(0, int(len(lat) * 0.99) - 1)] * 1e3:.2f} ms"))
    rows.append(("keys with no effect on screen within 2 s (dropped), pty", f"{dropped} of {len(lat) + dropped}"))
    rows.append(inside_filedeck(state, "pty"))
    rows.append(("8 × 1 GiB upload wall time during the pty key run", f"{took:.1f} s ({8 * 1024 / took:.0f} MiB/s)"))
    rows.append(("filedeck peak RSS seen during the 8 transfers", f"{rss / 1024:.1f} MiB"))
    rows += tmux_eight(url, eight, state)
    return rows


class TmuxCtl:
    """One tmux control-mode client: commands and their replies over a pipe, so polling the
    screen costs no process start (a `tmux capture-pane` per poll would load the very cores
    being measured)."""

    def __init__(self, sock, session):
        self.p = subprocess.Popen(["tmux", "-L", sock, "-C", "attach", "-t", session],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1,
                                  encoding="utf-8", errors="replace")
        self.cmd("refresh-client -f no-output")

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out, inside = [], False
        while True:
            raw = self.p.stdout.readline()
            if not raw:
                raise RuntimeError("the tmux control client ended")
            raw = raw.rstrip("\n")
            # Replies to this client's commands carry flag 1; anything else is a notification.
            if raw.startswith("%begin ") and raw.endswith(" 1"):
                inside, out = True, []
            elif inside and (raw.startswith("%end ") or raw.startswith("%error ")):
                return "\n".join(out)
            elif inside:
                out.append(raw)

    def screen(self):
        return self.cmd("capture-pane -p")

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def tmux_eight(url, eight, state):
    """The same 8 uploads in tmux: send-keys, then poll the pane's contents until the key's
    change shows, a key every ~50 ms like a user scrolling."""
    if not shutil.which("tmux"):
        return [("8 transfers through tmux", "skipped: tmux not installed")]
    sock = f"fdtb{os.getpid()}"
    state = state + "-tmux"
    env = f"FILEDECK_ENDPOINT={url} FILEDECK_API_KEY={KEY} XDG_STATE_HOME={state} FILEDECK_LOG={KEYS_LOG}"
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", "eight", "-x", "120", "-y", "40",
                    f"env {env} {BIN} --workspace ws_eight_tmux --concurrency 8"], check=True)
    ctl = TmuxCtl(sock, "eight")
    try:
        while "Workspaces" not in ctl.screen():
            time.sleep(0.02)
        ctl.cmd("send-keys u")
        while "Local file or folder" not in ctl.screen():
            time.sleep(0.02)
        ctl.cmd(f"send-keys -l '{eight}'")
        start = clk()
        ctl.cmd("send-keys Enter")
        while "running" not in ctl.screen():
            time.sleep(0.02)
        lat, dropped = [], 0
        screen = ctl.screen()
        while " 8 done" not in screen:
            was_open = "this help" in screen
            t = clk()
            ctl.cmd("send-keys ?")  # the help overlay opens/closes: a change only the key makes
            while ("this help" in (screen := ctl.screen())) == was_open and clk() - t < DROPPED_AFTER:
                pass
            if ("this help" in screen) == was_open:
                dropped += 1
                continue
            lat.append(clk() - t)
            time.sleep(0.05)
            screen = ctl.screen()
        took = clk() - start
        ctl.cmd("send-keys Escape")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
        ctl.close()
    lat.sort()
    return [(f"key → screen changed while 8 × 1 GiB upload ({len(lat)} keys, tmux) median / p99",
             f"{statistics.median(lat) * 1e3:.2f} ms / {lat[max(0, int(len(lat) * 0.99) - 1)] * 1e3:.2f} ms"),
            ("keys with no effect on screen within 2 s (dropped), tmux", f"{dropped} of {len(lat) + dropped}"),
            inside_filedeck(state, "tmux"),
            ("8 × 1 GiB upload wall time during the tmux key run", f"{took:.1f} s ({8 * 1024 / took:.0f} MiB/s)")]


KEYS_LOG = "filedeck=info,filedeck::keys=trace"
# A key whose change has not shown by then counts as dropped (a peer, stu, drops every key
# while a download runs).
DROPPED_AFTER = 2.0


def inside_filedeck(state, how):
    """The part of the latency spent inside filedeck: key read from the terminal → frame
    written, from its own log."""
    micros = []
    with open(os.path.join(state, "filedeck", "filedeck.log"), errors="replace") as f:
        for line in f:
            if "key drawn" in line and "micros=" in line:
                micros.append(int(line.split("micros=")[1].split()[0]) / 1e3)
    if not micros:
        return (f"inside filedeck ({how})", "no key latencies in the log")
    micros.sort()
    return (f"  of which inside filedeck, key read → frame written ({len(micros)} keys, {how}) median / p99",
            f"{statistics.median(micros):.2f} ms / {micros[max(0, int(len(micros) * 0.99) - 1)]:.2f} ms")


if __name__ == "__main__":
    main()
