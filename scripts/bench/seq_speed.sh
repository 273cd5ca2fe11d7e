#!/bin/sh
# Seconds per epoch of csvnn against PyTorch (scripts/bench/seq_peers.py) on the README's
# sequence recipe: GRU(64) and one transformer block (4 heads, width 32) on basicmotions
# and japanesevowels, the bag and the token GRU on tweets; the same threads for both
# (1, then 2), interleaved: every round runs each tool once per case. Prints one line per
# run: round case threads tool seconds_per_epoch (median over the run's epochs).
# Usage: scripts/bench/seq_speed.sh [ROUNDS]   (needs target/release/csvnn and torch)
set -eu
ROUNDS=${1:-3}
BIN=${BIN:-target/release/csvnn}
DATA=${DATA:-../shared/data}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
RECIPE="--validation-split 0 --batch-size 32 --lr 0.001 --hidden none --seed 0"

csvnn_epoch() { # threads flags... -> median seconds per epoch from the log
    threads=$1
    shift
    "$BIN" -q --threads "$threads" train -o "$OUT/m.json" --log "$OUT/log.csv" "$@"
    python3 -c '
import csv, statistics, sys
print(statistics.median(float(r["seconds"]) for r in csv.DictReader(open(sys.argv[1]))))' "$OUT/log.csv"
}

torch_epoch() { # threads dataset model epochs
    python3 scripts/bench/seq_peers.py --threads "$1" --dataset "$2" --model "$3" --epochs "$4" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds_per_epoch"])'
}

for round in $(seq 1 "$ROUNDS"); do
    for threads in 1 2; do
        for set_shape in basicmotions:100x6 japanesevowels:25x12; do
            set_name=${set_shape%%:*}
            shape=${set_shape#*:}
            series="--data $DATA/$set_name.train.csv --target label --sequence-shape $shape --epochs 20"
            # shellcheck disable=SC2086
            echo "$round $set_name/gru $threads csvnn $(csvnn_epoch "$threads" $RECIPE $series --rnn gru:64)"
            echo "$round $set_name/gru $threads torch $(torch_epoch "$threads" "$set_name" gru 20)"
            # shellcheck disable=SC2086
            echo "$round $set_name/transformer $threads csvnn $(csvnn_epoch "$threads" $RECIPE $series --attention 4:32:1 --pool mean)"
            echo "$round $set_name/transformer $threads torch $(torch_epoch "$threads" "$set_name" transformer 20)"
        done
        text="--data $DATA/tweets.train.csv --target source --drop created_at,retweet_count,favorite_count --epochs 3"
        # shellcheck disable=SC2086
        echo "$round tweets/bag $threads csvnn $(csvnn_epoch "$threads" $RECIPE $text)"
        echo "$round tweets/bag $threads torch $(torch_epoch "$threads" tweets bag 3)"
        # shellcheck disable=SC2086
        echo "$round tweets/token_gru $threads csvnn $(csvnn_epoch "$threads" $RECIPE $text --text-encoder gru)"
        echo "$round tweets/token_gru $threads torch $(torch_epoch "$threads" tweets token_gru 3)"
    done
done
