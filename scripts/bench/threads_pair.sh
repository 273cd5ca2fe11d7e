#!/bin/bash
# Paired rounds on W1 and W1-wide (scripts/bench/run.py's flags): the default threads,
# then --threads 1. Prints: round workload default S threads1 S ratio (median seconds of
# epochs 2..EPOCHS). W1's data: python3 scripts/bench/gen_w1.py DIR.
# Usage: W1_DIR=DIR [BIN=target/release/csvnn] [ROUNDS=5] [EPOCHS=4] scripts/bench/threads_pair.sh
set -eu
BIN=${BIN:-target/release/csvnn}
ROUNDS=${ROUNDS:-5}; EPOCHS=${EPOCHS:-4}
D=${W1_DIR:-/tmp/w1}; OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() { # hidden batch [threads args...]
  h=$1; b=$2; shift 2
  "$BIN" -q "$@" train --data "$D/w1.train.csv" --target label -o "$OUT/m.json" --log "$OUT/log.csv" \
    --hidden "$h" --activation relu --optimizer adam --lr 0.001 --batch-size "$b" --epochs "$EPOCHS" \
    --validation-split 0 --patience 0 --seed 0 --task classification
  python3 -c 'import csv,statistics,sys; r=[float(x["seconds"]) for x in csv.DictReader(open(sys.argv[1]))][1:]; print(round(statistics.median(r),4))' "$OUT/log.csv"
}
for r in $(seq "$ROUNDS"); do
  for w in "W1 64 32" "W1-wide 256,128 128"; do
    set -- $w
    d=$(run "$2" "$3"); o=$(run "$2" "$3" --threads 1)
    echo "$r $1 default $d threads1 $o ratio $(python3 -c "print(round($d/$o,3))")"
  done
done
