#!/usr/bin/env python3
"""Pruning and distillation on the tabular sets of ../shared/data (docs/pruning-distillation.md).

Per set (seed 0, the MANIFEST's column flags, epochs by size as in EPOCHS below):
1. Pruning: train `--hidden 256,256`, then `compress --prune 0.8` with no fine-tuning,
   with --fine-tune epochs (default 3; one global threshold) and with as many (per-layer
   thresholds); score all on the test split (accuracy, or R2 for regression).
2. Distillation: that 256,256 model is the teacher; `--hidden 16` students with
   `--teacher` and `--hidden 16` on the labels alone, seeds 0, 1, 2. "Closer to the
   teacher": |student score - teacher score| (mean over seeds) and the agreement of the
   students' test predictions with the teacher's (classification: the fraction of equal
   labels; regression: R2 of the student's predictions against the teacher's).
Prints two Markdown tables. Usage: scripts/prune_distill_table.py [--only NAME,...]
[--fine-tune N] [--no-prune] [--no-distill] [-- EXTRA STUDENT FLAGS] (e.g. `-- --distill-temperature 4`). Needs a release build
(or CSVNN=path/to/csvnn); standard library only.
"""
import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import BIN, ROOT, column_flags, tabular_sets  # noqa: E402

SEEDS = [0, 1, 2]
FINE_TUNE = 3


def epochs_for(rows):
    """Epochs by training rows: enough to converge on the small sets, few on flights."""
    if rows < 1000:
        return 100
    if rows < 10000:
        return 30
    if rows < 30000:
        return 15
    return 3


def run(args):
    # compress prints its summary on stdout even with --quiet; the tables are the output.
    subprocess.run([BIN, "--quiet"] + args, check=True, stdout=subprocess.DEVNULL)


def score(model, test, metric):
    out = subprocess.run([BIN, "--quiet", "evaluate", "--model", model, "--data", test,
                          "--format", "json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)[metric]


def predictions(model, test):
    out = subprocess.run([BIN, "--quiet", "predict", "--model", model, "--data", test],
                         check=True, capture_output=True, text=True).stdout
    return [row["prediction"] for row in csv.DictReader(io.StringIO(out))]


def agreement(student, teacher, metric):
    if metric == "accuracy":
        return sum(a == b for a, b in zip(student, teacher)) / len(teacher)
    s, t = [float(v) for v in student], [float(v) for v in teacher]
    mean = statistics.fmean(t)
    sst = sum((v - mean) ** 2 for v in t)
    return 1.0 - sum((a - b) ** 2 for a, b in zip(s, t)) / sst


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--only", default="")
    parser.add_argument("--fine-tune", type=int, default=FINE_TUNE, help="fine-tuning epochs")
    parser.add_argument("--no-prune", action="store_true", help="the distillation table alone")
    parser.add_argument("--no-distill", action="store_true", help="the pruning table alone")
    args = parser.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    prune_rows, distill_rows = [], []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        for name, spec, _ref, metric in tabular_sets(args.data_dir, only):
            train = os.path.join(args.data_dir, spec["files"]["train"])
            test = os.path.join(args.data_dir, spec["files"]["test"])
            epochs = epochs_for(spec["rows"]["train"])
            base = ["train", "--data", train, "--target", spec["target"],
                    "--epochs", str(epochs)] + column_flags(spec)
            big = os.path.join(work, f"{name}.big.json")
            run(base + ["--hidden", "256,256", "--seed", "0", "-o", big])
            full = score(big, test, metric)
            pruned = {}
            fine_tune = str(args.fine_tune)
            for label, flags in [] if args.no_prune else [("none", ["--epochs", "0"]),
                                 ("global", ["--epochs", fine_tune]),
                                 ("layer", ["--epochs", fine_tune, "--prune-scope", "layer"])]:
                small = os.path.join(work, f"{name}.pruned.{label}.json")
                run(["compress", "--model", big, "-o", small, "--prune", "0.8",
                     "--data", train] + flags)
                pruned[label] = score(small, test, metric)
            if pruned:
                prune_rows.append((name, metric, epochs, full, pruned))
            print(f"# {name}: pruning done at {time.perf_counter() - start:.0f}s", file=sys.stderr)
            if args.no_distill:
                continue

            teacher_pred = predictions(big, test)
            kinds = {"labels": [], "distilled": []}
            for seed in SEEDS:
                for kind, flags in [("labels", []), ("distilled", ["--teacher", big] + extra)]:
                    model = os.path.join(work, f"{name}.{kind}.{seed}.json")
                    run(base + ["--hidden", "16", "--seed", str(seed), "-o", model] + flags)
                    kinds[kind].append((score(model, test, metric),
                                        agreement(predictions(model, test), teacher_pred, metric)))
            distill_rows.append((name, metric, full, kinds))
            print(f"# {name}: distillation done at {time.perf_counter() - start:.0f}s", file=sys.stderr)

    if prune_rows:
        print(f"Pruning to 0.8 (`--hidden 256,256`, seed 0; fine-tuning {args.fine_tune} epochs):\n")
        print("| dataset | metric | epochs | f32 | pruned, no fine-tune | pruned + fine-tune (global) "
              "| pruned + fine-tune (per layer) | drop (global) | within target |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, metric, epochs, full, p in prune_rows:
            drop = full - p["global"]
            limit = 0.01  # 1 point of accuracy, 0.01 of R2
            print(f"| {name} | {metric} | {epochs} | {full:.4f} | {p['none']:.4f} | {p['global']:.4f} "
                  f"| {p['layer']:.4f} | {drop:+.4f} | {'yes' if drop <= limit else 'no'} |")
    if not distill_rows:
        print(f"\n{time.perf_counter() - start:.0f}s in all")
        return
    print(f"\nDistillation (teacher `--hidden 256,256`; students `--hidden 16`, seeds {SEEDS}"
          f"{'; ' + ' '.join(extra) if extra else ''}):\n")
    print("| dataset | metric | teacher | labels only | distilled | gap to teacher: labels / distilled "
          "| agreement: labels / distilled | closer |")
    print("|---|---|---|---|---|---|---|---|")
    closer_sets = 0
    for name, metric, full, kinds in distill_rows:
        mean = {k: statistics.fmean(s for s, _ in v) for k, v in kinds.items()}
        agree = {k: statistics.fmean(a for _, a in v) for k, v in kinds.items()}
        gap = {k: statistics.fmean(abs(s - full) for s, _ in v) for k, v in kinds.items()}
        closer = gap["distilled"] < gap["labels"] and agree["distilled"] > agree["labels"]
        closer_sets += closer
        seeds = lambda k: ", ".join(f"{s:.4f}" for s, _ in kinds[k])  # noqa: E731
        print(f"| {name} | {metric} | {full:.4f} | {mean['labels']:.4f} ({seeds('labels')}) "
              f"| {mean['distilled']:.4f} ({seeds('distilled')}) "
              f"| {gap['labels']:.4f} / {gap['distilled']:.4f} "
              f"| {agree['labels']:.4f} / {agree['distilled']:.4f} | {'yes' if closer else 'no'} |")
    print(f"\ncloser on both measures on {closer_sets} of {len(distill_rows)} sets; "
          f"{time.perf_counter() - start:.0f}s in all")


if __name__ == "__main__":
    main()
