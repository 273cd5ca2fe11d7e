#!/usr/bin/env python3
"""csvnn's units of work on a real engine: Dask's distributed LocalCluster.

1. Sharded predict: a 1,000,000-row CSV (rows of data/default.train.csv resampled with a
   seed, plus an `id` column and a quoted `note` column that holds a line break in some
   rows) is cut into shards at record boundaries; Dask's map_partitions pipes each shard
   to `csvnn predict` (the first with its header, the others with --columns and
   --no-output-header); the concatenation of the outputs must equal the one-process
   output byte for byte (sha256).
2. 5-fold cv as 5 Dask tasks (`cv --fold K -o fold-K.json`), then `cv --collect`: the
   summary must equal the one-process `cv`, byte for byte (table and JSON).

Needs: pip install "dask[distributed]". Run from the repository root after
`cargo build --release`:  python3 scripts/engine_check.py
Exits 1 when an output differs. The big files go to a temporary folder, removed after.
"""

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import dask.bag as db
from dask.distributed import Client, LocalCluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_big_csv(source, path, rows, seed):
    """`rows` rows of `source` drawn with replacement, with an id and a note column; every
    97th note holds a line break inside its quotes (a record over two lines)."""
    with open(source, encoding="utf-8") as f:
        header, *lines = f.read().splitlines()
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(f"id,{header},note\n")
        for i in range(rows):
            note = f'"checked,\nby {i % 13}"' if i % 97 == 0 else f"batch {i % 7}"
            out.write(f"{i},{rng.choice(lines)},{note}\n")


def record_cuts(path, shards):
    """Byte offsets that cut `path` into `shards` pieces of about equal size, each at the
    end of a record: a line end with an even number of quotes before it (a quoted field
    may hold a line break, so not every line end is a record's end)."""
    size = os.path.getsize(path)
    targets = [size * k // shards for k in range(1, shards)]
    cuts, offset, quotes = [0], 0, 0
    with open(path, "rb") as f:
        for line in f:
            offset += len(line)
            quotes += line.count(b'"')
            if targets and offset >= targets[0] and quotes % 2 == 0:
                cuts.append(offset)
                targets.pop(0)
    cuts.append(size)
    return cuts


def line_cut_inside_a_record(path):
    """The first line end after the file's middle that is not a record's end, and the end
    of the record after it: what a splitter that cuts at line ends may cut at."""
    middle, offset, quotes, cut = os.path.getsize(path) // 2, 0, 0, None
    with open(path, "rb") as f:
        for line in f:
            offset += len(line)
            quotes += line.count(b'"')
            if cut is None and offset >= middle and quotes % 2 == 1:
                cut = offset
            elif cut is not None and quotes % 2 == 0:
                return cut, offset + 100 * len(line)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, **kw).stdout


def predict_partition(specs, csvnn, model, path, columns, flags):
    """A Dask partition: each spec (first, start, end) is a byte range of `path`; pipe it
    to csvnn predict and return the output bytes."""
    outputs = []
    for first, start, end in specs:
        with open(path, "rb") as f:
            f.seek(start)
            shard = f.read(end - start)
        extra = [] if first else ["--columns", columns, "--no-output-header"]
        cmd = [csvnn, "--quiet", "--threads", "1", "predict", "--model", model,
               "--data", "-", *flags, *extra]
        outputs.append(run(cmd, input=shard))
    return outputs


def cv_fold(k, csvnn, cv_flags, out):
    run([csvnn, "--quiet", "--threads", "1", "cv", *cv_flags, "--fold", str(k), "-o", out])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csvnn", default=os.path.join(ROOT, "target/release/csvnn"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-files", action="store_true")
    args = parser.parse_args()
    csvnn = args.csvnn
    train_csv = os.path.join(ROOT, "data/default.train.csv")
    work = tempfile.mkdtemp(prefix="csvnn-engine-")
    ok = True
    try:
        big = os.path.join(work, "big.csv")
        t = time.time()
        make_big_csv(train_csv, big, args.rows, args.seed)
        print(f"input: {args.rows} rows, {os.path.getsize(big) / 1e6:.1f} MB "
              f"(resampled {os.path.relpath(train_csv, ROOT)}, seed {args.seed}) "
              f"in {time.time() - t:.1f} s")
        model = os.path.join(work, "model.json")
        run([csvnn, "--quiet", "train", "--data", train_csv, "--target", "default",
             "--epochs", "5", "--seed", "1", "-o", model])
        flags = ["--proba", "--keep", "id,note"]

        t = time.time()
        single = run([csvnn, "--quiet", "predict", "--model", model, "--data", big, *flags])
        t_single = time.time() - t

        with open(big, encoding="utf-8") as f:
            columns = f.readline().rstrip("\n")
        cuts = record_cuts(big, args.shards)
        specs = [(k == 0, cuts[k], cuts[k + 1]) for k in range(len(cuts) - 1)]
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
        t = time.time()
        bag = db.from_sequence(specs, npartitions=len(specs))
        parts = bag.map_partitions(predict_partition, csvnn, model, big, columns, flags)
        sharded = b"".join(parts.compute())
        t_sharded = time.time() - t
        same = sharded == single
        ok &= same
        print(f"predict: one process {len(single)} bytes sha256 {sha256(single)[:16]} "
              f"({t_single:.1f} s)")
        print(f"predict: {len(specs)} shards on {args.workers} Dask workers "
              f"{len(sharded)} bytes sha256 {sha256(sharded)[:16]} ({t_sharded:.1f} s)")
        print(f"predict: byte-equal: {same}")
        # The counter-check: a shard cut at a line end inside a quoted field.
        start, end = line_cut_inside_a_record(big)
        with open(big, "rb") as f:
            f.seek(start)
            bad = f.read(end - start)
        naive = subprocess.run([csvnn, "--quiet", "predict", "--model", model, "--data", "-",
                                *flags, "--columns", columns, "--no-output-header"],
                               input=bad, capture_output=True)
        print(f"predict: a shard cut at a line end inside a quoted field (byte {start}): "
              f"exit {naive.returncode}")
        print("  " + " ".join(l for l in naive.stderr.decode().splitlines() if "error" in l))
        ok &= naive.returncode != 0

        cv_flags = ["--data", train_csv, "--target", "default", "--folds", "5",
                    "--epochs", "10", "--seed", "3"]
        t = time.time()
        single_table = run([csvnn, "--quiet", "cv", *cv_flags])
        single_json = run([csvnn, "--quiet", "cv", *cv_flags, "--format", "json"])
        t_single = time.time() - t
        t = time.time()
        outs = [os.path.join(work, f"fold-{k}.json") for k in range(5)]
        futures = [client.submit(cv_fold, k, csvnn, cv_flags, outs[k], pure=False)
                   for k in range(5)]
        client.gather(futures)
        t_folds = time.time() - t
        collected_table = run([csvnn, "cv", "--collect", *outs])
        collected_json = run([csvnn, "cv", "--collect", *outs, "--format", "json"])
        same_table, same_json = collected_table == single_table, collected_json == single_json
        ok &= same_table and same_json
        print(f"cv: one process, table and JSON ({t_single:.1f} s); 5 folds as 5 Dask tasks "
              f"({t_folds:.1f} s) + --collect")
        print(f"cv: table byte-equal: {same_table}; JSON byte-equal: {same_json} "
              f"(sha256 {sha256(collected_json)[:16]})")
        print(collected_table.decode().rstrip())
        client.close()
        cluster.close()
    finally:
        if args.keep_files:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("all equal" if ok else "DIFFERENT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
