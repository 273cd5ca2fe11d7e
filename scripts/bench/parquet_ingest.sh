#!/bin/bash
# CSV against Parquet ingest: the median of 3 wall times of `csvnn preprocess` on the same
# table in both formats, with --threads 1 and the default thread count.
# Usage: scripts/bench/parquet_ingest.sh DIR   (DIR holds the files below; see
# docs/data-formats.md for how they were made). Needs a release build.
set -euo pipefail
B="$(cd "$(dirname "$0")/../.." && pwd)/target/release/csvnn"
cd "$1"
run() { # file target threads-flag
  local ts=()
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N)
    "$B" --quiet $3 preprocess --data "$1" --target "$2" > /dev/null 2>&1
    e=$(date +%s.%N)
    ts+=("$(echo "$e - $s" | bc)")
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n 2p
}
for set in "flights.csv arr_delay" "flights.parquet arr_delay" "w1.train.csv label" "w1.parquet label"; do
  set -- $set
  echo "$1 threads1=$(run "$1" "$2" '--threads 1') default=$(run "$1" "$2" '')"
done
