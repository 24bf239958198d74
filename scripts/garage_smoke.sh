#!/usr/bin/env bash
# Checks the Garage recipe end to end, and fails loudly if any step does not hold:
#   scripts/garage_smoke.sh [FILEDECK_BIN] [PORT_BASE]
# A fresh three-node Garage (scripts/garage.sh up3) in a temporary directory; an object PUT
# through node 1 must read back, byte for byte, through nodes 2 and 3. With FILEDECK_BIN, two
# `filedeck serve --store` on nodes 1 and 3: a file uploaded through the first must be listed
# and downloaded, same bytes, through the second. Everything started here is stopped on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
filedeck=${1:-}
# The servers run in other directories: a relative path would name nothing there.
if [[ -n $filedeck && $filedeck != /* ]]; then filedeck=$PWD/$filedeck; fi
base=${2:-3900}
work=$(mktemp -d /tmp/garage-smoke.XXXXXX)
server_pids=()
passed=0

cleanup() {
    local pid
    for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$here/garage.sh" down "$work/g" >/dev/null 2>&1 || true
    # A failure keeps the logs and data to look at.
    if ((passed)); then rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
    printf 'FAIL: %s (files in %s)\n' "$*" "$work" >&2
    exit 1
}

"$here/garage.sh" up3 "$work/g" "$base" >/dev/null
env_file=$work/g/env
ak=$(sed -n 's/^export AWS_ACCESS_KEY_ID=//p' "$env_file")
sk=$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$env_file")
[[ -n "$ak" && -n "$sk" ]] || fail "no credentials in $env_file"

# curl's SigV4 leaves out the payload hash header, which Garage requires.
s3() {
    curl -sS --fail --aws-sigv4 "aws:amz:garage:s3" --user "$ak:$sk" \
        -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

head -c 100000 /dev/urandom >"$work/object.bin"
s3 -T "$work/object.bin" "http://127.0.0.1:$base/filedeck/smoke/object.bin" ||
    fail "PUT through node 1"
for port in $((base + 10)) $((base + 20)); do
    s3 -o "$work/object.$port" "http://127.0.0.1:$port/filedeck/smoke/object.bin" ||
        fail "GET through :$port"
    cmp -s "$work/object.bin" "$work/object.$port" || fail "bytes read through :$port differ"
done
echo "ok: S3 object written through node 1 reads back through nodes 2 and 3"

if [[ -z "$filedeck" ]]; then
    passed=1
    exit 0
fi
[[ -x "$filedeck" ]] || fail "not an executable: $filedeck"

serve() { # garage_s3_port listen_port n
    (
        # shellcheck source=/dev/null
        . "$env_file"
        exec "$filedeck" serve --store s3://filedeck --s3-endpoint "http://127.0.0.1:$1" \
            --s3-region garage --data "$work/index-$3" --listen "127.0.0.1:$2"
    ) >"$work/serve-$3.log" 2>&1 &
    server_pids+=("$!")
}

wait_listening() { # log_file pid
    local deadline=$((SECONDS + 20))
    # -s: the server may not have opened its log yet.
    until grep -qs '^listening on' "$1"; do
        kill -0 "$2" 2>/dev/null || fail "filedeck serve exited; its log: $1"
        ((SECONDS < deadline)) || fail "filedeck serve not listening after 20 s; its log: $1"
        sleep 0.2
    done
}

# Ports 0: each server picks a free port and says which on its "listening on" line.
serve "$base" 0 1
serve $((base + 20)) 0 2
wait_listening "$work/serve-1.log" "${server_pids[0]}"
wait_listening "$work/serve-2.log" "${server_pids[1]}"
url1=$(sed -n 's/^listening on //p' "$work/serve-1.log")
url2=$(sed -n 's/^listening on //p' "$work/serve-2.log")

# shellcheck source=/dev/null
. "$env_file"
export FILEDECK_API_KEY=$FILEDECK_SERVER_KEY
head -c 3000000 /dev/urandom >"$work/upload.bin"
"$filedeck" put --endpoint "$url1" -w ws_smoke --to smoke/ "$work/upload.bin" ||
    fail "filedeck put through $url1"

# The second server learns of the upload from the bucket on its own schedule.
deadline=$((SECONDS + 10))
until "$filedeck" ls --endpoint "$url2" -w ws_smoke smoke/ 2>/dev/null | grep -q 'smoke/upload.bin'; do
    ((SECONDS < deadline)) || fail "upload through $url1 not listed by $url2 after 10 s"
    sleep 0.1
done
mkdir "$work/get"
(cd "$work/get" && "$filedeck" get --endpoint "$url2" -w ws_smoke smoke/upload.bin) ||
    fail "filedeck get through $url2"
got=$(find "$work/get" -type f -name upload.bin | head -n 1)
[[ -n "$got" ]] || fail "filedeck get wrote no upload.bin"
cmp -s "$work/upload.bin" "$got" || fail "bytes downloaded through $url2 differ"
echo "ok: a file put through one filedeck server is listed and read back by another"
passed=1
