#!/usr/bin/env python3
"""f32 against `compress --int8` for GRU and LSTM models (docs/compression.md, "Recurrent
weights"): train with the README's recipe (scripts/seq_accuracy.sh: `--validation-split 0
--batch-size 32 --lr 0.001 --hidden none`, 100 epochs for series, 10 for text with
`created_at` and the counts dropped), compress, evaluate both on the test split. One
Markdown row per run: accuracy f32, int8, the difference in points, the int8/f32 weight
bytes of the compression record (every quantized layer: the recurrent ones and the dense
head) and the file bytes.

Usage: scripts/int8_recurrent_table.py [--seeds 0,1,2] [--only TEXT]
The binary is $CSVNN, else target/release/csvnn; the data ../shared/data (or $DATA).
"""

import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CSVNN", os.path.join(ROOT, "target", "release", "csvnn"))
DATA = os.environ.get("DATA", os.path.join(ROOT, "..", "shared", "data"))
RECIPE = ["--validation-split", "0", "--batch-size", "32", "--lr", "0.001", "--hidden", "none"]
TEXT = ["--epochs", "10", "--drop", "created_at,retweet_count,favorite_count"]

# (dataset, target, model, flags)
CASES = [
    ("basicmotions", "label", "GRU(64)",
     ["--sequence-shape", "100x6", "--epochs", "100", "--rnn", "gru:64"]),
    ("basicmotions", "label", "LSTM(64)",
     ["--sequence-shape", "100x6", "--epochs", "100", "--rnn", "lstm:64"]),
    ("japanesevowels", "label", "GRU(64)",
     ["--sequence-shape", "25x12", "--epochs", "100", "--rnn", "gru:64"]),
    ("japanesevowels", "label", "LSTM(64)",
     ["--sequence-shape", "25x12", "--epochs", "100", "--rnn", "lstm:64"]),
    ("tweets", "source", "token GRU(64)", TEXT + ["--text-encoder", "gru"]),
    ("tweets", "source", "token LSTM(64)", TEXT + ["--text-encoder", "lstm"]),
]


def csvnn(*args):
    return subprocess.run([BIN, "--quiet", *args], check=True, capture_output=True,
                          text=True).stdout


def accuracy(model, test):
    out = csvnn("evaluate", "--model", model, "--data", test, "--format", "json")
    return json.loads(out)["accuracy"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    print("| dataset | model | seed | f32 | int8 | int8 - f32 (points) | weight bytes int8/f32 "
          "| file bytes int8/f32 |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for dataset, target, name, flags in CASES:
            if args.only and args.only not in f"{dataset} {name}":
                continue
            train = os.path.join(DATA, f"{dataset}.train.csv")
            test = os.path.join(DATA, f"{dataset}.test.csv")
            for seed in args.seeds.split(","):
                f32 = os.path.join(work, "f32.json")
                int8 = os.path.join(work, "int8.json")
                csvnn("train", "--data", train, "--target", target, "--seed", seed, "-o", f32,
                      *RECIPE, *flags)
                summary = json.loads(csvnn("compress", "--int8", "--format", "json",
                                           "--model", f32, "-o", int8))
                note = summary["compression"]["int8"]
                assert note["layers_f32"] in ([], ["embedding"]), note["layers_f32"]
                a, b = accuracy(f32, test), accuracy(int8, test)
                weights = note["int8_weight_bytes"] / note["f32_weight_bytes"]
                f32_bytes, int8_bytes = os.path.getsize(f32), os.path.getsize(int8)
                print(f"| {dataset} | {name} | {seed} | {a:.4f} | {b:.4f} | "
                      f"{100 * (b - a):+.2f} | {weights:.3f} ({note['f32_weight_bytes']} -> "
                      f"{note['int8_weight_bytes']}) | {int8_bytes / f32_bytes:.3f} "
                      f"({f32_bytes} -> {int8_bytes}) |", flush=True)


if __name__ == "__main__":
    main()
