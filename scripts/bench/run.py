"""Side-by-side bench of csvnn, PyTorch and scikit-learn on the same data and settings.

Workloads: W1 (60,000 x 784 synthetic pixels, 10 classes, MLP 784-64-10, batch 32),
W1-wide (same data, 784-256-128-10, batch 128), W2 (flights, MLP 64, MSE on the
standardised target, batch 32), W3 (1,000,000 rows predicted through the W2 model, CSV in,
CSV out). Every run is one process under /usr/bin/time -v (peak RSS). The tools run
interleaved, in a rotated order, over --rounds rounds; each training run does one warm-up
epoch and three timed ones, whose median is the round's value; the table shows the median
over rounds. Then accuracy parity on satellite (3 seeds, the reference recipe).

Usage: run.py --data-dir DIR [--rounds 3] [--csvnn target/release/csvnn] [--shared ../shared/data]
"""

import argparse
import gzip
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers.py")
TOOLS = ["csvnn", "torch", "sklearn"]
EPOCHS = 4  # one warm-up + three timed

WORKLOADS = {
    "W1": dict(hidden=[64], batch=32, train="w1.train.csv", test="w1.test.csv",
               target="label", task="classification", drop=[]),
    "W1-wide": dict(hidden=[256, 128], batch=128, train="w1.train.csv", test="w1.test.csv",
                    target="label", task="classification", drop=[]),
    "W2": dict(hidden=[64], batch=32, train="flights.train.csv.gz", test="flights.test.csv.gz",
               target="arr_delay", task="regression", drop=["flight", "tailnum"]),
}


