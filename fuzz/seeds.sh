#!/usr/bin/env bash
# Seed corpora for the fuzz targets, written to fuzz/corpus/<target>/ (not committed):
# small models trained by the csvnn binary, and short CSV files (heads of the shipped
# datasets, the data-error fixtures). Run from the repository root:
#   fuzz/seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet < /dev/null
csvnn=target/debug/csvnn
corpus=fuzz/corpus
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$corpus"/{model_load_predict,stream_predict,read_fit_transform}

train() { # out, then train flags: one epoch, tiny layers, so each model is a few KB
  local out=$1; shift
  "$csvnn" --quiet train --epochs 1 --validation-split 0 "$@" -o "$corpus/model_load_predict/$out" < /dev/null
}
head -200 data/default.train.csv > "$scratch/default.csv"
head -200 data/auto_mpg.train.csv > "$scratch/auto_mpg.csv"
train classifier.json --data "$scratch/default.csv" --target default --hidden 2
train regressor.json --data "$scratch/auto_mpg.csv" --target mpg --drop name --hidden 2
train dropout.json --data "$scratch/default.csv" --target default --hidden 3,2 --dropout 0.2 --activation tanh
# 4x4 grey images of a bright row or column, for a CNN.
python3 - "$scratch/images.csv" <<'PY'
import random, sys
random.seed(1)
rows = [",".join(f"p{i}" for i in range(16)) + ",label"]
for _ in range(40):
    vertical, at = random.random() < 0.5, random.randrange(4)
    pixels = [200 * ((x if vertical else y) == at) + random.randrange(30) for y in range(4) for x in range(4)]
    rows.append(",".join(map(str, pixels)) + ("," + ("vertical" if vertical else "horizontal")))
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
# int8 copies (compress --int8): base64 weights, a scale base and base64 scale codes,
# format version 6 with a layer's "product": "f32" (the small layers, weights dequantized
# on load) beside layers without it (the int8 product: wide.json's 32 -> 8 layer); and a
# format-4 int8 model with f32 scales (the test fixture).
cp tests/fixtures/int8_v4/model.json "$corpus/model_load_predict/int8_v4.json"
"$csvnn" --quiet compress --int8 --model "$corpus/model_load_predict/dropout.json" -o "$corpus/model_load_predict/dropout_int8.json" > /dev/null
train wide.json --data "$scratch/default.csv" --target default --hidden 32,8
"$csvnn" --quiet compress --int8 --model "$corpus/model_load_predict/wide.json" -o "$corpus/model_load_predict/wide_int8.json" > /dev/null
# A pruned copy (compress --prune): 80% of the dense weights zeroed, fine-tuned one
# epoch; its "compression" record (the zeros of each layer) is checked on load.
"$csvnn" --quiet compress --prune 0.8 --data "$scratch/default.csv" --epochs 1 --model "$corpus/model_load_predict/wide.json" -o "$corpus/model_load_predict/wide_pruned.json" > /dev/null
# Pruned, then int8: a "compression" record with both notes.
"$csvnn" --quiet compress --int8 --model "$corpus/model_load_predict/wide_pruned.json" -o "$corpus/model_load_predict/wide_pruned_int8.json" > /dev/null
train cnn.json --data "$scratch/images.csv" --target label --image-shape 4x4x1 --conv 2:3 --hidden 2
"$csvnn" --quiet compress --int8 --model "$corpus/model_load_predict/cnn.json" -o "$corpus/model_load_predict/cnn_int8.json" > /dev/null
"$csvnn" --quiet compress --prune 0.5 --prune-scope layer --data "$scratch/images.csv" --epochs 1 --model "$corpus/model_load_predict/cnn.json" -o "$corpus/model_load_predict/cnn_pruned.json" > /dev/null
# Sequence models: a series (GRU, LSTM, attention) and text with a number beside it.
head -40 "${SHARED_DATA:-../shared/data}/japanesevowels.train.csv" | cut -d, -f1-36,301 > "$scratch/series.csv"
train gru.json --data "$scratch/series.csv" --target label --sequence-shape 3x12 --rnn gru:2 --hidden none
train lstm.json --data "$scratch/series.csv" --target label --sequence-shape 3x12 --rnn lstm:2,gru:2 --pool max --hidden none
# Their int8 copies: "int8_weights_ih" and "int8_weights_hh" blocks in the encoders.
"$csvnn" --quiet compress --int8 --model "$corpus/model_load_predict/gru.json" -o "$corpus/model_load_predict/gru_int8.json" > /dev/null
"$csvnn" --quiet compress --int8 --model "$corpus/model_load_predict/lstm.json" -o "$corpus/model_load_predict/lstm_int8.json" > /dev/null
train attention.json --data "$scratch/series.csv" --target label --sequence-shape 3x12 --attention 2:4 --hidden 2
head -80 "${SHARED_DATA:-../shared/data}/tweets.train.csv" | python3 -c 'import csv,sys; w=csv.writer(sys.stdout); [w.writerow([r[0], r[2], r[4]]) for r in csv.reader(sys.stdin)]' > "$scratch/text.csv"
train text.json --data "$scratch/text.csv" --target source --text text --max-tokens 6 --embedding-dim 3 --hidden none
train text_gru.json --data "$scratch/text.csv" --target source --text text --max-tokens 6 --embedding-dim 4 --text-encoder attention --attention 2:4 --hidden none

# CSV inputs: the stream target's model reads age, colour, score (and label).
printf 'age,colour,score,label\n31,red,0.5,yes\n42,blue,,no\n25,green,1.5,yes\n' > "$corpus/stream_predict/plain.csv"
printf 'age;colour;score\n31;red;0,5\n;;\n1e308;purple;-inf\n' > "$corpus/stream_predict/semicolon.csv"
printf '"score","age","colour"\r\n"1","2","red"\r\n"3",NA,"blue, dark"\r\n' > "$corpus/stream_predict/quoted.csv"
for name in default auto_mpg chile_vote; do
  head -12 "data/$name.train.csv" > "$corpus/read_fit_transform/$name.csv"
done
for fixture in tests/fixtures/data_errors/*.csv; do
  [ -f "$fixture" ] || continue
  cp "$fixture" "$corpus/read_fit_transform/"
  cp "$fixture" "$corpus/stream_predict/"
done
for target in model_load_predict stream_predict read_fit_transform; do
  echo "$target: $(ls "$corpus/$target" | wc -l) seeds"
done
