#!/usr/bin/env bash
# A Garage S3 store on 127.0.0.1 to try `filedeck serve --store s3://…` on, one node (`up`) or
# three replicating nodes (`up3`), and `down` to stop it (its data stays).
#
#   scripts/garage.sh up   DIR [PORT_BASE]   # S3 API on PORT_BASE (3900), RPC +1, admin +3
#   scripts/garage.sh up3  DIR [PORT_BASE]   # nodes DIR/n1..n3, each 10 ports above the last
#   scripts/garage.sh down DIR
#
# Secrets (rpc_secret, admin token, the S3 key, filedeck's server key) are kept in files of mode
# 0600 under DIR and never printed nor passed as arguments to a process: `ps` would show them.
# Running `up` again on the same DIR restarts the node(s) and reuses what is already there.
set -euo pipefail

GARAGE=${GARAGE:-garage}
BUCKET=filedeck
KEY_NAME=filedeck-key
REGION=garage
# How long a node may take to answer `garage status` after it was started.
START_DEADLINE_SECS=${START_DEADLINE_SECS:-30}

die() {
    printf 'garage.sh: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

find_garage() {
    if ! command -v "$GARAGE" >/dev/null 2>&1; then
        if [[ -x "$HOME/.cargo/bin/garage" ]]; then
            GARAGE="$HOME/.cargo/bin/garage"
        else
            die "no garage binary (install it: cargo install garage --locked, or set GARAGE=/path)"
        fi
    fi
}

rand_hex() { # bytes
    od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# The garage CLI against one node's config.
g() { # node_dir args...
    local dir=$1
    shift
    "$GARAGE" -c "$dir/garage.toml" "$@"
}

pid_alive() { # pid_file
    local pid
    [[ -f "$1" ]] || return 1
    pid=$(<"$1")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    # A pid file left by a crash may name a pid reused since by another program.
    [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q garage
}

# garage.toml of one node; an existing one is kept, so its secrets and ports stay.
write_config() { # node_dir s3_port replication_factor rpc_secret admin_token
    local dir=$1 s3=$2 rf=$3 secret=$4 token=$5
    local rpc=$((s3 + 1)) admin=$((s3 + 3))
    [[ -f "$dir/garage.toml" ]] && return 0
    mkdir -p "$dir/meta" "$dir/data"
    (
        umask 077
        cat >"$dir/garage.toml" <<EOF
# Written by scripts/garage.sh: a Garage node for trying filedeck, on 127.0.0.1 only.
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = $rf

rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$secret"

[s3_api]
api_bind_addr = "127.0.0.1:$s3"
s3_region = "$REGION"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin"
admin_token = "$token"
EOF
    )
}

s3_port_of() { # node_dir
    sed -n 's/^api_bind_addr = "127\.0\.0\.1:\([0-9]*\)"$/\1/p' "$1/garage.toml" | head -n 1
}

start_node() { # node_dir
    local dir=$1 deadline
    if pid_alive "$dir/garage.pid"; then
        echo "garage already running in $dir (pid $(<"$dir/garage.pid"))"
    else
        # nohup: the node outlives the terminal this script was started from.
        nohup "$GARAGE" -c "$dir/garage.toml" server >>"$dir/garage.log" 2>&1 </dev/null &
        echo $! >"$dir/garage.pid"
    fi
    deadline=$((SECONDS + START_DEADLINE_SECS))
    until g "$dir" status >/dev/null 2>&1; do
        if ! pid_alive "$dir/garage.pid"; then
            # A panic's cause is the line after "panicked at" (a port in use, say), not the backtrace.
            grep -E -A1 'ERROR|panicked at' "$dir/garage.log" | tail -n 6 >&2 || tail -n 20 "$dir/garage.log" >&2 || true
            die "garage in $dir exited; its log: $dir/garage.log"
        fi
        ((SECONDS < deadline)) || die "garage in $dir not answering after ${START_DEADLINE_SECS}s; log: $dir/garage.log"
        sleep 0.3
    done
}

node_id() { # node_dir  -> full node id (hex, without @addr)
    local id
    id=$(g "$1" node id -q)
    printf '%s\n' "${id%%@*}"
}

layout_version() { # node_dir
    g "$1" layout show | sed -n 's/^Current cluster layout version: \([0-9]*\).*/\1/p'
}

# Give each node a role (zone, capacity) unless the applied layout already has one.
assign_layout() { # first_node_dir "zone:node_dir"...
    local first=$1 staged=0 spec zone dir id version shown
    shift
    for spec in "$@"; do
        zone=${spec%%:*}
        dir=${spec#*:}
        id=$(node_id "$dir")
        # `layout show` lists an assigned node by the first 16 hex digits of its id.
        shown=$(g "$first" layout show)
        if grep -q "^${id:0:16}" <<<"$shown"; then
            continue
        fi
        g "$first" layout assign -z "$zone" -c 1G "$id" >/dev/null
        staged=1
    done
    if ((staged)); then
        version=$(layout_version "$first")
        [[ -n "$version" ]] || die "could not read the layout version from 'garage layout show'"
        g "$first" layout apply --version "$((version + 1))" >/dev/null
    fi
}

# Wait until the cluster can take writes: a new layout is applied asynchronously.
wait_healthy() { # node_dir
    local deadline=$((SECONDS + START_DEADLINE_SECS))
    until g "$1" health -q >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "cluster not healthy after ${START_DEADLINE_SECS}s ('garage -c $1/garage.toml status')"
        sleep 0.3
    done
}

# Bucket, key, and the key's rights on it; then DIR/env (0600) with the credentials.
bucket_and_env() { # node_dir env_file
    local dir=$1 env=$2 ak sk server_key=""
    g "$dir" bucket info "$BUCKET" >/dev/null 2>&1 || g "$dir" bucket create "$BUCKET" >/dev/null
    # `key create` prints the secret: it goes to /dev/null, and is read back by `key info`.
    g "$dir" key info "$KEY_NAME" >/dev/null 2>&1 || g "$dir" key create "$KEY_NAME" >/dev/null
    g "$dir" bucket allow --read --write --owner "$BUCKET" --key "$KEY_NAME" >/dev/null
    ak=$(g "$dir" key info --key-id "$KEY_NAME")
    sk=$(g "$dir" key info --secret-key "$KEY_NAME")
    [[ -n "$ak" && -n "$sk" ]] || die "could not read key $KEY_NAME back from garage"
    # filedeck's own server key is kept across runs, so clients configured with it go on working.
    if [[ -f "$env" ]]; then
        server_key=$(sed -n 's/^export FILEDECK_SERVER_KEY=//p' "$env")
    fi
    [[ -n "$server_key" ]] || server_key=$(rand_hex 24)
    (
        umask 077
        printf 'export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_REGION=%s\nexport FILEDECK_SERVER_KEY=%s\n' \
            "$ak" "$sk" "$REGION" "$server_key" >"$env.tmp"
    )
    mv "$env.tmp" "$env"
    chmod 600 "$env"
}

print_howto() { # dir env_file s3_port...
    local dir=$1 env=$2 n=0 port
    shift 2
    echo
    echo "Garage is up: bucket '$BUCKET', region '$REGION', S3 API at:"
    for port in "$@"; do echo "  http://127.0.0.1:$port"; done
    echo "Credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) and a filedeck"
    echo "server key (FILEDECK_SERVER_KEY) are in $env (mode 0600); none was printed."
    echo
    echo "Run filedeck on it (one server per line; each its own shell, listen port and --data):"
    for port in "$@"; do
        n=$((n + 1))
        echo "  . $env && filedeck serve --store s3://$BUCKET --s3-endpoint http://127.0.0.1:$port --s3-region $REGION --data $dir/filedeck-index-$n --listen 127.0.0.1:$((8079 + n))"
    done
    echo "Browse it:"
    echo "  . $env && FILEDECK_API_KEY=\"\$FILEDECK_SERVER_KEY\" filedeck --endpoint http://127.0.0.1:8080"
    echo "Stop Garage (data kept): $0 down $dir"
}

abs_dir() { # dir
    mkdir -p "$1"
    (cd "$1" && pwd)
}

cmd_up() { # dir [port_base]
    local dir base
    dir=$(abs_dir "$1")
    base=${2:-3900}
    [[ "$base" =~ ^[0-9]+$ ]] || die "PORT_BASE must be a number"
    find_garage
    write_config "$dir" "$base" 1 "$(rand_hex 32)" "$(rand_hex 32)"
    start_node "$dir"
    assign_layout "$dir" "dc1:$dir"
    wait_healthy "$dir"
    bucket_and_env "$dir" "$dir/env"
    print_howto "$dir" "$dir/env" "$(s3_port_of "$dir")"
}

cmd_up3() { # dir [port_base]
    local dir base secret i node first id addr ports=()
    dir=$(abs_dir "$1")
    base=${2:-3900}
    [[ "$base" =~ ^[0-9]+$ ]] || die "PORT_BASE must be a number"
    find_garage
    # One rpc_secret for the cluster (nodes refuse peers without it); an existing one is kept.
    secret=$(sed -n 's/^rpc_secret = "\(.*\)"$/\1/p' "$dir/n1/garage.toml" 2>/dev/null || true)
    [[ -n "$secret" ]] || secret=$(rand_hex 32)
    for i in 1 2 3; do
        write_config "$dir/n$i" "$((base + 10 * (i - 1)))" 3 "$secret" "$(rand_hex 32)"
        start_node "$dir/n$i"
        ports+=("$(s3_port_of "$dir/n$i")")
    done
    first=$dir/n1
    # Introduce n2 and n3 to n1; each then learns of the other through it.
    for i in 2 3; do
        node=$dir/n$i
        id=$(node_id "$node")
        addr=$(sed -n 's/^rpc_public_addr = "\(.*\)"$/\1/p' "$node/garage.toml")
        g "$first" node connect "$id@$addr" >/dev/null
    done
    assign_layout "$first" "dc1:$dir/n1" "dc2:$dir/n2" "dc3:$dir/n3"
    wait_healthy "$first"
    bucket_and_env "$first" "$dir/env"
    print_howto "$dir" "$dir/env" "${ports[@]}"
}

cmd_down() { # dir
    local dir=$1 node pid deadline dirs=() pids=() i
    [[ -d "$dir" ]] || die "no such directory: $dir"
    for node in "$dir" "$dir"/n1 "$dir"/n2 "$dir"/n3; do
        [[ -f "$node/garage.toml" ]] || continue
        if pid_alive "$node/garage.pid"; then
            dirs+=("$node")
            pids+=("$(<"$node/garage.pid")")
        else
            rm -f "$node/garage.pid"
        fi
    done
    if ((${#pids[@]} == 0)); then
        echo "no garage running in $dir"
        return 0
    fi
    # All nodes at once: each takes about 2 s to shut down.
    kill -TERM "${pids[@]}"
    deadline=$((SECONDS + 15))
    for i in "${!pids[@]}"; do
        pid=${pids[$i]}
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                echo "garage (pid $pid) still running after SIGTERM; sending SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
        done
        rm -f "${dirs[$i]}/garage.pid"
        echo "stopped garage in ${dirs[$i]} (pid $pid); data kept"
    done
}

main() {
    (($# >= 2)) || usage
    case $1 in
    up) cmd_up "$2" "${3:-}" ;;
    up3) cmd_up3 "$2" "${3:-}" ;;
    down) cmd_down "$2" ;;
    *) usage ;;
    esac
}

main "$@"
