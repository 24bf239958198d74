#!/usr/bin/env bash
# Regenerate screenshots/*.svg from the real binary running the demo in a pty.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin filedeck --example screenshots
./target/release/examples/screenshots ./target/release/filedeck
