#!/usr/bin/env python3
"""Pruning the Fashion-MNIST CNN (docs/pruning-distillation.md): train the CNN of
scripts/compress_table.py (`--image-shape 28x28x1 --conv 16:3,32:3 --hidden 64`, seed 0),
or take a trained one with --model, prune it with `csvnn compress --prune S --data
TRAIN --epochs N` for each N of --epochs, score every model on the test split with
`csvnn evaluate`, and print a Markdown table: accuracy, the drop against f32, the
sparsity of the pruned matrices (from `inspect`), the test-set size.

Usage: scripts/cnn_prune_table.py DIR [--model F32.json] [--train-epochs 5]
       [--prune 0.8] [--epochs 5,10] [--keep DIR]
DIR holds train.csv and test.csv (scripts/fashion_mnist.py). Needs a release build (or
CSVNN=path/to/csvnn); standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import BIN  # noqa: E402


def accuracy(model, test):
    out = subprocess.run([BIN, "--quiet", "evaluate", "--model", model, "--data", test,
                          "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["accuracy"]


def sparsity(model):
    out = subprocess.run([BIN, "--quiet", "inspect", "--model", model, "--format", "json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["compression"]["sparsity"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--model", default="")
    parser.add_argument("--train-epochs", default="5")
    parser.add_argument("--prune", default="0.8")
    parser.add_argument("--epochs", default="5,10")
    parser.add_argument("--keep", default="")
    args = parser.parse_args()
    train = os.path.join(args.dir, "train.csv")
    test = os.path.join(args.dir, "test.csv")
    with open(test) as f:
        images = sum(1 for _ in f) - 1
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or tmp
        os.makedirs(work, exist_ok=True)
        f32 = args.model or os.path.join(work, "cnn.f32.json")
        if not args.model:
            subprocess.run([BIN, "--quiet", "train", "--data", train, "--target", "label",
                            "--image-shape", "28x28x1", "--conv", "16:3,32:3", "--hidden", "64",
                            "--epochs", args.train_epochs, "--seed", "0", "-o", f32], check=True)
        full = accuracy(f32, test)
        print(f"Fashion-MNIST CNN, {images} test images; pruned to {args.prune}:\n")
        print("| model | fine-tune epochs | accuracy | drop (points) | sparsity | within 1 point |")
        print("|---|---|---|---|---|---|")
        print(f"| f32 | | {full:.4f} | | | |", flush=True)
        for epochs in args.epochs.split(","):
            small = os.path.join(work, f"cnn.pruned.{epochs}.json")
            subprocess.run([BIN, "--quiet", "compress", "--model", f32, "-o", small, "--prune",
                            args.prune, "--data", train, "--epochs", epochs], check=True,
                           stdout=subprocess.DEVNULL)
            acc = accuracy(small, test)
            drop = 100 * (full - acc)
            print(f"| pruned {args.prune} | {epochs} | {acc:.4f} | {drop:+.2f} "
                  f"| {sparsity(small):.4f} | {'yes' if drop <= 1.0 else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
