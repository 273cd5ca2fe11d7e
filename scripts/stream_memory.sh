#!/bin/sh
# Build csvnn in release mode, train a small model on data/default.train.csv, generate a
# CSV of ROWS rows (default 1,000,000) and pipe it through `csvnn predict --data -`.
# Prints the peak resident memory of predict (GNU time, Debian package `time`) beside the
# input and output sizes, and checks that one prediction came out per input row.
#
#   scripts/stream_memory.sh [ROWS] [extra predict flags...]
set -eu
cd "$(dirname "$0")/.."
rows=${1:-1000000}
[ $# -gt 0 ] && shift
if [ ! -x /usr/bin/time ]; then
    echo "stream_memory.sh: needs GNU time at /usr/bin/time (apt-get install -y time)" >&2
    exit 1
fi
cargo build --release --quiet
bin=target/release/csvnn
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" --quiet train --data data/default.train.csv --target default --epochs 5 -o "$work/model.json"

# ROWS rows cycled from the test file, with an id column so every row differs.
awk -v rows="$rows" -F, 'NR == 1 { header = "id," $0; next } { line[n++] = $0 }
    END { print header; for (i = 0; i < rows; i++) print i "," line[i % n] }' \
    data/default.test.csv > "$work/input.csv"
input_mb=$(du -m "$work/input.csv" | cut -f1)

# The input is piped (not a file argument), the output goes through a pipe to wc.
/usr/bin/time -v -o "$work/time.txt" \
    sh -c "cat '$work/input.csv' | '$bin' --quiet predict --model '$work/model.json' --data - --keep id --proba $* | wc -lc > '$work/count.txt'" \
    2> "$work/stderr.txt" || { cat "$work/stderr.txt" >&2; exit 1; }
# /usr/bin/time measures the shell: its children's peak is the largest of cat, csvnn and
# wc, which is csvnn's. Measure csvnn alone as well, reading the file through stdin.
/usr/bin/time -v -o "$work/time_predict.txt" \
    "$bin" --quiet predict --model "$work/model.json" --data - --keep id --proba "$@" \
    < "$work/input.csv" > /dev/null

lines=$(awk '{print $1}' "$work/count.txt")
bytes=$(awk '{print $2}' "$work/count.txt")
peak_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time_predict.txt")
pipe_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
elapsed=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time_predict.txt")
echo "rows in:            $rows ($input_mb MB of CSV)"
echo "lines out:          $lines ($((bytes / 1048576)) MB), header included"
echo "peak RSS, predict:  $peak_kb kB ($((peak_kb / 1024)) MB), wall $elapsed"
echo "peak RSS, pipeline: $pipe_kb kB (largest process of cat | csvnn | wc)"
if [ "$lines" -ne $((rows + 1)) ]; then
    echo "stream_memory.sh: expected $((rows + 1)) output lines, got $lines" >&2
    exit 1
fi
