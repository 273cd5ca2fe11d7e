#!/usr/bin/env python3
"""`csvnn tune --time-budget` on every tabular set of ../shared/data against the
scikit-learn MLP reference: one study per set (the MANIFEST's drop and categorical columns,
seed 0), the tuned model scored with `csvnn evaluate` on the test split. Prints a Markdown
table: the score (accuracy, or R2 for regression), the reference, whether it matches or
beats it, the trials the study ran, and the wall seconds against the budget.

Usage: scripts/tune_table.py [--budget 60s] [--data-dir DIR] [--only NAME,...]
Needs a release build (cargo build --release); standard library only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import BIN, ROOT, column_flags, tabular_sets  # noqa: E402


def seconds_of(budget):
    scale = {"s": 1, "m": 60, "h": 3600}[budget[-1]]
    return float(budget[:-1]) * scale


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", default="60s")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    budget = seconds_of(args.budget)
    print(f"budget: {args.budget}")
    print("| dataset | metric | tuned | sklearn MLP | matches | trials | wall s | wall / budget |")
    print("|---|---|---|---|---|---|---|---|")
    wins = 0
    with tempfile.TemporaryDirectory() as workdir:
        for name, spec, ref, metric in tabular_sets(args.data_dir, only):
            model = os.path.join(workdir, f"{name}.json")
            cmd = [BIN, "--quiet", "tune", "--data",
                   os.path.join(args.data_dir, spec["files"]["train"]), "--target",
                   spec["target"], "--time-budget", args.budget, "--seed", "0",
                   "--format", "json", "-o", model] + column_flags(spec)
            start = time.perf_counter()
            board = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                              text=True).stdout)
            wall = time.perf_counter() - start
            out = subprocess.run([BIN, "--quiet", "evaluate", "--model", model, "--data",
                                  os.path.join(args.data_dir, spec["files"]["test"]),
                                  "--format", "json"],
                                 check=True, capture_output=True, text=True).stdout
            score = json.loads(out)[metric]
            ok = score >= ref[metric]
            wins += ok
            trials = len({row["trial"] for row in board["leaderboard"]})
            print(f"| {name} | {metric} | {score:.4f} | {ref[metric]:.4f} | "
                  f"{'yes' if ok else 'no'} | {trials} | {wall:.1f} | {wall / budget:.3f} |",
                  flush=True)
    print(f"matches or beats the reference on {wins} sets")


if __name__ == "__main__":
    sys.exit(main())
