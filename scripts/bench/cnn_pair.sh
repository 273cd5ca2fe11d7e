#!/bin/sh
# Seconds per epoch of csvnn's CNN against PyTorch's (scripts/bench/cnn_peers.py) on a
# Fashion-MNIST subset: --image-shape 28x28x1 --conv 32:3 --hidden 64, batch 32, Adam,
# no validation split. Interleaved: each round runs csvnn then PyTorch at 2 threads, then
# both at 1 thread. Prints one line per round and thread count (csvnn's median s/epoch over
# its epochs, PyTorch's median after a warm-up epoch, the ratio csvnn / PyTorch) and the
# median ratio per thread count. With BASE=path/to/an/older/csvnn, each round also runs
# that binary first (column base_s), for before/after in the same rounds.
# Usage: [BASE=...] [EPOCHS=3] [TORCH_EPOCHS=2] scripts/bench/cnn_pair.sh [ROUNDS] [TRAIN_CSV]
#   (needs target/release/csvnn and torch; TRAIN_CSV from
#    scripts/fashion_mnist.py --train-per-class 400, 4,000 rows)
set -eu
ROUNDS=${1:-5}
DATA=${2:-data/large/fashion_mnist/train.csv}
BIN=${BIN:-target/release/csvnn}
EPOCHS=${EPOCHS:-3}
TORCH_EPOCHS=${TORCH_EPOCHS:-2}
BASE=${BASE:-}
BATCH=${BATCH:-32}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

csvnn_epoch() { # binary threads -> median seconds per epoch from the epoch log
    "$1" -q --threads "$2" train --data "$DATA" --target label --image-shape 28x28x1 \
        --conv 32:3 --hidden 64 --batch-size "$BATCH" --epochs "$EPOCHS" \
        --validation-split 0 --seed 0 -o "$OUT/m.json" --log "$OUT/log.csv" >/dev/null
    python3 -c '
import csv, statistics, sys
print(statistics.median(float(r["seconds"]) for r in csv.DictReader(open(sys.argv[1]))))' "$OUT/log.csv"
}

torch_epoch() { # threads
    python3 scripts/bench/cnn_peers.py --data "$DATA" --threads "$1" --batch-size "$BATCH" \
        --epochs "$TORCH_EPOCHS" | python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds_per_epoch"])'
}

echo "round threads csvnn_s torch_s ratio base_s"
for round in $(seq 1 "$ROUNDS"); do
    for threads in 2 1; do
        b=nan
        if [ -n "$BASE" ]; then b=$(csvnn_epoch "$BASE" "$threads"); fi
        c=$(csvnn_epoch "$BIN" "$threads")
        t=$(torch_epoch "$threads")
        r=$(python3 -c "print(f'{$c / $t:.3f}')")
        printf '%s %s %.4f %.4f %s %s\n' "$round" "$threads" "$c" "$t" "$r" "$b" | tee -a "$OUT/rows"
    done
done
python3 - "$OUT/rows" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for t in ("2", "1"):
    r = [float(x[4]) for x in rows if x[1] == t]
    c = [float(x[2]) for x in rows if x[1] == t]
    p = [float(x[3]) for x in rows if x[1] == t]
    print(f"threads {t}: median csvnn {statistics.median(c):.4f} s, torch {statistics.median(p):.4f} s, "
          f"median ratio {statistics.median(r):.3f}, worst {max(r):.3f}", end="")
    b = [float(x[5]) for x in rows if x[1] == t and x[5] != "nan"]
    print(f", base {statistics.median(b):.4f} s" if b else "")
PY
