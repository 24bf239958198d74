#!/usr/bin/env python3
"""The bandwidth cap's accuracy: a release `filedeck serve` on loopback, a 200 MiB file put
uncapped, then `filedeck get` of it with FILEDECK_LIMIT_RATE=10M (the env layer of
--limit-rate) and `curl --limit-rate 10M` of the same file in the same run.

Prints the average rate of each, filedeck's error against 10 MiB/s in %, and the ratio of
the two. Keys answered while capped are NOT measured here (see tui_bench.py).

    cargo build --release && python3 scripts/rate_bench.py [--mib 200] [--rate 10M]
"""
import argparse, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tui_bench import BIN, KEY, start_server  # noqa: E402

MIB = 1024 * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=200)
    ap.add_argument("--rate", default="10M")
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
            subprocess.run([BIN, "get", "-w", "ws_rate", "--to", down, "big.bin"],
                           env=dict(env, FILEDECK_LIMIT_RATE=a.rate), check=True,
                           stdout=subprocess.DEVNULL)
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
        finally:
            srv.terminate()
            srv.wait()
    print(f"filedeck get, FILEDECK_LIMIT_RATE={a.rate}, {a.mib} MiB: {fd / MIB:.2f} MiB/s "
          f"({(fd - want) / want * 100:+.1f} % vs {want / MIB:.0f} MiB/s)")
    print(f"curl --limit-rate {a.rate}, same file: {cu / MIB:.2f} MiB/s "
          f"({(cu - want) / want * 100:+.1f} %); filedeck / curl = {fd / cu:.3f}")


if __name__ == "__main__":
    main()
