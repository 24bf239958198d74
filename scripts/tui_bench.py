#!/usr/bin/env python3
"""The browser through a real terminal, against `filedeck serve` on loopback.

    python3 scripts/tui_bench.py [--files 100000] [--keys 200]

Measures, with the release binary in a pty (Python's pty module, counting every byte the
app writes) and through tmux (send-keys, then poll capture-pane until the screen changes):
first frame after launch, first rows and the whole listing of a large workspace, key press →
frame latency, bytes written per ↓, idle CPU and bytes over 10 s, and RSS per listed file.
Prints tables; asserts nothing. Needs `pip install pyte` (a terminal emulator, to read
the screen the app draws) and tmux for the tmux rows.
"""
import pyte
import argparse, os, pty, select, shutil, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "filedeck")
KEY = "bench-key"


def clk():
    return time.perf_counter()


def start_server(data, nice=0, idle=False, own_session=True):
    """The server runs in a session of its own, as a daemon would: with the kernel's
    autogroups, a server in this script's session would share one CPU share with the
    measuring loop itself and starve it."""
    env = dict(os.environ, FILEDECK_SERVER_KEY=KEY)
    pre = ["nice", "-n", str(nice)] if nice else []
    if idle:
        # SCHED_IDLE: the server only gets CPU nobody else here wants, standing in for a
        # server on another machine.
        pre = ["chrt", "--idle", "0", *pre]
    p = subprocess.Popen([*pre, BIN, "serve", "--data", data, "--listen", "127.0.0.1:0"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         start_new_session=own_session)
    line = p.stdout.readline().strip()
    return p, line.removeprefix("listening on ")


class App:
    """filedeck in a pty of 120×40; every byte it writes is read and counted."""

    concurrency = 4

    def __init__(self, url, ws, state, concurrency=4):
        env = dict(os.environ, FILEDECK_ENDPOINT=url, FILEDECK_API_KEY=KEY, TERM="xterm-256color",
                   XDG_STATE_HOME=state, COLUMNS="120", LINES="40")
        self.t0 = clk()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            import fcntl, termios, struct
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.execve(BIN, [BIN, "--workspace", ws, "--concurrency", str(concurrency)], env)
        self.out = bytearray()
        self.screen = pyte.Screen(120, 40)
        self.stream = pyte.ByteStream(self.screen)

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return b""
            self.out += data
            self.stream.feed(data)
            return data
        return b""

    def text(self):
        return "\n".join(self.screen.display)

    def wait_screen(self, cond, what, timeout=30):
        """Read until the emulated screen satisfies cond; the time it first did."""
        deadline = clk() + timeout
        while not cond(self.text()):
            if clk() > deadline:
                sys.exit(f"timed out waiting for {what}:\n{self.text()}")
            self.read(0.05)
        return clk()

    def drain(self, quiet=0.15):
        """Read until nothing arrives for `quiet` seconds."""
        while self.read(quiet):
            pass

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS"):
                    return int(line.split()[1])

    def quit(self):
        os.write(self.fd, b"q")
        os.waitpid(self.pid, 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=200)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bins", "--examples"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="filedeck-tui-bench-")
    try:
        run(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(a, tmp):
    data = os.path.join(tmp, "data")
    subprocess.run([os.path.join(ROOT, "target", "release", "examples", "seed"), data, "ws_big", str(a.files)],
                   check=True, stderr=subprocess.DEVNULL)
    srv, url = start_server(data)
    state = os.path.join(tmp, "state")
    rows = []
    try:
        # An empty workspace: first frame, and the baseline memory.
        app = App(url, "ws_empty", state)
        first = app.wait_screen(lambda s: "Workspaces" in s, "first frame") - app.t0
        app.wait_screen(lambda s: "(no files)" in s, "empty workspace")
        app.drain()
        time.sleep(1)
        base_rss = app.rss_kib()
        app.quit()
        rows.append(("first frame after launch (pty)", f"{first * 1e3:.1f} ms"))

        app = App(url, "ws_big", state)
        first_rows = app.wait_screen(lambda s: "big/" in s, "first rows") - app.t0
        # A key while the listing is still arriving: answered, not queued behind it.
        during = None
        if "listing ws_big" in app.text():
            before = len(app.out)
            t = clk()
            os.write(app.fd, b"j")
            app.wait_screen(lambda s: "Folder    big/" in s, "a key during the listing")
            during = clk() - t
            still = "listing ws_big" in app.text()
        total = f" {a.files:,} files"
        whole = app.wait_screen(lambda s: total in s and "≥" not in s and "listing ws_big" not in s,
                                "the whole listing") - app.t0
        app.drain()
        time.sleep(1)  # let the app settle (it returns freed listing buffers shortly after)
        rows.append((f"first rows of a {a.files:,}-file workspace", f"{first_rows * 1e3:.0f} ms"))
        rows.append((f"whole listing of {a.files:,} files", f"{whole * 1e3:.0f} ms"))
        if during is not None:
            rows.append(("a key pressed while the listing arrives → its frame",
                         f"{during * 1e3:.1f} ms (listing still running then: {still})"))
        os.write(app.fd, b"g")
        app.drain()
        rss = app.rss_kib()
        rows.append(("RSS above the empty baseline, per listed file",
                     f"{(rss - base_rss) * 1024 / a.files:.0f} B  ({base_rss / 1024:.1f} → {rss / 1024:.1f} MiB)"))
        # Open the 20,000-file folder, then time ↓ presses: write, wait for the frame.
        os.write(app.fd, b"j")
        app.drain()
        os.write(app.fd, b"l")
        app.drain()
        lat, sizes = [], []
        for _ in range(a.keys):
            before = len(app.out)
            t = clk()
            os.write(app.fd, b"j")
            while len(app.out) == before:
                app.read(1)
            lat.append(clk() - t)
            app.drain(0.02)
            sizes.append(len(app.out) - before)
        lat.sort()
        rows.append((f"key → frame, ↓ ×{a.keys} (pty) median / p99",
                     f"{statistics.median(lat) * 1e3:.2f} ms / {lat[int(len(lat) * 0.99) - 1] * 1e3:.2f} ms"))
        rows.append(("bytes written per ↓ (details pane included) median / max",
                     f"{statistics.median(sizes):.0f} B / {max(sizes)} B"))
        # Idle: nothing happens for 10 s.
        app.drain()
        before_b, before_cpu, t = len(app.out), app.cpu_ticks(), clk()
        while clk() - t < 10:
            app.read(0.5)
        idle_cpu = (app.cpu_ticks() - before_cpu) / os.sysconf("SC_CLK_TCK") / (clk() - t) * 100
        rows.append(("idle 10 s: CPU / bytes written", f"{idle_cpu:.1f} % / {len(app.out) - before_b} B"))
        app.quit()
        rows.extend(tmux_rows(url, a.keys, state))
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait()
    print(f"\n## filedeck TUI, {a.files:,}-file workspace, 120×40, release build\n")
    print("| measure | result |")
    print("|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


def tmux_rows(url, keys, state):
    if not shutil.which("tmux"):
        return [("tmux measurements", "skipped: tmux not installed")]
    sock = f"fdbench{os.getpid()}"
    tm = lambda *args: subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True).stdout
    env = f"FILEDECK_ENDPOINT={url} FILEDECK_API_KEY={KEY} XDG_STATE_HOME={state}"
    out = []
    t0 = clk()
    tm("new-session", "-d", "-x", "120", "-y", "40", f"env {env} {BIN} --workspace ws_big")
    while "Workspaces" not in tm("capture-pane", "-p"):
        pass
    out.append(("first frame after launch (tmux, incl. tmux start)", f"{(clk() - t0) * 1e3:.1f} ms"))
    while "listing ws_big" in tm("capture-pane", "-p") or "files" not in tm("capture-pane", "-p"):
        time.sleep(0.05)
    tm("send-keys", "j")
    tm("send-keys", "l")
    time.sleep(0.3)
    lat = []
    for _ in range(keys):
        before = tm("capture-pane", "-p")
        t = clk()
        tm("send-keys", "j")
        while tm("capture-pane", "-p") == before:
            pass
        lat.append(clk() - t)
    lat.sort()
    out.append((f"key → screen changed, ↓ ×{keys} (tmux) median / p99",
                f"{statistics.median(lat) * 1e3:.2f} ms / {lat[int(len(lat) * 0.99) - 1] * 1e3:.2f} ms"))
    # The same loop with nothing to wait for: what tmux itself costs.
    base = []
    for _ in range(50):
        t = clk()
        tm("send-keys", "")
        tm("capture-pane", "-p")
        base.append(clk() - t)
    out.append(("tmux send-keys + one capture-pane alone (overhead) median", f"{statistics.median(base) * 1e3:.2f} ms"))
    tm("send-keys", "q")
    tm("kill-server")
    return out


if __name__ == "__main__":
    main()
