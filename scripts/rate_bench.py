#!/usr/bin/env python3
"""The bandwidth cap's accuracy: a release `filedeck serve` on loopback, a 200 MiB file put
uncapped, then `filedeck get --limit-rate 10M` of it and `curl --limit-rate 10M` of the
same file in the same run. Then the browser (in a pty, `--limit-rate 10M`): key press →
frame latency with nothing running, and again while it downloads the file under the cap.

Prints the average rate of each, filedeck's error against 10 MiB/s in %, the ratio of the
two, and the key latencies (median, p95, max); asserts nothing. Needs `pip install pyte`.

    cargo build --release && python3 scripts/rate_bench.py [--mib 200] [--rate 10M]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tui_bench import App, BIN, KEY, clk, start_server  # noqa: E402

SMALL = 12  # small files beside the big one, for the cursor to move over


class CappedApp(App):
    """The benchmark's browser with extra flags."""

    def __init__(self, url, ws, state, flags, cwd):
        import pty
        env = dict(os.environ, FILEDECK_ENDPOINT=url, FILEDECK_API_KEY=KEY, TERM="xterm-256color",
                   XDG_STATE_HOME=state, COLUMNS="120", LINES="40",
                   FILEDECK_CONFIG="/nonexistent/filedeck-bench.toml",
                   FILEDECK_LOG="filedeck=info,filedeck::keys=trace")
        env.pop("FILEDECK_LIMIT_RATE", None)
        self.t0 = clk()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            import fcntl, termios, struct
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.chdir(cwd)  # the download prompt starts here
            os.execve(BIN, [BIN, "--workspace", ws, *flags], env)
        import pyte
        self.out = bytearray()
        self.screen = pyte.Screen(120, 40)
        self.stream = pyte.ByteStream(self.screen)


def key_latencies(app, n):
    """j and k alternately over the small files: the time until the details pane names the
    file the cursor moved to."""
    out = []
    at = 0
    for i in range(n):
        down = i % 2 == 0
        want = f"s{at + 1 if down else at - 1:02d}.txt"
        t = clk()
        os.write(app.fd, b"j" if down else b"k")
        app.wait_screen(lambda s: f"Name      {want}" in s, f"the cursor on {want}", timeout=10)
        out.append(clk() - t)
        at = at + 1 if down else at - 1
    return out


def inside(state):
    """Key read → frame written, in ms, from filedeck's own log: the part of the latency
    that is filedeck's, free of this script's terminal emulation."""
    out = []
    with open(os.path.join(state, "filedeck", "filedeck.log"), errors="replace") as f:
        for line in f:
            if "key drawn" in line and "micros=" in line:
                out.append(int(line.split("micros=")[1].split()[0]) / 1e6)
    return out


def fmt(xs):
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
    return f"median {statistics.median(xs) * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms, max {xs[-1] * 1e3:.2f} ms"

