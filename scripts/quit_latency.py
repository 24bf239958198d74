#!/usr/bin/env python3
"""How long quitting takes with transfers running (issue 9): `filedeck --demo` in a pty,
8 uploads of 200 MB under way (a folder of 8 sparse files made in a temp dir,
--concurrency 8), then `q`, `y`. From the `y`:

  - restored: the leave-alternate-screen sequence arrives (the user's screen is back);
  - exit:     the process has exited (the shell prints its prompt);
  - dir gone: the demo's data dir (in the run's own TMPDIR) is removed (checked at exit).

5 runs, then the same for two peers, for reference: `cat` in the same pty ended by Ctrl-C
and `sleep` ended by SIGTERM (the time a process with nothing to do takes to go).

    python3 scripts/quit_latency.py [--runs 5] [--size-mb 200] [--bin target/release/filedeck]

Builds the release binary unless --bin is given. Needs `pip install pyte`. Prints a
table; asserts nothing.
"""
import argparse, os, pty, select, signal, statistics, subprocess, sys, tempfile, time

import pyte

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLS, ROWS = 120, 40


def clk():
    return time.perf_counter()


class Term:
    """A program in a pty of 120×40, its screen emulated, its raw bytes kept."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            import fcntl, struct, termios
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execve(argv[0], argv, env)
        self.raw = bytearray()
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.status = None

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        self.raw += data
        self.stream.feed(data)
        return bool(data)

    def text(self):
        return "\n".join(self.screen.display)

    def wait(self, cond, what, timeout=120):
        deadline = clk() + timeout
        while not cond(self.text()):
            if clk() > deadline:
                sys.exit(f"timed out waiting for {what}:\n{self.text()}")
            self.read(0.02)

    def send(self, b):
        os.write(self.fd, b)

    def exited(self):
        if self.status is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = st
        return self.status is not None

    def until_exit(self, since, restored_seq=None, timeout=60):
        """ms from `since` to the restore sequence (if asked) and to the exit."""
        restored = None
        start_len = len(self.raw)
        deadline = clk() + timeout
        while True:
            self.read(0.001)
            if restored_seq and restored is None and restored_seq in self.raw[start_len:]:
                restored = (clk() - since) * 1e3
            if self.exited():
                gone = (clk() - since) * 1e3
                # The last bytes may come after the exit is seen.
                while self.read(0.01):
                    pass
                if restored_seq and restored is None and restored_seq in self.raw[start_len:]:
                    restored = gone
                return restored, gone
            if clk() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                sys.exit(f"did not exit within {timeout}s:\n{self.text()}")

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


def running_count(s):
    for line in s.splitlines():
        if "Transfers:" in line and "running" in line:
            try:
                return int(line.split("Transfers:")[1].split("running")[0].strip().split()[-1])
            except (ValueError, IndexError):
                return None
    return None


def one_quit(binary, src, tmp):
    demo_tmp = tempfile.mkdtemp(dir=tmp, prefix="demo-tmp-")
    env = dict(os.environ, TERM="xterm-256color", TMPDIR=demo_tmp,
               XDG_STATE_HOME=os.path.join(tmp, "state"))
    t = Term([binary, "--demo", "--concurrency", "8"], env)
    try:
        t.wait(lambda s: "ws_genomics" in s and "1,000 files" in s, "the demo's first listing")
        t.send(b"u")
        t.wait(lambda s: "Local file or folder" in s, "the upload prompt")
        t.send(src.encode())
        t.wait(lambda s: os.path.basename(src) in s, "the path typed")
        t.send(b"\r")
        t.wait(lambda s: running_count(s) == 8, "8 uploads running")
        t.send(b"q")
        t.wait(lambda s: "Quit?" in s, "the quit question")
        # How many still run when the answer goes (it must be all 8 for a fair run).
        running = running_count(t.text())
        t0 = clk()
        t.send(b"y")
        restored, gone = t.until_exit(t0, restored_seq=b"\x1b[?1049l")
        left = [d for d in os.listdir(demo_tmp) if d.startswith("filedeck-demo-")]
        code = os.waitstatus_to_exitcode(t.status)
        return restored, gone, running, code, left
    finally:
        t.close()


def peer(argv, end, ready=None):
    t = Term(argv, dict(os.environ, TERM="xterm-256color"))
    try:
        if ready:
            t.wait(ready, "the peer ready", timeout=10)
        else:
            # `sleep` prints nothing: wait until the kernel says it sleeps.
            deadline = clk() + 10
            while clk() < deadline:
                with open(f"/proc/{t.pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "S":
                        break
                time.sleep(0.005)
        t0 = clk()
        end(t)
        _, gone = t.until_exit(t0)
        return gone
    finally:
        t.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--bin", help="the filedeck binary (default: build and use the release one)")
    a = ap.parse_args()
    binary = a.bin
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "filedeck")
    tmp = tempfile.mkdtemp(prefix="filedeck-quit-latency-", dir=os.environ.get("BENCH_DIR"))
    try:
        src = os.path.join(tmp, "big8")
        os.makedirs(src)
        for i in range(8):
            with open(os.path.join(src, f"big{i}.bin"), "wb") as f:
                f.truncate(a.size_mb * 1_000_000)
        rows = []
        for i in range(a.runs):
            rows.append(one_quit(binary, src, tmp))
            r = rows[-1]
            print(f"run {i + 1}: running at y={r[2]}, restored {r[0]:.1f} ms, exit {r[1]:.1f} ms, "
                  f"status {r[3]}, demo dirs left {len(r[4])}", file=sys.stderr)
        cat = [peer(["/bin/cat"], lambda t: t.send(b"\x03"), ready=None) for _ in range(a.runs)]
        slp = [peer(["/bin/sleep", "100"], lambda t: os.kill(t.pid, signal.SIGTERM)) for _ in range(a.runs)]
    finally:
        if os.environ.get("KEEP"):
            print(f"kept {tmp}", file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", tmp])

    def stats(xs):
        xs = [x for x in xs if x is not None]
        return f"{statistics.median(xs):8.1f} {min(xs):8.1f} {max(xs):8.1f}"

    print(f"\nquit with 8 × {a.size_mb} MB uploads running (filedeck --demo, {a.runs} runs), "
          "ms from the answer")
    print(f"{'':44} {'median':>8} {'min':>8} {'max':>8}")
    print(f"{'y → terminal restored (leave alt screen)':44} {stats([r[0] for r in rows])}")
    print(f"{'y → process exited (shell prompt back)':44} {stats([r[1] for r in rows])}")
    print(f"{'peer: cat, Ctrl-C → exited':44} {stats(cat)}")
    print(f"{'peer: sleep, SIGTERM → exited':44} {stats(slp)}")
    print(f"running at the answer: {[r[2] for r in rows]}; exit status: {[r[3] for r in rows]}; "
          f"demo data dirs left: {sum(len(r[4]) for r in rows)}")


if __name__ == "__main__":
    main()
