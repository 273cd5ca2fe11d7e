#!/usr/bin/env python3
"""Measure what the training-loop options change, on ../shared/data (release build):

1. class weights: minority-class recall and macro-F1 on the imbalanced `default` and
   `nass_cds`, with and without --class-weight balanced (reference recipe otherwise);
2. defaults (validation split 0.1, early stopping with patience 10, up to 100 epochs)
   against the fixed-epoch reference recipe, on `satellite`, `ames` and `chile_vote`.

Medians over seeds 0, 1, 2. Usage: scripts/compare_training.py [DATA_DIR] (stdlib only).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "csvnn")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from accuracy import epochs_for  # noqa: E402

RECIPE = ["--hidden", "64", "--activation", "relu", "--optimizer", "adam", "--lr", "0.001",
          "--batch-size", "32"]
FIXED = ["--validation-split", "0", "--patience", "0"]


def score(data_dir, spec, flags, seed, tmp):
    model = os.path.join(tmp, "m.json")
    cmd = [BIN, "--quiet", "train", "--data", os.path.join(data_dir, spec["files"]["train"]),
           "--target", spec["target"], "-o", model, "--seed", str(seed), *flags]
    if spec["drop"]:
        cmd += ["--drop", ",".join(spec["drop"])]
    if spec["categorical"]:
        cmd += ["--categorical", ",".join(spec["categorical"])]
    subprocess.run(cmd, check=True)
    out = subprocess.run([BIN, "--quiet", "evaluate", "--model", model, "--data",
                          os.path.join(data_dir, spec["files"]["test"]), "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    trained = json.load(open(model))["training"]
    return json.loads(out), trained["epochs_run"]


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")
    manifest = json.load(open(os.path.join(data_dir, "MANIFEST.json")))["datasets"]
    with tempfile.TemporaryDirectory() as tmp:
        print("| dataset | class weights | minority recall | macro-F1 | accuracy |")
        print("|---|---|---|---|---|")
        for name, minority in [("default", "Yes"), ("nass_cds", "dead")]:
            spec = manifest[name]
            epochs = ["--epochs", str(epochs_for(spec["rows"]["train"]))]
            for label, extra in [("none", []), ("balanced", ["--class-weight", "balanced"])]:
                runs = [score(data_dir, spec, RECIPE + FIXED + epochs + extra, s, tmp)[0] for s in range(3)]
                med = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
                print(f"| {name} | {label} | {med(lambda r: r['per_class'][minority]['recall']):.4f} "
                      f"| {med(lambda r: r['macro_f1']):.4f} | {med(lambda r: r['accuracy']):.4f} |", flush=True)
        print()
        print("| dataset | settings | test score | epochs run (median) |")
        print("|---|---|---|---|")
        for name in ["satellite", "ames", "chile_vote"]:
            spec = manifest[name]
            key = "accuracy" if spec["task"] == "classification" else "r2"
            for label, flags in [("fixed epochs (reference recipe)",
                                  RECIPE + FIXED + ["--epochs", str(epochs_for(spec["rows"]["train"]))]),
                                 ("defaults (val split 0.1, patience 10, <= 100 epochs)", [])]:
                runs = [score(data_dir, spec, flags, s, tmp) for s in range(3)]
                print(f"| {name} | {label} | {key} {statistics.median(r[key] for r, _ in runs):.4f} "
                      f"| {statistics.median(e for _, e in runs)} |", flush=True)


if __name__ == "__main__":
    main()
