#!/usr/bin/env bash
# Run the cargo-fuzz targets in fuzz/ for SECONDS each (default 600), then print a table:
# target, seconds run, executions, findings (new files in fuzz/artifacts/TARGET).
#
#     scripts/fuzz.sh [SECONDS] [TARGET...]      # no TARGET: every target
#
# Needs the nightly toolchain and cargo-fuzz. Builds once with debug assertions (so
# arithmetic overflow is a finding) and without a sanitizer: the targets drive safe Rust,
# where AddressSanitizer finds nothing more and costs half the speed. A finding stops that
# target's run; reproduce it with `cargo +nightly fuzz run -O -a -s none TARGET ARTIFACT`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
flags=(-O -a -s none)

cargo +nightly fuzz build "${flags[@]}"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
rows=()
status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  before=$(find "fuzz/artifacts/$t" -type f | wc -l)
  start=$(date +%s)
  # A finding exits non-zero; the table reports it and the script's status says so.
  cargo +nightly fuzz run "${flags[@]}" "$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$logs/$t" 2>&1 || true
  took=$(($(date +%s) - start))
  after=$(find "fuzz/artifacts/$t" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t" | tail -1)
  found=$((after - before))
  if [[ -z $execs ]]; then
    execs="?"
    echo "== $t: no final stats; its log ends:" >&2
    tail -20 "$logs/$t" >&2
    status=1
  fi
  if [[ $found -gt 0 ]]; then
    status=1
    echo "== $t: $found finding(s) in fuzz/artifacts/$t; its log ends:" >&2
    grep -m1 -A15 "panicked\|ERROR: libFuzzer" "$logs/$t" >&2 || tail -20 "$logs/$t" >&2
  fi
  rows+=("$(printf '%-12s %8s %14s %9s' "$t" "$took" "$execs" "$found")")
done

printf '%-12s %8s %14s %9s\n' target seconds executions findings
printf '%s\n' "${rows[@]}"
exit "$status"
