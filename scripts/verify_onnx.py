#!/usr/bin/env python3
"""Check that `csvnn export --format onnx` computes what csvnn computes.

For each case: train a model on a real train split from ../shared/data (or data/), export
it to ONNX, build the graph's input from the test split by the layout stored in the file's
metadata (`csvnn.inputs`: numeric columns in raw units, NaN for missing; categorical
columns one-hot), run onnxruntime, and compare with `csvnn predict --proba` (class
probabilities) or `csvnn predict` (regression values). Prints the largest absolute
difference per case and fails (exit 1) when one exceeds 1e-5.

Needs: pip install onnxruntime numpy (not run in CI). The binary is $CSVNN, else
target/release/csvnn, else target/debug/csvnn.

Usage: scripts/verify_onnx.py [--data-dir ../shared/data] [--extra-model MODEL TEST.csv]

A CNN model (the train CLI has no conv flags yet) comes from the Fashion-MNIST example:
    python3 scripts/fashion_mnist.py
    cargo run --release --example fashion_cnn -- data/large/fashion_mnist/train.csv \
        data/large/fashion_mnist/test.csv --mlp-epochs 0 --cnn-epochs 2 --save-cnn cnn.json
    scripts/verify_onnx.py --extra-model cnn.json data/large/fashion_mnist/test.csv
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NA = {"", "NA", "N/A", "NaN", "nan", "null"}
TOLERANCE = 1e-5

# (name, target, extra train flags)
CASES = [
    ("satellite", "classes", []),
    ("auto_mpg", "mpg", ["--drop", "name", "--categorical", "origin"]),
    ("chile_vote", "vote", ["--categorical", "region,sex,education"]),
]


def csvnn_binary():
    if os.environ.get("CSVNN"):
        return os.environ["CSVNN"]
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "csvnn")
        if os.path.exists(path):
            return path
    sys.exit("verify_onnx.py: build csvnn first (cargo build --release) or set CSVNN")


def run(*args):
    subprocess.run([csvnn_binary(), "--quiet", *args], check=True)


def onnx_inputs(session, test_csv):
    """The graph's input matrix for the rows of test_csv, by the stored layout."""
    meta = session.get_modelmeta().custom_metadata_map
    layout = json.loads(meta["csvnn.inputs"])
    with open(test_csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    x = np.zeros((len(rows), len(layout)), dtype=np.float32)
    for i, row in enumerate(rows):
        for slot in layout:
            cell = row[slot["column"]].strip()
            if slot["kind"] == "numeric":
                x[i, slot["index"]] = np.nan if cell in NA else float(cell)
            else:
                value = slot["impute"] if cell in NA else cell
                x[i, slot["index"]] = 1.0 if value == slot["category"] else 0.0
    return x, meta


def compare(model, test_csv, workdir, name):
    onnx_path = os.path.join(workdir, name + ".onnx")
    run("export", "--model", model, "--format", "onnx", "-o", onnx_path)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x, meta = onnx_inputs(session, test_csv)
    (out,) = session.run(None, {"input": x})
    predictions = os.path.join(workdir, name + ".predictions.csv")
    classification = meta["csvnn.task"] == "classification"
    run("predict", "--model", model, "--data", test_csv, "-o", predictions,
        *(["--proba"] if classification else []))
    with open(predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    if classification:
        labels = json.loads(meta["csvnn.labels"])
        expected = np.array([[float(r[f"proba_{l}"]) for l in labels] for r in rows])
    else:
        expected = np.array([[float(r["prediction"])] for r in rows])
    diff = np.abs(out.astype(np.float64) - expected)
    worst = float(diff.max())
    what = "probabilities" if classification else "values"
    scale = float(np.abs(expected).max())
    print(f"{name}: {len(rows)} test rows, {out.shape[1]} {what} per row (largest |value| "
          f"{scale:.4g}): max abs difference onnxruntime vs csvnn = {worst:.3g}")
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--epochs", default="30")
    parser.add_argument("--extra-model", nargs=2, metavar=("MODEL", "TEST_CSV"), action="append",
                        default=[], help="also check an existing model on a test file")
    args = parser.parse_args()
    worst = 0.0
    with tempfile.TemporaryDirectory() as workdir:
        for name, target, flags in CASES:
            train = os.path.join(args.data_dir, f"{name}.train.csv")
            test = os.path.join(args.data_dir, f"{name}.test.csv")
            model = os.path.join(workdir, name + ".json")
            run("train", "--data", train, "--target", target, "-o", model,
                "--epochs", args.epochs, *flags)
            worst = max(worst, compare(model, test, workdir, name))
        for i, (model, test) in enumerate(args.extra_model):
            worst = max(worst, compare(model, test, workdir, os.path.basename(model).rsplit(".", 1)[0] or f"extra{i}"))
    print(f"largest difference over all cases: {worst:.3g} (tolerance {TOLERANCE})")
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
