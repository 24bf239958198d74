#!/usr/bin/env python3
"""Transfer benchmark: filedeck put/get of a 1 GiB file against `filedeck serve` on
loopback, beside bare curl doing the same requests and curl + sha256sum + sync (what a
careful user runs), in one run. Prints a table of MB/s, ratios and peak RSS; then the
server's peak RSS while it rejects a 525 MB multipart upload streamed to it.

    python3 scripts/bench.py [--size-mib 1024] [--reps 3]

Needs curl, sha256sum and sync on PATH; builds the release binary first.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time, http.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "filedeck")
KEY = "bench-key"
WS = "bench"


def run(cmd, env=None, stdout=subprocess.DEVNULL):
    """Run cmd; return (seconds, peak RSS KiB, stdout bytes)."""
    # /usr/bin/time reports the command's own peak RSS (a child forked from this Python
    # process would inherit Python's high-water mark until exec).
    with tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], env=env,
                             stdout=subprocess.PIPE if stdout is None else stdout)
        out = p.stdout.read() if stdout is None else b""
        status = p.wait()
        dt = time.perf_counter() - t0
        if status != 0:
            sys.exit(f"failed: {' '.join(cmd)}")
        return dt, int(rss.read().split()[-1]), out


def seq(steps):
    """Run commands in order; total time, max RSS, last stdout."""
    total, rss, out = 0.0, 0, b""
    for cmd, capture in steps:
        dt, r, o = run(cmd, stdout=None if capture else subprocess.DEVNULL)
        total += dt
        rss = max(rss, r)
        out = o
    return total, rss, out


def start_server(data, extra_env=None):
    env = dict(os.environ, FILEDECK_SERVER_KEY=KEY, **(extra_env or {}))
    p = subprocess.Popen([BIN, "serve", "--data", data, "--listen", "127.0.0.1:0"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("listening on "):
        sys.exit(f"server did not start: {line!r}")
    return p, line.removeprefix("listening on ")


def curl_json(url, *args):
    return ["curl", "-sS", "--fail-with-body", "-H", f"Authorization: Bearer {KEY}", *args, url]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="filedeck-bench-", dir=os.environ.get("BENCH_DIR"))
    try:
        bench(a, tmp)
        reject_bench(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench(a, tmp):
    size = a.size_mib * 1024 * 1024
    src = os.path.join(tmp, "big.bin")
    with open(src, "wb") as f:
        for _ in range(a.size_mib):
            f.write(os.urandom(1024 * 1024))
    srv, url = start_server(os.path.join(tmp, "data"))
    env = dict(os.environ, FILEDECK_ENDPOINT=url, FILEDECK_API_KEY=KEY,
               XDG_STATE_HOME=os.path.join(tmp, "state"))
    results = {k: [] for k in ["fd_put", "curl_put", "careful_put", "fd_get", "curl_get", "careful_get"]}
    try:
        for rep in range(a.reps):
            name = f"big{rep}.bin"
            link = os.path.join(tmp, name)
            if os.path.exists(link):
                os.remove(link)
            os.link(src, link)
            # filedeck put: verified against the server's sha256 (large flow above 500 MB).
            dt, rss, _ = run([BIN, "put", "-w", WS, link, "--to", "fd/"], env=env)
            results["fd_put"].append((dt, rss))
            # bare curl: the same three requests.
            def curl_upload(folder):
                body = json.dumps({"filename": name, "workspace_id": WS, "content_type": "application/octet-stream",
                                   "size": size, "path": folder})
                t1, r1, out = run(curl_json(f"{url}/v1/files/upload-url", "-X", "POST", "-H",
                                            "Content-Type: application/json", "-d", body), stdout=None)
                info = json.loads(out)
                t2, r2, _ = run(["curl", "-sS", "--fail", "-o", "/dev/null", "-X", "PUT", "-T", link, "-H",
                                 "Content-Type: application/octet-stream", "-H", "Expect:", info["uploadUrl"]])
                conf = json.dumps({"file_key": info["fileKey"], "workspace_id": WS, "filename": name, "size": size})
                t3, r3, out = run(curl_json(f"{url}/v1/files/upload-confirm", "-X", "POST", "-H",
                                            "Content-Type: application/json", "-d", conf), stdout=None)
                return t1 + t2 + t3, max(r1, r2, r3), json.loads(out)
            dt, rss, _ = curl_upload("curl/")
            results["curl_put"].append((dt, rss))
            t0 = time.perf_counter()
            _, rss, entry = curl_upload("careful/")
            _, r2, out = run(["sha256sum", link], stdout=None)
            ok = out.split()[0].decode() == entry["sha256"]
            run(["sync"])
            results["careful_put"].append((time.perf_counter() - t0, max(rss, r2)))
            assert ok, "sha256 mismatch"
            # Downloads.
            dst = os.path.join(tmp, "out")
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(dst)
            dt, rss, _ = run([BIN, "get", "-w", WS, f"fd/{name}", "--to", dst], env=env)
            results["fd_get"].append((dt, rss))
            os.remove(os.path.join(dst, name))
            def curl_download():
                t1, r1, out = run(curl_json(f"{url}/v1/files/download?workspace_id={WS}&key=fd/{name}"), stdout=None)
                t2, r2, _ = run(["curl", "-sS", "--fail", "-o", os.path.join(dst, name), json.loads(out)["url"]])
                return t1 + t2, max(r1, r2)
            dt, rss = curl_download()
            results["curl_get"].append((dt, rss))
            os.remove(os.path.join(dst, name))
            t0 = time.perf_counter()
            _, rss = curl_download()
            _, r2, out = run(["sha256sum", os.path.join(dst, name)], stdout=None)
            run(["sync"])
            results["careful_get"].append((time.perf_counter() - t0, max(rss, r2)))
            os.remove(os.path.join(dst, name))
            for folder in ["fd/", "curl/", "careful/"]:
                run(curl_json(f"{url}/v1/files?workspace_id={WS}&key={folder}{name}", "-X", "DELETE"))
            os.remove(link)
    finally:
        srv.terminate()
        srv.wait()
    mb = size / 1e6
    med = {k: (statistics.median(t for t, _ in v), max(r for _, r in v)) for k, v in results.items()}
    print(f"\n## {a.size_mib} MiB over loopback, median of {a.reps} runs\n")
    print("| direction | tool | MB/s | peak RSS (MiB) | filedeck ÷ this |")
    print("|---|---|---:|---:|---:|")
    for d, fd, peers in [("upload", "fd_put", ["curl_put", "careful_put"]), ("download", "fd_get", ["curl_get", "careful_get"])]:
        fdt, fdr = med[fd]
        print(f"| {d} | filedeck (verified) | {mb / fdt:.0f} | {fdr / 1024:.1f} | 1.00 |")
        for p, label in zip(peers, ["bare curl", "curl + sha256sum + sync"]):
            t, r = med[p]
            print(f"| {d} | {label} | {mb / t:.0f} | {r / 1024:.1f} | {(mb / fdt) / (mb / t):.2f} |")


def reject_bench(tmp):
    """Server peak RSS while a 525 MB multipart body is streamed (chunked) and refused."""
    data = os.path.join(tmp, "data-reject")
    srv, url = start_server(data)
    host, port = url.removeprefix("http://").split(":")
    def hwm():
        with open(f"/proc/{srv.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1])
    before = hwm()
    conn = http.client.HTTPConnection(host, int(port))
    boundary = "benchboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"workspace_id\"\r\n\r\n{WS}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    def body():
        yield head
        chunk = b"\0" * (1 << 20)
        for _ in range(525_000_000 // len(chunk) + 1):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()
    status = None
    try:
        conn.request("POST", "/v1/files/upload", body=body(), encode_chunked=True,
                     headers={"Authorization": f"Bearer {KEY}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        status = conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        status = "connection closed after the refusal"
    after = hwm()
    used = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(data) for f in fs
               if not f.startswith("index.sqlite") and f != "secret.key")
    srv.terminate()
    srv.wait()
    print(f"\n## Server refusing a 525 MB multipart upload (chunked)\n")
    print("| answer | server VmHWM before (MiB) | after (MiB) | blob/tmp bytes kept |")
    print("|---|---:|---:|---:|")
    print(f"| {status} | {before / 1024:.1f} | {after / 1024:.1f} | {used} |")


if __name__ == "__main__":
    main()
