#!/bin/sh
# CNN against MLP through the csvnn command line on the Fashion-MNIST subsample made by
# scripts/fashion_mnist.py, at similar training-time budgets. Prints test accuracy and
# training seconds. Usage: scripts/fashion_cli.sh [DIR] (default data/large/fashion_mnist)
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-data/large/fashion_mnist}
cargo build --release --quiet
BIN=target/release/csvnn
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
run() {
    name=$1; shift
    start=$(date +%s.%N)
    "$BIN" --quiet train --data "$DIR/train.csv" --target label --validation-split 0 --patience 0 -o "$TMP/$name.json" "$@"
    end=$(date +%s.%N)
    acc=$("$BIN" --quiet evaluate --model "$TMP/$name.json" --data "$DIR/test.csv" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])')
    printf '%-60s accuracy %.4f  train %.1f s\n' "$name $*" "$acc" "$(echo "$end - $start" | bc)"
}
# Two budgets: about 7 s and about 18 s of training on this 2-core machine.
run mlp --hidden 128 --epochs 100
run cnn --image-shape 28x28x1 --conv 16:3,32:3 --hidden 64 --epochs 4
run mlp --hidden 128 --epochs 270
run cnn --image-shape 28x28x1 --conv 16:3,32:3 --hidden 64 --epochs 10
