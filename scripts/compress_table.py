#!/usr/bin/env python3
"""int8 against f32 on every tabular set of ../shared/data (and, with --fashion DIR, the
Fashion-MNIST CNN): train with the defaults and with `--hidden 256,256` (seed 0), compress
with `csvnn compress --int8`, score both on the test split with `csvnn evaluate`. Prints a
Markdown table: the metric (accuracy, or R2) of f32 and int8 and their difference, the
int8 weight bytes over the f32 weight bytes of the quantized layers, and the file bytes
over the f32 file's.

Usage: scripts/compress_table.py [--data-dir DIR] [--only NAME,...] [--fashion DIR]
       [--fashion-epochs N] [--keep DIR] [-- TRAIN FLAGS...]
--keep DIR leaves the f32 and int8 models in DIR (else a temporary directory).
Needs a release build (cargo build --release); standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import BIN, ROOT, column_flags, tabular_sets  # noqa: E402


def evaluate(model, test):
    out = subprocess.run([BIN, "--quiet", "evaluate", "--model", model, "--data", test,
                          "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def row(label, metric, train_cmd, test, workdir):
    stem = label.replace(" ", "_").replace(",", "_").replace("(", "").replace(")", "")
    f32 = os.path.join(workdir, f"{stem}.f32.json")
    int8 = os.path.join(workdir, f"{stem}.int8.json")
    subprocess.run(train_cmd + ["-o", f32], check=True)
    summary = json.loads(subprocess.run(
        [BIN, "compress", "--int8", "--format", "json", "--model", f32, "-o", int8],
        check=True, capture_output=True, text=True).stdout)
    note = summary["compression"]["int8"]
    a, b = evaluate(f32, test)[metric], evaluate(int8, test)[metric]
    weights = note["int8_weight_bytes"] / note["f32_weight_bytes"]
    files = summary["output_bytes"] / summary["model_bytes"]
    print(f"| {label} | {metric} | {a:.4f} | {b:.4f} | {b - a:+.4f} | {weights:.3f} "
          f"| {files:.3f} ({summary['model_bytes']} -> {summary['output_bytes']}) |",
          flush=True)


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--only", default="")
    parser.add_argument("--fashion", default="")
    parser.add_argument("--fashion-epochs", default="5")
    parser.add_argument("--keep", default="", help="keep the models in this directory")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    print("| model | metric | f32 | int8 | int8 - f32 | weight bytes int8/f32 | file bytes int8/f32 |")
    print("|---|---|---|---|---|---|---|")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or tmp
        for name, spec, _, metric in tabular_sets(args.data_dir, only):
            train = os.path.join(args.data_dir, spec["files"]["train"])
            test = os.path.join(args.data_dir, spec["files"]["test"])
            base = [BIN, "--quiet", "train", "--data", train, "--target", spec["target"],
                    "--seed", "0"] + column_flags(spec) + extra
            row(f"{name} (defaults)", metric, base, test, workdir)
            row(f"{name} (hidden 256,256)", metric, base + ["--hidden", "256,256"], test,
                workdir)
        if args.fashion:
            cmd = [BIN, "--quiet", "train", "--data", os.path.join(args.fashion, "train.csv"),
                   "--target", "label", "--image-shape", "28x28x1", "--conv", "16:3,32:3",
                   "--hidden", "64", "--epochs", args.fashion_epochs, "--seed", "0"]
            test = os.path.join(args.fashion, "test.csv")
            with open(test) as f:
                images = sum(1 for _ in f) - 1
            row(f"fashion_mnist CNN ({images} test images)", "accuracy", cmd, test, workdir)


if __name__ == "__main__":
    main()
