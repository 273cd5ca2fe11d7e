#!/usr/bin/env python3
"""Time `csvnn preprocess` and `csvnn train` on ever wider CSV files, to show that time and
memory grow linearly in the number of cells (issue 5: 10,000 columns, no quadratic step).

Python 3 stdlib only. Needs a release build (`cargo build --release`) and GNU time
(`/usr/bin/time`, Debian package `time`). Usage:

    scripts/wide_columns.py [--rows 200] [--columns 1000,5000,10000,20000] [--epochs 2]

Each file has ROWS rows of COLUMNS feature columns (9 in 10 numeric, 1 in 10 categorical
with 5 values) and a 0/1 target `y`. Prints, per width, the wall-clock seconds and peak
resident memory of each command, and the seconds per million cells: that last column
stays flat when scaling is linear.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSVNN = os.path.join(ROOT, "target", "release", "csvnn")


def write_table(path, rows, columns, seed=1):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write(",".join(f"c{j}" for j in range(columns)) + ",y\n")
        for _ in range(rows):
            cells = []
            for j in range(columns):
                if j % 10 == 9:
                    cells.append("abcde"[rng.randrange(5)])
                else:
                    cells.append(f"{rng.gauss(0, 1):.3f}")
            cells.append(str(rng.randrange(2)))
            f.write(",".join(cells) + "\n")


def timed(args):
    """Run under GNU time; return (seconds, peak RSS in MiB)."""
    result = subprocess.run(
        ["/usr/bin/time", "-v", CSVNN, "--quiet"] + args,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"csvnn failed: {' '.join(args)}\n{result.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", result.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    parts = [float(p) for p in wall.group(1).split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    return seconds, int(rss.group(1)) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--columns", default="1000,5000,10000,20000")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    for tool in (CSVNN, "/usr/bin/time"):
        if not os.path.exists(tool):
            sys.exit(f"{tool} is missing (cargo build --release; apt-get install time)")
    widths = [int(c) for c in args.columns.split(",")]
    print(f"rows {args.rows}; train: --hidden 16 --epochs {args.epochs} --batch-size 64")
    print(
        f"{'columns':>8} {'cells':>10} {'MB':>6} | {'preprocess s':>12} {'MiB':>6} {'s/Mcell':>8}"
        f" | {'train s':>8} {'MiB':>6} {'s/Mcell':>8}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for columns in widths:
            path = os.path.join(tmp, f"wide_{columns}.csv")
            write_table(path, args.rows, columns)
            size = os.path.getsize(path) / 1e6
            cells = args.rows * (columns + 1)
            prep = timed(["preprocess", "--data", path, "--target", "y", "-o",
                          os.path.join(tmp, "prep.json")])
            train = timed(["train", "--data", path, "--target", "y", "-o",
                           os.path.join(tmp, "model.json"), "--hidden", "16",
                           "--epochs", str(args.epochs), "--batch-size", "64"])
            mcells = cells / 1e6
            print(
                f"{columns:>8} {cells:>10} {size:>6.1f} | {prep[0]:>12.2f} {prep[1]:>6.0f}"
                f" {prep[0] / mcells:>8.2f} | {train[0]:>8.2f} {train[1]:>6.0f}"
                f" {train[0] / mcells:>8.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
