#!/usr/bin/env python3
"""Write a seeded synthetic CSV for the streaming benchmarks (docs/streaming.md).

Rows of 113 bytes: 12 numeric columns (x1..x12, 1% of cells empty), 3 categorical
columns (c4: 4 values, c5: 5 values, c40: 40 values) and a binary target `y` drawn from a
logistic model of the columns (a few interactions, so a hidden layer helps). Numbers have
two decimals and are right-aligned in 7 characters (csvnn trims cells), so a chunk of
rows is formatted as one numpy byte array: about 10 GB in a few minutes. The same seed
and size give the same bytes.

    scripts/gen_stream_csv.py OUT.csv SIZE [--seed N] [--test-rows N TEST.csv]

SIZE is a byte count with an optional k/M/G suffix (powers of 1000); the file stops at
the first chunk boundary past it. `--test-rows` also writes a held-out file of N rows
from the same distribution (another seed stream).
"""

import argparse
import sys

import numpy as np

CHUNK = 200_000
N_NUMERIC = 12
CATEGORIES = {"c4": 4, "c5": 5, "c40": 40}


def parse_size(text):
    units = {"k": 1e3, "M": 1e6, "G": 1e9}
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def effects(seed):
    """The fixed coefficients of the model (the same for every file of a seed)."""
    rng = np.random.default_rng(seed)
    return {
        "w": rng.normal(0, 0.8, N_NUMERIC),
        "cat": {name: rng.normal(0, 1.0, k) for name, k in CATEGORIES.items()},
    }


WIDTH = 7  # "-123.45"


def numbers(values):
    """(n, k) floats (NaN: missing) -> (n, k, WIDTH) bytes, right-aligned, 2 decimals."""
    missing = np.isnan(values)
    cents = np.rint(np.abs(np.nan_to_num(values)) * 100).astype(np.int64)
    negative = (values < 0) & (cents > 0)
    out = np.full(values.shape + (WIDTH,), ord(" "), dtype=np.uint8)
    out[..., WIDTH - 1] = ord("0") + cents % 10
    out[..., WIDTH - 2] = ord("0") + cents // 10 % 10
    out[..., WIDTH - 3] = ord(".")
    whole = cents // 100
    digits = np.maximum(1, np.floor(np.log10(np.maximum(whole, 1))).astype(np.int64) + 1)
    for d in range(3):
        pos = WIDTH - 4 - d
        show = digits > d
        out[..., pos] = np.where(show, ord("0") + whole // 10**d % 10, out[..., pos])
    sign_pos = WIDTH - 4 - digits
    sign = np.where(negative, ord("-"), ord(" ")).astype(np.uint8)
    np.put_along_axis(out, sign_pos[..., None], sign[..., None], axis=-1)
    out[missing] = ord(" ")
    return out


def chunk(rng, model, n):
    x = rng.normal(0, 1, (n, N_NUMERIC))
    scale = np.array([1, 10, 100, 0.1, 1, 5, 1, 200, 1, 2, 0.5, 1])
    cats = {name: rng.integers(0, k, n) for name, k in CATEGORIES.items()}
    logit = x @ model["w"]
    logit += 1.5 * np.sin(2 * x[:, 0]) * x[:, 1] + 0.8 * (x[:, 2] * x[:, 3] > 0.5)
    for name, codes in cats.items():
        logit += model["cat"][name][codes]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    values = np.clip(x * scale, -999.99, 999.99)
    values[rng.random(values.shape) < 0.01] = np.nan
    fields = [numbers(values).reshape(n, -1)]
    # Numeric fields are joined with commas below; categories are "a0".."a39"-style.
    parts = []
    for i in range(N_NUMERIC):
        parts.append(fields[0][:, i * WIDTH : (i + 1) * WIDTH])
        parts.append(np.full((n, 1), ord(","), dtype=np.uint8))
    for letter, (name, codes) in zip("abc", cats.items()):
        parts.append(np.full((n, 1), ord(letter), dtype=np.uint8))
        parts.append((ord("0") + codes // 10).astype(np.uint8)[:, None])
        parts.append((ord("0") + codes % 10).astype(np.uint8)[:, None])
        parts.append(np.full((n, 1), ord(","), dtype=np.uint8))
    parts.append((ord("0") + y).astype(np.uint8)[:, None])
    parts.append(np.full((n, 1), ord("\n"), dtype=np.uint8))
    return np.concatenate(parts, axis=1).tobytes()


HEADER = ",".join([f"x{i + 1}" for i in range(N_NUMERIC)] + list(CATEGORIES) + ["y"]) + "\n"


def write(path, size, rows, seed, model):
    rng = np.random.default_rng(seed)
    written, n_rows = 0, 0
    with open(path, "wb") as out:
        out.write(HEADER.encode())
        written += len(HEADER)
        while (size is not None and written < size) or (rows is not None and n_rows < rows):
            n = CHUNK if rows is None else min(CHUNK, rows - n_rows)
            text = chunk(rng, model, n)
            out.write(text)
            written += len(text)
            n_rows += n
    return written, n_rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--test-rows", nargs=2, metavar=("N", "TEST"))
    args = parser.parse_args()
    model = effects(args.seed)
    written, n_rows = write(args.out, parse_size(args.size), None, args.seed + 1, model)
    print(f"{args.out}: {n_rows} rows, {written} bytes", file=sys.stderr)
    if args.test_rows:
        n, test = int(args.test_rows[0]), args.test_rows[1]
        written, n_rows = write(test, None, n, args.seed + 1_000_003, model)
        print(f"{test}: {n_rows} rows, {written} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
