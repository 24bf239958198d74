#!/usr/bin/env bash
# Fails when a file in src/ is longer than 500 lines: a file that long holds more than one
# responsibility. One exception may be named here, with its reason in its opening comment.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=500
EXCEPTION="${FILE_SIZE_EXCEPTION:-}"
over=0
while IFS= read -r f; do
  n=$(wc -l < "$f")
  if [ "$n" -gt "$LIMIT" ] && [ "$f" != "$EXCEPTION" ]; then
    echo "$f: $n lines (limit $LIMIT)"
    over=1
  fi
done < <(find src -name '*.rs' | sort)
if [ "$over" -eq 0 ]; then
  echo "every file in src/ is at most $LIMIT lines$([ -n "$EXCEPTION" ] && echo " (exception: $EXCEPTION)")"
fi
exit "$over"
