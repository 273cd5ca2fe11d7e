#!/usr/bin/env python3
"""Train csvnn on every dataset of ../shared/data with the reference recipe and compare
its median test score over seeds 0, 1, 2 with the scikit-learn MLP reference.

Recipe (the reference README's): --hidden 64 --activation relu --optimizer adam --lr 0.001
--batch-size 32 --validation-split 0 --patience 0, epochs 200/100/50/20 for fewer than
1k/10k/30k/more training rows; MANIFEST drop and categorical columns as flags.
Gates: accuracy >= ref - 0.02 (and macro-F1 >= ref - 0.05 on default and nass_cds);
R2 >= ref - 0.03 (loans: ref - 0.1). Prints a Markdown table; exit 1 if a gate is missed.

Usage: scripts/accuracy.sh [DATA_DIR] [DATASET...]   (standard library only)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "csvnn")
SEEDS = [0, 1, 2]
MACRO_F1_GATED = {"default", "nass_cds"}
R2_SLACK = {"loans": 0.1}


def epochs_for(n_train):
    if n_train < 1000:
        return 200
    if n_train < 10000:
        return 100
    if n_train < 30000:
        return 50
    return 20


def run_seed(data_dir, name, spec, seed, workdir):
    model = os.path.join(workdir, f"{name}.{seed}.json")
    cmd = [BIN, "--quiet", "train", "--data", os.path.join(data_dir, spec["files"]["train"]),
           "--target", spec["target"], "-o", model, "--hidden", "64", "--activation", "relu",
           "--optimizer", "adam", "--lr", "0.001", "--batch-size", "32",
           "--validation-split", "0", "--patience", "0",
           "--epochs", str(epochs_for(spec["rows"]["train"])), "--seed", str(seed)]
    if spec["drop"]:
        cmd += ["--drop", ",".join(spec["drop"])]
    if spec["categorical"]:
        cmd += ["--categorical", ",".join(spec["categorical"])]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - start
    out = subprocess.run([BIN, "--quiet", "evaluate", "--model", model, "--data",
                          os.path.join(data_dir, spec["files"]["test"]), "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out), seconds


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data")
    only = set(sys.argv[2:])
    manifest = json.load(open(os.path.join(data_dir, "MANIFEST.json")))["datasets"]
    reference = json.load(open(os.path.join(data_dir, "reference_scores.json")))["results"]
    print("| dataset | metric | csvnn (median of seeds 0,1,2) | sklearn MLP | gate | train s (median) | pass |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    with tempfile.TemporaryDirectory() as workdir:
        for name, spec in manifest.items():
            if only and name not in only:
                continue
            ref = [m for k, m in reference[name]["models"].items() if k.startswith("MLP")][0]
            runs = [run_seed(data_dir, name, spec, s, workdir) for s in SEEDS]
            seconds = statistics.median(t for _, t in runs)
            if spec["task"] == "classification":
                checks = [("accuracy", ref["accuracy"] - 0.02)]
                if name in MACRO_F1_GATED:
                    checks.append(("macro_f1", ref["macro_f1"] - 0.05))
            else:
                checks = [("r2", ref["r2"] - R2_SLACK.get(name, 0.03))]
            for metric, gate in checks:
                ours = statistics.median(r[metric] for r, _ in runs)
                ok = ours >= gate
                failed |= not ok
                print(f"| {name} | {metric} | {ours:.4f} | {ref[metric]:.4f} | >= {gate:.4f} "
                      f"| {seconds:.2f} | {'yes' if ok else 'NO'} |", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
