#!/usr/bin/env bash
# Load test of `csvnn serve` (docs/serve.md): the server pinned to core 0 (`--threads 1`),
# wrk pinned to core 1, 64 connections for 60 s, once with one-row and once with
# 100-row CSV bodies. Needs a release build (`cargo build --release`) and wrk
# (`apt-get install wrk`).
#
#   scripts/bench/serve_load.sh [DURATION] [CONNECTIONS]     # defaults: 60s 64
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${CSVNN:-$root/target/release/csvnn}
duration=${1:-60s}
connections=${2:-64}
port=${PORT:-18080}
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" --quiet train --data "$root/data/chile_vote.train.csv" --target vote --epochs 20 \
  --seed 1 -o "$work/model.json"
head -n 2 "$root/data/chile_vote.test.csv" > "$work/rows1.csv"
head -n 101 "$root/data/chile_vote.test.csv" > "$work/rows100.csv"

taskset -c 0 "$bin" --quiet --threads 1 serve --model "$work/model.json" --port "$port" &
server=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

echo "csvnn $("$bin" --version | cut -d' ' -f2), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for rows in 1 100; do
  echo
  echo "== $rows-row bodies: $connections connections, $duration, wrk on core 1, server on core 0"
  BODY="$work/rows$rows.csv" taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency \
    -s "$root/scripts/bench/serve_post.lua" "http://127.0.0.1:$port/predict" | tee "$work/wrk$rows.txt"
  rps=$(sed -n 's/^requests [0-9]* in [0-9.]* s: \([0-9]*\) requests\/s$/\1/p' "$work/wrk$rows.txt")
  echo "rows/s: $((rps * rows))"
done
