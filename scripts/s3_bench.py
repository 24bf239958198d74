#!/usr/bin/env python3
"""The S3 store's transfers beside curl, same run, same s3s-fs:

  filedeck put / get of one 1 GiB file through `filedeck serve --store s3://…` (the large
  flow: upload-url → PUT straight to the bucket → confirm; the download a presigned GET of
  the bucket, verified) against curl doing the same presigned requests (curl for every step
  of the flow, and curl -o for the GET).

    python3 scripts/s3_bench.py [--size-mib 1024] [--runs 3]

Needs curl and s3s-fs (`cargo install s3s-fs@0.14.1 --features binary --locked`). Prints a
table; asserts nothing but that the bytes arrived whole.
"""
import argparse, hashlib, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "filedeck")
KEY = "bench-key-0123456789"
AK, SK = "bench-access", "bench-secret-0123456789"
WS = "ws_bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=10):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"nothing listens on {port}")


def timed(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bins"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="filedeck-s3-bench-", dir=os.environ.get("BENCH_DIR"))
    procs = []
    try:
        root = os.path.join(tmp, "s3")
        os.makedirs(os.path.join(root, "bench"))
        s3_port = free_port()
        procs.append(subprocess.Popen(
            [shutil.which("s3s-fs") or os.path.expanduser("~/.cargo/bin/s3s-fs"),
             "--host", "127.0.0.1", "--port", str(s3_port), "--access-key", AK, "--secret-key", SK, root],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(s3_port)
        api_port = free_port()
        env = dict(os.environ, FILEDECK_SERVER_KEY=KEY, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)
        procs.append(subprocess.Popen(
            [BIN, "serve", "--data", os.path.join(tmp, "index"), "--listen", f"127.0.0.1:{api_port}",
             "--store", "s3://bench", "--s3-endpoint", f"http://127.0.0.1:{s3_port}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(api_port)
        api = f"http://127.0.0.1:{api_port}"
        client_env = dict(os.environ, FILEDECK_ENDPOINT=api, FILEDECK_API_KEY=KEY,
                          FILEDECK_CONFIG=os.path.join(tmp, "none.toml"), NO_PROXY="127.0.0.1")
        size = a.size_mib << 20
        src = os.path.join(tmp, "big.bin")
        with open(src, "wb") as f:
            for _ in range(a.size_mib):
                f.write(os.urandom(1 << 20))
        want = sha256(src)
        auth = ["-H", f"Authorization: Bearer {KEY}"]
        rows = {"filedeck put": [], "curl put (upload-url, PUT, confirm)": [],
                "filedeck get (verified)": [], "curl get (download URL, GET)": [],
                "curl get + md5sum + sync": []}
        for run in range(a.runs):
            def filedeck_put():
                # The whole large flow, with its own checks.
                rows["filedeck put"].append(timed(
                    [BIN, "put", "-w", WS, "--on-conflict", "overwrite", src], client_env))

            def curl_put():
                # curl: the same three requests.
                t = time.perf_counter()
                step1 = json.loads(subprocess.run(
                    ["curl", "-sS", "--fail", *auth, "-H", "Content-Type: application/json", "-d",
                     json.dumps({"workspace_id": WS, "filename": f"curl{run}.bin",
                                 "content_type": "application/octet-stream", "size": size}),
                     f"{api}/v1/files/upload-url"], check=True, capture_output=True).stdout)
                subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-T", src, "-H",
                                "Content-Type: application/octet-stream", step1["uploadUrl"]], check=True)
                subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", *auth, "-H",
                                "Content-Type: application/json", "-d",
                                json.dumps({"workspace_id": WS, "file_key": step1["fileKey"],
                                            "filename": f"curl{run}.bin", "size": size}),
                                f"{api}/v1/files/upload-confirm"], check=True)
                rows["curl put (upload-url, PUT, confirm)"].append(time.perf_counter() - t)

            # Alternate which goes first: the disk's writeback of one run's bytes lands on
            # whichever runs next.
            for put in ((filedeck_put, curl_put) if run % 2 == 0 else (curl_put, filedeck_put)):
                put()
            out = os.path.join(tmp, f"got{run}")
            os.makedirs(out)
            rows["filedeck get (verified)"].append(timed(
                [BIN, "get", "-w", WS, "big.bin", "--to", out], client_env))
            got = os.path.join(out, "big.bin")
            assert sha256(got) == want, "filedeck's download differs"
            os.remove(got)
            t = time.perf_counter()
            url = json.loads(subprocess.run(
                ["curl", "-sS", "--fail", *auth,
                 f"{api}/v1/files/download?workspace_id={WS}&key=curl{run}.bin"],
                check=True, capture_output=True).stdout)["url"]
            subprocess.run(["curl", "-sS", "--fail", "-o", os.path.join(out, "curl.bin"), url], check=True)
            rows["curl get (download URL, GET)"].append(time.perf_counter() - t)
            # The same checks as filedeck's, one after the other: the MD5 the bucket's ETag
            # stands for, and the file made durable before it is called done.
            t = time.perf_counter()
            subprocess.run(["curl", "-sS", "--fail", "-o", os.path.join(out, "curl.bin"), url], check=True)
            subprocess.run(["md5sum", os.path.join(out, "curl.bin")], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["sync", os.path.join(out, "curl.bin")], check=True)
            rows["curl get + md5sum + sync"].append(time.perf_counter() - t)
            os.remove(os.path.join(out, "curl.bin"))
        print(f"| {a.size_mib} MiB, {a.runs} runs | median s | MB/s | runs (s) |")
        print("|---|---:|---:|---|")
        med = {}
        for what, times in rows.items():
            med[what] = statistics.median(times)
            print(f"| {what} | {med[what]:.2f} | {size / med[what] / 1e6:.0f} | "
                  + " ".join(f"{t:.2f}" for t in times) + " |")
        up = med["curl put (upload-url, PUT, confirm)"] / med["filedeck put"]
        down = med["curl get (download URL, GET)"] / med["filedeck get (verified)"]
        checked = med["curl get + md5sum + sync"] / med["filedeck get (verified)"]
        print(f"\nthroughput ratio filedeck / curl: put {up:.2f}, get {down:.2f} (target ≥ 0.9); "
              f"get against curl + md5sum + sync: {checked:.2f}")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
