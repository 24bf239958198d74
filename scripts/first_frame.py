#!/usr/bin/env python3
"""Launch → first frame of the browser through tmux, against `cat` in the same terminal.

    python3 scripts/first_frame.py [--bin target/release/filedeck] [--runs 5] [--closed-port]
                                   [--profile]

One tmux pane (120×40, a private tmux server). Each run respawns the pane with the command
and polls `tmux capture-pane` until the command's text is on screen: `cat FILE -` (a small
file, then it reads the terminal, so it stays), then `filedeck --endpoint URL -w ws_x` (its
first frame shows "Workspaces"), interleaved, `--runs` times each. The endpoint is a
`filedeck serve` on loopback, or with --closed-port a port nobody listens on (the first
frame must not wait for the network either way). Prints a table of the medians and the
difference; asserts nothing. With --profile, a third launch per run takes the endpoint, its
key (from a key file, mode 0600) and the workspace from a profile of a config file instead
of flags (`filedeck --profile bench`): what reading and checking the config costs; the
exported FILEDECK_API_KEY stays set, and must not be what goes to the profile's endpoint.
Build the binary first (`cargo build --release`); the polling costs a tmux client per look,
the same for all.
"""
import argparse, json, os, shutil, signal, statistics, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "first-frame-key"
CAT_TEXT = "first-frame marker: cat's text is on screen"


def clk():
    return time.perf_counter()


class Tmux:
    def __init__(self, tmp):
        self.sock = f"fdfirst{os.getpid()}"
        self.run("new-session", "-d", "-s", "ff", "-x", "120", "-y", "40", "sleep 100000")
        self.run("set-option", "-t", "ff", "remain-on-exit", "on")

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True).stdout

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "ff")

    def launch(self, command, marker, timeout=10):
        """Respawn the pane with `command`; seconds until `marker` is on screen."""
        # A blank pane first, so the marker seen is the new command's.
        self.run("respawn-pane", "-k", "-t", "ff", "printf '\\033[2J\\033[H'; exec sleep 100000")
        deadline = clk() + timeout
        while marker in self.screen():
            if clk() > deadline:
                sys.exit(f"the pane did not clear:\n{self.screen()}")
        time.sleep(0.2)  # the previous process (killed by the respawn) is gone
        t0 = clk()
        self.run("respawn-pane", "-k", "-t", "ff", command)
        deadline = t0 + timeout
        while marker not in self.screen():
            if clk() > deadline:
                sys.exit(f"timed out waiting for {marker!r}:\n{self.screen()}")
        return clk() - t0

    def close(self):
        self.run("kill-server")


def start_server(binary, data):
    env = dict(os.environ, FILEDECK_SERVER_KEY=KEY)
    p = subprocess.Popen([binary, "serve", "--data", data, "--listen", "127.0.0.1:0"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         start_new_session=True)
    line = p.stdout.readline().strip()
    if not line.startswith("listening on "):
        sys.exit(f"the server did not start: {line!r}")
    return p, line.removeprefix("listening on ")


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "filedeck"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--closed-port", action="store_true")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    if not os.access(a.bin, os.X_OK):
        sys.exit(f"no binary at {a.bin}: cargo build --release")
    if not shutil.which("tmux"):
        sys.exit("needs tmux")
    tmp = tempfile.mkdtemp(prefix="filedeck-first-frame-")
    srv = None
    tm = None
    try:
        if a.closed_port:
            url = f"http://127.0.0.1:{closed_port()}"
        else:
            srv, url = start_server(a.bin, os.path.join(tmp, "data"))
        text = os.path.join(tmp, "text.txt")
        with open(text, "w") as f:
            f.write(CAT_TEXT + "\n")
        config_home = os.path.join(tmp, "config")
        if a.profile:
            os.makedirs(os.path.join(config_home, "filedeck"))
            key_file = os.path.join(config_home, "filedeck", "bench.key")
            with open(os.open(key_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(KEY + "\n")
            with open(os.path.join(config_home, "filedeck", "config.toml"), "w") as f:
                # json.dumps: a TOML basic string, whatever the temp path holds.
                f.write(f'default_profile = "bench"\n\n[profiles.bench]\n'
                        f'endpoint = {json.dumps(url)}\napi_key_file = {json.dumps(key_file)}\n'
                        f'workspaces = ["ws_x"]\n')
        tm = Tmux(tmp)
        cats, decks, profiled = [], [], []
        for i in range(a.runs):
            # Both through `env`, with the same variables: only the program differs.
            state = os.path.join(tmp, f"state{i}")
            env = (f"env TERM=tmux-256color FILEDECK_API_KEY={KEY} XDG_STATE_HOME={state} "
                   f"XDG_CONFIG_HOME={config_home}")
            # `-`: cat then reads the terminal, so it stays (tmux may drop the output of a
            # process that exits at once).
            cats.append(tm.launch(f"{env} cat {text} -", CAT_TEXT))
            decks.append(tm.launch(f"{env} {a.bin} --endpoint {url} -w ws_x", "Workspaces"))
            if a.profile:
                profiled.append(tm.launch(f"{env} {a.bin} --profile bench", "Workspaces"))
        tm.run("respawn-pane", "-k", "-t", "ff", "sleep 1")
    finally:
        if tm:
            tm.close()
        if srv:
            srv.send_signal(signal.SIGTERM)
            srv.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    ms = lambda xs: " ".join(f"{x * 1e3:.1f}" for x in xs)
    cat_m, deck_m = statistics.median(cats), statistics.median(decks)
    where = "a closed port" if a.closed_port else "a running `filedeck serve`"
    print(f"\n## launch → first frame through tmux, {a.runs} interleaved runs, against {where}\n")
    print(f"binary: {a.bin}\n")
    print("| launch | runs (ms) | median |")
    print("|---|---|---|")
    print(f"| cat a file | {ms(cats)} | {cat_m * 1e3:.1f} ms |")
    print(f"| filedeck | {ms(decks)} | {deck_m * 1e3:.1f} ms |")
    print(f"| filedeck − cat | | **{(deck_m - cat_m) * 1e3:+.1f} ms** |")
    if profiled:
        prof_m = statistics.median(profiled)
        print(f"| filedeck --profile | {ms(profiled)} | {prof_m * 1e3:.1f} ms |")
        print(f"| filedeck --profile − cat | | **{(prof_m - cat_m) * 1e3:+.1f} ms** |")


if __name__ == "__main__":
    main()
