#!/bin/sh
# Augmentation on the Fashion-MNIST subsample (scripts/fashion_mnist.py): the same CNN with
# and without image augmentation, same epochs, seeds 0-2. Prints one line per run: setting,
# seed, test accuracy, training seconds. Usage: scripts/fashion_augment.sh [DIR] [EPOCHS]
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-data/large/fashion_mnist}
EPOCHS=${2:-15}
cargo build --release --quiet
BIN=target/release/csvnn
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
run() {
    name=$1; seed=$2; shift 2
    start=$(date +%s.%N)
    "$BIN" --quiet train --data "$DIR/train.csv" --target label --image-shape 28x28x1 \
        --conv 16:3,32:3 --hidden 64 --epochs "$EPOCHS" --validation-split 0 --patience 0 \
        --seed "$seed" -o "$TMP/m.json" "$@"
    end=$(date +%s.%N)
    acc=$("$BIN" --quiet evaluate --model "$TMP/m.json" --data "$DIR/test.csv" --format json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])')
    printf '%-28s seed %s  accuracy %.4f  train %.1f s\n' "$name" "$seed" "$acc" "$(echo "$end - $start" | bc)"
}
for seed in 0 1 2; do
    run none "$seed"
    run shift:2 "$seed" --augment shift:2
    run shift:2,flip "$seed" --augment shift:2,flip
done
