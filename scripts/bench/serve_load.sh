#!/usr/bin/env bash
# Load test of `csvnn serve` (docs/serve.md): the server pinned to core 0 (`--threads 1`),
# wrk pinned to core 1, 64 connections for 60 s, once with one-row and once with
# 100-row CSV bodies. Needs a release build (`cargo build --release`) and wrk
# (`apt-get install wrk`).
#
#   scripts/bench/serve_load.sh [DURATION] [CONNECTIONS]     # defaults: 60s 64
#
# ROWS="1" runs only the one-row bodies (default "1 100"); CSVNN=BINARY tests another
# build; SERVER_NICE=-10 runs the server at that nice level (root only below 0). Each run also prints the load average and the CPU time the server and wrk took
# per request (user + system, from /proc; wrk's share of its core) and how long the
# server waited for its core while other tasks ran (/proc/PID/schedstat), to tell a busy server from a busy generator.
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

taskset -c 0 nice -n "${SERVER_NICE:-0}" "$bin" --quiet --threads 1 serve --model "$work/model.json" --port "$port" &
server=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

echo "csvnn $("$bin" --version | cut -d' ' -f2), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Nanoseconds the server was ready to run but waited for core 0 (other tasks ran), and
# the times it was put off the core against its will.
waited_ns() { awk '{print $2}' "/proc/$1/schedstat"; }
preempted() { awk '/^nonvoluntary_ctxt_switches/ {print $2}' "/proc/$1/status"; }
for rows in ${ROWS:-1 100}; do
  echo
  echo "== $rows-row bodies: $connections connections, $duration, wrk on core 1, server on core 0"
  before=$(cpu_ticks "$server") waited=$(waited_ns "$server") switches=$(preempted "$server")
  BODY="$work/rows$rows.csv" /usr/bin/time -o "$work/wrk_cpu" -f "%e %U %S" \
    taskset -c 1 wrk -t1 -c"$connections" -d"$duration" --latency \
    -s "$root/scripts/bench/serve_post.lua" "http://127.0.0.1:$port/predict" | tee "$work/wrk$rows.txt"
  after=$(cpu_ticks "$server")
  waited=$(( ($(waited_ns "$server") - waited) / 1000000 )) switches=$(( $(preempted "$server") - switches ))
  requests=$(sed -n 's/^requests \([0-9]*\) in .*/\1/p' "$work/wrk$rows.txt")
  rps=$(sed -n 's/^requests [0-9]* in [0-9.]* s: \([0-9]*\) requests\/s$/\1/p' "$work/wrk$rows.txt")
  echo "rows/s: $((rps * rows))"
  read -r wall user system < "$work/wrk_cpu"
  echo "wrk busy: $(awk -v w="$wall" -v u="$user" -v s="$system" 'BEGIN { printf "%.0f", 100 * (u + s) / w }') % of its core"
  tick=$(getconf CLK_TCK)
  echo "server waited for its core: $waited ms in all, put off it $switches times ($(awk -v w="$waited" -v n="$switches" 'BEGIN { printf "%.2f", n ? w / n : 0 }') ms each on average)"
  echo "server CPU per request: $(( (after - before) * 1000000 / tick / (requests > 0 ? requests : 1) )) us; load average $(cut -d' ' -f1-3 /proc/loadavg)"
done
