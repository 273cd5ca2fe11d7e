#!/usr/bin/env python3
"""Interleaved f32/int8 `predict` timings (docs/compression.md, "Speed").

Per row = (time on a big file - time on a one-row file) / (rows - 1), so start-up and
model loading are taken off. Each round runs every case with `--threads 1` and the
default, f32 then int8; prints medians and each round's ratio.

Usage: scripts/int8_timing.py CSVNN_BINARY CASES_JSON [ROUNDS=5]
  CASES_JSON: [[name, f32_model, int8_model, big_csv, one_row_csv, big_rows], ...]
"""
import json, os, statistics, subprocess, sys, time
BIN = sys.argv[1]
cases = json.loads(sys.argv[2])  # [[name, f32_model, int8_model, big_csv, one_csv, rows]]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
threads_list = [1, None]

def run(model, data, threads):
    cmd = [BIN, "predict", "--model", model, "--data", data, "-o", "/dev/null"]
    if threads:
        cmd += ["--threads", str(threads)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

res = {}
for rnd in range(rounds):
    for name, f32m, i8m, big, one, rows in cases:
        for th in threads_list:
            for kind, model in (("f32", f32m), ("int8", i8m)):
                tb = run(model, big, th)
                to = run(model, one, th)
                load = os.getloadavg()[0]
                res.setdefault((name, th, kind), []).append(((tb - to) / (rows - 1) * 1e6, tb, load))
for name, f32m, i8m, big, one, rows in cases:
    for th in threads_list:
        f = res[(name, th, "f32")]; q = res[(name, th, "int8")]
        ratios = [a[0] / b[0] for a, b in zip(f, q)]
        print(f"{name} threads={th or 'default'}: f32 {statistics.median(x[0] for x in f):.2f} us/row, int8 {statistics.median(x[0] for x in q):.2f} us/row; "
              f"median speed-up {statistics.median(ratios):.2f}x; rounds " + ", ".join(f"{r:.2f}" for r in ratios)
              + f"; whole command f32 {statistics.median(x[1] for x in f):.2f}s int8 {statistics.median(x[1] for x in q):.2f}s; load {min(x[2] for x in f+q):.1f}-{max(x[2] for x in f+q):.1f}")
