#!/usr/bin/env python3
"""Interleaved f32/int8 `predict` timings (docs/compression.md, "Speed").

Per row = (time on a big file - time on a one-row file) / (rows - 1), so start-up and
model loading are taken off. Each round runs every case with `--threads 1` and the
default, f32 then int8; prints medians and each round's ratio (f32 time / int8 time).

Usage: scripts/int8_timing.py CSVNN_BINARY CASES_JSON [ROUNDS=5]
  CASES_JSON: [[name, f32_model, int8_model, big_csv, one_row_csv, big_rows], ...]
or:    scripts/int8_timing.py CSVNN_BINARY --sets [--rows N] [--epochs E] [--rounds R]
         [--only NAME,...] [--data-dir DIR] [-- TRAIN FLAGS...]
  trains each tabular set of ../shared/data with the defaults (and the MANIFEST's column
  flags; `--epochs E`, default 3, since the weights' values do not change the speed),
  compresses it with `compress --int8`, repeats its test file to N rows (default 50,000)
  and times those cases; prints a Markdown table.
"""
import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from defaults import ROOT, column_flags, tabular_sets  # noqa: E402

THREADS = [1, None]


def cpu_seconds():
    """User + system seconds of the children waited for so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(binary, model, data, threads):
    """(wall seconds, CPU seconds) of one `predict`."""
    cmd = [binary, "predict", "--model", model, "--data", data, "-o", "/dev/null"]
    if threads:
        cmd += ["--threads", str(threads)]
    t, c = time.perf_counter(), cpu_seconds()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, cpu_seconds() - c


def measure(binary, cases, rounds):
    """{(name, threads, kind): [(µs per row, whole seconds, load, CPU µs per row)]}, rounds
    interleaved."""
    res = {}
    for _ in range(rounds):
        for name, f32m, i8m, big, one, rows in cases:
            for th in THREADS:
                for kind, model in (("f32", f32m), ("int8", i8m)):
                    (tb, cb), (to, co) = run(binary, model, big, th), run(binary, model, one, th)
                    load = os.getloadavg()[0]
                    res.setdefault((name, th, kind), []).append(
                        ((tb - to) / (rows - 1) * 1e6, tb, load, (cb - co) / (rows - 1) * 1e6))
    return res


def report_lines(cases, res):
    for name, *_ in cases:
        for th in THREADS:
            f = res[(name, th, "f32")]
            q = res[(name, th, "int8")]
            ratios = [a[0] / b[0] for a, b in zip(f, q)]
            print(f"{name} threads={th or 'default'}: f32 {statistics.median(x[0] for x in f):.2f} us/row, "
                  f"int8 {statistics.median(x[0] for x in q):.2f} us/row; "
                  f"median speed-up {statistics.median(ratios):.2f}x; rounds "
                  + ", ".join(f"{r:.2f}" for r in ratios)
                  + f"; whole command f32 {statistics.median(x[1] for x in f):.2f}s "
                  f"int8 {statistics.median(x[1] for x in q):.2f}s; "
                  f"load {min(x[2] for x in f + q):.1f}-{max(x[2] for x in f + q):.1f}")


def report_table(cases, res, shapes):
    """Wall-clock rows/s and their ratio, then the same from CPU time (user + system of
    the process, steadier than the wall clock on a shared machine)."""
    print("| set (network) | threads | f32 rows/s | int8 rows/s | int8/f32, median (rounds) "
          "| CPU: f32 µs/row | int8 µs/row | int8/f32 speed, median (rounds) | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, *_ in cases:
        for th in THREADS:
            f = res[(name, th, "f32")]
            q = res[(name, th, "int8")]
            ratios = [a[0] / b[0] for a, b in zip(f, q)]
            fr = 1e6 / statistics.median(x[0] for x in f)
            qr = 1e6 / statistics.median(x[0] for x in q)
            loads = [x[2] for x in f + q]
            cpu = [a[3] / b[3] for a, b in zip(f, q)]
            print(f"| {name} ({shapes[name]}) | {th or 'default'} | {fr:,.0f} | {qr:,.0f} | "
                  f"{statistics.median(ratios):.2f}x ({', '.join(f'{r:.2f}' for r in ratios)}) | "
                  f"{statistics.median(x[3] for x in f):.2f} | {statistics.median(x[3] for x in q):.2f} | "
                  f"{statistics.median(cpu):.2f}x ({', '.join(f'{r:.2f}' for r in cpu)}) | "
                  f"{min(loads):.1f}-{max(loads):.1f} |", flush=True)


def network_shape(binary, model):
    """`n_in-hidden-...-n_out` of a model's dense layers (from the file)."""
    layers = json.load(open(model))["network"]["layers"]
    dims = []
    for layer in layers:
        if "n_in" in layer and "n_out" in layer:
            if not dims:
                dims.append(layer["n_in"])
            dims.append(layer["n_out"])
    return "-".join(map(str, dims))


def build_cases(binary, args, extra, workdir):
    cases, shapes = [], {}
    for name, spec, _, _ in tabular_sets(args.data_dir, set(filter(None, args.only.split(",")))):
        train = os.path.join(args.data_dir, spec["files"]["train"])
        test = os.path.join(args.data_dir, spec["files"]["test"])
        f32 = os.path.join(workdir, f"{name}.f32.json")
        int8 = os.path.join(workdir, f"{name}.int8.json")
        subprocess.run([binary, "--quiet", "train", "--data", train, "--target", spec["target"],
                        "--seed", "0", "--epochs", str(args.epochs), "-o", f32]
                       + column_flags(spec) + extra, check=True)
        subprocess.run([binary, "--quiet", "compress", "--int8", "--model", f32, "-o", int8],
                       check=True, stdout=subprocess.DEVNULL)
        opener = gzip.open if test.endswith(".gz") else open
        with opener(test, "rt") as src:
            header, *lines = src.read().splitlines()
        big = os.path.join(workdir, f"{name}.big.csv")
        one = os.path.join(workdir, f"{name}.one.csv")
        with open(big, "w") as out:
            out.write(header + "\n")
            for i in range(args.rows):
                out.write(lines[i % len(lines)] + "\n")
        with open(one, "w") as out:
            out.write(header + "\n" + lines[0] + "\n")
        shapes[name] = network_shape(binary, f32)
        cases.append([name, f32, int8, big, one, args.rows])
    return cases, shapes


def main():
    binary = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] != "--sets":
        cases = json.loads(sys.argv[2])
        rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
        report_lines(cases, measure(binary, cases, rounds))
        return
    argv = sys.argv[3:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--only", default="")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="int8_timing.")
    try:
        cases, shapes = build_cases(binary, args, extra, workdir)
        res = measure(binary, cases, args.rounds)
        report_table(cases, res, shapes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
