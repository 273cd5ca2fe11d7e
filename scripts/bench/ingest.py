"""W1's ingest timed as scripts/bench/run.py times it (the wall time of `train` minus its
epochs), several binaries run alternately; and its CPU time (user + sys of a 1-epoch run
minus one epoch's, the epoch's from a 3-epoch run), steadier on a loaded machine.

Usage: ingest.py DATA ROUNDS THREADS BIN... (THREADS: a number, or `default`)
DATA: W1's training CSV (scripts/bench/gen_w1.py OUT_DIR writes OUT_DIR/w1.train.csv).
"""
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def run(binary, data, threads, epochs, model):
    cmd = [binary] + (["--threads", threads] if threads != "default" else []) + [
        "train", "--data", data, "--target", "label", "-o", model, "--hidden", "64",
        "--activation", "relu", "--optimizer", "adam", "--lr", "0.001", "--batch-size", "32",
        "--epochs", str(epochs), "--validation-split", "0", "--patience", "0", "--seed", "0",
        "--task", "classification"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    epochs_s = [float(s) for s in re.findall(r"epoch \d+/\d+ .* ([0-9.]+)s$", proc.stderr, re.M)]
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall - sum(epochs_s), cpu


def main():
    data, rounds, threads, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    mb = os.path.getsize(data) / 1e6
    walls = {b: [] for b in binaries}
    cpus = {b: [] for b in binaries}
    with tempfile.TemporaryDirectory() as work:
        model = os.path.join(work, "m.json")
        for r in range(rounds):
            for b in binaries:
                wall, cpu1 = run(b, data, threads, 1, model)
                _, cpu3 = run(b, data, threads, 3, model)
                walls[b].append(wall)
                cpus[b].append(cpu1 - (cpu3 - cpu1) / 2)
                print(f"round {r + 1} {b}: ingest wall {wall:.3f}s cpu {cpus[b][-1]:.2f}s",
                      flush=True)
    print("load average:", open("/proc/loadavg").read().split()[:3])
    for b in binaries:
        wall, cpu = statistics.median(walls[b]), statistics.median(cpus[b])
        print(f"{b} threads={threads}: ingest wall {wall:.3f}s = {mb / wall:.0f} MB/s, "
              f"CPU {cpu:.2f}s")


if __name__ == "__main__":
    main()
