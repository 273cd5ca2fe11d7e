#!/bin/sh
# Test accuracy of csvnn on the sequence and text sets of ../shared/data with the README's
# recipe ("Sequence and text datasets"), seeds 0-2, one line per run:
#   dataset model seed accuracy seconds
# Usage: scripts/seq_accuracy.sh [MODEL...]   (default: every model below)
# Models: gru transformer (series), bag token_gru (text, created_at and the counts
# dropped), default (csvnn's own defaults: only --sequence-shape or nothing for text).
# Needs a release build (cargo build --release).
set -eu
BIN=${BIN:-target/release/csvnn}
DATA=${DATA:-../shared/data}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
RECIPE="--validation-split 0 --batch-size 32 --lr 0.001 --hidden none"

shape() {
    case $1 in
        arrowhead) echo 251x1 ;;
        basicmotions) echo 100x6 ;;
        japanesevowels) echo 25x12 ;;
    esac
}

run() { # dataset model seed target flags...
    set_name=$1 model=$2 seed=$3 target=$4
    shift 4
    start=$(date +%s.%N)
    "$BIN" -q train --data "$DATA/$set_name.train.csv" --target "$target" --seed "$seed" \
        -o "$OUT/m.json" "$@"
    end=$(date +%s.%N)
    acc=$("$BIN" evaluate --model "$OUT/m.json" --data "$DATA/$set_name.test.csv" --format json |
        python3 -c 'import json,sys; print(round(json.load(sys.stdin)["accuracy"], 4))')
    echo "$set_name $model $seed $acc $(echo "$end - $start" | bc)"
}

MODELS=${*:-gru transformer bag token_gru default}
for model in $MODELS; do
    for seed in 0 1 2; do
        case $model in
            gru | transformer | default)
                for set_name in arrowhead basicmotions japanesevowels; do
                    case $model in
                        gru) flags="$RECIPE --epochs 100 --rnn gru:64" ;;
                        transformer) flags="$RECIPE --epochs 100 --attention 4:32:1 --pool mean" ;;
                        default) flags="" ;;
                    esac
                    # shellcheck disable=SC2086
                    run "$set_name" "$model" "$seed" label --sequence-shape "$(shape "$set_name")" $flags
                done
                ;;
        esac
        case $model in
            bag | token_gru | default)
                case $model in
                    bag) flags="$RECIPE --epochs 10 --drop created_at,retweet_count,favorite_count" ;;
                    token_gru) flags="$RECIPE --epochs 10 --text-encoder gru --drop created_at,retweet_count,favorite_count" ;;
                    default) flags="" ;;
                esac
                # shellcheck disable=SC2086
                run tweets "$model" "$seed" source $flags
                ;;
        esac
    done
done
