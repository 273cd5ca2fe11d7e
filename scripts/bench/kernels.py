"""W1 and W1-wide seconds per epoch with each GEMM kernel (CSVNN_GEMM), on one thread and
on the default (all cores), interleaved over --rounds rounds in a rotated order; the table
shows the median over rounds of each run's median timed epoch, and avx2/avx512.

Usage: kernels.py --data-dir DIR [--rounds 3] [--csvnn target/release/csvnn]
DIR holds w1.train.csv (scripts/bench/gen_w1.py DIR makes it).
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import WORKLOADS, csvnn_train  # noqa: E402

KERNELS = ["avx512", "avx2", "portable"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--csvnn", default="target/release/csvnn")
    parser.add_argument("--kernels", default=",".join(KERNELS))
    args = parser.parse_args()
    kernels = args.kernels.split(",")
    cases = [(w, t) for w in ["W1", "W1-wide"] for t in [1, None]]
    times = {}
    work = tempfile.mkdtemp()
    for r in range(args.rounds):
        for case in cases:
            name, threads = case
            w = dict(WORKLOADS[name], name=name)
            w["train_path"] = os.path.join(args.data_dir, w["train"])
            order = kernels[r % len(kernels):] + kernels[: r % len(kernels)]
            for kernel in order:
                os.environ["CSVNN_GEMM"] = kernel
                result = csvnn_train(args, w, work, threads=threads, eval_test=False)
                epoch = statistics.median(result["epoch_s"][1:])
                times.setdefault((name, threads, kernel), []).append(epoch)
                print(f"round {r + 1} {name} threads {threads or 'default'} {kernel}: "
                      f"{epoch:.3f} s/epoch", file=sys.stderr, flush=True)
    head = " | ".join(f"{k} s/epoch" for k in kernels)
    print(f"| workload | threads | {head} | avx2/avx512 |")
    print("|---|---|" + "---|" * len(kernels) + "---|")
    for name, threads in cases:
        med = {k: statistics.median(times[(name, threads, k)]) for k in kernels}
        ratio = (f"{med['avx2'] / med['avx512']:.2f}"
                 if "avx2" in med and "avx512" in med else "-")
        cells = " | ".join(f"{med[k]:.3f}" for k in kernels)
        print(f"| {name} | {threads or 'default'} | {cells} | {ratio} |")


if __name__ == "__main__":
    main()
