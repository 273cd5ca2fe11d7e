#!/bin/bash
# The basicmotions transformer (--attention 4:32:1 --pool mean, batch 32, 20 epochs by
# default) against PyTorch's (scripts/bench/seq_peers.py), interleaved: per round, csvnn
# then PyTorch at 1 thread, then both at 2. Prints: round threads csvnn S torch S ratio
# (csvnn's median s/epoch from its epoch log; PyTorch's from seq_peers.py).
# Usage: [BIN=target/release/csvnn] [ROUNDS=5] [EPOCHS=20] scripts/bench/transformer_pair.sh
set -eu
cd "$(dirname "$0")/../.."
BIN=${BIN:-target/release/csvnn}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
DATA=../shared/data
for round in $(seq ${ROUNDS:-5}); do for threads in 1 2; do
  "$BIN" -q --threads $threads train -o $OUT/m.json --log $OUT/log.csv --validation-split 0 --batch-size 32 --lr 0.001 --hidden none --seed 0 --data $DATA/basicmotions.train.csv --target label --sequence-shape 100x6 --epochs ${EPOCHS:-20} --attention 4:32:1 --pool mean
  c=$(python3 -c 'import csv,statistics,sys; print(statistics.median(float(r["seconds"]) for r in csv.DictReader(open(sys.argv[1]))))' $OUT/log.csv)
  t=$(python3 scripts/bench/seq_peers.py --threads $threads --dataset basicmotions --model transformer --epochs ${EPOCHS:-20} | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds_per_epoch"])')
  echo "$round $threads csvnn $c torch $t ratio $(python3 -c "print(round($c/$t,3))")"
done; done