def gemm_rate():
    import numpy as np
    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    b = np.random.default_rng(1).random((2048, 2048), dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * 2048 ** 3 / best / 1e9


def timed(cmd, env=None):
    """Run under /usr/bin/time -v; returns (stdout, stderr, wall seconds, peak RSS MB)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return proc.stdout, proc.stderr, wall, rss_kb / 1024


def csvnn_train(args, w, work, seed=0, threads=None, epochs=EPOCHS, eval_test=True):
    model = os.path.join(work, f"csvnn.{w['name']}.json")
    cmd = [args.csvnn]
    if threads:
        cmd += ["--threads", str(threads)]
    cmd += ["train", "--data", w["train_path"], "--target", w["target"], "-o", model,
            "--hidden", ",".join(map(str, w["hidden"])), "--activation", "relu",
            "--optimizer", "adam", "--lr", "0.001", "--batch-size", str(w["batch"]),
            "--epochs", str(epochs), "--validation-split", "0", "--patience", "0",
            "--seed", str(seed), "--task", w["task"]]
    if w["drop"]:
        cmd += ["--drop", ",".join(w["drop"])]
    _, err, wall, rss = timed(cmd)
    epoch_s = [float(s) for s in re.findall(r"epoch \d+/\d+ .* ([0-9.]+)s$", err, re.M)]
    # Everything but the epochs: reading, profiling, fitting the pipeline, transforming,
    # and writing the model (small), from process start to exit.
    result = {"load_s": wall - sum(epoch_s), "epoch_s": epoch_s, "rss": rss, "model": model}
    if eval_test:
        pred = os.path.join(work, "csvnn.pred.csv")
        _, _, pwall, _ = timed([args.csvnn, "--quiet", "predict", "--model", model,
                                "--data", w["test_path"], "-o", pred])
        out = subprocess.run([args.csvnn, "--quiet", "evaluate", "--model", model, "--data",
                              w["test_path"], "--format", "json"], capture_output=True,
                             text=True, check=True).stdout
        metrics = json.loads(out)
        result["predict_rows"], result["predict_s"] = metrics["rows"], pwall
        result["accuracy" if w["task"] == "classification" else "rmse"] = metrics.get(
            "accuracy", metrics.get("rmse"))
    return result


PEER_ENV = {}


def peer_env(tool):
    env = dict(os.environ)
    env.update(PEER_ENV.get(tool, {}))
    return env


def peer_train(tool, w, work, seed=0, epochs=EPOCHS):
    model = os.path.join(work, f"{tool}.{w['name']}.pkl")
    cmd = [sys.executable, PEERS, "train", tool, "--train", w["train_path"], "--test",
           w["test_path"], "--target", w["target"], "--task", w["task"], "--drop",
           ",".join(w["drop"]), "--hidden", ",".join(map(str, w["hidden"])), "--batch-size",
           str(w["batch"]), "--epochs", str(epochs), "--seed", str(seed), "--model-out", model,
           "--pred-out", os.path.join(work, f"{tool}.pred.csv")]
    out, _, _, rss = timed(cmd, env=peer_env(tool))
    result = json.loads(out)
    result["rss"], result["model"] = rss, model
    return result


def predict_1m(args, tool, model, data, work):
    out_path = os.path.join(work, f"{tool}.w3.csv")
    if tool == "csvnn":
        _, _, wall, rss = timed([args.csvnn, "--quiet", "predict", "--model", model, "--data",
                                 data, "-o", out_path])
        rows = 1_000_000
        return {"predict_rows": rows, "predict_s": wall, "rss": rss}
    out, _, wall, rss = timed([sys.executable, PEERS, "predict", tool, "--model", model,
                               "--data", data, "--pred-out", out_path], env=peer_env(tool))
    result = json.loads(out)
    # Whole process (interpreter and imports included), as for csvnn.
    result["predict_s"], result["rss"] = wall, rss
    return result


def make_w3(shared, path, rows=1_000_000):
    """1,000,000 flights rows (without the target), the train file's rows repeated."""
    if os.path.exists(path):
        return
    with gzip.open(os.path.join(shared, "flights.train.csv.gz"), "rt") as f:
        header = f.readline().rstrip("\n").split(",")
        lines = f.read().splitlines()
    keep = [i for i, h in enumerate(header) if h != "arr_delay"]
    with open(path + ".tmp", "w") as out:
        out.write(",".join(header[i] for i in keep) + "\n")
        for line in itertools.islice(itertools.cycle(lines), rows):
            cells = line.split(",")
            out.write(",".join(cells[i] for i in keep) + "\n")
    os.replace(path + ".tmp", path)


def flops_per_row(hidden, n_in=784, n_out=10):
    """2·m·n·k of every product of a training step, per row: forward x·W for each layer,
    backward dW = xᵀ·g for each layer and dx = g·Wᵀ for all but the first."""
    widths = [n_in, *hidden, n_out]
    pairs = [widths[i] * widths[i + 1] for i in range(len(widths) - 1)]
    return 2 * (2 * sum(pairs) + sum(pairs[1:]))


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--shared", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    parser.add_argument("--csvnn", default=os.path.join(HERE, "..", "..", "target", "release", "csvnn"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--workloads", default="W1,W1-wide,W2",
                        help="comma-separated subset of W1,W1-wide,W2 (W3 runs with W2)")
    parser.add_argument("--torch-threads", type=int, default=2,
                        help="torch.set_num_threads for PyTorch (the issue's setting: 2)")
    parser.add_argument("--sklearn-blas-threads", type=int, default=1,
                        help="BLAS threads for scikit-learn (its reference scores used 1)")
    args = parser.parse_args()
    PEER_ENV["torch"] = {"BENCH_TORCH_THREADS": str(args.torch_threads)}
    blas = str(args.sklearn_blas_threads)
    PEER_ENV["sklearn"] = {"OPENBLAS_NUM_THREADS": blas, "OMP_NUM_THREADS": blas,
                           "MKL_NUM_THREADS": blas}
    work = os.path.join(args.data_dir, "work")
    os.makedirs(work, exist_ok=True)
    for name, w in WORKLOADS.items():
        w["name"] = name
        base = args.shared if name == "W2" else args.data_dir
        w["train_path"], w["test_path"] = (os.path.join(base, w["train"]),
                                           os.path.join(base, w["test"]))
    w3_path = os.path.join(args.data_dir, "w3.csv")
    make_w3(args.shared, w3_path)

    gemm = gemm_rate()
    print(f"numpy float32 2048x2048 matmul, best of 5: {gemm:.1f} GFLOP/s", flush=True)
    print(f"settings: rounds {args.rounds}, torch threads {args.torch_threads}, scikit-learn "
          f"BLAS threads {args.sklearn_blas_threads}, csvnn --threads default (all cores, "
          f"training included)", flush=True)
    results = {}  # (workload, tool) -> list of per-round dicts
    for r in range(args.rounds):
        order = TOOLS[r % 3:] + TOOLS[:r % 3]
        for name, w in WORKLOADS.items():
            if name not in args.workloads.split(","):
                continue
            for tool in order:
                if tool == "csvnn":
                    res = csvnn_train(args, w, work)
                else:
                    res = peer_train(tool, w, work)
                res["epoch"] = median(res["epoch_s"][1:])
                results.setdefault((name, tool), []).append(res)
                print(f"round {r + 1} {name:8} {tool:8} load {res['load_s']:.2f}s "
                      f"epoch {res['epoch']:.3f}s rss {res['rss']:.0f}MB "
                      f"epochs {[round(e, 3) for e in res['epoch_s']]}", flush=True)
                if name == "W2":
                    res3 = predict_1m(args, tool, res["model"], w3_path, work)
                    results.setdefault(("W3", tool), []).append(res3)
                    print(f"round {r + 1} W3       {tool:8} "
                          f"{res3['predict_rows'] / res3['predict_s']:.0f} rows/s "
                          f"rss {res3['rss']:.0f}MB", flush=True)

    def agg(name, tool, key):
        return median([x[key] for x in results[(name, tool)] if key in x])

    def rate(name, tool):
        return median([x["predict_rows"] / x["predict_s"] for x in results[(name, tool)]])

    print()
    print(f"Medians over {args.rounds} rounds (each round: median of epochs 2-4 after a "
          f"warm-up epoch). Prediction: CSV in, CSV out, whole process.")
    print()
    print("| workload | tool | load+preprocess s | s/epoch | predict rows/s | peak RSS MB "
          "| test score | csvnn s/epoch ratio | csvnn rows/s ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in [n for n in ["W1", "W1-wide", "W2"] if (n, "csvnn") in results]:
        ours = agg(name, "csvnn", "epoch")
        ours_rate = rate(name, "csvnn")
        for tool in TOOLS:
            score_key = "accuracy" if WORKLOADS[name]["task"] == "classification" else "rmse"
            epoch = agg(name, tool, "epoch")
            ratio = "" if tool == "csvnn" else f"{ours / epoch:.3f}"
            rratio = "" if tool == "csvnn" else f"{ours_rate / rate(name, tool):.2f}"
            print(f"| {name} | {tool} | {agg(name, tool, 'load_s'):.2f} | {epoch:.3f} | "
                  f"{rate(name, tool):,.0f} | {agg(name, tool, 'rss'):.0f} | "
                  f"{score_key} {agg(name, tool, score_key):.4f} | {ratio} | {rratio} |")
    ours_rate = rate("W3", "csvnn") if ("W3", "csvnn") in results else None
    for tool in TOOLS if ours_rate else []:
        rratio = "" if tool == "csvnn" else f"{ours_rate / rate('W3', tool):.2f}"
        print(f"| W3 (1M rows) | {tool} | | | {rate('W3', tool):,.0f} | "
              f"{agg('W3', tool, 'rss'):.0f} | | | {rratio} |")
    print()
    size = os.path.getsize(WORKLOADS["W1"]["train_path"]) / 1e6
    gz_raw = 0
    with gzip.open(WORKLOADS["W2"]["train_path"], "rb") as f:
        while chunk := f.read(1 << 20):
            gz_raw += len(chunk)
    for name, mb in [("W1", size), ("W2", gz_raw / 1e6)]:
        if (name, "csvnn") not in results:
            continue
        load = agg(name, "csvnn", "load_s")
        print(f"csvnn {name} ingest (read + profile + fit + transform + save, whole train "
              f"process minus epochs): {mb:.0f} MB uncompressed CSV in {load:.2f}s = "
              f"{mb / load:.0f} MB/s")
    if ("W1-wide", "csvnn") in results:
        wide = agg("W1-wide", "csvnn", "epoch")
        gflop = flops_per_row([256, 128]) * 60000 / wide / 1e9
        print(f"W1-wide: {flops_per_row([256, 128]) * 60000 / 1e9:.1f} GFLOP per epoch "
              f"({flops_per_row([256, 128])} per row) in {wide:.3f}s = {gflop:.1f} GFLOP/s = "
              f"{100 * gflop / gemm:.0f}% of numpy's {gemm:.1f} GFLOP/s")
    if ("W1", "csvnn") in results:
        w1 = agg("W1", "csvnn", "epoch")
        print(f"W1 s/epoch ratios: csvnn/torch {w1 / agg('W1', 'torch', 'epoch'):.3f} "
              f"(target <= 0.5), csvnn/sklearn {w1 / agg('W1', 'sklearn', 'epoch'):.3f} "
              f"(target <= 0.25)")

    if args.skip_accuracy:
        return
    print()
    print("Accuracy parity on satellite (hidden 64, relu, Adam 1e-3, batch 32, 100 epochs, "
          "seeds 0,1,2; median test accuracy):")
    sat = dict(name="satellite", hidden=[64], batch=32, target="classes",
               task="classification", drop=[],
               train_path=os.path.join(args.shared, "satellite.train.csv"),
               test_path=os.path.join(args.shared, "satellite.test.csv"))
    for tool in TOOLS:
        accs = []
        for seed in range(3):
            if tool == "csvnn":
                res = csvnn_train(args, sat, work, seed=seed, epochs=100)
            else:
                res = peer_train(tool, sat, work, seed=seed, epochs=100)
            accs.append(res["accuracy"])
        print(f"  {tool:8} {median(accs):.4f}  (seeds: {', '.join(f'{a:.4f}' for a in accs)})",
              flush=True)


if __name__ == "__main__":
    main()
