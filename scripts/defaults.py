#!/usr/bin/env python3
"""csvnn's defaults against the scikit-learn MLP reference on every tabular set of
../shared/data: `csvnn train` with no tuning flag (only the MANIFEST's drop and categorical
columns, which describe the data), seeds 0, 1, 2, scored with `csvnn evaluate` on the test
split. Prints a Markdown table: the median score (accuracy, or R2 for regression), every
seed's score, the reference, whether the median matches or beats it, the median train
seconds. Extra arguments after `--` are passed to every `train` (to measure an idea).

Usage: scripts/defaults.py [--data-dir DIR] [--only NAME,...] [-- TRAIN FLAGS...]
Needs a release build (cargo build --release); standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CSVNN", os.path.join(ROOT, "target", "release", "csvnn"))
SEEDS = [0, 1, 2]


def column_flags(spec):
    """The MANIFEST's drop and categorical columns as flags (they describe the data)."""
    flags = []
    if spec["drop"]:
        flags += ["--drop", ",".join(spec["drop"])]
    if spec["categorical"]:
        flags += ["--categorical", ",".join(spec["categorical"])]
    return flags


def tabular_sets(data_dir, only):
    """(name, spec, reference MLP scores, metric) of each set in the MANIFEST (`only`: a
    set of names to keep, or empty for all)."""
    manifest = json.load(open(os.path.join(data_dir, "MANIFEST.json")))["datasets"]
    reference = json.load(open(os.path.join(data_dir, "reference_scores.json")))["results"]
    for name, spec in manifest.items():
        if only and name not in only:
            continue
        ref = [m for k, m in reference[name]["models"].items() if k.startswith("MLP")][0]
        metric = "accuracy" if spec["task"] == "classification" else "r2"
        yield name, spec, ref, metric


def run_seed(data_dir, name, spec, seed, workdir, extra):
    model = os.path.join(workdir, f"{name}.{seed}.json")
    cmd = [BIN, "--quiet", "train", "--data", os.path.join(data_dir, spec["files"]["train"]),
           "--target", spec["target"], "-o", model, "--seed", str(seed)] + column_flags(spec)
    start = time.perf_counter()
    subprocess.run(cmd + extra, check=True)
    seconds = time.perf_counter() - start
    out = subprocess.run([BIN, "--quiet", "evaluate", "--model", model, "--data",
                          os.path.join(data_dir, spec["files"]["test"]), "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out), seconds


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    print(f"flags: {' '.join(extra) or '(defaults)'}")
    print("| dataset | metric | csvnn median | seeds 0, 1, 2 | sklearn MLP | matches | train s |")
    print("|---|---|---|---|---|---|---|")
    wins = 0
    with tempfile.TemporaryDirectory() as workdir:
        for name, spec, ref, metric in tabular_sets(args.data_dir, only):
            runs = [run_seed(args.data_dir, name, spec, s, workdir, extra) for s in SEEDS]
            scores = [r[metric] for r, _ in runs]
            ours = statistics.median(scores)
            ok = ours >= ref[metric]
            wins += ok
            seconds = statistics.median(t for _, t in runs)
            print(f"| {name} | {metric} | {ours:.4f} | {', '.join(f'{s:.4f}' for s in scores)} "
                  f"| {ref[metric]:.4f} | {'yes' if ok else 'no'} | {seconds:.2f} |", flush=True)
    print(f"matches or beats the reference on {wins} sets")


if __name__ == "__main__":
    main()
