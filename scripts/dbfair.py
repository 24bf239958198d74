#!/usr/bin/env python3
"""Latency of a cheap list (limit=1) while other clients flood long lists (limit=10000).

Usage: dbfair.py PORT [FILES] [FLOODERS] [SECONDS] against `filedeck serve` whose keys give
TOKEN (below) every scope on ws-a and ws-b. Seeds ws-b with FILES small files first."""
import sys, threading, time, urllib.request, uuid

port = int(sys.argv[1]); files = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
flooders = int(sys.argv[3]) if len(sys.argv) > 3 else 16
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 10
TOKEN = "admin-token-0123456789"
base = f"http://127.0.0.1:{port}/v1/files"
auth = {"Authorization": f"Bearer {TOKEN}"}

def get(url):
    return urllib.request.urlopen(urllib.request.Request(url, headers=auth), timeout=120).read()

def upload(i):
    b = uuid.uuid4().hex
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"workspace_id\"\r\n\r\nws-b\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f{i:06}\"\r\n"
            f"Content-Type: text/plain\r\n\r\nx\r\n--{b}--\r\n").encode()
    h = dict(auth, **{"Content-Type": f"multipart/form-data; boundary={b}"})
    urllib.request.urlopen(urllib.request.Request(base + "/upload", data=body, headers=h), timeout=60).read()

def seed(lo, hi):
    for i in range(lo, hi):
        upload(i)

step = max(1, files // 8)
ts = [threading.Thread(target=seed, args=(lo, min(lo + step, files))) for lo in range(0, files, step)]
[t.start() for t in ts]; [t.join() for t in ts]
print("seeded", files, "files in ws-b"); sys.stdout.flush()

stop = time.time() + seconds
floods = [0]
def flood():
    while time.time() < stop:
        get(base + "?workspace_id=ws-b&limit=10000"); floods[0] += 1
ts = [threading.Thread(target=flood) for _ in range(flooders)]
[t.start() for t in ts]
lat = []
while time.time() < stop:
    t = time.time(); get(base + "?workspace_id=ws-a&limit=1"); lat.append(time.time() - t)
    time.sleep(0.1)
[t.join() for t in ts]
lat.sort()
print(f"{floods[0]} long lists by {flooders} clients; cheap list over {len(lat)} tries: "
      f"median {lat[len(lat)//2]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