MIB = 1024 * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=200)
    ap.add_argument("--rate", default="10M")
    ap.add_argument("--keys", type=int, default=60)
    a = ap.parse_args()
    want = float(a.rate.rstrip("M")) * MIB
    with tempfile.TemporaryDirectory() as tmp:
        srv, url = start_server(os.path.join(tmp, "data"))
        try:
            env = dict(os.environ, FILEDECK_ENDPOINT=url, FILEDECK_API_KEY=KEY)
            env.pop("FILEDECK_LIMIT_RATE", None)
            src = os.path.join(tmp, "big.bin")
            with open(src, "wb") as f:
                for _ in range(a.mib):
                    f.write(os.urandom(MIB))
            subprocess.run([BIN, "put", "-w", "ws_rate", src], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            size = a.mib * MIB
            # filedeck, capped.
            down = os.path.join(tmp, "down")
            os.mkdir(down)
            t = time.monotonic()
            subprocess.run([BIN, "get", "-w", "ws_rate", "--to", down, "--limit-rate", a.rate,
                            "big.bin"], env=env, check=True, stdout=subprocess.DEVNULL)
            fd = size / (time.monotonic() - t)
            os.remove(os.path.join(down, "big.bin"))
            # curl, capped, same file.
            auth = ["-H", f"Authorization: Bearer {KEY}"]
            t = time.monotonic()
            dl = json.loads(subprocess.run(
                ["curl", "-sS", "--fail", *auth,
                 f"{url}/v1/files/download?workspace_id=ws_rate&key=big.bin"],
                capture_output=True, check=True).stdout)
            subprocess.run(["curl", "-sS", "--fail", "--limit-rate", a.rate, "-o",
                            os.path.join(down, "c.bin"), dl["url"]], check=True)
            cu = size / (time.monotonic() - t)
            os.remove(os.path.join(down, "c.bin"))
            # The browser, capped: keys with nothing running, then during the download.
            for i in range(SMALL):
                p = os.path.join(tmp, f"s{i:02d}.txt")
                with open(p, "w") as f:
                    f.write("x\n")
                subprocess.run([BIN, "put", "-w", "ws_rate", p], env=env, check=True,
                               stdout=subprocess.DEVNULL)
            app = CappedApp(url, "ws_rate", os.path.join(tmp, "state"), ["--limit-rate", a.rate],
                            down)
            try:
                app.wait_screen(lambda s: "s00.txt" in s, "the listing")
                # The cursor to big.bin (first row under the workspace), then start it.
                os.write(app.fd, b"j")
                app.wait_screen(lambda s: "Name      big.bin" in s, "big.bin selected")
                app.drain()
                os.write(app.fd, b"j")
                app.wait_screen(lambda s: "Name      s00.txt" in s, "s00 selected")
                idle = key_latencies(app, a.keys)
                idle_in = inside(os.path.join(tmp, "state"))
                os.write(app.fd, b"k")
                app.wait_screen(lambda s: "Name      big.bin" in s, "big.bin selected")
                os.write(app.fd, b"d")
                app.wait_screen(lambda s: " Download " in s, "the download prompt")
                # The prompt starts in the current directory: `down`.
                os.write(app.fd, b"\r")
                app.wait_screen(lambda s: "big.bin" in s and "cap " in s, "the transfers pane")
                os.write(app.fd, b"j")
                app.wait_screen(lambda s: "Name      s00.txt" in s, "s00 selected")
                capped = key_latencies(app, a.keys)
                capped_in = inside(os.path.join(tmp, "state"))[len(idle_in) + 3:]
                running = not os.path.exists(os.path.join(down, "big.bin"))
            finally:
                os.write(app.fd, b"q")
                time.sleep(0.3)
                os.write(app.fd, b"y")
                try:
                    os.waitpid(app.pid, 0)
                except ChildProcessError:
                    pass
        finally:
            srv.terminate()
            srv.wait()
    print(f"filedeck get --limit-rate {a.rate}, {a.mib} MiB: {fd / MIB:.2f} MiB/s "
          f"({(fd - want) / want * 100:+.1f} % vs {want / MIB:.0f} MiB/s)")
    print(f"curl --limit-rate {a.rate}, same file: {cu / MIB:.2f} MiB/s "
          f"({(cu - want) / want * 100:+.1f} %); filedeck / curl = {fd / cu:.3f}")

    print(f"browser --limit-rate {a.rate}, {a.keys} keys (j/k → the details pane names the file):")
    print(f"  nothing running:               {fmt(idle)}")
    print(f"  downloading {a.mib} MiB capped: {fmt(capped)}"
          f"{'' if running else ' (the download had finished before the last key)'}")
    print("  of which inside filedeck (key read → frame written, its own log):")
    print(f"  nothing running:               {fmt(idle_in[-a.keys:])}")
    print(f"  downloading {a.mib} MiB capped: {fmt(capped_in[-a.keys:])}")


if __name__ == "__main__":
    main()
